"""A bug in the CLI is one clean line and exit 1; the traceback goes to crash.log.

The command runs as a real process. To have a bug to hit, the child replaces
one subcommand's handler with a function that raises before calling the
real ``main()`` -- everything from argument parsing to the exit status is
the shipped code.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SECRET = "hunter2-not-in-the-log"

CHILD = """
import sys
import mailcatcher_gui.cli.{module} as target

def broken(args):
    raise RuntimeError("boom in the handler")

target.{handler} = broken
from mailcatcher_gui.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _run(home: Path, module: str, handler: str, *argv: str, debug: bool = False):
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(home))
    env.pop("MAILCATCHER_GUI_DEBUG", None)
    if debug:
        env["MAILCATCHER_GUI_DEBUG"] = "1"
    return subprocess.run(
        [sys.executable, "-c", CHILD.format(module=module, handler=handler), *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_uncaught_exception_is_one_line_exit_1_and_logged(tmp_path):
    result = _run(tmp_path, "messages", "_cmd_list", "messages", "list")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    log = tmp_path / "crash.log"
    # The one format of mailcatcher_gui.crash (shared with the excepthook).
    assert result.stderr == (
        f"mailcatcher-gui: internal error: RuntimeError: boom in the handler (details in {log})\n"
    )
    assert "Traceback" not in result.stderr
    text = log.read_text()
    assert "Traceback (most recent call last)" in text and "boom in the handler" in text
    assert "command messages" in text
    assert log.stat().st_mode & 0o077 == 0  # the log is the user's alone


def test_the_crash_log_never_holds_the_command_line(tmp_path):
    result = _run(tmp_path, "serve", "cmd_serve", "serve", "--auth", f"alice:{SECRET}")
    assert result.returncode == 1 and "internal error" in result.stderr
    assert SECRET not in (tmp_path / "crash.log").read_text()


def test_debug_variable_keeps_the_traceback(tmp_path):
    result = _run(tmp_path, "messages", "_cmd_list", "messages", "list", debug=True)
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "RuntimeError: boom in the handler" in result.stderr


def test_user_errors_are_not_reported_as_bugs(tmp_path):
    """The positive control: a user error keeps its own one-line message."""
    result = subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "messages", "show", "999"],
        env=dict(os.environ, MAILCATCHER_GUI_HOME=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "internal error" not in result.stderr and result.stderr.count("\n") == 1
    assert not (tmp_path / "crash.log").exists()
