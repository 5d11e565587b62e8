"""The message viewer: a header strip over HTML / Text / Headers / Source /
Structure / Attachments / Session / Checks tabs.

It renders an ``OpenedMessage`` and nothing else: it never talks to the
mailbox, so the main window decides what to show (a stored message or a
``.eml`` opened from disk) and when. Each tab lives in ``ui/message_tabs``;
QtWebEngine is only touched through the HTML tab, lazily, so this module
imports fine without it.

An attached message (``message/rfc822``: forwarded mail, bounces) opens in
a ``MessageWindow`` of its own, a second viewer with every tab, from the
Attachments tab's "Open" or the Structure tab's "Open Message".

The Checks tab's work runs in ``ChecksJobs`` (worker threads, a cache per
message): opening a message starts its network-free checks; the networked
ones run on the tab's buttons or, when Settings say so, on opening too.
"""

from __future__ import annotations

from collections.abc import Hashable
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QIcon
from PySide6.QtWidgets import QLabel, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

from ...core.checks.model import ChecksReport
from ...core.models import OpenedMessage, RuleEvent
from ..theme import css, mute, themed_style_sheet
from .checks_jobs import NETWORK_FAMILIES, CheckFunctions, CheckSettings, ChecksJobs, message_key
from .tabs.attachments_tab import AttachmentsTab
from .tabs.checks_tab import ChecksTab
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
        check_settings: CheckSettings | None = None,
        check_functions: CheckFunctions | None = None,
    ) -> None:
        """``dialogs`` replaces every prompt (tests, embedding); ``web_engine``
        False forces the QTextBrowser HTML fallback; ``check_functions``
        replaces ``core/checks``' entry points (default: the real ones)."""
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
        self.checks_tab = ChecksTab(self)
        self._check_functions = check_functions
        self.checks = ChecksJobs(check_functions, check_settings, self)
        self._checks_key: Hashable | None = None
        self.checks.reportChanged.connect(self._checks_changed)
        self.checks.failed.connect(self._checks_failed)
        self.checks_tab.checkRequested.connect(self.run_network_check)
        self.checks_tab.jumpToLine.connect(self.show_source_line)

        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)
        # A narrow pane scrolls the tab row (arrows) instead of widening the
        # viewer: seven tabs would otherwise set its minimum width.
        self.tabs.tabBar().setUsesScrollButtons(True)
        self.tabs.tabBar().setExpanding(False)
        # Checks third: with eight tabs the row scrolls in a narrow pane, and
        # the verdict dot must be seen without scrolling.
        for widget, title in (
            (self.html_tab, "HTML"),
            (self.text_tab, "Text"),
            (self.checks_tab, "Checks"),
            (self.headers_tab, "Headers"),
            (self.source_tab, "Source"),
            (self.structure_tab, "Structure"),
            (self.attachments_tab, "Attachments"),
            (self.session_tab, "Session"),
        ):
            self.tabs.addTab(widget, title)
        # The worst verdict's dot on the tab: problems show before the tab is opened.
        self.checks_tab.verdictChanged.connect(self._show_checks_verdict)

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
        self._start_checks(opened)
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
            check_settings=self.checks.settings,
            check_functions=self._check_functions,
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
        self._checks_key = None
        self.checks_tab.clear()
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
        self.checks.shutdown()
        self.html_tab.shutdown()
        self.attachments_tab.shutdown()

    # ---- checks -----------------------------------------------------------------------

    def set_check_settings(self, settings: CheckSettings) -> None:
        """Settings changed (the app built them from preferences): new options
        re-run the checks of the message on screen, here and in attached-message windows."""
        if self.checks.set_settings(settings) and self._opened is not None and not self._shut_down:
            self._start_checks(self._opened)
        for window in self.windows:
            window.view.set_check_settings(settings)

    def prestart_checks(self) -> None:
        """Start the checks' process before the first message needs it."""
        if not self._shut_down:
            self.checks.prestart()

    def run_network_check(self, family: str) -> bool:
        """Run a networked family ("links", "spam") for the message on screen."""
        if self._opened is None or self._shut_down:
            return False
        started = self.checks.run_network(self._opened, family)
        if started:
            self.checks_tab.set_running(self.checks.running(message_key(self._opened)))
        return started

    def show_source_line(self, line: int) -> bool:
        """Switch to the Source tab with 1-based ``line`` of the raw message selected."""
        self.tabs.setCurrentWidget(self.source_tab)
        return self.source_tab.go_to_line(line)

    def _start_checks(self, opened: OpenedMessage) -> None:
        key = message_key(opened)
        self._checks_key = key
        self.checks.run_local(opened)
        settings = self.checks.settings
        for family in NETWORK_FAMILIES:
            if settings.automatic(family) and not self.checks.has_network_result(key, family):
                self.checks.run_network(opened, family)
        report = self.checks.report(key)
        if report is not None:
            self.checks_tab.show_report(
                report, self.checks.running(key), self.checks.elapsed_s(key)
            )
        else:
            self.checks_tab.show_pending()
            self.checks_tab.set_running(self.checks.running(key))

    def _show_checks_verdict(self, icon: QIcon) -> None:
        self.tabs.setTabIcon(self.tabs.indexOf(self.checks_tab), icon)

    def _checks_changed(self, key: Hashable, report: ChecksReport) -> None:
        if key != self._checks_key or self._shut_down:
            return  # a message no longer shown: cached, not displayed
        self.checks_tab.show_report(report, self.checks.running(key), self.checks.elapsed_s(key))

    def _checks_failed(self, key: Hashable, family: str, message: str) -> None:
        if key == self._checks_key and not self._shut_down:
            self.checks_tab.show_error(family, message)


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
        check_settings: CheckSettings | None = None,
        check_functions: CheckFunctions | None = None,
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
            check_settings=check_settings,
            check_functions=check_functions,
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
