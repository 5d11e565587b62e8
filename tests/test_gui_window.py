"""The main window against a real mailbox: open, search, delete, flags, files,
settings, keyboard. The viewer is the real ``MessageView`` with its plain
(non-Chromium) HTML fallback to keep these fast; ``test_gui_app.py`` runs the
whole app with Chromium."""

from __future__ import annotations

import mailbox as std_mailbox
from pathlib import Path

import pytest
from gui_helpers import capture, fill_store, simple_message
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QDialog

from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.list_model import Column
from mailcatcher_gui.ui.window.main_window import MainWindow
from mailcatcher_gui.ui.window.settings import AppSettings, Preferences, SettingsDialog

pytestmark = [
    pytest.mark.gui,
    # Qt's offscreen platform plugin says this for every QMainWindow it shows;
    # it is about the test platform, not about the window.
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


@pytest.fixture
def settings(tmp_path):
    return AppSettings.at(tmp_path / "config" / "settings.ini")


@pytest.fixture
def make_window(qtbot, mailbox, settings):
    made = []

    def make(app_settings: AppSettings | None = None) -> MainWindow:
        bridge = MailboxBridge(mailbox)
        view = MessageView(web_engine=False)
        window = build_main_window(mailbox, bridge, app_settings or settings, view=view)
        qtbot.addWidget(window)
        made.append((window, bridge))
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        return window

    yield make
    for window, bridge in made:
        window.shutdown()
        bridge.close()


def select_row(window: MainWindow, row: int) -> None:
    window.message_list.select_row(row)


def test_selecting_opens_the_message_and_then_marks_it_read(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 5)
    window = make_window()
    newest = mailbox.list(limit=1)[0]
    assert not newest.read and window.unread_count == 5
    select_row(window, 0)
    assert window.view.opened is not None and window.view.opened.id == newest.id
    assert window.shown_id == newest.id
    assert mailbox.summary(newest.id).read
    qtbot.waitUntil(lambda: window.unread_count == 4)
    assert (
        window.model.data(window.model.index(0, Column.SUBJECT), Qt.ItemDataRole.FontRole) is None
    )
    assert "4 unread" in window.count_label.text()
    assert "4 unread" in window.windowTitle()


def test_delete_removes_rows_and_opens_the_next_message(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 6)
    window = make_window()
    ids = [s.id for s in mailbox.list()]
    select_row(window, 1)
    window.act_delete.trigger()
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    assert mailbox.count() == 5
    assert ids[1] not in mailbox.store.ids()
    # The message below moved up into the deleted one's place and is open.
    qtbot.waitUntil(lambda: window.view.opened is not None and window.view.opened.id == ids[2])
    assert window.message_list.current_id == ids[2]
    assert window.model.id_at(window.message_list.table.currentIndex().row()) == ids[2]


def test_del_key_deletes_only_when_the_list_has_focus(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 4)
    window = make_window()
    select_row(window, 0)
    window.activateWindow()
    window.search.setFocus()
    qtbot.keyClicks(window.search, "abc")
    qtbot.keyClick(window.search, Qt.Key.Key_Delete)
    assert mailbox.count() == 4  # Del edited the search text instead
    window.search.clear()
    window.message_list.table.setFocus()
    qtbot.waitUntil(lambda: window.message_list.table.hasFocus())
    qtbot.keyClick(window.message_list.table, Qt.Key.Key_Delete)
    qtbot.waitUntil(lambda: mailbox.count() == 3)


def test_j_k_navigation_and_mark_unread(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 5)
    window = make_window()
    ids = [s.id for s in mailbox.list()]
    table = window.message_list.table
    select_row(window, 0)
    table.setFocus()
    qtbot.keyClick(table, Qt.Key.Key_J)
    qtbot.keyClick(table, Qt.Key.Key_J)
    assert window.shown_id == ids[2]
    qtbot.keyClick(table, Qt.Key.Key_K)
    assert window.shown_id == ids[1]
    assert mailbox.summary(ids[1]).read and mailbox.summary(ids[2]).read
    window.act_mark_unread.trigger()
    assert not mailbox.summary(ids[1]).read
    qtbot.waitUntil(
        lambda: window.model.data(window.model.index(1, 1), Qt.ItemDataRole.FontRole) is not None
    )
    window.act_mark_read.trigger()
    assert mailbox.summary(ids[1]).read


# Typing "su" offers "subject:" in the completion popup, which grabs the keyboard.
@pytest.mark.qt_log_ignore(r"^This plugin does not support grabbing the keyboard$")
def test_search_is_debounced_and_shows_bad_queries_in_red(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 50)
    mailbox.accept_sync(capture(1, subject="Invoice for March"))
    window = make_window()
    qtbot.waitUntil(lambda: window.model.rowCount() == 51)
    window.act_find.trigger()
    assert window.search.hasFocus() or QApplication.focusWidget() is window.search
    qtbot.keyClicks(window.search, "subject:invo")
    assert window.model.query is None  # not yet: debounced
    qtbot.waitUntil(lambda: window.model.query == "subject:invo", timeout=2000)
    assert window.model.rowCount() == 1
    assert window.model.data(window.model.index(0, Column.SUBJECT)) == "Invoice for March"
    assert not window.message_list.error_label.isVisible()

    window.search.clear()
    qtbot.waitUntil(lambda: window.model.query is None)
    qtbot.keyClicks(window.search, "after:someday")
    qtbot.waitUntil(lambda: window.message_list.error_label.isVisible(), timeout=2000)
    error = window.message_list.error_label.text()
    assert "after:" in error and "YYYY-MM-DD" in error.upper() or "date" in error.lower()
    assert window.search.property("invalid") is True
    assert window.model.rowCount() == 51 and window.model.query is None  # list unchanged
    color = window.message_list.error_label.palette().color(
        window.message_list.error_label.foregroundRole()
    )
    # red text (the theme's danger tone: #b3261e light, #ff8a80 dark)
    assert color.red() > 150 and color.red() > 1.5 * color.green()

    window.search.setText("is:unread")
    window.search.flush()
    assert not window.message_list.error_label.isVisible()
    assert window.search.property("invalid") is False
    assert window.model.rowCount() == mailbox.count("is:unread")


def test_sidebar_filters_set_the_search(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 21)
    window = make_window()
    window.sidebar.filterChosen.emit("has:attachment")
    assert window.search.text() == "has:attachment"
    assert window.model.rowCount() == 3
    assert "(21)" in window.sidebar.list.item(0).text()


def test_new_mail_keeps_the_selection_and_coalesces_a_notification(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 30)
    window = make_window()
    window.notify_when_active = True  # offscreen, the test window may well be "active"
    select_row(window, 3)
    chosen = window.message_list.current_id
    notes = []
    window.notified.connect(lambda *a: notes.append(a))
    for i in range(25):
        mailbox.accept_sync(capture(i))
    qtbot.waitUntil(lambda: window.model.rowCount() == 55)
    table = window.message_list.table
    assert window.message_list.current_id == chosen
    assert window.model.id_at(table.currentIndex().row()) == chosen
    assert table.currentIndex().row() == 28
    assert window.shown_id == chosen  # not re-opened, not replaced
    qtbot.waitUntil(lambda: len(notes) == 1, timeout=3000)
    title, body, newest = notes[0]
    assert title == "25 new messages"
    assert newest == mailbox.list(limit=1)[0].id
    assert "Burst 24" in body
    # One per burst, shown by a control instead of a pause: a single later
    # message gets a note of its own. Had part of the burst been left over,
    # it would have been announced first or joined this note ("N new").
    mailbox.accept_sync(capture(50, "Control one"))
    qtbot.waitUntil(lambda: len(notes) == 2, timeout=5000)
    assert notes[1] == ("New message from Burst Sender", "Control one", mailbox.list(limit=1)[0].id)

    window.show_preferences(Preferences(notifications=False))  # as the app does
    mailbox.accept_sync(capture(99))
    qtbot.waitUntil(lambda: window.model.rowCount() == 57)
    # Control: notifications back on, one more message; its note is the only
    # new one and names it alone, so #99 was neither announced nor queued.
    window.show_preferences(Preferences(notifications=True))
    mailbox.accept_sync(capture(51, "Control two"))
    qtbot.waitUntil(lambda: len(notes) == 3, timeout=5000)
    assert notes[2] == ("New message from Burst Sender", "Control two", mailbox.list(limit=1)[0].id)


def test_save_export_and_import_round_trip(qtbot, mailbox, make_window, tmp_path, corpus):
    fill_store(mailbox.store, 10)
    window = make_window()
    select_row(window, 0)
    first = window.shown_id
    eml = window.save_eml(first, tmp_path / "one.eml")
    assert eml.read_bytes() == mailbox.raw(first)

    window.message_list.select_all()
    ids = window.message_list.selected_ids()
    assert len(ids) == 10
    with qtbot.waitSignal(window.jobFinished, timeout=10000) as blocker:
        window.export_ids("mbox", ids, tmp_path / "out.mbox", progress=False)
    assert blocker.args[0].done == 10
    box = std_mailbox.mbox(str(tmp_path / "out.mbox"))
    try:
        assert sorted(m["Subject"] for m in box) == sorted(
            s.subject for s in mailbox.list(limit=100)
        )
    finally:
        box.close()
    with qtbot.waitSignal(window.jobFinished, timeout=10000):
        window.export_ids("folder", ids[:3], tmp_path / "emls", progress=False)
    assert len(list((tmp_path / "emls").glob("*.eml"))) == 3

    # Import: an mbox and real corpus files, in the background, live into the list.
    sources = [p for p in corpus if p.suffix == ".eml"][:40]
    with qtbot.waitSignal(window.jobFinished, timeout=30000) as blocker:
        window.import_paths([tmp_path / "out.mbox", *sources], progress=False)
    result = blocker.args[0]
    assert result.done == 10 + len(sources) and not result.errors
    qtbot.waitUntil(lambda: window.model.rowCount() == 20 + len(sources))
    assert mailbox.count() == 20 + len(sources)


def test_import_shows_progress_and_keeps_the_ui_running(qtbot, mailbox, make_window, tmp_path):
    mbox_path = tmp_path / "big.mbox"
    with open(mbox_path, "wb") as fh:
        for i in range(3000):
            fh.write(b"From sender@example.com Mon Jan  1 00:00:00 2024\n")
            fh.write(simple_message(i).replace(b"\r\n", b"\n"))
            fh.write(b"\n")
    window = make_window()
    ticks = []
    timer_id = window.startTimer(10)
    window.timerEvent = lambda _e: ticks.append(1)
    with qtbot.waitSignal(window.jobFinished, timeout=60000) as blocker:
        job = window.import_paths([mbox_path], progress=True)
        assert job in window.files.progress
    window.killTimer(timer_id)
    assert blocker.args[0].done == 3000
    assert len(ticks) > 5  # the GUI thread kept processing events during the import
    assert not window.files.progress
    qtbot.waitUntil(lambda: window.model.rowCount() == 3000)


def test_drop_imports_files(qtbot, mailbox, make_window, tmp_path):
    window = make_window()
    a = tmp_path / "a.eml"
    a.write_bytes(simple_message(1, "Dropped one"))
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(a))])
    event = QDropEvent(
        QPoint(10, 10).toPointF(),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.jobFinished, timeout=10000):
        window.dropEvent(event)
    assert [s.subject for s in mailbox.list()] == ["Dropped one"]


