"""The HTTP API in the window: on the qasync loop beside the sink, a busy port is a
warning while the app keeps catching mail, and Settings move or stop the API.
Real sockets, real aiohttp client and WebSocket, real Qt (offscreen)."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading

import aiohttp
import pytest
from gui_helpers import run_app, simple_message, wait_for
from smtp_helpers import HOST, free_port, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.api.routes_events import EVENTS
from mailcatcher_gui.core.api.server import HttpConfig
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def sink_config() -> SinkConfig:
    return SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path):
    made = []

    def make(http: HttpConfig | None, http_on: bool = True):
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        view = MessageView(web_engine=False)
        gui = build_gui(
            qapp, mailbox, sink_config(), settings, view=view, http=http, http_on=http_on
        )
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


async def smtp_send(port: int, subject: str) -> None:
    import smtplib

    def send() -> None:
        with smtplib.SMTP(HOST, port, timeout=10) as client:
            client.sendmail("app@example.com", ["dev@example.com"], simple_message(1, subject))

    await asyncio.to_thread(send)


def test_the_api_runs_on_the_qt_loop_and_streams_events(qapp, mailbox, make_gui):
    gui = make_gui(HttpConfig(port=0))
    label = gui.window.status_panel.http_label

    async def scenario():
        await wait_for(lambda: gui.api.running is not None)
        url = gui.api.running.url
        assert label.isVisible() and url in label.text()
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "/api/v1/info") as r:
                info = await r.json()
            async with http.ws_connect(url + "/api/events") as ws:
                await ws.receive(timeout=10)  # stats
                await smtp_send(gui.sink.port(), "seen by the API")
                new = json.loads((await ws.receive(timeout=10)).data)
            hub = gui.api.running.app[EVENTS]
        await wait_for(lambda: gui.window.model.rowCount() == 1)
        return info, new, hub

    info, new, hub = run_app(qapp, gui, scenario, require_sink=True)
    assert info["Database"] == mailbox.location
    assert new["Type"] == "new" and new["Data"]["Subject"] == "seen by the API"
    assert hub._loop_thread == threading.main_thread().ident  # the Qt thread, no server thread
    assert gui.api.running is None  # stopped by the quit path


def test_a_busy_http_port_is_a_warning_and_the_app_keeps_catching_mail(
    qapp, mailbox, make_gui, caplog
):
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        gui = make_gui(HttpConfig(port=busy))
        label = gui.window.status_panel.http_label

        async def scenario():
            await wait_for(lambda: label.isVisible())
            assert gui.api.running is None
            text = label.text()
            assert "HTTP API off" in text and f"port {busy}" in text and "in use" in text
            assert "--http" not in text  # no command-line advice in the window
            await smtp_send(gui.sink.port(), "still caught")
            await wait_for(lambda: gui.window.model.rowCount() == 1)

        with caplog.at_level(logging.WARNING):
            run_app(qapp, gui, scenario, require_sink=True)
    assert any("HTTP API not started" in r.getMessage() for r in caplog.records)
    assert label.property("error") is True


def test_settings_move_the_api_explain_a_busy_port_and_turn_it_off(qapp, mailbox, make_gui):
    first = free_port()
    gui = make_gui(HttpConfig(port=first))
    window = gui.window
    label = window.status_panel.http_label

    async def scenario():
        await wait_for(lambda: gui.api.running is not None)
        assert gui.prefs.http_port == first and gui.prefs.http_enabled

        # 1) a free port: the dialog closes and the API answers there
        moved = free_port()
        dialog = window.open_settings()
        assert dialog.http_group.port.value() == first
        dialog.http_group.port.setValue(moved)
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert gui.api.running.port == moved
        assert AppSettings.at(gui.settings.path).preferences().http_port == moved
        async with aiohttp.ClientSession() as http, http.get(gui.api.running.url + "/livez") as r:
            assert r.status == 200

        # 2) a busy port: explained in the dialog, the API stays where it was
        with socket.socket() as blocker:
            blocker.bind((HOST, 0))
            blocker.listen()
            busy = blocker.getsockname()[1]
            dialog = window.open_settings()
            dialog.http_group.port.setValue(busy)
            dialog.accept()
            await wait_for(lambda: not dialog.waiting, timeout=10)
            text = dialog.error.text()
            assert "HTTP API" in text and f"port {busy}" in text and "in use" in text, text
            assert dialog.isVisible()
            assert gui.api.running is not None and gui.api.running.port == moved
            assert gui.prefs.http_port == moved
            dialog.reject()

        # 3) off: nothing listens, the status bar says nothing about an API
        dialog = window.open_settings()
        dialog.http_group.enabled.setChecked(False)
        assert not dialog.http_group.port.isEnabled()
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert gui.api.running is None and not label.isVisible()
        assert AppSettings.at(gui.settings.path).preferences().http_enabled is False
        with pytest.raises(aiohttp.ClientConnectorError):
            async with aiohttp.ClientSession() as http:
                await http.get(f"http://127.0.0.1:{moved}/livez")

    run_app(qapp, gui, scenario, require_sink=True)


def test_without_an_http_config_the_app_leaves_the_api_alone(qapp, mailbox, make_gui):
    gui = make_gui(None)
    label = gui.window.status_panel.http_label

    async def scenario():
        assert gui.api.running is None and not label.isVisible()

    run_app(qapp, gui, scenario, require_sink=True)


def test_the_settings_group_validates_its_address(qapp):
    from mailcatcher_gui.ui.window.settings import Preferences, SettingsDialog

    dialog = SettingsDialog(Preferences())
    try:
        dialog.http_group.host.setText("127.0.0.1 x")
        assert dialog.validate() == "The HTTP API address must not contain spaces."
        dialog.http_group.host.setText("127.0.0.1")
        dialog.http_group.port.setValue(dialog.smtp_port.value())
        assert "share a port" in (dialog.validate() or "")
        dialog.http_group.enabled.setChecked(False)
        assert dialog.validate() is None  # off: its fields do not matter
        dialog.http_group.enabled.setChecked(True)
        dialog.http_group.port.setValue(8026)
        assert dialog.validate() is None
        prefs = dialog.preferences()
        assert (prefs.http_enabled, prefs.http_host, prefs.http_port) == (True, "127.0.0.1", 8026)
    finally:
        dialog.deleteLater()


def test_command_line_http_wins_over_saved_settings_for_the_session():
    import argparse

    from mailcatcher_gui.cli import build_parser
    from mailcatcher_gui.ui.window.listener_prefs import initial_http
    from mailcatcher_gui.ui.window.settings import Preferences

    def args(*argv: str) -> argparse.Namespace:
        return build_parser().parse_args(["gui", *argv])

    saved = Preferences(http_enabled=True, http_host="127.0.0.2", http_port=9100)
    config, on = initial_http(args(), saved)  # nothing typed: the saved address
    assert (config.host, config.port, on) == ("127.0.0.2", 9100, True)
    config, on = initial_http(args(), Preferences(http_enabled=False))
    assert on is False
    config, on = initial_http(args("--http", "127.0.0.1:9200"), saved)
    assert (config.host, config.port, on) == ("127.0.0.1", 9200, True)
    config, on = initial_http(args("--http", "none"), saved)
    assert on is False
    config, on = initial_http(args("--http-cors", "http://localhost:3000"), saved)
    assert config.cors_origin == "http://localhost:3000" and config.port == 9100


@pytest.mark.web
def test_the_real_window_serves_the_api_from_the_command_line(tmp_path):
    """``mailcatcher-gui --http HOST:PORT``: run_gui wires the API; SIGTERM still exits 0."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    http_port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env.update(
        MAILCATCHER_GUI_HOME=str(tmp_path / "home"),
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        MAILCATCHER_GUI_QUIT_AFTER_MS="60000",  # safety net only
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailcatcher_gui", "--smtp", f"{HOST}:0"]
        + ["--http", f"{HOST}:{http_port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://{HOST}:{http_port}/api/v1/info", timeout=2
                ) as r:
                    info = json.loads(r.read())
                break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the window never served the API"
                time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert info["Database"].endswith("mail.sqlite3") and info["Messages"] == 0
