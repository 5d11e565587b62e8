"""Which catcher the window shows: a status bar label, "Back to Local", a lost-connection banner.

The window does not know whether its mailbox is the local store or a remote
catcher (both are a ``MailboxProtocol``); the composition root tells this
panel what to say (``show_catcher``, ``show_connection``) and listens to its
two requests (``connectRequested`` from File ▸ Connect to a Catcher…,
``backToLocalRequested`` from the one-click button).
"""

from __future__ import annotations

import html

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QBoxLayout, QLabel, QPushButton, QStatusBar, QWidget


class CatcherPanel(QObject):
    """The status bar's "Showing <URL>" part and the banner above the message list."""

    #: File ▸ Connect to a Catcher…
    connectRequested = Signal()
    #: the "Back to Local" button
    backToLocalRequested = Signal()

    def __init__(self, statusbar: QStatusBar, list_pane: QWidget) -> None:
        super().__init__(statusbar)
        self.label = QLabel(statusbar)
        self.label.setObjectName("catcherLabel")
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.back_button = QPushButton("Back to Local", statusbar)
        self.back_button.setObjectName("backToLocalButton")
        self.back_button.setToolTip("Show this app's own mailbox again")
        self.back_button.clicked.connect(self.backToLocalRequested.emit)
        statusbar.insertPermanentWidget(0, self.label)
        statusbar.insertPermanentWidget(1, self.back_button)
        self.banner = QLabel(list_pane)
        self.banner.setObjectName("connectionBanner")
        self.banner.setWordWrap(True)
        self.banner.setProperty("error", True)
        self.banner.setContentsMargins(8, 4, 8, 4)
        layout = list_pane.layout()
        if isinstance(layout, QBoxLayout):
            layout.insertWidget(0, self.banner)
        self._url: str | None = None
        self.show_catcher(None)

    @property
    def url(self) -> str | None:
        """The remote catcher shown, None for the local mailbox."""
        return self._url

    def request_connect(self) -> None:
        self.connectRequested.emit()

    def show_catcher(self, url: str | None) -> None:
        """Say which catcher the window shows (None: this app's own mailbox)."""
        self._url = url
        remote = url is not None
        self.label.setVisible(remote)
        self.back_button.setVisible(remote)
        if remote:
            self.label.setText("Showing catcher " + html.escape(url or ""))
            self.label.setToolTip(f"The list shows the messages of the catcher at {url}")
        else:
            self.show_connection(True)

    def show_connection(self, connected: bool, detail: str = "") -> None:
        """The banner: hidden while live events flow, else why not and that it retries."""
        if connected or self._url is None:
            self.banner.hide()
            self.banner.clear()
            return
        text = "Connection to the catcher lost"
        if detail:
            text += f": {detail}"
        self.banner.setText(html.escape(text) + " — reconnecting…")
        self.banner.show()
