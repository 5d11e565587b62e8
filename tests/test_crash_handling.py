"""Crashes must not vanish: the CLI's one clean line, the window's crash dialog,
Qt messages in logging, faulthandler's crash log, and SIGTERM noticed at once.
Each runs in a real subprocess (hooks are process-wide)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from smtp_helpers import HOST, free_port

REPO = Path(__file__).resolve().parent.parent


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
    }
    env["MAILCATCHER_GUI_HOME"] = str(tmp_path / "home")
    env.update(extra)
    return env


def run_python(code: str, tmp_path: Path, *args: str, **extra: str):
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        env=env_for(tmp_path, **extra),
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )


def test_cli_crash_is_one_clean_line_and_exit_1_with_the_traceback_logged(tmp_path):
    log = tmp_path / "crash.log"
    done = run_python(
        "import sys\n"
        "from pathlib import Path\n"
        "from mailcatcher_gui.crash import install_cli_excepthook\n"
        "install_cli_excepthook('mailcatcher-gui', Path(sys.argv[1]))\n"
        "def deep():\n"
        "    raise RuntimeError('boom\\nsecond line')\n"
        "deep()\n",
        tmp_path,
        str(log),
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert lines == [
        f"mailcatcher-gui: internal error: RuntimeError: boom second line (details in {log})"
    ], done.stderr
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "in deep" in text


def test_cli_crash_report_function_for_an_except_clause(tmp_path, capsys):
    from mailcatcher_gui.crash import report_cli_crash

    log = tmp_path / "sub" / "crash.log"
    try:
        raise ValueError("bad thing")
    except ValueError as exc:
        code = report_cli_crash("mailcatcher-gui", exc, log)
    assert code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ValueError: bad thing" in err and str(log) in err
    assert "raise ValueError" in log.read_text()


SLOT_CRASH = """
import sys
from pathlib import Path
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QPushButton
from mailcatcher_gui.ui.crash_report import CrashReporter
app = QApplication([])
log = Path(sys.argv[1])
reporter = CrashReporter(log)
reporter.install()
button = QPushButton("crash")
def broken_slot():
    raise KeyError("no such thing")
button.clicked.connect(broken_slot)
button.show()
QTimer.singleShot(0, button.click)
deadline = QTimer()
deadline.setSingleShot(True)
deadline.timeout.connect(lambda: app.exit(3))
deadline.start(20000)
def check():
    box = reporter.dialog
    if box is None or not box.isVisible():
        return
    print("TEXT", box.text())
    print("INFO", box.informativeText())
    print("DETAIL", "broken_slot" in box.detailedText())
    print("ALIVE", button.isVisible())
    app.exit(0)
poll = QTimer()
poll.timeout.connect(check)
poll.start(20)
sys.exit(app.exec())
"""


def test_an_exception_in_a_slot_shows_a_dialog_and_is_logged(tmp_path):
    log = tmp_path / "data" / "crash.log"
    done = run_python(SLOT_CRASH, tmp_path, str(log), QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "TEXT mailcatcher-gui hit an unexpected error: KeyError: 'no such thing'" in out
    assert f"INFO The details are in {log}." in out
    assert "DETAIL True" in out and "ALIVE True" in out  # the app keeps running
    assert "in broken_slot" in log.read_text()
    assert "uncaught exception" in done.stderr  # logged too


QT_LOGGING = """
import logging, sys
from PySide6.QtCore import QCoreApplication, qWarning
from mailcatcher_gui.ui.crash_report import install_qt_message_handler
logging.basicConfig(
    stream=sys.stdout, level=logging.INFO, format="%(levelname)s:%(name)s:%(message)s"
)
app = QCoreApplication([])
install_qt_message_handler()
qWarning("a warning from Qt")
"""


def test_qt_messages_go_into_logging(tmp_path):
    done = run_python(QT_LOGGING, tmp_path, QT_QPA_PLATFORM="offscreen")
    assert done.returncode == 0, done.stderr
    assert "WARNING:qt:a warning from Qt" in done.stdout
    assert "a warning from Qt" not in done.stderr


@pytest.mark.gui
def test_sigterm_ends_the_running_app_promptly_with_0(tmp_path):
    port = free_port()
    env = env_for(
        tmp_path,
        QT_QPA_PLATFORM="offscreen",
        QTWEBENGINE_DISABLE_SANDBOX="1",
        MAILCATCHER_GUI_QUIT_AFTER_MS="120000",  # safety net only
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailcatcher_gui", "--smtp", f"{HOST}:{port}"],
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
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err, err
    # Quit, sink stop, Chromium and widget teardown; the safety net is 120 s.
    assert took < 15, took
    # faulthandler had the crash log open in the data directory
    assert (tmp_path / "home" / "crash.log").exists()
