"""The window's shell: shortcuts, folder import, search feedback, column widths
in every layout, the title. Real mailbox, real Maildir on disk, real Qt
(offscreen); the viewer is ``MessageView``'s non-Chromium fallback."""

from __future__ import annotations

import mailbox as std_mailbox
import os
import shutil
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from gui_helpers import capture, fill_store
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent, QFontMetrics, QKeySequence
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog, QStyle

from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.actions_table import ACTIONS, key_sequences
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.list_model import Column
from mailcatcher_gui.ui.window.main_window import MainWindow, window_title
from mailcatcher_gui.ui.window.message_table import SUBJECT_MIN
from mailcatcher_gui.ui.window.search_field import SEARCH_PLACEHOLDER
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


@pytest.fixture
def make_window(qtbot, mailbox, tmp_path):
    made = []

    def make(width: int = 1280, height: int = 800) -> MainWindow:
        bridge = MailboxBridge(mailbox)
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        window = build_main_window(mailbox, bridge, settings, view=MessageView(web_engine=False))
        qtbot.addWidget(window)
        made.append((window, bridge))
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        window.activateWindow()
        qtbot.waitUntil(window.isActiveWindow, timeout=2000)
        return window

    yield make
    for window, bridge in made:
        window.shutdown()
        bridge.close()


# ---- shortcuts ----


def test_ctrl_q_asks_to_quit_without_an_ambiguous_shortcut(qtbot, make_window):
    window = make_window()
    quit_keys = [k.toString() for k in window.act_quit.shortcuts()]
    assert "Ctrl+Q" in quit_keys
    assert len(quit_keys) == len(set(quit_keys)) and "" not in quit_keys, quit_keys
    # Qt warns "Ambiguous shortcut overload" (a test failure here) and does
    # nothing when one action carries the same sequence twice.
    with qtbot.waitSignal(window.quitRequested, timeout=2000):
        QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


CTRL_Q_SCRIPT = """
import sys, tempfile, pathlib
from PySide6.QtCore import Qt, qInstallMessageHandler
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication
messages = []
qInstallMessageHandler(lambda kind, context, text: messages.append(text))
app = QApplication([])
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.store.database import Store
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings
from mailcatcher_gui.ui.window.factory import build_main_window
home = pathlib.Path(tempfile.mkdtemp())
mailbox = Mailbox(Store(home / "m.sqlite3"))
window = build_main_window(mailbox, MailboxBridge(mailbox), AppSettings.at(home / "s.ini"),
                           view=MessageView(web_engine=False))
quits = []
window.quitRequested.connect(lambda: quits.append(1))
window.show()
window.activateWindow()
QTest.qWaitForWindowActive(window)
QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
app.processEvents()
ambiguous = [m for m in messages if "Ambiguous" in m]
print("quits", len(quits), "ambiguous", ambiguous, flush=True)
window.shutdown()
mailbox.close()
sys.exit(0 if quits and not ambiguous else 1)
"""


