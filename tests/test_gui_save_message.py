"""Main window "Save Message": the status bar names the full path, as the
viewer's saves do (a file name alone does not say which folder it went to)."""

from __future__ import annotations

import pytest
from gui_helpers import capture
from PySide6.QtWidgets import QFileDialog

from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def test_save_message_says_the_full_path(qtbot, mailbox, tmp_path, monkeypatch):
    message_id = mailbox.accept_sync(capture(1, "Invoice 42"))
    bridge = MailboxBridge(mailbox)
    view = MessageView(web_engine=False)
    window = build_main_window(mailbox, bridge, AppSettings.at(tmp_path / "s.ini"), view=view)
    qtbot.addWidget(window)
    folder = tmp_path / "saved here"
    folder.mkdir()
    target = folder / "invoice.eml"
    offered: list[str] = []

    def choose(parent, caption, suggested, *args, **kwargs):  # the user picks a file
        offered.append(suggested)
        return str(target), "Email message (*.eml)"

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(choose))
    try:
        window.resize(1200, 700)
        window.show()
        qtbot.waitExposed(window)
        window.message_list.select_row(0)
        qtbot.waitUntil(lambda: view.opened is not None)
        window.actions_by_name["save_eml"].trigger()  # File > Save Message…
        assert offered and offered[0].endswith(".eml")
        assert target.read_bytes() == mailbox.raw(message_id)
        assert window.statusBar().currentMessage() == f"Saved {target}"
    finally:
        window.shutdown()
        bridge.close()
