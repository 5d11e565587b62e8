"""The status bar's permanent part: where the catcher listens, the HTTP API, and the counts.

Permanent widgets, so temporary messages ("Deleted 3 messages") never hide
where the catcher listens. The panel is told what to show (``set_listeners``,
``set_sink_error``, ``set_http``, ``set_counts``); it owns no state of the
sink or the API.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QLabel, QPushButton, QStatusBar, QWidget


def hostport(host: str, port: int) -> str:
    """``host:port``, with brackets around an IPv6 host."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _repolish(widget: QWidget) -> None:
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class StatusPanel(QObject):
    """Listener label, "Change Port…" button and message counts in a status bar."""

    #: the user clicked "Change Port…"
    changePortRequested = Signal()

    def __init__(self, statusbar: QStatusBar) -> None:
        super().__init__(statusbar)
        parent = statusbar
        statusbar.setSizeGripEnabled(True)
        self.listener_label = QLabel(parent)
        self.listener_label.setObjectName("listenerLabel")
        self.listener_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.port_button = QPushButton("Change Port…", parent)
        self.port_button.setObjectName("portButton")
        self.port_button.clicked.connect(self.changePortRequested.emit)
        self.port_button.hide()
        self.count_label = QLabel(parent)
        self.count_label.setObjectName("countLabel")
        self.http_label = QLabel(parent)
        self.http_label.setObjectName("httpLabel")
        self.http_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.http_label.hide()
        statusbar.addPermanentWidget(self.listener_label)
        statusbar.addPermanentWidget(self.port_button)
        statusbar.addPermanentWidget(self.http_label)
        statusbar.addPermanentWidget(self.count_label)
        self._listeners: list[tuple[str, str, int]] = []

    @property
    def listeners(self) -> list[tuple[str, str, int]]:
        return list(self._listeners)

    def set_listeners(self, listeners: Sequence[tuple[str, str, int]]) -> str:
        """Show what the sink listens on; returns the hint for an empty list."""
        self._listeners = list(listeners)
        self.port_button.hide()
        self.listener_label.setProperty("error", False)
        _repolish(self.listener_label)
        if not listeners:
            self.listener_label.setText("Not listening")
            self.listener_label.setToolTip("")
            return ""
        parts = [f"{kind.upper()} {hostport(host, port)}" for kind, host, port in listeners]
        self.listener_label.setText(
            '<span style="color:#2ea043">●</span> Listening on ' + html.escape(" · ".join(parts))
        )
        self.listener_label.setToolTip("Point your application's SMTP settings here")
        kind, host, port = listeners[0]
        return (
            f"Point your application at {kind}://{hostport(host, port)} "
            "and every message it sends shows up here."
        )

    def set_sink_error(self, message: str) -> str:
        """The sink is not running; say why. Returns the hint for an empty list."""
        self._listeners = []
        self.listener_label.setProperty("error", True)
        _repolish(self.listener_label)
        self.listener_label.setText("⚠ Not listening: " + html.escape(message))
        self.listener_label.setToolTip(message)
        self.port_button.show()
        return f"Not receiving mail: {message}. Choose another port in Settings (Ctrl+,)."

    def set_http(self, url: str | None, error: str | None = None) -> None:
        """Where the HTTP API answers (``url``), why it does not (``error``), or neither (off)."""
        self.http_label.setProperty("error", bool(error))
        _repolish(self.http_label)
        if error:
            self.http_label.setText("⚠ HTTP API off: " + html.escape(error))
            self.http_label.setToolTip(
                f"The HTTP API is not running: {error}. Mail is still caught; "
                "choose another address for the HTTP API in Settings (Ctrl+,)."
            )
            self.http_label.show()
        elif url:
            self.http_label.setText("API " + html.escape(url))
            self.http_label.setToolTip(
                "The Mailpit-compatible HTTP API and its /api/events WebSocket"
            )
            self.http_label.show()
        else:
            self.http_label.clear()
            self.http_label.hide()

    def set_counts(self, total: int, unread: int) -> None:
        if not total:
            text = "No messages"
        else:
            text = f"{total:,} message{'s' if total != 1 else ''}"
            text += f" · {unread:,} unread" if unread else " · all read"
        self.count_label.setText(text)
