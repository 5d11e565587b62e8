"""The whole desktop app: real SMTP into the sink running on the window's qasync
loop, live list updates, busy ports, live listener restarts, and the real
``mailcatcher-gui`` process starting and exiting cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import aiosmtplib
import pytest
from gui_helpers import fill_store, run_app, simple_message, wait_for
from PySide6.QtCore import QPoint
from smtp_helpers import HOST, client_context, free_port, make_message, shared_cert_dir
from viewer_support import WEB_ENV_LOG_IGNORE

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.smtp import PortInUse, SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.startup import EXIT_NO_DISPLAY, missing_display
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.listener_prefs import initial_config, listener_config
from mailcatcher_gui.ui.window.settings import AppSettings, Preferences

pytestmark = [
    pytest.mark.gui,
    # Qt's offscreen platform plugin says this for every QMainWindow it shows;
    # it is about the test platform, not about the window.
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]

REPO = Path(__file__).resolve().parent.parent
CRASH_MARKERS = ("Traceback", "Segmentation fault", "none_dealloc", "Fatal Python error", "Aborted")


def config(port: int = 0) -> SinkConfig:
    return SinkConfig(smtp=(HOST, port), cert_dir=shared_cert_dir(), auth=AuthMode("any"))


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path):
    made = []

    def make(sink_config: SinkConfig | None = None, *, chromium: bool = False):
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        view = None if chromium else MessageView(web_engine=False)
        gui = build_gui(qapp, mailbox, sink_config or config(), settings, view=view)
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


async def send(port: int, messages: list[bytes]) -> None:
    """Deliver ``messages`` over one real SMTP connection (no TLS)."""
    client = aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False, timeout=10)
    await client.connect()
    try:
        for raw in messages:
            await client.sendmail("app@example.com", ["dev@example.com"], raw)
    finally:
        await client.quit()


def top_visible_id(gui) -> int | None:
    table = gui.window.message_list.table
    index = table.indexAt(QPoint(5, 5))
    return gui.window.model.id_at(index.row()) if index.isValid() else None


@pytest.mark.web
@WEB_ENV_LOG_IGNORE
def test_live_smtp_burst_keeps_selection_and_scroll_position(qapp, mailbox, make_gui):
    fill_store(mailbox.store, 400)
    gui = make_gui(chromium=bool(int(os.environ.get("CHROMIUM", "1"))))
    window = gui.window
    model = window.model
    table = window.message_list.table

    async def scenario():
        port = gui.sink.port()
        assert f"127.0.0.1:{port}" in window.listener_label.text()
        window.message_list.select_row(3)
        chosen = window.message_list.current_id
        await wait_for(lambda: window.view.opened is not None and window.view.opened.id == chosen)
        await wait_for(lambda: mailbox.summary(chosen).read)

        # 1) a burst while the top of the list is visible: new rows on top,
        #    the open message stays selected (by id) and is not re-opened
        opened_before = window.view.opened
        await send(port, [simple_message(i) for i in range(30)])
        await wait_for(lambda: model.rowCount() == 430)
        assert window.message_list.current_id == chosen
        assert model.id_at(table.currentIndex().row()) == chosen
        assert table.currentIndex().row() == 33
        assert window.view.opened is opened_before
        assert model.data(model.index(0, 3)) == "Burst 29"
        await wait_for(lambda: "430 messages" in window.count_label.text())

        # 2) a burst while scrolled down: the same messages stay in view
        bar = table.verticalScrollBar()
        bar.setValue(bar.maximum() // 2)
        await wait_for(lambda: top_visible_id(gui) is not None)
        anchored = top_visible_id(gui)
        assert anchored is not None
        max_before = bar.maximum()
        row_height = table.verticalHeader().defaultSectionSize()
        await send(port, [simple_message(100 + i) for i in range(12)])
        await wait_for(lambda: model.rowCount() == 442)
        # Not a settle delay: wait until the view has laid out the 12 new rows
        # (its scroll range grew by exactly them), which is when a jump would show.
        await wait_for(lambda: bar.maximum() == max_before + 12 * row_height)
        assert top_visible_id(gui) == anchored

        # 3) opening a new message renders it (Chromium) and marks it read
        window.message_list.select_row(0)
        newest = model.id_at(0)
        await wait_for(lambda: window.view.opened is not None and window.view.opened.id == newest)
        assert mailbox.summary(newest).read

    run_app(qapp, gui, scenario)
    assert gui.sink is None  # stopped by the quit path


def test_busy_port_shows_the_problem_and_settings_fix_it(qapp, mailbox, make_gui):
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        gui = make_gui(config(busy))
        window = gui.window

        async def scenario():
            assert gui.sink is None
            assert isinstance(gui.sink_error, PortInUse)
            assert f"port {busy}" in window.listener_label.text()
            assert "already in use" in window.listener_label.text()
            assert window.port_button.isVisibleTo(window)
            assert window.isVisible()  # the window is up regardless

            new_port = free_port()
            window.preferencesChosen.emit(Preferences(smtp_port=new_port))  # as the dialog does
            await wait_for(lambda: gui.sink is not None)
            assert gui.sink.port() == new_port
            assert "Listening on" in window.listener_label.text()
            assert not window.port_button.isVisibleTo(window)
            await send(new_port, [simple_message(1, "after the fix")])
            await wait_for(lambda: window.model.rowCount() == 1)
            assert AppSettings.at(window.settings.path).preferences().smtp_port == new_port

        run_app(qapp, gui, scenario)


def test_changing_the_listener_restarts_it_and_a_bad_one_falls_back(qapp, mailbox, make_gui):
    gui = make_gui(config(free_port()))
    window = gui.window

    async def scenario():
        first = gui.sink.port()
        second = free_port()
        window.preferencesChosen.emit(Preferences(smtp_port=second))
        await wait_for(lambda: gui.sink is not None and gui.sink.port() == second)
        with pytest.raises(OSError):
            await send(first, [simple_message(0)])
        await send(second, [simple_message(1)])
        await wait_for(lambda: window.model.rowCount() == 1)

        with socket.socket() as blocker:
            blocker.bind((HOST, 0))
            blocker.listen()
            busy = blocker.getsockname()[1]
            window.preferencesChosen.emit(Preferences(smtp_port=busy))
            await wait_for(
                lambda: "Could not switch" in window.statusBar().currentMessage(), timeout=10
            )
            assert gui.sink is not None and gui.sink.port() == second
            assert "Listening on" in window.listener_label.text()
            # the dialog and the saved settings show what really runs
            assert window.prefs.smtp_port == second and gui.prefs.smtp_port == second
            assert AppSettings.at(window.settings.path).preferences().smtp_port == second

    run_app(qapp, gui, scenario)


def test_quit_request_stops_the_sink_before_returning(qapp, mailbox, make_gui):
    gui = make_gui()

    async def scenario():
        port = gui.sink.port()
        window = gui.window
        window.close()  # the window's close button asks the app to quit
        await wait_for(lambda: gui.sink is None)
        with pytest.raises(OSError):
            await send(port, [simple_message(0)])

    run_app(qapp, gui, scenario)


def test_settings_dialog_starts_from_the_running_configuration(qapp, mailbox, make_gui):
    running = SinkConfig(
        smtp=(HOST, 2999),
        smtps=(HOST, 2998),
        auth=AuthMode("required", "app", "pw"),
        max_size=3 * 1024 * 1024,
        cert_dir=shared_cert_dir(),
    )
    mailbox.max_messages = 77
    gui = make_gui(running)
    prefs = gui.window.prefs
    assert (prefs.smtp_host, prefs.smtp_port, prefs.smtps_enabled, prefs.smtps_port) == (
        HOST,
        2999,
        True,
        2998,
    )
    # the password was not in the saved settings: the preferences hold the user only
    assert (prefs.auth, prefs.max_size_mb, prefs.retention) == ("app", 3, 77)
    assert listener_config(running, prefs) == running  # confirming it changes nothing


def test_command_line_options_override_saved_settings():
    class Args:
        smtp = "127.0.0.1:2600"
        smtps = None
        auth = "any"
        max_size = 50 * 1024 * 1024
        max_messages = 10_000
        tls_cert = None
        tls_key = None
        accept_rcpt = None
        hostname = None

    saved = Preferences(smtp_port=2700, smtps_enabled=True, smtps_port=2701, retention=55)
    cfg, retention = initial_config(Args(), saved)
    assert cfg.smtp == ("127.0.0.1", 2600)  # typed on the command line
    assert cfg.smtps == ("127.0.0.1", 2701)  # from the settings
    assert retention == 55
    Args.smtp = "127.0.0.1:1025"  # the CLI default: settings decide
    Args.max_messages = 7
    cfg, retention = initial_config(Args(), saved)
    assert cfg.smtp == ("127.0.0.1", 2700) and retention == 7
    assert listener_config(cfg, Preferences(auth="u:p")).auth == AuthMode("required", "u", "p")


# ---- the real process ---------------------------------------------------------------------


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["MAILCATCHER_GUI_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def test_missing_display_is_detected():
    assert missing_display({}, "linux")
    assert missing_display({"DISPLAY": ":0"}, "linux") is None
    assert missing_display({"WAYLAND_DISPLAY": "wayland-0"}, "linux") is None
    assert missing_display({"QT_QPA_PLATFORM": "offscreen"}, "linux") is None
    assert missing_display({}, "darwin") is None
    assert missing_display({}, "win32") is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X11/Wayland only")
def test_no_display_exits_2_with_one_clear_line(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui"],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert proc.returncode == EXIT_NO_DISPLAY
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "mailcatcher-gui serve" in lines[0] and "display" in lines[0]
    assert "Aborted" not in proc.stderr and "qt.qpa" not in proc.stderr


@pytest.mark.web
def test_real_app_starts_receives_and_exits_cleanly(tmp_path, corpus):
    port = free_port()
    eml = next(p for p in corpus if p.suffix == ".eml")
    env = clean_env(
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        MAILCATCHER_GUI_QUIT_AFTER_MS="60000",  # safety net only
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailcatcher_gui", "--smtp", f"{HOST}:{port}", str(eml)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "the app never started listening"
                time.sleep(0.1)
        import smtplib

        with smtplib.SMTP(HOST, port, timeout=10) as client:
            client.sendmail("app@example.com", ["dev@example.com"], simple_message(1, "to the app"))
        # No pause to "let the window show it" (nothing outside the process can
        # see the window; the live-arrival tests above check it in-process):
        # the 250 means stored, so quitting right away must keep the message
        # and still exit cleanly while the window may be catching up.
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    for marker in CRASH_MARKERS:
        assert marker not in err, err
    home = tmp_path / "home"
    with sqlite3.connect(home / "mail.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM messages").fetchone()[0] == 1
    assert "geometry" in (home / "config" / "settings.ini").read_text()


@pytest.mark.web
@pytest.mark.parametrize("run_index", [0, 1])
def test_quit_hook_exits_0_every_time(tmp_path, run_index):
    env = clean_env(
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        MAILCATCHER_GUI_QUIT_AFTER_MS="1500",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "--smtp", f"{HOST}:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    for marker in CRASH_MARKERS:
        assert marker not in proc.stderr, proc.stderr


def test_the_sink_runs_on_the_qt_loop_thread_and_mail_reaches_the_list(qapp, mailbox, make_gui):
    """The design card: the SMTP sink lives on the Qt event loop (qasync), not
    on a thread of its own; mailbox events for SMTP mail arrive on that thread."""
    import threading

    gui = make_gui()
    seen_threads: list[str] = []
    unsubscribe = mailbox.subscribe(lambda _e: seen_threads.append(threading.current_thread().name))

    async def scenario():
        assert not [t for t in threading.enumerate() if t.name == "smtp-sink"]
        await send(gui.sink.port(), [simple_message(i) for i in range(5)])
        await wait_for(lambda: gui.window.model.rowCount() == 5)
        assert gui.window.model.data(gui.window.model.index(0, 3)) == "Burst 4"

    run_app(qapp, gui, scenario)
    unsubscribe()
    assert seen_threads and set(seen_threads) == {threading.main_thread().name}
    gui.close()


@pytest.mark.web
@WEB_ENV_LOG_IGNORE
def test_end_to_end_cid_image_attachment_and_session_in_chromium(qapp, mailbox, make_gui):
    """The issue's end-to-end path: aiosmtplib -> the app's sink on port 0 -> the
    row appears -> selecting it renders the HTML in Chromium with the cid image
    served by our scheme handler; Attachments and Session tabs tell the truth."""
    from email.message import EmailMessage

    from viewer_support import png_bytes

    msg = EmailMessage()
    msg["From"] = "Shop <shop@example.com>"
    msg["To"] = "dev@example.com"
    msg["Subject"] = "Your receipt"
    msg.set_content("Plain receipt")
    msg.add_alternative(
        "<html><body><p>Thanks for your order, Dev!</p>"
        "<img src='cid:logo@shop.example' width='40' height='30'></body></html>",
        subtype="html",
    )
    msg.get_payload()[1].add_related(
        png_bytes((10, 200, 30), 40, 30), "image", "png", cid="<logo@shop.example>"
    )
    msg.add_attachment(b"%PDF-1.4 receipt", "application", "pdf", filename="receipt.pdf")

    gui = make_gui(chromium=True)
    view = gui.window.view
    assert view.html_tab.renderer.uses_chromium

    async def scenario():
        client = aiosmtplib.SMTP(hostname=HOST, port=gui.sink.port(), start_tls=False)
        await client.connect()
        try:
            await client.sendmail(
                "shop@example.com", ["dev@example.com", "audit@example.com"], msg.as_bytes()
            )
        finally:
            await client.quit()
        await wait_for(lambda: gui.window.model.rowCount() == 1)
        loads: list[bool] = []
        view.html_tab.renderer.loaded.connect(loads.append)
        gui.window.message_list.select_row(0)
        await wait_for(lambda: loads, timeout=20)
        assert loads == [True]
        text: list[str] = []
        view.html_tab.renderer.page().toPlainText(text.append)
        await wait_for(lambda: text)
        return text[0]

    page_text = run_app(qapp, gui, scenario)
    assert "Thanks for your order, Dev!" in page_text
    token = view.html_tab.renderer.token
    assert f"mailcatcher://message/{token}/cid/logo%40shop.example" in (
        view.html_tab.renderer.served_urls()
    )
    names = [
        view.attachments_tab.list.topLevelItem(i).text(0)
        for i in range(view.attachments_tab.list.topLevelItemCount())
    ]
    assert "receipt.pdf" in names
    assert view.session_tab.bcc == ["audit@example.com"]
    assert "C: <message data:" in view.session_tab.transcript.toPlainText()


def test_concurrent_starttls_auth_sessions_and_a_large_message_on_the_window_loop(
    qapp, mailbox, make_gui
):
    """Many TLS sessions at once through QtAsyncLoop's socket notifiers.

    The clients (aiosmtplib) run on the same Qt loop as the app's sink, so
    both ends of every connection go through the loop's readers and writers;
    the 3 MB message fills socket buffers, so writers are registered too.
    """
    gui = make_gui()
    small = [make_message(subject=f"tls {c}-{i}") for c in range(8) for i in range(4)]
    big = make_message(subject="big over tls", body=b"0123456789abcdef\r\n" * 180_000)

    async def client(batch: list[bytes], cafile: str) -> None:
        smtp = aiosmtplib.SMTP(
            hostname=HOST,
            port=gui.sink.port(),
            start_tls=True,
            tls_context=client_context(cafile),
            timeout=30,
        )
        await smtp.connect()
        try:
            await smtp.login("dev", "secret")
            for raw in batch:
                await smtp.sendmail("app@example.com", ["dev@example.com"], raw)
        finally:
            await smtp.quit()

    async def scenario():
        cafile = str(gui.sink.certificate)
        batches = [small[c * 4 : (c + 1) * 4] for c in range(8)] + [[big]]
        await asyncio.wait_for(asyncio.gather(*(client(b, cafile) for b in batches)), 60)
        await wait_for(lambda: gui.window.model.rowCount() == len(small) + 1, timeout=20)

    run_app(qapp, gui, scenario)
    stored = {mailbox.raw(s.id) for s in mailbox.list(limit=100)}
    assert stored == {*small, big}
    for summary in mailbox.list(limit=100):
        message = mailbox.store.get(summary.id)
        assert message.tls is not None and message.tls.version.startswith("TLS")
        assert message.auth_user == "dev"