def test_open_file_shows_it_without_storing(qtbot, mailbox, make_window, corpus):
    fill_store(mailbox.store, 2)
    window = make_window()
    path = next(p for p in corpus if p.suffix == ".eml")
    assert window.open_file(path)
    assert window.view.opened.stored.raw == path.read_bytes()
    assert window.view.opened.id == 0
    assert mailbox.count() == 2
    assert "(not stored)" in window.windowTitle()
    assert window.shown_id is None


def test_clear_all_empties_list_and_viewer(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 7)
    window = make_window()
    select_row(window, 2)
    assert window.view.opened is not None
    window.messages.clear_all()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert window.view.opened is None
    qtbot.waitUntil(lambda: window.total_count == 0)
    assert window.message_list.current_id is None


def test_copy_sender_and_subject(qtbot, mailbox, make_window):
    mailbox.accept_sync(capture(5, subject="Copy me"))
    window = make_window()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    select_row(window, 0)
    window.act_copy_sender.trigger()
    assert QApplication.clipboard().text() == "Burst Sender <burst5@example.com>"
    window.act_copy_subject.trigger()
    assert QApplication.clipboard().text() == "Copy me"


def test_window_state_and_preferences_persist_in_the_tmp_ini(qtbot, mailbox, make_window, tmp_path):
    path = tmp_path / "config" / "settings.ini"
    window = make_window(AppSettings.at(path))
    window.resize(701, 555)  # the offscreen screen is small
    window.set_view_below(True)
    window.content_splitter.setSizes([300, 400])
    sizes = window.content_splitter.sizes()
    prefs = Preferences(smtp_port=2525, notifications=False, retention=123, theme="dark")
    AppSettings.at(path).set_preferences(prefs)
    window.save_state()
    assert path.is_file()
    text = path.read_text()
    assert "smtp_port=2525" in text and "notifications=false" in text

    again = make_window(AppSettings.at(path))
    assert again.prefs == prefs and not again.notifier.enabled
    assert again.act_view_below.isChecked()
    assert (again.size().width(), again.size().height()) == (701, 555)
    assert again.content_splitter.sizes() == sizes
    QApplication.instance().setPalette(QApplication.style().standardPalette())


