"""Preferences have one owner (``GuiApp``); the Settings dialog shows a failed
listener change where the user made it. Real sink on real ports, real Qt."""

from __future__ import annotations

import logging
import socket

import pytest
from gui_helpers import run_app, wait_for
from PySide6.QtGui import QFontMetrics
from smtp_helpers import HOST, free_port, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings, Preferences

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def config(port: int = 0) -> SinkConfig:
    return SinkConfig(smtp=(HOST, port), cert_dir=shared_cert_dir(), auth=AuthMode("any"))


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path):
    made = []

    def make(sink_config: SinkConfig | None = None):
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        view = MessageView(web_engine=False)
        gui = build_gui(qapp, mailbox, sink_config or config(), settings, view=view)
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


def test_the_app_owns_preferences_and_tells_the_window(qapp, mailbox, make_gui):
    gui = make_gui()
    window = gui.window
    assert window.prefs == gui.prefs
    prefs = Preferences(
        smtp_port=gui.prefs.smtp_port, retention=123, notifications=False, theme="system"
    )
    gui.apply_preferences(prefs)  # what the window's preferencesChosen leads to
    assert gui.prefs == prefs and window.prefs == prefs
    assert mailbox.max_messages == 123
    assert not window.notifier.enabled
    saved = AppSettings.at(gui.settings.path).preferences()
    assert saved.retention == 123 and not saved.notifications
    # the window writes no core state itself
    window.show_preferences(Preferences(retention=5))
    assert mailbox.max_messages == 123


def test_a_failed_port_change_is_explained_in_the_settings_dialog(qapp, mailbox, make_gui, caplog):
    gui = make_gui(config(free_port()))
    window = gui.window

    async def scenario():
        running = gui.sink.port()
        with socket.socket() as blocker:
            blocker.bind((HOST, 0))
            blocker.listen()
            busy = blocker.getsockname()[1]
            dialog = window.open_settings()
            assert dialog.isVisible()
            dialog.smtp_port.setValue(busy)
            with caplog.at_level(logging.WARNING):
                dialog.accept()
                assert dialog.waiting and dialog.isVisible()
                await wait_for(lambda: not dialog.waiting, timeout=10)
            # shown where the user typed it, in full, without command-line advice
            assert dialog.isVisible()
            text = dialog.error.text()
            assert f"port {busy}" in text and "already in use" in text, text
            assert "Still listening on the previous address" in text
            assert "--smtp" not in text
            assert dialog.error.wordWrap() and dialog.error.isVisible()
            assert not any("--smtp" in r.getMessage() for r in caplog.records)
            # the old listener still runs, and settings say so
            assert gui.sink is not None and gui.sink.port() == running
            assert gui.prefs.smtp_port == running
            assert AppSettings.at(gui.settings.path).preferences().smtp_port == running
            status = window.statusBar()
            message = status.currentMessage()
            assert message, "the status bar points at the dialog"
            room = status.width() - sum(
                w.width() for w in (window.listener_label, window.count_label)
            )
            assert QFontMetrics(status.font()).horizontalAdvance(message) < room

        # corrected in the same dialog: it closes and the new port runs
        fixed = free_port()
        dialog.smtp_port.setValue(fixed)
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert gui.sink.port() == fixed and gui.prefs.smtp_port == fixed
        assert AppSettings.at(gui.settings.path).preferences().smtp_port == fixed

    run_app(qapp, gui, scenario, require_sink=True)
