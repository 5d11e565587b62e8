"""Saving from the viewer (issue 10 item 14): files get the user's umask like
any other new file (an attachment used to get 0600, a message 0644), and the
viewer confirms what it wrote, with the path."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.mailio import write_new_file
from mailcatcher_gui.core.mailio.saving import current_umask, replace_file
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.viewer.tabs.dialogs import Conflict
from mailcatcher_gui.ui.viewer.tabs.embedded import embedded_opened
from tests.viewer_support import RecordingDialogs

pytestmark = [pytest.mark.gui]


@contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    yield v
    v.shutdown()


RAW = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: files\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
    b"--b\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="report.pdf"\r\n\r\n%PDF-1.4\r\n'
    b'--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="notes.txt"'
    b"\r\n\r\nhello\r\n--b--\r\n"
)


def two_attachments():
    """A parsed message (so the Structure tab has parts) with two attachments."""
    return embedded_opened(RAW, received_at=datetime.now(UTC), source="smtp")


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_saved_attachments_follow_the_umask(view, tmp_path, mask):
    view.show_message(two_attachments())
    tab = view.attachments_tab
    dialogs = view.dialogs
    expected = 0o666 & ~mask
    with umask(mask):
        assert current_umask() == mask
        # Save…: a new file, then replacing an existing one
        dialogs.save_path = tmp_path / "one" / "report.pdf"
        dialogs.save_path.parent.mkdir()
        tab.select(0)
        saved = tab.save_current()
        assert saved is not None and mode(saved) == expected
        tab.save_current()
        assert mode(saved) == expected
        # Save All…: new files, then replacing them
        dialogs.directory = tmp_path / "all"
        dialogs.directory.mkdir()
        written = tab.save_all()
        assert [mode(p) for p in written] == [expected, expected]
        dialogs.conflict = Conflict.REPLACE
        written = tab.save_all()
        assert [mode(p) for p in written] == [expected, expected]
        # Structure ▸ Save Part… goes the same way
        dialogs.save_path = tmp_path / "part.txt"
        assert view.structure_tab.select_part("1")  # the text body: not an attachment
        part = view.structure_tab.save_current_part()
        assert part is not None and mode(part) == expected
        # the same as any other new file the app writes (a message saved with
        # mailio.write_new_file, a plain open())
        eml = write_new_file(tmp_path, "message.eml", b"From: a\r\n\r\nx\r\n")
        plain = tmp_path / "plain"
        plain.write_bytes(b"x")
        assert mode(eml) == mode(plain) == expected


def test_replace_file_keeps_the_temp_file_private_until_the_rename(tmp_path):
    """The permission change happens before the rename: no moment with the
    final name and a wrong mode; the temp file is gone afterwards."""
    with umask(0o022):
        path = replace_file(tmp_path / "x.bin", b"data")
    assert mode(path) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bin"]


def test_saving_is_confirmed_with_the_path(qtbot, view, tmp_path):
    view.show_message(two_attachments())
    dialogs = view.dialogs
    dialogs.save_path = tmp_path / "report.pdf"
    view.attachments_tab.select(0)
    assert not view.notice.isVisible()
    with qtbot.waitSignal(view.filesSaved) as saved:
        view.attachments_tab.save_current()
    assert saved.args == [[tmp_path / "report.pdf"]]
    assert view.notice.isVisible()
    assert view.notice.text() == f"Saved {tmp_path / 'report.pdf'}"

    dialogs.directory = tmp_path / "all"
    dialogs.directory.mkdir()
    view.attachments_tab.save_all()
    assert view.notice.text() == f"Saved 2 files to {tmp_path / 'all'}"
    assert str(tmp_path / "all" / "notes.txt") in view.notice.toolTip()

    # a cancelled dialog confirms nothing new
    dialogs.save_path = None
    view.notice.hide()
    view.attachments_tab.save_current()
    QApplication.processEvents()
    assert not view.notice.isVisible()

    # the confirmation goes away by itself
    view.NOTICE_MS = 30
    dialogs.save_path = tmp_path / "again.pdf"
    view.attachments_tab.save_current()
    assert view.notice.isVisible()
    qtbot.waitUntil(lambda: not view.notice.isVisible(), timeout=5000)
