"""The sink's AUTH password from an environment variable or a file, never in argv.

``--auth USER:PASSWORD`` puts the password where every local user can read
it (``ps``, ``/proc/PID/cmdline``). ``--auth USER --auth-password-env VAR``
and ``--auth USER --auth-password-file FILE`` keep it out of there; these
tests start the real ``serve`` process both ways, look at its command line
the way ``ps`` does, and log in over SMTP with the right and a wrong password.
"""

from __future__ import annotations

import shutil
import signal
import smtplib
import subprocess
from pathlib import Path

import pytest
from serve_process import start_serve

from mailcatcher_gui.cli import main

SECRET = "s3cret-Only-In-Env-1b7e"


def _argv_as_ps_sees_it(pid: int) -> str:
    """The process's command line from /proc, and from ps(1) when it exists."""
    seen = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    ps = shutil.which("ps")
    if ps:
        seen += (
            " "
            + subprocess.run(
                [ps, "-o", "args=", "-p", str(pid)], capture_output=True, text=True, check=True
            ).stdout
        )
    return seen


def _login(port: int, user: str, password: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("secret-test.example")
        try:
            code, text = client.login(user, password)
        except smtplib.SMTPAuthenticationError as exc:
            return exc.smtp_code, exc.smtp_error
        return code, text


def _stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert proc.returncode == 0


@pytest.mark.parametrize("source", ["env", "file"])
def test_password_from_env_or_file_is_not_in_argv_and_auth_works(tmp_path, monkeypatch, source):
    home = tmp_path / "home"
    home.mkdir()
    if source == "env":
        monkeypatch.setenv("SINK_SMTP_PASSWORD", SECRET)
        extra = ["--auth", "alice", "--auth-password-env", "SINK_SMTP_PASSWORD"]
    else:
        secret_file = tmp_path / "smtp-password"
        secret_file.write_text(SECRET + "\n")  # as `echo secret > file` writes it
        extra = ["--auth", "alice", "--auth-password-file", str(secret_file)]
    proc, port = start_serve(home, tmp_path / "serve.log", *extra)
    try:
        argv = _argv_as_ps_sees_it(proc.pid)
        assert "--auth" in argv and "alice" in argv  # the positive control: we read its argv
        assert SECRET not in argv
        assert _login(port, "alice", SECRET)[0] == 235
        assert _login(port, "alice", SECRET + "x")[0] == 535
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:  # AUTH is required
            client.ehlo("secret-test.example")
            assert client.mail("a@example.com")[0] == 530
    finally:
        _stop(proc)
    assert SECRET.encode() not in (tmp_path / "serve.log").read_bytes()


def test_password_on_the_command_line_still_works_and_is_visible(tmp_path):
    """The old form, for contrast: this is exactly what the new options avoid."""
    home = tmp_path / "home"
    home.mkdir()
    proc, port = start_serve(home, tmp_path / "serve.log", "--auth", f"alice:{SECRET}")
    try:
        assert SECRET in _argv_as_ps_sees_it(proc.pid)
        assert _login(port, "alice", SECRET)[0] == 235
    finally:
        _stop(proc)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--auth", "alice", "--auth-password-env", "UNSET_VAR_4f1"], "UNSET_VAR_4f1 is not set"),
        (["--auth", "any", "--auth-password-env", "SINK_PW"], "needs --auth USER"),
        (["--auth", "alice:pw", "--auth-password-env", "SINK_PW"], "only the user name"),
        (["--auth", "alice", "--auth-password-file", "/nonexistent/pw"], "No such file"),
        (["--auth", "alice"], "USER:PASSWORD"),
    ],
)
def test_bad_password_options_are_one_line_and_exit_2(
    tmp_path, monkeypatch, capsys, extra, message
):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    monkeypatch.setenv("SINK_PW", "pw")
    monkeypatch.delenv("UNSET_VAR_4f1", raising=False)
    assert main(["serve", "--smtp", "127.0.0.1:0", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_env_and_file_together_are_a_usage_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    argv = ["serve", "--auth", "a", "--auth-password-env", "X", "--auth-password-file", "f"]
    assert main(argv) == 2
    assert "not allowed with argument" in capsys.readouterr().err


def test_empty_password_file_is_refused(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    empty = tmp_path / "pw"
    empty.write_text("\n")
    argv = ["serve", "--auth", "alice", "--auth-password-file", str(empty)]
    assert main(argv) == 2
    assert "first line is empty" in capsys.readouterr().err
