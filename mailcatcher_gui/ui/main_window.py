"""The main window: filters | message list | message viewer, toolbar, status bar.

The window is a thin adapter. Everything it shows comes from the ``Mailbox``
(reads) and the ``MailboxBridge`` (events); everything it does is a
``Mailbox`` call or a file job from ``ui.actions``. It knows nothing about
the SMTP sink: ``app.GuiApp`` tells it what is listening (``set_listeners``
/ ``set_sink_error``) and restarts the sink when the listener settings
change (``listenerSettingsChanged``).

Compose lives in ``ui.compose``; the app plugs a ``Composer`` in with
``set_composer`` (New Message / Ctrl+N, Reply, Forward, Edit as New and
Release To… then work). ``set_compose_handler`` alone wires only Ctrl+N.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QEvent, QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QIcon,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QProgressDialog,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolBar,
    QWidget,
)

from ..core import mailio
from ..core.mailbox import Mailbox
from ..core.models import MessageSummary
from ..core.store.database import MessageNotFound
from .actions import (
    BackgroundJob,
    Cancelled,
    JobResult,
    Report,
    export_eml_folder,
    export_mbox,
    import_paths,
    open_local_message,
)
from .bridge import MailboxBridge
from .message_list import SEARCH_HELP_HTML, MessageList, SearchField
from .models import Column, MessageListModel
from .settings import AppSettings, Preferences, SettingsDialog
from .sidebar import Sidebar
from .theme import app_icon, apply_theme, stylesheet, tinted_icon
from .tray import BurstNotifier, TrayIcon

log = logging.getLogger(__name__)

APP_TITLE = "mailcatcher-gui"


class ComposeHooks(Protocol):
    """What the window needs from the compose side (``ui.compose.Composer``)."""

    def new(self) -> object: ...
    def reply(self, message_id: int, *, reply_all: bool = False) -> object: ...
    def forward(self, message_id: int) -> object: ...
    def edit_as_new(self, message_id: int) -> object: ...
    def release(self, message_ids: Sequence[int]) -> object: ...


class MainWindow(QMainWindow):
    """See the module docstring."""

    #: the user changed SMTP listener settings (new ``Preferences``); restart the sink
    listenerSettingsChanged = Signal(object)
    #: the user asked to quit (menu, Ctrl+Q, window close, tray)
    quitRequested = Signal()
    #: an import/export finished (JobResult) -- for status and tests
    jobFinished = Signal(object)
    #: a notification for new mail was raised: title, body, newest id
    notified = Signal(str, str, int)

    def __init__(
        self,
        mailbox: Mailbox,
        bridge: MailboxBridge,
        settings: AppSettings,
        *,
        view: QWidget | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.mailbox = mailbox
        self.bridge = bridge
        self.settings = settings
        self.prefs = settings.preferences()
        self.close_requests_quit = False
        #: notify about new mail even while the window is focused (tests; off by default)
        self.notify_when_active = False
        self._compose_handler: Callable[[], None] | None = None
        self.composer: ComposeHooks | None = None
        self._shown_id: int | None = None
        self._shown_file: Path | None = None
        self._jobs: list[BackgroundJob] = []
        self._progress: dict[BackgroundJob, QProgressDialog] = {}
        self._listeners: list[tuple[str, str, int]] = []
        self.last_notification: tuple[str, str, int] | None = None

        self.setWindowTitle(APP_TITLE)
        self.setWindowIcon(app_icon())
        self.setStyleSheet(stylesheet())
        self.setAcceptDrops(True)

        # ---- panes -------------------------------------------------------------------------------
        self.model = MessageListModel(mailbox, self)
        self.message_list = MessageList(self.model, self)
        if view is None:
            from .message_view import MessageView  # imports QtWebEngine lazily

            view = MessageView(allow_remote_default=self.prefs.allow_remote_default)
        self.view = view
        self.sidebar = Sidebar(self)
        self.search = SearchField(self)

        self.content_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.content_splitter.setObjectName("contentSplitter")
        self.content_splitter.addWidget(self.message_list)
        self.content_splitter.addWidget(self.view)
        self.content_splitter.setStretchFactor(0, 2)
        self.content_splitter.setStretchFactor(1, 3)
        self.content_splitter.setChildrenCollapsible(False)
        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.main_splitter.setObjectName("mainSplitter")
        self.main_splitter.addWidget(self.sidebar)
        self.main_splitter.addWidget(self.content_splitter)
        self.main_splitter.setStretchFactor(0, 0)
        self.main_splitter.setStretchFactor(1, 1)
        self.main_splitter.setCollapsible(1, False)
        self.setCentralWidget(self.main_splitter)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_statusbar()

        # ---- notifications -----------------------------------------------------------------------
        self.notifier = BurstNotifier(self)
        self.notifier.enabled = self.prefs.notifications
        self.notifier.notify.connect(self._on_notify)
        self.tray = TrayIcon(app_icon(), self)
        self.tray.activated.connect(self.raise_to)
        self.tray.quitRequested.connect(self.quitRequested.emit)

        # ---- wiring ------------------------------------------------------------------------------
        # Model handlers first: the list re-selects before the window reacts.
        bridge.messagesAdded.connect(self.model.on_messages_added)
        bridge.messagesDeleted.connect(self.model.on_messages_deleted)
        bridge.messagesChanged.connect(self.model.on_messages_changed)
        bridge.mailboxCleared.connect(self.model.on_mailbox_cleared)
        bridge.messagesAdded.connect(self._on_added)
        bridge.messagesDeleted.connect(self._on_deleted)
        bridge.messagesChanged.connect(lambda *_: self._schedule_counts())
        bridge.mailboxCleared.connect(self._on_cleared)

        self.message_list.messageOpened.connect(self.open_message)
        self.message_list.selectionChanged.connect(self._update_action_state)
        self.message_list.contextMenuRequested.connect(self._context_menu)
        self.search.queryChanged.connect(self.apply_search)
        self.search.returnPressed.connect(self.message_list.focus_table)
        self.sidebar.filterChosen.connect(self._filter_chosen)

        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(100)
        self._counts_timer.timeout.connect(self.update_counts)
        self._counts_at = 0.0

        self.resize(1280, 800)
        self.restore_state()
        self.update_counts()
        self._update_action_state()
        self.set_listeners([])

    # ---- construction ------------------------------------------------------------------------

    def _action(
        self,
        text: str,
        slot: Callable[[], object],
        shortcut: QKeySequence | QKeySequence.StandardKey | str | None = None,
        *,
        icon: QIcon | None = None,
        tip: str | None = None,
    ) -> QAction:
        action = QAction(text, self)
        action.triggered.connect(lambda _checked=False: slot())
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        if icon is not None:
            action.setIcon(icon)
        if tip:
            action.setToolTip(tip)
            action.setStatusTip(tip)
        self.addAction(action)
        return action

    _ICONS = {
        "act_compose": "compose",
        "act_reply": "reply",
        "act_forward": "forward",
        "act_import": "import",
        "act_export_mbox": "export",
        "act_settings": "settings",
        "act_mark_read": "mark-read",
        "act_mark_unread": "mark-unread",
        "act_delete": "delete",
        "act_clear": "clear",
    }

    def _refresh_icons(self) -> None:
        """Re-tint the toolbar icons for the current palette (theme switch)."""
        for attr, name in self._ICONS.items():
            getattr(self, attr).setIcon(tinted_icon(name, self.palette()))

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "act_clear"):
            self._refresh_icons()
        super().changeEvent(event)

    def _build_actions(self) -> None:
        self.act_open_file = self._action(
            "&Open .eml File…",
            self.open_file_interactive,
            QKeySequence.StandardKey.Open,
            tip="Show a message file without storing it",
        )
        self.act_import = self._action(
            "&Import…",
            self.import_interactive,
            "Ctrl+I",
            icon=tinted_icon("import"),
            tip="Store messages from .eml files, an mbox file or a Maildir",
        )
        self.act_save_eml = self._action(
            "&Save Message As…",
            self.save_eml_interactive,
            QKeySequence.StandardKey.Save,
            tip="Save the open message as an .eml file (exact bytes)",
        )
        self.act_export_mbox = self._action(
            "Export Selection as &mbox…",
            lambda: self.export_interactive("mbox"),
            "Ctrl+E",
            icon=tinted_icon("export"),
            tip="Write the selected messages to one mbox file",
        )
        self.act_export_folder = self._action(
            "Export Selection to &Folder…",
            lambda: self.export_interactive("folder"),
            "Ctrl+Shift+E",
            tip="Write the selected messages as .eml files into a folder",
        )
        self.act_compose = self._action(
            "&New Message…",
            self.compose,
            QKeySequence.StandardKey.New,
            icon=tinted_icon("compose"),
            tip="Compose and send a test message (Ctrl+N)",
        )
        self.act_compose.setIconText("Compose")
        self.act_reply = self._action(
            "&Reply",
            lambda: self._compose_from_current("reply"),
            "Ctrl+R",
            icon=tinted_icon("reply"),
            tip="Reply to the message (Ctrl+R)",
        )
        self.act_reply_all = self._action(
            "Reply to &All",
            lambda: self._compose_from_current("reply_all"),
            "Ctrl+Shift+R",
            tip="Reply to the sender and every recipient (Ctrl+Shift+R)",
        )
        self.act_forward = self._action(
            "&Forward",
            lambda: self._compose_from_current("forward"),
            "Ctrl+L",
            icon=tinted_icon("forward"),
            tip="Forward the message with its attachments (Ctrl+L)",
        )
        self.act_edit_as_new = self._action(
            "Edit as &New…",
            lambda: self._compose_from_current("edit_as_new"),
            tip="Open the message in the editor to change and send it again",
        )
        self.act_release = self._action(
            "Re&lease To…",
            self.release_selected,
            tip="Send the selected messages unchanged to a relay or other recipients",
        )
        self.act_settings = self._action(
            "Se&ttings…",
            self.open_settings,
            QKeySequence.StandardKey.Preferences,
            icon=tinted_icon("settings"),
        )
        self.act_settings.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Preferences), QKeySequence("Ctrl+,")]
        )
        self.act_quit = self._action(
            "&Quit", self.quitRequested.emit, QKeySequence.StandardKey.Quit
        )
        self.act_quit.setShortcuts(
            [QKeySequence(QKeySequence.StandardKey.Quit), QKeySequence("Ctrl+Q")]
        )
        self.act_quit.setMenuRole(QAction.MenuRole.QuitRole)

        self.act_copy_sender = self._action("Copy &Sender", self.copy_sender, "Ctrl+Shift+C")
        self.act_copy_subject = self._action("Copy Su&bject", self.copy_subject, "Ctrl+Alt+C")
        self.act_find = self._action("&Find…", self.focus_search, QKeySequence.StandardKey.Find)
        self.act_find.setShortcuts([QKeySequence(QKeySequence.StandardKey.Find), QKeySequence("/")])
        self.act_find.setShortcutContext(Qt.ShortcutContext.WindowShortcut)

        self.act_mark_read = self._action(
            "Mark as &Read",
            lambda: self.mark_selected(True),
            icon=tinted_icon("mark-read"),
            tip="Mark as read (Shift+I)",
        )
        self.act_mark_unread = self._action(
            "Mark as &Unread",
            lambda: self.mark_selected(False),
            icon=tinted_icon("mark-unread"),
            tip="Mark as unread (Shift+U)",
        )
        self.act_delete = self._action(
            "&Delete",
            self.delete_selected,
            icon=tinted_icon("delete"),
            tip="Delete the selected messages (Del)",
        )
        self.act_clear = self._action(
            "Delete &All Messages…",
            self.clear_all_interactive,
            "Ctrl+Shift+Del",
            icon=tinted_icon("clear"),
            tip="Delete every stored message",
        )
        # Single-key shortcuts only while the list has focus (not while typing a search).
        self.message_list.shortcut_for(self.act_delete, QKeySequence.StandardKey.Delete)
        self.message_list.shortcut_for(self.act_mark_read, "Shift+I")
        self.message_list.shortcut_for(self.act_mark_unread, "Shift+U")

        self.act_refresh = self._action("&Refresh", self.refresh, QKeySequence.StandardKey.Refresh)
        self.act_show_sidebar = self._action("Show &Sidebar", lambda: None, "Ctrl+Shift+B")
        self.act_show_sidebar.setCheckable(True)
        self.act_show_sidebar.setChecked(True)
        self.act_show_sidebar.toggled.connect(self.sidebar.setVisible)
        self.act_view_below = self._action("Message &Below the List", lambda: None, "Ctrl+Shift+L")
        self.act_view_below.setCheckable(True)
        self.act_view_below.toggled.connect(self.set_view_below)
        self.act_search_help = self._action("Search &Syntax", self._show_search_help)
        self.act_about = self._action("&About mailcatcher-gui", self._show_about)
        self.act_about.setMenuRole(QAction.MenuRole.AboutRole)
        self.set_compose_handler(None)

    def _build_menus(self) -> None:
        mb = self.menuBar()
        file = mb.addMenu("&File")
        for a in (
            self.act_open_file,
            self.act_import,
            None,
            self.act_save_eml,
            self.act_export_mbox,
            self.act_export_folder,
            None,
            self.act_compose,
            None,
            self.act_settings,
            None,
            self.act_quit,
        ):
            file.addSeparator() if a is None else file.addAction(a)
        edit = mb.addMenu("&Edit")
        for a in (self.act_copy_sender, self.act_copy_subject, None, self.act_find):
            edit.addSeparator() if a is None else edit.addAction(a)
        message = mb.addMenu("&Message")
        for a in (
            self.act_compose,
            None,
            self.act_reply,
            self.act_reply_all,
            self.act_forward,
            self.act_edit_as_new,
            self.act_release,
            None,
        ):
            message.addSeparator() if a is None else message.addAction(a)
        for a in (self.act_mark_read, self.act_mark_unread, None, self.act_delete, self.act_clear):
            message.addSeparator() if a is None else message.addAction(a)
        view = mb.addMenu("&View")
        for a in (self.act_show_sidebar, self.act_view_below, None, self.act_refresh):
            view.addSeparator() if a is None else view.addAction(a)
        help_ = mb.addMenu("&Help")
        help_.addAction(self.act_search_help)
        help_.addAction(self.act_about)

    def _build_toolbar(self) -> None:
        tb = QToolBar("Main", self)
        tb.setObjectName("mainToolBar")
        tb.setMovable(False)
        tb.setFloatable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.act_delete.setIconText("Delete")
        self.act_mark_read.setIconText("Read")
        self.act_mark_unread.setIconText("Unread")
        self.act_import.setIconText("Import")
        self.act_export_mbox.setIconText("Export")
        self.act_clear.setIconText("Clear")
        self.act_reply.setIconText("Reply")
        self.act_forward.setIconText("Forward")
        for a in (
            self.act_compose,
            self.act_reply,
            self.act_forward,
            None,
            self.act_delete,
            self.act_mark_read,
            self.act_mark_unread,
            None,
            self.act_import,
            self.act_export_mbox,
            None,
            self.act_clear,
        ):
            tb.addSeparator() if a is None else tb.addAction(a)
        spacer = QWidget(tb)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        self.search.setMinimumWidth(320)
        self.search.setMaximumWidth(520)
        tb.addWidget(self.search)
        tb.addSeparator()
        tb.addAction(self.act_settings)
        self.act_settings.setIconText("Settings")
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_statusbar(self) -> None:
        sb = self.statusBar()
        sb.setSizeGripEnabled(True)
        self.listener_label = QLabel(self)
        self.listener_label.setObjectName("listenerLabel")
        self.listener_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.port_button = QPushButton("Change Port…", self)
        self.port_button.setObjectName("portButton")
        self.port_button.clicked.connect(self.open_settings)
        self.port_button.hide()
        self.count_label = QLabel(self)
        self.count_label.setObjectName("countLabel")
        # Permanent widgets: temporary messages ("Deleted 3 messages") must
        # never hide where the catcher listens.
        sb.addPermanentWidget(self.listener_label)
        sb.addPermanentWidget(self.port_button)
        sb.addPermanentWidget(self.count_label)

    # ---- hooks for the app -------------------------------------------------------------------

    def set_compose_handler(self, handler: Callable[[], None] | None) -> None:
        """Plug the compose pane in: Ctrl+N / File > New Message calls ``handler``."""
        self._compose_handler = handler
        self.act_compose.setEnabled(handler is not None)
        if handler is None:
            self.act_compose.setToolTip("Compose is not available yet")
        else:
            self.act_compose.setToolTip("Compose and send a test message (Ctrl+N)")

    def set_composer(self, composer: ComposeHooks | None) -> None:
        """Plug the compose side in: New Message, Reply, Forward, Edit as New, Release."""
        self.composer = composer
        self.set_compose_handler(composer.new if composer is not None else None)
        self._update_action_state()

    def _compose_target(self) -> int | None:
        current = self.message_list.current_id
        return current if current is not None else self._shown_id

    def _compose_from_current(self, what: str) -> object | None:
        """Reply / reply to all / forward / edit as new, from the current message."""
        message_id = self._compose_target()
        if self.composer is None or message_id is None:
            return None
        try:
            if what == "reply":
                return self.composer.reply(message_id)
            if what == "reply_all":
                return self.composer.reply(message_id, reply_all=True)
            if what == "forward":
                return self.composer.forward(message_id)
            return self.composer.edit_as_new(message_id)
        except MessageNotFound:
            self.statusBar().showMessage("That message is gone.", 4000)
            return None

    def release_selected(self) -> object | None:
        """The "Release To…" action: the selected messages, or the one on screen."""
        ids = self._target_ids() or ([self._shown_id] if self._shown_id is not None else [])
        if self.composer is None or not ids:
            return None
        return self.composer.release(ids)

    def compose(self) -> None:
        if self._compose_handler is not None:
            self._compose_handler()
        else:
            self.statusBar().showMessage("Compose is not available in this version yet.", 4000)

    def set_listeners(self, listeners: Sequence[tuple[str, str, int]]) -> None:
        """Show what the sink listens on (``RunningSink.listeners``)."""
        self._listeners = list(listeners)
        self.port_button.hide()
        self.listener_label.setProperty("error", False)
        self._repolish(self.listener_label)
        if not listeners:
            self.listener_label.setText("Not listening")
            self.listener_label.setToolTip("")
            self.message_list.table.empty_hint = ""
        else:
            parts = [f"{kind.upper()} {_hostport(host, port)}" for kind, host, port in listeners]
            self.listener_label.setText(
                '<span style="color:#2ea043">●</span> Listening on '
                + html.escape(" · ".join(parts))
            )
            self.listener_label.setToolTip("Point your application's SMTP settings here")
            kind, host, port = listeners[0]
            self.message_list.table.empty_hint = (
                f"Point your application at {kind}://{_hostport(host, port)} "
                "and every message it sends shows up here."
            )
        self.message_list.table.viewport().update()

    def set_sink_error(self, message: str) -> None:
        """The sink is not running; say why and offer another port."""
        self._listeners = []
        self.listener_label.setProperty("error", True)
        self._repolish(self.listener_label)
        self.listener_label.setText("⚠ Not listening: " + html.escape(message))
        self.listener_label.setToolTip(message)
        self.port_button.show()
        self.message_list.table.empty_hint = (
            f"Not receiving mail: {message}. Choose another port in Settings (Ctrl+,)."
        )
        self.message_list.table.viewport().update()

    @property
    def listeners(self) -> list[tuple[str, str, int]]:
        return list(self._listeners)

    # ---- opening messages --------------------------------------------------------------------

    def open_message(self, message_id: int) -> bool:
        """Show a stored message, then mark it read (explicitly, after showing)."""
        try:
            opened = self.mailbox.get(message_id)
        except MessageNotFound:
            self.view.clear()
            self._shown_id = None
            return False
        self.view.show_message(opened)
        self._shown_id = message_id
        self._shown_file = None
        self._update_action_state()
        self.mailbox.mark_read([message_id])
        return True

    @property
    def shown_id(self) -> int | None:
        return self._shown_id

    def open_file(self, path: str | Path) -> bool:
        """Show a message file in the viewer *without storing it*.

        File > Import (or drag and drop) stores; this is for looking at one
        file, e.g. ``mailcatcher-gui message.eml``.
        """
        p = Path(path)
        try:
            opened = open_local_message(p)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot open file", f"{p}: {exc.strerror or exc}")
            return False
        self.message_list.forget_current()
        self._shown_id = None
        self._shown_file = p
        self.view.show_message(opened)
        self._update_action_state()
        self.statusBar().showMessage(
            f"Showing {p.name} from disk (not stored). Use File ▸ Import to keep it.", 10000
        )
        self._update_title()
        return True

    def open_file_interactive(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Open Message File",
            "",
            "Email messages (*.eml *.msg *.txt *.mime);;All files (*)",
        )
        if path:
            self.open_file(path)

    def raise_to(self, message_id: int = 0) -> None:
        """Bring the window up (tray / notification click), on ``message_id`` if given."""
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()
        if message_id and not self.message_list.select_id(message_id) and self.model.query:
            # Hidden by the current search: show everything, then select it.
            self.search.clear()
            self.message_list.select_id(message_id)

    # ---- search ------------------------------------------------------------------------------

    def apply_search(self, text: str) -> bool:
        ok = self.message_list.set_query(text)
        self.search.set_error(None if ok else self.message_list.error_label.text())
        if ok:
            self.sidebar.show_query(text)
        return ok

    def _filter_chosen(self, query: str) -> None:
        self.search.setText(query)
        self.search.flush()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    # ---- message actions ---------------------------------------------------------------------

    def _target_ids(self) -> list[int]:
        return self.message_list.selected_ids()

    def mark_selected(self, read: bool) -> None:
        ids = self._target_ids()
        if ids:
            self.mailbox.mark_read(ids, read)

    def delete_selected(self) -> None:
        ids = self._target_ids()
        if not ids:
            return
        rows = self.message_list.selected_rows()
        if self.message_list.current_id in ids and rows:
            self.message_list.reselect_after_delete(rows[0])
        self.mailbox.delete(ids)
        self.statusBar().showMessage(
            f"Deleted {len(ids):,} message{'s' if len(ids) != 1 else ''}", 3000
        )

    def clear_all(self) -> int:
        return self.mailbox.clear()

    def clear_all_interactive(self) -> None:
        total = self.mailbox.count()
        if not total:
            return
        answer = QMessageBox.question(
            self,
            "Delete all messages?",
            f"Delete all {total:,} stored messages? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.clear_all()

    def _current_summary(self) -> MessageSummary | None:
        if self._shown_id is None:
            return None
        try:
            return self.mailbox.summary(self._shown_id)
        except MessageNotFound:
            return None

    def copy_sender(self) -> None:
        s = self._current_summary()
        if s is not None:
            QApplication.clipboard().setText(s.from_ or s.envelope_from)

    def copy_subject(self) -> None:
        s = self._current_summary()
        if s is not None:
            QApplication.clipboard().setText(s.subject)

    def save_eml(self, message_id: int, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.mailbox.raw(message_id))
        return target

    def save_eml_interactive(self) -> None:
        s = self._current_summary()
        if s is None:
            return
        suggested = mailio.export_filename(s.id, s.subject)
        path, _ = QFileDialog.getSaveFileName(
            self, "Save Message", suggested, "Email message (*.eml);;All files (*)"
        )
        if path:
            try:
                self.save_eml(s.id, path)
            except OSError as exc:
                QMessageBox.warning(self, "Save failed", f"{path}: {exc.strerror or exc}")
                return
            self.statusBar().showMessage(f"Saved {Path(path).name}", 4000)

    # ---- import / export jobs ----------------------------------------------------------------

    def import_paths(self, paths: Sequence[str | Path], *, progress: bool = True) -> BackgroundJob:
        """Import in the background; new messages appear live; returns the job."""
        items = [str(p) for p in paths]
        self.notifier.suppress()
        job = BackgroundJob(
            lambda report, cancelled: import_paths(self.mailbox, items, report, cancelled),
            self,
            name="import",
        )
        job.finished.connect(lambda result, j=job: self._import_done(j, result))
        self._start_job(job, "Importing…", "Imported {n:,} messages…", progress)
        return job

    def _import_done(self, job: BackgroundJob, result: JobResult) -> None:
        self.notifier.resume()
        note = " (cancelled)" if result.cancelled else ""
        if result.skipped:
            note = f", {result.skipped:,} empty skipped{note}"
        self.statusBar().showMessage(
            f"Imported {result.done:,} message{'s' if result.done != 1 else ''}{note}", 6000
        )
        self._finish_job(job, result, "Import")

    def import_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Import Messages",
            "",
            "Messages and mailboxes (*.eml *.mbox *.mbx *.msg *.txt);;All files (*)",
        )
        if files:
            self.import_paths(files)

    def export_ids(
        self,
        kind: str,
        ids: Sequence[int],
        target: str | Path,
        *,
        progress: bool = True,
        overwrite: bool = False,
    ) -> BackgroundJob:
        """Export ``ids`` as one mbox file (``kind="mbox"``) or a folder of .eml files.

        An existing mbox is replaced only with ``overwrite`` (the save dialog confirmed).
        """
        ids = list(ids)

        def work(report: Report, cancelled: Cancelled) -> JobResult:
            if kind == "mbox":
                return export_mbox(
                    self.mailbox, ids, target, report, cancelled, overwrite=overwrite
                )
            return export_eml_folder(self.mailbox, ids, target, report, cancelled)

        job = BackgroundJob(
            work,
            self,
            name="export",
        )

        def done(result: JobResult, j: BackgroundJob = job) -> None:
            self.statusBar().showMessage(f"Exported {result.done:,} to {target}", 6000)
            self._finish_job(j, result, "Export")

        job.finished.connect(done)
        self._start_job(job, "Exporting…", "Exported {n:,} messages…", progress)
        return job

    def export_interactive(self, kind: str) -> None:
        ids = self._target_ids()
        if not ids:
            self.statusBar().showMessage("Select the messages to export first.", 4000)
            return
        if kind == "mbox":
            target, _ = QFileDialog.getSaveFileName(
                self, "Export as mbox", "messages.mbox", "mbox files (*.mbox);;All files (*)"
            )
        else:
            target = QFileDialog.getExistingDirectory(self, "Export to Folder")
        if target:
            # getSaveFileName has already asked whether to replace an existing file.
            self.export_ids(kind, ids, target, overwrite=True)

    def _start_job(self, job: BackgroundJob, title: str, template: str, progress: bool) -> None:
        self._jobs.append(job)
        if progress:
            dialog = QProgressDialog(title, "Cancel", 0, 0, self)
            dialog.setWindowTitle(title.rstrip("…"))
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(500)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.canceled.connect(job.cancel)
            job.progress.connect(lambda n, _detail, d=dialog: d.setLabelText(template.format(n=n)))
            self._progress[job] = dialog
        job.start()

    def _finish_job(self, job: BackgroundJob, result: JobResult, what: str) -> None:
        dialog = self._progress.pop(job, None)
        if dialog is not None:
            dialog.canceled.disconnect()
            dialog.close()
            dialog.deleteLater()
        if job in self._jobs:
            self._jobs.remove(job)
        job.deleteLater()
        if result.errors:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                f"{what} problems",
                f"{what} finished with {len(result.errors)} problem(s).",
                QMessageBox.StandardButton.Ok,
                self,
            )
            box.setDetailedText("\n".join(result.errors))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.jobFinished.emit(result)

    # ---- drag and drop -----------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # ---- events from the mailbox -------------------------------------------------------------

    def _on_added(self, summaries: Sequence[MessageSummary]) -> None:
        self._schedule_counts()
        if self.notify_when_active or not self.isActiveWindow():
            self.notifier.add(summaries)

    def _on_deleted(self, ids: Sequence[int]) -> None:
        self._schedule_counts()
        if self._shown_id is not None and self._shown_id in set(ids):
            self.view.clear()
            self._shown_id = None
            self._update_action_state()

    def _on_cleared(self) -> None:
        self._schedule_counts()
        if self._shown_id is not None:
            self.view.clear()
            self._shown_id = None
        self.message_list.forget_current()
        self._update_action_state()

    def _on_notify(self, title: str, body: str, message_id: int) -> None:
        self.last_notification = (title, body, message_id)
        if not self.tray.show_message(title, body, message_id):
            QApplication.alert(self)
            self.statusBar().showMessage(f"{title} — {body}", 5000)
        self.notified.emit(title, body, message_id)

    def _schedule_counts(self) -> None:
        # Every count shown repaints the status bar, the sidebar and what is
        # under them: while mail keeps coming, a few times a second is plenty.
        if not self._counts_timer.isActive():
            busy = time.monotonic() - self._counts_at < 1.0
            self._counts_timer.start(500 if busy else 100)

    def update_counts(self) -> None:
        self._counts_at = time.monotonic()
        try:
            total = self.mailbox.count()
            unread = self.mailbox.unread_count()
        except Exception:  # noqa: BLE001 - the status bar must not take the window down
            log.exception("counting messages failed")
            return
        self.total_count, self.unread_count = total, unread
        if not total:
            text = "No messages"
        else:
            text = f"{total:,} message{'s' if total != 1 else ''}"
            text += f" · {unread:,} unread" if unread else " · all read"
        self.count_label.setText(text)
        self.act_clear.setEnabled(total > 0)
        self.sidebar.set_counts(total, unread)
        self.tray.set_unread(unread)
        self._update_title()

    def _update_title(self) -> None:
        unread = getattr(self, "unread_count", 0)
        title = APP_TITLE + (f" — {unread:,} unread" if unread else "")
        if self._shown_file is not None:
            title = f"{self._shown_file.name} (not stored) — {title}"
        self.setWindowTitle(title)

    def _update_action_state(self) -> None:
        # hasSelection(), not selectedRows(): a select-all of 100k rows must stay cheap.
        has_selection = (
            self.message_list.table.selectionModel().hasSelection() or self._shown_id is not None
        )
        for a in (
            self.act_delete,
            self.act_mark_read,
            self.act_mark_unread,
            self.act_export_mbox,
            self.act_export_folder,
        ):
            a.setEnabled(has_selection)
        has_open = self._shown_id is not None
        for a in (self.act_save_eml, self.act_copy_sender, self.act_copy_subject):
            a.setEnabled(has_open)
        composing = self.composer is not None
        one = composing and (has_open or self.message_list.current_id is not None)
        for a in (self.act_reply, self.act_reply_all, self.act_forward, self.act_edit_as_new):
            a.setEnabled(one)
        self.act_release.setEnabled(composing and has_selection)

    # ---- context menu ------------------------------------------------------------------------

    def _context_menu(self, pos: QPoint) -> None:
        if not self.message_list.table.selectionModel().hasSelection():
            return
        menu = QMenu(self)
        for a in self.context_actions():
            menu.addSeparator() if a is None else menu.addAction(a)
        menu.exec(pos)
        menu.deleteLater()

    def context_actions(self) -> list[QAction | None]:
        """The message list's context menu (None = separator)."""
        compose: list[QAction | None] = []
        if self.composer is not None:
            compose = [
                self.act_reply,
                self.act_reply_all,
                self.act_forward,
                self.act_edit_as_new,
                self.act_release,
                None,
            ]
        return [
            *compose,
            self.act_mark_read,
            self.act_mark_unread,
            None,
            self.act_copy_sender,
            self.act_copy_subject,
            None,
            self.act_save_eml,
            self.act_export_mbox,
            self.act_export_folder,
            None,
            self.act_delete,
        ]

    # ---- settings ----------------------------------------------------------------------------

    def open_settings(self) -> None:
        dialog = SettingsDialog(self.prefs, self)
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_preferences(dialog.preferences())

    def apply_preferences(self, prefs: Preferences) -> None:
        """Save ``prefs`` and apply them now (the listener restarts if it changed)."""
        old, self.prefs = self.prefs, prefs
        self.settings.set_preferences(prefs)
        self.notifier.enabled = prefs.notifications
        self.mailbox.set_retention(prefs.retention)
        if hasattr(self.view, "set_allow_remote_default"):
            self.view.set_allow_remote_default(prefs.allow_remote_default)
        if prefs.theme != old.theme:
            app = QApplication.instance()
            if isinstance(app, QApplication):
                apply_theme(app, prefs.theme)
        if prefs.listener_differs(old):
            self.listenerSettingsChanged.emit(prefs)

    # ---- layout and state --------------------------------------------------------------------

    def refresh(self) -> None:
        self.model.refresh()
        self.update_counts()

    def set_view_below(self, below: bool) -> None:
        orientation = Qt.Orientation.Vertical if below else Qt.Orientation.Horizontal
        if self.content_splitter.orientation() != orientation:
            self.content_splitter.setOrientation(orientation)
            total = sum(self.content_splitter.sizes()) or 1000
            self.content_splitter.setSizes([total * 2 // 5, total * 3 // 5])
            # Below the list there is room for the "To" column; beside the
            # viewer there is not (the header's context menu overrides).
            self.message_list.table.setColumnHidden(Column.TO, not below)
        if self.act_view_below.isChecked() != below:
            self.act_view_below.setChecked(below)

    def save_state(self) -> None:
        s = self.settings
        s.set_state("geometry", self.saveGeometry())
        s.set_state("state", self.saveState())
        s.set_state("main_splitter", self.main_splitter.saveState())
        s.set_state("content_splitter", self.content_splitter.saveState())
        s.set_state("list_header", self.message_list.table.horizontalHeader().saveState())
        s.set_value("window/layout", "below" if self.act_view_below.isChecked() else "side")
        s.set_value("window/sidebar", "1" if self.act_show_sidebar.isChecked() else "0")
        s.sync()

    def restore_state(self) -> None:
        s = self.settings
        self.set_view_below(s.value("window/layout", "side") == "below")
        self.act_show_sidebar.setChecked(s.value("window/sidebar", "1") != "0")
        geometry = s.state("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        state = s.state("state")
        if state is not None:
            self.restoreState(state)
        if (main := s.state("main_splitter")) is not None:
            self.main_splitter.restoreState(main)
        else:
            self.main_splitter.setSizes([180, 1100])
        if (content := s.state("content_splitter")) is not None:
            self.content_splitter.restoreState(content)
        else:
            self.content_splitter.setSizes([520, 580])
        header = s.state("list_header")
        if header is not None:
            self.message_list.table.horizontalHeader().restoreState(header)
            hh = self.message_list.table.horizontalHeader()
            self.model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        else:
            self.message_list.table.setColumnHidden(Column.TO, not self.act_view_below.isChecked())

    # ---- shutdown ----------------------------------------------------------------------------

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if self.close_requests_quit:
            # The app decides when to go (it stops the sink first).
            event.ignore()
            self.quitRequested.emit()
            return
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Save state, stop jobs and release the viewer. Call once, before exit."""
        self.save_state()
        for job in list(self._jobs):
            job.cancel()
        for job in list(self._jobs):
            job.wait(10)
        self._counts_timer.stop()
        self.notifier.enabled = False
        self.tray.hide()
        shutdown = getattr(self.view, "shutdown", None)
        if callable(shutdown):
            shutdown()

    # ---- help --------------------------------------------------------------------------------

    def _show_search_help(self) -> None:
        QMessageBox.information(self, "Search syntax", SEARCH_HELP_HTML)

    def _show_about(self) -> None:
        from .. import __version__

        QMessageBox.about(
            self,
            "About mailcatcher-gui",
            f"<b>mailcatcher-gui</b> {__version__}<br>"
            "A desktop mail catcher for developers.<br><br>"
            f"Messages: {html.escape(self.mailbox.location)}<br>"
            f"Settings: {html.escape(str(self.settings.path))}",
        )

    @staticmethod
    def _repolish(widget: QWidget) -> None:
        widget.style().unpolish(widget)
        widget.style().polish(widget)


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