def test_settings_dialog_validates_and_returns_preferences(qtbot, tmp_path):
    dialog = SettingsDialog(Preferences())
    qtbot.addWidget(dialog)
    dialog.smtp_port.setValue(2026)
    dialog.smtps_enabled.setChecked(True)
    dialog.smtps_port.setValue(2026)
    dialog.accept()
    assert dialog.result() != QDialog.DialogCode.Accepted
    assert "share a port" in dialog.error.text()
    dialog.smtps_port.setValue(2465)
    dialog.auth_kind.setCurrentIndex(dialog.auth_kind.findData("required"))
    dialog.accept()
    assert "user name and a password" in dialog.error.text()
    dialog.auth_user.setText("app")
    dialog.auth_password.setText("s3:cret")
    dialog.retention.setValue(500)
    dialog.accept()
    assert dialog.result() == QDialog.DialogCode.Accepted
    prefs = dialog.preferences()
    assert (prefs.smtp_port, prefs.smtps_enabled, prefs.smtps_port) == (2026, True, 2465)
    assert prefs.auth == "app:s3:cret" and prefs.retention == 500
    assert prefs.listener_differs(Preferences())
    assert not Preferences(retention=5).listener_differs(Preferences())


def test_compose_hook(qtbot, mailbox, make_window):
    window = make_window()
    assert not window.act_compose.isEnabled()
    called = []
    window.set_compose_handler(lambda: called.append(1))
    assert window.act_compose.isEnabled()
    assert window.act_compose.shortcut().toString() == "Ctrl+N"
    window.act_compose.trigger()
    assert called == [1]