@pytest.fixture
def x_display(tmp_path):
    """A private Xvfb display (the xcb platform maps the standard Quit key to Ctrl+Q;
    offscreen maps it to nothing, which hid the double binding)."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [xvfb, "-displayfd", str(write_fd), "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    with os.fdopen(read_fd) as pipe:
        number = pipe.readline().strip()
    try:
        assert number.isdigit(), "Xvfb did not report a display"
        yield f":{number}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_ctrl_q_quits_on_x11_where_the_standard_quit_key_is_ctrl_q(x_display, tmp_path):
    env = {**os.environ, "DISPLAY": x_display, "QT_QPA_PLATFORM": "xcb"}
    env["MAILCATCHER_GUI_HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", CTRL_Q_SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "quits 1 ambiguous []" in done.stdout


def test_no_key_sequence_is_bound_twice():
    seen: dict[str, str] = {}
    for spec in ACTIONS:
        for seq in key_sequences([*spec.keys, *spec.list_keys]):
            text = seq.toString(QKeySequence.SequenceFormat.PortableText)
            assert text not in seen, f"{text} is bound to {seen.get(text)} and {spec.name}"
            seen[text] = spec.name
    assert seen["Ctrl+Q"] == "quit"
    # On Linux the standard Quit key *is* Ctrl+Q: the pair must collapse to one.
    if sys.platform.startswith("linux"):
        assert len(key_sequences([QKeySequence.StandardKey.Quit, "Ctrl+Q"])) == 1


# ---- folder import ----


def make_maildir(path: Path, subjects: list[str]) -> Path:
    box = std_mailbox.Maildir(str(path), create=True)
    for i, subject in enumerate(subjects):
        msg = EmailMessage()
        msg["From"] = f"Folder Sender <f{i}@example.com>"
        msg["To"] = "dev@example.com"
        msg["Subject"] = subject
        msg.set_content(f"body {i}")
        key = box.add(msg)
        if i % 2:  # some already seen: they live in cur/
            m = box[key]
            m.set_subdir("cur")
            m.add_flag("S")
            box[key] = m
    box.close()
    assert any((path / "cur").iterdir()) and any((path / "new").iterdir())
    return path


def test_import_folder_action_imports_a_maildir(qtbot, mailbox, make_window, tmp_path, monkeypatch):
    folder = make_maildir(tmp_path / "Maildir", ["md one", "md two", "md three"])
    window = make_window()
    asked: list[str] = []

    def choose(parent, caption, *args, **kwargs):  # the user picks the Maildir
        asked.append(caption)
        return str(folder)

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(choose))
    assert "import_folder" in window.actions_by_name
    file_menu = window.menuBar().actions()[0].menu()
    assert window.act_import_folder in file_menu.actions()
    with qtbot.waitSignal(window.jobFinished, timeout=10000) as done:
        window.act_import_folder.trigger()
    assert asked and "Maildir" in asked[0]
    assert done.args[0].done == 3 and not done.args[0].errors
    assert sorted(s.subject for s in mailbox.list()) == ["md one", "md three", "md two"]
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)


def test_dropping_a_maildir_folder_imports_it(qtbot, mailbox, make_window, tmp_path):
    folder = make_maildir(tmp_path / "dropped", ["dropped a", "dropped b"])
    window = make_window()
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(folder))])
    event = QDropEvent(
        QPoint(10, 10).toPointF(),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    with qtbot.waitSignal(window.jobFinished, timeout=10000):
        window.dropEvent(event)
    assert sorted(s.subject for s in mailbox.list()) == ["dropped a", "dropped b"]


# ---- search feedback ----


def test_search_shows_the_match_count_and_an_honest_empty_state(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 20)
    window = make_window()
    window.set_listeners([("smtp", "127.0.0.1", 2525)])
    table = window.message_list.table
    assert window.search.match_text == ""  # no search, no count
    window.search.setText("subject:000013")
    window.search.flush()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.search.match_text == "1 match"
    window.search.setText("Message")
    window.search.flush()
    qtbot.waitUntil(lambda: window.search.match_text == "20 matches")

    window.search.setText("subject:nothinglikethis")
    window.search.flush()
    qtbot.waitUntil(lambda: window.model.rowCount() == 0)
    assert window.search.match_text == "0 matches"
    assert "No messages match" in table.empty_text and "nothinglikethis" in table.empty_text
    assert "Point your application" not in table.empty_hint

    window.search.clear()
    qtbot.waitUntil(lambda: window.model.rowCount() == 20)
    assert window.search.match_text == ""
    assert table.empty_text == "No messages yet"
    assert "Point your application at smtp://127.0.0.1:2525" in table.empty_hint


def test_the_viewer_does_not_keep_a_message_the_search_left_out(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 10)
    window = make_window()
    window.message_list.select_row(0)
    newest = window.shown_id
    assert newest is not None and window.view.opened is not None
    # a search that still lists it keeps it on screen (positive control)
    window.search.setText("Message")
    window.search.flush()
    assert window.shown_id == newest and window.view.opened is not None
    window.search.setText("subject:000002")
    window.search.flush()
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.shown_id is None
    assert window.view.opened is None
    assert window.message_list.current_id is None  # nor is it what Reply would answer


def test_the_search_placeholder_fits(qtbot, make_window):
    for width in (1280, 900):
        window = make_window(width, 700)
        field = window.search
        needed = QFontMetrics(field.font()).horizontalAdvance(SEARCH_PLACEHOLDER)
        assert field.placeholderText() == SEARCH_PLACEHOLDER
        assert field.width() >= needed + 30, (width, field.width(), needed)


# ---- column widths in every layout ----


def widths(window: MainWindow) -> dict[Column, int]:
    hh = window.message_list.table.horizontalHeader()
    return {c: (0 if hh.isSectionHidden(c) else hh.sectionSize(c)) for c in Column}


def test_subject_keeps_a_usable_width_in_every_layout(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 5)
    window = make_window(1280, 800)
    list_width = window.message_list.width()

    first = widths(window)
    assert first[Column.SUBJECT] >= SUBJECT_MIN, first

    window.set_view_below(True)
    qtbot.waitUntil(lambda: window.message_list.width() > list_width)
    below = widths(window)
    assert below[Column.SUBJECT] >= SUBJECT_MIN, below
    assert below[Column.TO] > 0, "the wide list shows To"
    assert below[Column.FROM] > first[Column.FROM], "From gets its share of the room"

    window.set_view_below(False)
    qtbot.waitUntil(lambda: window.message_list.width() < window.width() * 0.7)
    side = widths(window)
    assert side[Column.SUBJECT] >= SUBJECT_MIN, side
    assert side[Column.TO] == 0

    # A width preset changes the preview, never the list.
    before_list, before = window.message_list.width(), widths(window)
    for preset in ("tablet", "phone", "tablet"):
        window.view.html_tab.set_width_preset(preset)
        QTest.qWait(0)  # let the layout run (nothing to wait for: it must not change)
        assert window.message_list.width() == before_list, preset
        assert widths(window) == before, preset
    window.view.html_tab.set_width_preset("full")


def test_the_sort_arrow_has_room_beside_the_header_text(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 3)
    window = make_window()
    table = window.message_list.table
    hh = table.horizontalHeader()
    style = hh.style()
    arrow = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMarkSize, None, hh)
    margin = style.pixelMetric(QStyle.PixelMetric.PM_HeaderMargin, None, hh)
    fm = QFontMetrics(hh.font())
    for col in (Column.RECEIVED, Column.SIZE):
        label = str(window.model.headerData(col, Qt.Orientation.Horizontal))
        hh.setSortIndicator(col, Qt.SortOrder.DescendingOrder)
        assert hh.sectionSize(col) >= fm.horizontalAdvance(label) + arrow + 3 * margin, label


# ---- title ----


def test_the_title_does_not_repeat_the_application_name(qtbot, mailbox, make_window):
    # Qt adds the application display name to every window title itself.
    assert window_title(0) == ""
    assert window_title(3) == "3 unread"
    assert window_title(1234, Path("/tmp/x.eml")) == "x.eml (not stored) — 1,234 unread"
    for i in range(3):
        mailbox.accept_sync(capture(i))
    window = make_window()
    qtbot.waitUntil(lambda: window.unread_count == 3)
    assert window.windowTitle() == "3 unread"
    assert "mailcatcher-gui" not in window.windowTitle()
