"""The message viewer: a header strip over HTML / Text / Headers / Source /
Structure / Attachments / Session tabs.

It renders an ``OpenedMessage`` and nothing else: it never talks to the
mailbox, so the main window decides what to show (a stored message or a
``.eml`` opened from disk) and when. Each tab lives in ``ui/message_tabs``;
QtWebEngine is only touched through the HTML tab, lazily, so this module
imports fine without it.

An attached message (``message/rfc822``: forwarded mail, bounces) opens in
a ``MessageWindow`` of its own, a second viewer with every tab, from the
Attachments tab's "Open" or the Structure tab's "Open Message".
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from ...core.models import OpenedMessage, RuleEvent
from ..theme import css, mute, themed_style_sheet
from .tabs.attachments_tab import AttachmentsTab
from .tabs.dialogs import ViewerDialogs
from .tabs.embedded import embedded_opened
from .tabs.header_strip import HeaderStrip
from .tabs.headers_tab import HeadersTab
from .tabs.html_tab import HtmlTab
from .tabs.session_tab import SessionTab
from .tabs.source_tab import SourceTab
from .tabs.structure_tab import StructureTab
from .tabs.text_tab import TextTab


class MessageView(QWidget):
    """Shows one message in every representation a developer needs."""

    #: a message was rendered (its id; 0 or negative for unstored messages)
    messageShown = Signal(int)
    #: an attached message opened in its own window (the ``MessageWindow``)
    embeddedOpened = Signal(object)
    #: files were saved from the viewer (their paths), already confirmed on screen
    filesSaved = Signal(list)

    #: how long the "Saved …" confirmation stays (ms)
    NOTICE_MS = 8000

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        allow_remote_default: bool = False,
        dialogs: ViewerDialogs | None = None,
        web_engine: bool = True,
    ) -> None:
        """``dialogs`` replaces every prompt (tests, embedding); ``web_engine``
        False forces the QTextBrowser HTML fallback."""
        super().__init__(parent)
        self.dialogs = dialogs if dialogs is not None else ViewerDialogs()
        self._opened: OpenedMessage | None = None
        self._shut_down = False
        self._web_engine = web_engine
        self._allow_remote_default = allow_remote_default
        #: viewer windows of attached messages opened from this view
        self.windows: list[MessageWindow] = []

        self.header_strip = HeaderStrip(self)
        self.html_tab = HtmlTab(
            self.dialogs, self, allow_remote_default=allow_remote_default, web_engine=web_engine
        )
        self.text_tab = TextTab(self)
        self.headers_tab = HeadersTab(self)
        self.source_tab = SourceTab(self)
        self.attachments_tab = AttachmentsTab(self.dialogs, self)
        self.structure_tab = StructureTab(self.attachments_tab.save_bytes, self)
        self.session_tab = SessionTab(self)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        # A narrow pane scrolls the tab row (arrows) instead of widening the
        # viewer: seven tabs would otherwise set its minimum width.
        self.tabs.tabBar().setUsesScrollButtons(True)
        self.tabs.tabBar().setExpanding(False)
        for widget, title in (
            (self.html_tab, "HTML"),
            (self.text_tab, "Text"),
            (self.headers_tab, "Headers"),
            (self.source_tab, "Source"),
            (self.structure_tab, "Structure"),
            (self.attachments_tab, "Attachments"),
            (self.session_tab, "Session"),
        ):
            self.tabs.addTab(widget, title)

        content = QWidget(self)
        content_layout = QVBoxLayout(content)
        content_layout.setContentsMargins(0, 0, 0, 0)
        content_layout.setSpacing(0)
        content_layout.addWidget(self.header_strip)
        content_layout.addWidget(self.tabs, 1)

        # "Saved …" confirmation, with the full path, for a few seconds.
        self.notice = QLabel(content)
        self.notice.setObjectName("viewerNotice")
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.notice.setContentsMargins(10, 4, 10, 4)
        self.notice.setWordWrap(True)
        themed_style_sheet(
            self.notice,
            lambda t: (
                f"#viewerNotice {{ background: {css(t.notice_bg)}; color: {css(t.notice_fg)};"
                f" border-top: 1px solid {css(t.notice_border)}; }}"
            ),
        )
        self.notice.hide()
        content_layout.addWidget(self.notice)
        self._notice_timer = QTimer(self)
        self._notice_timer.setSingleShot(True)
        self._notice_timer.timeout.connect(self.notice.hide)
        self.attachments_tab.saved.connect(self._confirm_saved)
        self.attachments_tab.openMessage.connect(self.open_embedded)
        self.structure_tab.openMessage.connect(self.open_embedded)

        self.placeholder = QLabel("No message selected", self)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setObjectName("viewerPlaceholder")
        font = self.placeholder.font()
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.placeholder.setFont(font)
        mute(self.placeholder)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.placeholder)
        self.stack.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

    # ---- public API ---------------------------------------------------------

    @property
    def opened(self) -> OpenedMessage | None:
        """The message on screen, if any."""
        return self._opened

    def show_message(self, opened: OpenedMessage) -> None:
        """Render ``opened`` into every tab (the HTML tab loads asynchronously)."""
        if self._shut_down:
            return
        self._opened = opened
        parsed = opened.parsed
        self.header_strip.show_opened(opened)
        self.html_tab.show_parsed(parsed)
        self.text_tab.show_parsed(parsed)
        self.headers_tab.show_headers(parsed.headers, opened.stored.raw)
        self.source_tab.show_raw(opened.stored.raw)
        self.structure_tab.show_parsed(parsed, opened.stored.raw)
        self.attachments_tab.show_attachments(parsed.attachments)
        self.session_tab.show_opened(opened)
        n = len(parsed.attachments)
        self.tabs.setTabText(
            self.tabs.indexOf(self.attachments_tab), f"Attachments ({n})" if n else "Attachments"
        )
        if self.tabs.currentWidget() is self.attachments_tab and not n:
            self.tabs.setCurrentWidget(self.first_useful_tab(opened))
        self.stack.setCurrentIndex(1)
        self.messageShown.emit(opened.id)

    def first_useful_tab(self, opened: OpenedMessage) -> QWidget:
        """Where a message opens when the current tab has nothing for it:
        HTML if there is any, else Text, else Source (an empty message)."""
        parsed = opened.parsed
        if parsed.html:
            return self.html_tab
        if parsed.text:
            return self.text_tab
        return self.source_tab

    def open_embedded(self, raw: bytes, name: str) -> MessageWindow | None:
        """Show an attached message (its raw bytes) in a new viewer window."""
        if self._shut_down or self._opened is None:
            return None
        opened = embedded_opened(
            raw,
            received_at=self._opened.stored.summary.received_at,
            source=f"attachment {name}",
        )
        window = MessageWindow(
            opened,
            dialogs=self.dialogs,
            web_engine=self._web_engine,
            allow_remote_default=self._allow_remote_default,
        )
        self.windows.append(window)
        window.closed.connect(lambda w=window: self._forget_window(w))
        window.show()
        self.embeddedOpened.emit(window)
        return window

    def _forget_window(self, window: MessageWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def _confirm_saved(self, paths: list[Path]) -> None:
        if not paths:
            return
        if len(paths) == 1:
            text = f"Saved {paths[0]}"
        else:
            text = f"Saved {len(paths)} files to {paths[0].parent}"
        self.notice.setText(text)
        self.notice.setToolTip("\n".join(str(p) for p in paths))
        self.notice.show()
        self._notice_timer.start(self.NOTICE_MS)
        self.filesSaved.emit(list(paths))

    def add_rule_events(self, message_id: int, events: tuple[RuleEvent, ...]) -> None:
        """Rule log lines that arrived for a message (shown if it is the open one)."""
        self.session_tab.add_rule_events(message_id, events)

    def clear(self) -> None:
        """Show nothing (e.g. the message was deleted or the selection emptied)."""
        self._opened = None
        if self._shut_down:
            return
        self.header_strip.clear()
        self.html_tab.clear()
        self.text_tab.clear()
        self.headers_tab.clear()
        self.source_tab.clear()
        self.structure_tab.clear()
        self.attachments_tab.clear()
        self.session_tab.clear()
        self.tabs.setTabText(self.tabs.indexOf(self.attachments_tab), "Attachments")
        self.notice.hide()
        self.stack.setCurrentIndex(0)

    def set_allow_remote_default(self, allow: bool) -> None:
        """Always load remote content (True), or ask per message (False)."""
        self._allow_remote_default = allow
        self.html_tab.set_allow_remote_default(allow)
        for window in self.windows:
            window.view.set_allow_remote_default(allow)

    def shutdown(self) -> None:
        """Release the Chromium page and profile and temp files. Call before the
        application quits; the view shows nothing afterwards."""
        if self._shut_down:
            return
        self._shut_down = True
        self._opened = None
        for window in list(self.windows):
            window.close()
        self.windows.clear()
        self.html_tab.shutdown()
        self.attachments_tab.shutdown()


class MessageWindow(QWidget):
    """A top-level viewer for one attached message, with every tab.

    Deleted when closed; its Chromium page goes first. Attached messages
    inside it open further windows the same way.
    """

    #: the window closed (its viewer is shut down)
    closed = Signal()

    def __init__(
        self,
        opened: OpenedMessage,
        *,
        dialogs: ViewerDialogs | None = None,
        web_engine: bool = True,
        allow_remote_default: bool = False,
    ) -> None:
        super().__init__(None, Qt.WindowType.Window)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        subject = opened.parsed.header("Subject") or opened.stored.summary.subject
        self.setWindowTitle(f"{subject or '(no subject)'} — attached message")
        self.view = MessageView(
            self,
            dialogs=dialogs,
            web_engine=web_engine,
            allow_remote_default=allow_remote_default,
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.resize(900, 700)
        self.view.show_message(opened)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.view.shutdown()
        super().closeEvent(event)
        self.closed.emit()