def test_keyboard_enter_reopens_and_ctrl_f_focuses_search(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 3)
    window = make_window()
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=2000)
    select_row(window, 0)
    window.message_list.table.setFocus()
    opened = []
    window.message_list.messageOpened.connect(opened.append)
    qtbot.keyClick(window.message_list.table, Qt.Key.Key_Return)
    assert opened == [window.shown_id]
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.search.hasFocus()


def test_resources_exist():
    root = Path(__file__).resolve().parent.parent
    for rel in (
        "mailcatcher_gui/resources/mailcatcher-gui.svg",
        "mailcatcher_gui/resources/paperclip.svg",
        "mailcatcher_gui/resources/style.qss",
        "resources/mailcatcher-gui.desktop",
    ):
        assert (root / rel).is_file(), rel
    desktop = (root / "resources/mailcatcher-gui.desktop").read_text()
    assert "Exec=mailcatcher-gui %F" in desktop and "Icon=mailcatcher-gui" in desktop


def test_burst_notifier_titles_and_suppression(qtbot):
    from mailcatcher_gui.ui.window.tray import BurstNotifier

    notes = []
    notifier = BurstNotifier(window_ms=50)
    notifier.notify.connect(lambda *a: notes.append(a))
    notifier.add([_summary(7, "Alice <alice@example.com>", "Hello there")])
    qtbot.waitUntil(lambda: len(notes) == 1)
    assert notes[0] == ("New message from Alice", "Hello there", 7)
    notifier.suppress()
    notifier.add([_summary(8, "b@x.org", "during import")])
    assert len(notes) == 1
    # No pause to watch #8 not appear: the next note (after resume) is the
    # control. Had #8 been queued it would read "3 new messages"; had it been
    # announced, it would be an extra note before this one.
    notifier.resume()
    notifier.add([_summary(9, "b@x.org", "a"), _summary(10, "b@x.org", "")])
    qtbot.waitUntil(lambda: len(notes) == 2)
    assert notes[1] == ("2 new messages", "Latest: (no subject)", 10)
    assert len(notes) == 2


