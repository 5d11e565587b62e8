"""Quitting the app with unsent compose content asks first (issue 10 item 7).

The real app objects (``build_gui``) on a qasync loop with the real SMTP
sink, a real compose window typed into, and the real quit paths: Ctrl+Q on
the main window, File > Quit, the window's close button; SIGTERM quits at once.
"""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import shiboken6
from gui_helpers import qasync_loop, wait_for
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox
from smtp_helpers import HOST, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(
        r"^This plugin does not support propagateSizeHints\(\)$",
        r"^This plugin does not support raise\(\)$",
    ),
]


@pytest.fixture
def gui(qapp, mailbox, tmp_path):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    config = SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))
    app = build_gui(qapp, mailbox, config, settings, view=MessageView(web_engine=False))
    yield app
    app.close()


def close_question(window) -> QMessageBox | None:
    if not shiboken6.isValid(window):
        return None
    box = window.findChild(QMessageBox, "closeQuestion")
    return box if box is not None and box.isVisible() else None


def answer(box: QMessageBox, button: QMessageBox.StandardButton) -> None:
    QTest.mouseClick(box.button(button), Qt.MouseButton.LeftButton)


def dirty_compose(gui):
    window = gui.composer.new()
    QTest.keyClicks(window.subject, "Unsent thoughts")
    window.text_edit.setPlainText("Dear team,")
    assert window.is_dirty()
    return window


async def ctrl_q(gui) -> None:
    main = gui.window
    main.activateWindow()
    await wait_for(main.isActiveWindow, timeout=5)
    QTest.keyClick(main, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)


def play(qapp, gui, scenario, *, handle_signals: bool = False) -> None:
    async def main():
        app_task = asyncio.ensure_future(gui.run(handle_signals=handle_signals))
        await wait_for(lambda: gui.sink is not None or gui.sink_error is not None)
        assert gui.sink is not None, gui.sink_error
        try:
            await scenario(app_task)
        finally:
            if not app_task.done():
                gui.request_quit()
            assert await app_task == 0

    with qasync_loop(qapp) as loop:
        loop.run_until_complete(main())


@pytest.mark.parametrize("how", ["ctrl+q", "file-quit", "close-button"])
def test_quit_with_a_dirty_compose_asks_cancel_keeps_running_discard_quits(qapp, gui, how):
    def ask_to_quit():
        if how == "ctrl+q":
            return ctrl_q(gui)
        if how == "file-quit":
            gui.window.act_quit.trigger()
        else:
            gui.window.close()
        return asyncio.sleep(0)

    async def scenario(app_task):
        compose = dirty_compose(gui)
        await ask_to_quit()
        await wait_for(lambda: close_question(compose) is not None, timeout=5)
        assert "Unsent thoughts" in close_question(compose).text()
        assert not app_task.done() and gui.sink is not None

        answer(close_question(compose), QMessageBox.StandardButton.Cancel)
        await wait_for(lambda: close_question(compose) is None, timeout=5)
        # Positive control for "keeps running": the sink still answers and
        # the app task is still waiting after the loop turned.
        await asyncio.sleep(0)
        assert not app_task.done() and gui.sink is not None
        assert compose in gui.composer.windows and compose.isVisible()
        assert gui.window.isVisible()

        await ask_to_quit()
        await wait_for(lambda: close_question(compose) is not None, timeout=5)
        answer(close_question(compose), QMessageBox.StandardButton.Discard)
        assert await asyncio.wait_for(app_task, 10) == 0
        assert gui.sink is None
        assert gui.composer.drafts.list() == []

    play(qapp, gui, scenario)


def test_quit_without_unsent_content_does_not_ask(qapp, gui):
    async def scenario(app_task):
        clean = gui.composer.new()
        await ctrl_q(gui)
        assert await asyncio.wait_for(app_task, 10) == 0
        assert close_question(clean) is None

    play(qapp, gui, scenario)


def test_sigterm_quits_at_once_even_with_a_dirty_compose(qapp, gui):
    async def scenario(app_task):
        compose = dirty_compose(gui)
        assert signal.SIGTERM in asyncio.get_running_loop()._signal_handlers  # handler is in
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(app_task, 10) == 0
        assert close_question(compose) is None

    play(qapp, gui, scenario, handle_signals=True)
