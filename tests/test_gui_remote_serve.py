"""End to end: the window attached to a real ``mailcatcher-gui serve --http`` subprocess.

Mail sent over SMTP to that serve appears in the window live (WebSocket);
opening (mark read) and deleting in the window reach the server; when the
serve goes away the banner says so, and when it is back on the same port the
window reconnects by itself and re-reads the list.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import aiosmtplib
import pytest
from gui_helpers import run_app, simple_message, wait_for
from serve_process import launch_serve
from smtp_helpers import HOST, free_port

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def api_get(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


async def send_smtp(port: int, raw: bytes) -> None:
    client = aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False, timeout=10)
    await client.connect()
    try:
        await client.sendmail("app@example.com", ["dev@example.com"], raw)
    finally:
        await client.quit()


def stop(proc) -> None:
    """End the serve and close its stdout pipe (``communicate`` does both)."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)


def test_window_follows_a_serve_subprocess_live_and_reconnects(qapp, mailbox, tmp_path):
    home = tmp_path / "serve-home"
    home.mkdir()
    log = tmp_path / "serve.log"
    served = launch_serve(home, log)
    procs = [served.proc]
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    gui = build_gui(
        qapp, mailbox, SinkConfig(smtp=(HOST, 0)), settings, view=MessageView(web_engine=False)
    )
    window = gui.window
    url = served.http_url
    assert url is not None

    async def scenario():
        remote = gui.catchers.connect_to(url)
        await wait_for(lambda: remote.connection.connected)
        assert window.model.rowCount() == 0
        # SMTP to the serve -> a row in the window, live.
        await send_smtp(served.smtp_port, simple_message(1, "over smtp"))
        await wait_for(lambda: window.model.rowCount() == 1)
        assert window.model.data(window.model.index(0, 3)) == "over smtp"
        first = window.model.id_at(0)
        await wait_for(lambda: window.total_count == 1 and window.unread_count == 1)
        # Opening marks it read on the server.
        assert window.open_message(first)
        await wait_for(lambda: api_get(url + "/api/v1/messages")["unread"] == 0)
        # Mark unread from the window reaches the server too.
        assert window.message_list.select_id(first, open_it=False)
        window.act_mark_unread.trigger()
        await wait_for(lambda: api_get(url + "/api/v1/messages")["unread"] == 1)
        # A second message, then delete the first from the window.
        await send_smtp(served.smtp_port, simple_message(2, "second"))
        await wait_for(lambda: window.model.rowCount() == 2)
        assert window.message_list.select_id(first, open_it=False)
        window.act_delete.trigger()
        await wait_for(lambda: api_get(url + "/api/v1/messages")["total"] == 1)
        await wait_for(lambda: window.model.rowCount() == 1)
        assert window.model.data(window.model.index(0, 3)) == "second"
        assert not window.catcher.banner.isVisible()
        second = window.model.id_at(0)
        assert window.open_message(second)
        # The serve goes away: the banner says so.
        stop(served.proc)
        await wait_for(lambda: window.catcher.banner.isVisible(), timeout=15)
        assert "reconnecting" in window.catcher.banner.text()
        # Back on the same port with the same store: reconnected, list re-read.
        port = url.rsplit(":", 1)[1]
        again = launch_serve(home, log, "--http", f"{HOST}:{port}")
        procs.append(again.proc)
        await send_smtp(again.smtp_port, simple_message(3, "while away"))
        await wait_for(lambda: not window.catcher.banner.isVisible(), timeout=20)
        await wait_for(lambda: window.model.rowCount() == 2, timeout=10)
        assert window.model.data(window.model.index(0, 3)) == "while away"
        assert window.shown_id == second  # the message on screen stayed through it
        # And live again after the reconnect.
        await send_smtp(again.smtp_port, simple_message(4, "after reconnect"))
        await wait_for(lambda: window.model.rowCount() == 3)
        # Compose still sends through this app's own sink while a catcher is shown.
        assert gui.sink is not None

    try:
        run_app(qapp, gui, scenario, require_sink=True)
    finally:
        gui.close()
        for proc in procs:
            stop(proc)


# ---- mailcatcher-gui --remote URL (the real process) ------------------------------------

REPO = Path(__file__).resolve().parent.parent


def gui_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.update(
        MAILCATCHER_GUI_HOME=str(tmp_path / "gui-home"),
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
    )
    env.update(extra)
    return env


def run_gui(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "--smtp", f"{HOST}:0", *args],
        env=gui_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_remote_flag_refuses_a_malformed_url_before_any_window(tmp_path):
    proc = run_gui(tmp_path, "--remote", "ftp://catcher")
    assert proc.returncode == 2
    assert "--remote" in proc.stderr and "http://" in proc.stderr
    assert "Traceback" not in proc.stderr
    alone = run_gui(tmp_path, "--remote-user", "alice")
    assert alone.returncode == 2 and "--remote-user needs --remote" in alone.stderr


@pytest.mark.web
def test_remote_flag_with_an_unreachable_catcher_exits_1_with_one_clear_line(tmp_path):
    proc = run_gui(tmp_path, "--remote", f"{HOST}:{free_port()}")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "mailcatcher-gui: error" in line]
    assert len(errors) == 1 and "cannot reach the catcher" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.web
def test_remote_flag_opens_the_window_on_that_catcher(tmp_path):
    home = tmp_path / "serve-home"
    home.mkdir()
    served = launch_serve(home, tmp_path / "serve.log")
    try:
        assert served.http_url is not None
        proc = run_gui(tmp_path, "--remote", served.http_url, MAILCATCHER_GUI_QUIT_AFTER_MS="2500")
    finally:
        stop(served.proc)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    # The window connected: it remembers that catcher for the Connect dialog.
    settings = (tmp_path / "gui-home" / "config" / "settings.ini").read_text()
    assert served.http_url in settings