def test_badge_icon_and_dark_theme(qapp):
    from PySide6.QtGui import QPalette

    from mailcatcher_gui.ui.theme import app_icon, apply_theme, tinted_icon
    from mailcatcher_gui.ui.window.tray import badge_icon

    plain = app_icon().pixmap(64, 64).toImage()
    badged = badge_icon(app_icon(), 12).pixmap(64, 64).toImage()
    corner = badged.pixelColor(60, 46)  # badge background, right of the digits
    assert corner.red() > 200 and corner.green() < 100  # the red badge
    assert plain.pixelColor(60, 46) != corner
    assert not tinted_icon("delete").isNull()
    original = qapp.palette()
    try:
        apply_theme(qapp, "dark")
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        apply_theme(qapp, "light")
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
        assert qapp.style().name().lower() == "fusion"
    finally:
        qapp.setPalette(original)


def _summary(message_id: int, sender: str, subject: str):
    from datetime import UTC, datetime

    from mailcatcher_gui.core.models import MessageSummary

    return MessageSummary(
        id=message_id,
        received_at=datetime.now(UTC),
        envelope_from="",
        envelope_to=(),
        from_=sender,
        to=(),
        cc=(),
        subject=subject,
        message_id="",
        size=10,
        has_html=False,
        has_text=True,
        attachments=0,
        read=False,
    )


@pytest.mark.qt_log_ignore(
    r"^This plugin does not support propagateSizeHints\(\)$",
    r"^This plugin does not support raise\(\)$",  # offscreen has no window stacking
)
def test_notification_click_raises_the_window_on_the_message(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 40)
    window = make_window()
    target = mailbox.list(offset=30, limit=1)[0].id
    window.search.setText("subject:000039")  # hides the target
    window.search.flush()
    assert window.model.rowCount() == 1
    window.showMinimized()
    window.tray.activated.emit(target)  # what a click on the notification does
    assert not window.isMinimized()
    assert window.search.text() == ""
    assert window.shown_id == target and window.message_list.current_id == target
    assert window.model.id_at(window.message_list.table.currentIndex().row()) == target


def test_layout_switch_shows_the_to_column_below(qtbot, mailbox, make_window):
    window = make_window()
    table = window.message_list.table
    assert table.isColumnHidden(Column.TO)  # side by side by default
    window.act_view_below.trigger()
    assert window.content_splitter.orientation() == Qt.Orientation.Vertical
    assert not table.isColumnHidden(Column.TO)
    window.act_view_below.trigger()
    assert table.isColumnHidden(Column.TO)


def test_selecting_the_already_current_message_keeps_it_current(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 3)
    window = make_window()
    target = mailbox.list(limit=1)[0].id
    assert window.message_list.select_id(target)
    assert window.message_list.current_id == target
    # Same row again: Qt emits no currentRowChanged, the list must still know it.
    with qtbot.waitSignal(window.message_list.messageOpened, timeout=1000) as opened:
        assert window.message_list.select_id(target)
    assert opened.args == [target]
    assert window.message_list.current_id == target
    assert window.shown_id == target
