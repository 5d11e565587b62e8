"""The main window: filters | message list | message viewer, toolbar, status bar.

The window is a thin adapter and owns no core state. What it shows comes
from the ``Mailbox`` (reads) and the ``MailboxBridge`` (events); what the
user does is a ``Mailbox`` call, a file job (``ui.window.file_jobs``) or a signal
for the composition root (``app.GuiApp``):

* ``preferencesChosen(Preferences)``: the user confirmed the Settings
  dialog. The app saves and applies them and tells the window what to show
  (``show_preferences``) and how a listener change went
  (``listener_change_finished``).
* ``quitRequested``: menu, Ctrl+Q, window close, tray.

The parts live in their own modules: the action table, menus and toolbar in
``ui.window.actions_table``, the panes in ``ui.window.panes``, the status bar in
``ui.window.status_panel``, import/export in ``ui.window.file_jobs``. ``build_main_window``
(``ui.window.factory``) builds the model, list and viewer and hands them in.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol, cast

from PySide6.QtCore import QEvent, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QMainWindow, QMenu, QMessageBox, QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.models import MessageSummary, OpenedMessage
from ...core.store.database import MessageNotFound
from ..bridge import MailboxBridge
from ..theme import app_icon, stylesheet, themed_style_sheet
from .actions_table import (
    ActionState,
    build_actions,
    build_menus,
    build_toolbar,
    context_names,
    refresh_icons,
    update_enabled,
)
from .compose_commands import ComposeCommands, ComposeHooks
from .file_actions import BackgroundJob, open_local_message
from .file_jobs import FileJobs
from .help import HelpDialogs
from .list_model import MessageListModel
from .message_commands import MessageCommands
from .message_list import MessageList, SearchField
from .panes import WindowPanes
from .settings import AppSettings, Preferences, SettingsDialog, SettingsFlow
from .sidebar import Sidebar
from .state import restore_window_state, save_window_state
from .status_panel import StatusPanel
from .tag_commands import TagCommands
from .tray import BurstNotifier, TrayIcon

log = logging.getLogger(__name__)


class Viewer(Protocol):
    """What the window needs from the message viewer (``ui.viewer.message_view``)."""

    def show_message(self, opened: OpenedMessage) -> None: ...
    def clear(self) -> None: ...


def window_title(unread: int, shown_file: Path | None = None) -> str:
    """The window title, without the application's name.

    Qt appends the application display name itself (" — mailcatcher-gui");
    an empty title shows just that name.
    """
    parts = []
    if shown_file is not None:
        parts.append(f"{shown_file.name} (not stored)")
    if unread:
        parts.append(f"{unread:,} unread")
    return " — ".join(parts)


class MainWindow(QMainWindow):
    """See the module docstring."""

    #: the user confirmed new ``Preferences`` in the Settings dialog
    preferencesChosen = Signal(object)
    #: the user asked to quit (menu, Ctrl+Q, window close, tray)
    quitRequested = Signal()
    #: an import/export finished (JobResult) -- for status and tests
    jobFinished = Signal(object)
    #: a notification for new mail was raised: title, body, newest id
    notified = Signal(str, str, int)

    def __init__(
        self,
        mailbox: MailboxProtocol,
        bridge: MailboxBridge,
        settings: AppSettings,
        *,
        model: MessageListModel,
        message_list: MessageList,
        view: QWidget,
        prefs: Preferences,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("mainWindow")
        self.mailbox = mailbox
        self.bridge = bridge
        self.settings = settings  # window geometry and layout only
        self.prefs = prefs  # what the Settings dialog starts from (set by the app)
        self.close_requests_quit = False
        #: notify about new mail even while the window is focused (tests; off by default)
        self.notify_when_active = False
        self.compose_commands = ComposeCommands(self)
        self._shown_id: int | None = None
        self._shown_file: Path | None = None
        self.settings_flow = SettingsFlow(self)
        self.settings_flow.chosen.connect(self.preferencesChosen.emit)
        self.last_notification: tuple[str, str, int] | None = None
        self.total_count = self.unread_count = 0

        self.setWindowIcon(app_icon())
        # Captions and errors use the theme's tones, refilled on a theme switch.
        themed_style_sheet(self, stylesheet)
        self.setAcceptDrops(True)

        # ---- panes -----------------------------------------------------------------------------
        self.model = model
        self.message_list = message_list
        self.view = view
        self._viewer = cast(Viewer, view)
        self.sidebar = Sidebar(self)
        self.search = SearchField(self)
        self.panes = WindowPanes(self.sidebar, message_list, view, self)
        self.main_splitter = self.panes
        self.content_splitter = self.panes.content
        self.setCentralWidget(self.panes)

        self.help = HelpDialogs(self, mailbox.location, settings.path)
        self.files = FileJobs(mailbox, self)
        self.messages = MessageCommands(mailbox, message_list, lambda: self._shown_id, self)
        self.messages.status.connect(lambda t, ms: self.statusBar().showMessage(t, ms))
        self.tags = TagCommands(mailbox, message_list, self)
        self.tags.status.connect(lambda t, ms: self.statusBar().showMessage(t, ms))
        self.actions_by_name = build_actions(self, self, message_list)
        self.compose_commands.changed.connect(self._update_action_state)
        self.compose_commands.status.connect(lambda t, ms: self.statusBar().showMessage(t, ms))
        for name, action in self.actions_by_name.items():
            setattr(self, f"act_{name}", action)
        build_menus(self.menuBar(), self.actions_by_name)
        self.toolbar = build_toolbar(self, self.actions_by_name, self.search)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.toolbar)
        self.status_panel = StatusPanel(self.statusBar())
        self.status_panel.changePortRequested.connect(self.open_settings)
        self.listener_label = self.status_panel.listener_label
        self.port_button = self.status_panel.port_button
        self.count_label = self.status_panel.count_label
        self.files.jobFinished.connect(self.jobFinished.emit)
        self.files.status.connect(lambda text, ms: self.statusBar().showMessage(text, ms))

        # ---- notifications ---------------------------------------------------------------------
        self.notifier = BurstNotifier(self)
        self.notifier.notify.connect(self._on_notify)
        self.files.importing.connect(
            lambda on: self.notifier.suppress() if on else self.notifier.resume()
        )
        self.tray = TrayIcon(app_icon(), self)
        self.tray.activated.connect(self.raise_to)
        self.tray.quitRequested.connect(self.quitRequested.emit)

        # ---- wiring ----------------------------------------------------------------------------
        # Model handlers first: the list re-selects before the window reacts.
        bridge.messagesAdded.connect(model.on_messages_added)
        bridge.messagesDeleted.connect(model.on_messages_deleted)
        bridge.messagesChanged.connect(model.on_messages_changed)
        bridge.mailboxCleared.connect(model.on_mailbox_cleared)
        bridge.tagsChanged.connect(model.on_tags_changed)
        bridge.tagsChanged.connect(lambda _updates: self._schedule_counts())
        bridge.messagesAdded.connect(self._on_added)
        bridge.messagesDeleted.connect(self._on_deleted)
        bridge.messagesChanged.connect(lambda *_: self._schedule_counts())
        bridge.mailboxCleared.connect(self._on_cleared)
        model.synced.connect(lambda _delta: self._update_match_count())

        message_list.messageOpened.connect(self.open_message)
        message_list.selectionChanged.connect(self._update_action_state)
        message_list.contextMenuRequested.connect(self._context_menu)
        message_list.currentFiltered.connect(self._current_filtered)
        self.search.queryChanged.connect(self.apply_search)
        self.search.returnPressed.connect(message_list.focus_table)
        self.sidebar.filterChosen.connect(self._filter_chosen)

        self._counts_timer = QTimer(self)
        self._counts_timer.setSingleShot(True)
        self._counts_timer.setInterval(100)
        self._counts_timer.timeout.connect(self.update_counts)
        self._counts_at = 0.0

        self.show_preferences(prefs)
        self.resize(1280, 800)
        self.restore_state()
        self.update_counts()
        self._update_action_state()
        self.set_listeners([])

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "actions_by_name"):
            refresh_icons(self.actions_by_name, self.palette())
        super().changeEvent(event)

    # ---- told by the app -------------------------------------------------------------------------

    def show_preferences(self, prefs: Preferences) -> None:
        """Show ``prefs`` (the app saved and applied them): notifications, viewer, dialog."""
        self.prefs = prefs
        self.notifier.enabled = prefs.notifications
        set_remote = getattr(self.view, "set_allow_remote_default", None)
        if callable(set_remote):
            set_remote(prefs.allow_remote_default)

    def set_listeners(self, listeners: Sequence[tuple[str, str, int]]) -> None:
        """Show what the sink listens on (``RunningSink.listeners``)."""
        self.message_list.set_empty_hint(self.status_panel.set_listeners(listeners))

    def set_sink_error(self, message: str) -> None:
        """The sink is not running; say why and offer another port."""
        self.message_list.set_empty_hint(self.status_panel.set_sink_error(message))

    def listener_change_finished(self, error: str | None) -> None:
        """How the listener change from Settings went (None: it runs)."""
        self.settings_flow.listener_change_finished(error)
        if error:
            self.statusBar().showMessage("Could not switch the listener (see Settings).", 8000)

    @property
    def listeners(self) -> list[tuple[str, str, int]]:
        return self.status_panel.listeners

    @property
    def composer(self) -> ComposeHooks | None:
        return self.compose_commands.composer

    def set_compose_handler(self, handler: Callable[[], object] | None) -> None:
        """Plug the compose pane in: Ctrl+N / File > New Message calls ``handler``."""
        self.compose_commands.set_handler(handler)
        tip = "Compose and send a test message (Ctrl+N)" if handler else "Not available yet"
        self.actions_by_name["compose"].setToolTip(tip)

    def set_composer(self, composer: ComposeHooks | None) -> None:
        """Plug the compose side in: New Message, Reply, Forward, Edit as New, Release."""
        self.compose_commands.set_composer(composer)

    # ---- settings --------------------------------------------------------------------------------

    def open_settings(self) -> SettingsDialog:
        """Show Settings; what the user confirms goes out as ``preferencesChosen``."""
        return self.settings_flow.open(self.prefs)

    @property
    def settings_dialog(self) -> SettingsDialog | None:
        return self.settings_flow.dialog

    def request_quit(self) -> None:
        self.quitRequested.emit()

    # ---- compose (``ui.window.compose_commands``) ------------------------------------------------

    def compose_from_current(self, what: str) -> object | None:
        """Reply / reply to all / forward / edit as new, from the current message."""
        current = self.message_list.current_id
        target = current if current is not None else self._shown_id
        return self.compose_commands.from_message(what, target)

    def release_selected(self) -> object | None:
        """The "Release To…" action: the selected messages, or the one on screen."""
        ids = self._target_ids() or ([self._shown_id] if self._shown_id is not None else [])
        return self.compose_commands.release(ids)

    # ---- opening messages ------------------------------------------------------------------------

    def open_message(self, message_id: int) -> bool:
        """Show a stored message, then mark it read (explicitly, after showing)."""
        try:
            opened = self.mailbox.get(message_id)
        except MessageNotFound:
            self._clear_view()
            return False
        self._viewer.show_message(opened)
        self._shown_id = message_id
        self._shown_file = None
        self._update_action_state()
        self.mailbox.mark_read([message_id])
        self._update_title()
        return True

    def _clear_view(self) -> None:
        self._viewer.clear()
        self._shown_id = None
        self._update_action_state()

    @property
    def shown_id(self) -> int | None:
        return self._shown_id

    def open_file(self, path: str | Path) -> bool:
        """Show a message file in the viewer *without storing it* (Import stores)."""
        p = Path(path)
        try:
            opened = open_local_message(p)
        except OSError as exc:
            QMessageBox.warning(self, "Cannot open file", f"{p}: {exc.strerror or exc}")
            return False
        self.message_list.forget_current()
        self._shown_id = None
        self._shown_file = p
        self._viewer.show_message(opened)
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

    # ---- search ----------------------------------------------------------------------------------

    def apply_search(self, text: str) -> bool:
        ok = self.message_list.set_query(text)
        self.search.set_error(None if ok else self.message_list.error_label.text())
        if ok:
            self.sidebar.show_query(text)
            shown = self._shown_id
            if shown is not None and self.model.row_of_id(shown, hint=0) is None:
                # Not among the results: neither shown nor the target of Reply & co.
                self.message_list.forget_current()
                self._clear_view()
        self._update_match_count()
        return ok

    def _current_filtered(self, message_id: int) -> None:
        if self._shown_id == message_id and self.model.query:
            self.message_list.forget_current()
            self._clear_view()

    def _update_match_count(self) -> None:
        query = self.model.query
        self.search.set_match_count(self.model.rowCount() if query else None)

    def _filter_chosen(self, query: str) -> None:
        self.search.setText(query)
        self.search.flush()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def _target_ids(self) -> list[int]:
        return self.message_list.selected_ids()

    def _current_summary(self) -> MessageSummary | None:
        return self.messages.shown_summary()

    # ---- files (``ui.window.file_jobs``) ---------------------------------------------------------

    def save_eml(self, message_id: int, path: str | Path) -> Path:
        return self.files.save_eml(message_id, path)

    def save_eml_interactive(self) -> None:
        s = self._current_summary()
        if s is not None:
            self.files.save_eml_interactive(s.id, s.subject)

    def import_paths(self, paths: Sequence[str | Path], *, progress: bool = True) -> BackgroundJob:
        """Import in the background; new messages appear live; returns the job."""
        return self.files.import_paths(paths, progress=progress)

    def export_ids(
        self,
        kind: str,
        ids: Sequence[int],
        target: str | Path,
        *,
        progress: bool = True,
        overwrite: bool = False,
    ) -> BackgroundJob:
        return self.files.export_ids(kind, ids, target, progress=progress, overwrite=overwrite)

    def export_interactive(self, kind: str) -> None:
        self.files.export_interactive(kind, self._target_ids())

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        if urls and all(u.isLocalFile() for u in urls):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        # Files, mbox files and folders (a Maildir, a folder of .eml files) alike.
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_paths(paths)

    # ---- events from the mailbox -----------------------------------------------------------------

    def _on_added(self, summaries: Sequence[MessageSummary]) -> None:
        self._schedule_counts()
        if self.notify_when_active or not self.isActiveWindow():
            self.notifier.add(summaries)

    def _on_deleted(self, ids: Sequence[int]) -> None:
        self._schedule_counts()
        if self._shown_id is not None and self._shown_id in set(ids):
            self._clear_view()

    def _on_cleared(self) -> None:
        self._schedule_counts()
        if self._shown_id is not None:
            self._clear_view()
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
            tags = self.mailbox.tags()
        except Exception:  # noqa: BLE001 - the status bar must not take the window down
            log.exception("counting messages failed")
            return
        self.total_count, self.unread_count = total, unread
        self.status_panel.set_counts(total, unread)
        self.sidebar.set_counts(total, unread)
        self.sidebar.set_tags(tags)
        self.search.set_tag_names(list(tags))
        self.tray.set_unread(unread)
        self._update_title()
        self._update_action_state()

    def _update_title(self) -> None:
        self.setWindowTitle(window_title(self.unread_count, self._shown_file))

    def _update_action_state(self) -> None:
        # hasSelection(), not selectedRows(): a select-all of 100k rows must stay cheap.
        has_open = self._shown_id is not None
        state = ActionState(
            has_selection=self.message_list.table.selectionModel().hasSelection() or has_open,
            has_open=has_open,
            has_current=self.message_list.current_id is not None,
            composing=self.compose_commands.handler is not None,
            total=self.total_count,
        )
        update_enabled(self.actions_by_name, state)
        if self.composer is None:  # Ctrl+N alone may be wired; reply & co. need the composer
            for name in ("reply", "reply_all", "forward", "edit_as_new", "release"):
                self.actions_by_name[name].setEnabled(False)

    # ---- context menu ----------------------------------------------------------------------------

    def _context_menu(self, pos: QPoint) -> None:
        if not self.message_list.table.selectionModel().hasSelection():
            return
        menu = QMenu(self)
        for a in self.context_actions():
            menu.addSeparator() if a is None else menu.addAction(a)
        menu.insertMenu(self.actions_by_name["delete"], self.tags.menu(menu))
        menu.exec(pos)
        menu.deleteLater()

    def context_actions(self) -> list[QAction | None]:
        """The message list's context menu (None = separator)."""
        names = context_names(self.composer is not None)
        return [None if n is None else self.actions_by_name[n] for n in names]

    # ---- layout and state ------------------------------------------------------------------------

    def refresh(self) -> None:
        self.model.refresh()
        self.update_counts()

    def set_sidebar_visible(self, visible: bool) -> None:
        self.sidebar.setVisible(visible)

    def set_view_below(self, below: bool) -> None:
        self.panes.set_below(below)
        action = self.actions_by_name["view_below"]
        if action.isChecked() != below:
            action.setChecked(below)

    def save_state(self) -> None:
        save_window_state(self, self.settings)

    def restore_state(self) -> None:
        restore_window_state(self, self.settings)

    # ---- shutdown --------------------------------------------------------------------------------

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
        self.files.shutdown()
        self._counts_timer.stop()
        self.notifier.enabled = False
        self.tray.hide()
        shutdown = getattr(self.view, "shutdown", None)
        if callable(shutdown):
            shutdown()
