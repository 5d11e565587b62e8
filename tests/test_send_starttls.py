"""``send --user`` never puts a password on the wire in clear text by accident.

Against the real sink (``serve`` in a subprocess: it offers STARTTLS with its
generated self-signed certificate and AUTH), the transcript must show
STARTTLS before AUTH; ``--no-starttls`` keeps plain SMTP (fine on loopback);
a remote host gets the password only over verified TLS unless
``--allow-plaintext-auth``.
"""

from __future__ import annotations

import json
import signal
import subprocess

import pytest
from serve_process import start_serve
from test_sending_servers import LoopThread, smtp_server

from mailcatcher_gui.cli import main
from mailcatcher_gui.cli.send import _resolve_profile
from mailcatcher_gui.core.sending import Security, is_loopback

ENVELOPE = ["--from", "me@example.org", "--to", "you@example.org", "--helo", "starttls.test"]


@pytest.fixture
def sink(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(home))
    monkeypatch.setenv("SEND_PW", "pw-for-the-sink")
    proc, port = start_serve(home, tmp_path / "serve.log")
    yield port
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)


def _send(tmp_path, capsys, *argv: str) -> tuple[int, list[str], str]:
    code = main(["send", *argv, *ENVELOPE, "--config-dir", str(tmp_path / "config")])
    captured = capsys.readouterr()
    return code, captured.out.splitlines(), captured.err


def _stored(capsys) -> dict:
    assert main(["messages", "list", "--json"]) == 0
    newest = json.loads(capsys.readouterr().out)[0]["id"]
    assert main(["messages", "show", str(newest), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_user_without_starttls_option_uses_starttls_before_auth(sink, tmp_path, capsys):
    code, lines, err = _send(
        tmp_path, capsys, "--server", f"127.0.0.1:{sink}", "--user", "alice",
        "--password-env", "SEND_PW",
    )  # fmt: skip
    assert code == 0, err
    starttls = lines.index(" -> STARTTLS")
    auth = next(i for i, line in enumerate(lines) if line.startswith((" -> AUTH", " ~> AUTH")))
    assert starttls < auth
    assert lines[auth].startswith(" ~> AUTH")  # sent inside TLS
    assert not any(line.startswith(" -> AUTH") for line in lines)
    assert "pw-for-the-sink" not in "\n".join(lines)
    stored = _stored(capsys)
    assert stored["auth_user"] == "alice" and stored["tls"] is not None


def test_no_starttls_keeps_plain_smtp_on_loopback(sink, tmp_path, capsys):
    code, lines, err = _send(
        tmp_path, capsys, "--server", f"127.0.0.1:{sink}", "--no-starttls", "--user", "alice",
        "--password-env", "SEND_PW",
    )  # fmt: skip
    assert code == 0, err
    assert " -> STARTTLS" not in lines
    assert any(line.startswith(" -> AUTH") for line in lines)
    assert "=== Warning: sending credentials over a connection without TLS" in lines
    stored = _stored(capsys)
    assert stored["auth_user"] == "alice" and stored["tls"] is None


def test_without_user_starttls_is_still_used_when_offered(sink, tmp_path, capsys):
    code, lines, err = _send(tmp_path, capsys, "--server", f"127.0.0.1:{sink}")
    assert code == 0, err
    assert "=== The server offers STARTTLS; using it" in lines
    assert " -> STARTTLS" in lines
    assert (
        "=== TLS certificate NOT verified (opportunistic STARTTLS: encrypted, not authenticated)"
        in lines
    )
    assert _stored(capsys)["tls"] is not None


def test_server_without_starttls_still_gets_the_message(tmp_path, capsys):
    with LoopThread() as loops:
        server = smtp_server(loops)
        code, lines, err = _send(tmp_path, capsys, "--server", f"127.0.0.1:{server.port}")
    assert code == 0, err
    assert "=== The server does not offer STARTTLS; continuing without TLS" in lines
    assert len(server.handler.messages) == 1


def test_plaintext_auth_to_a_remote_host_is_refused_before_connecting(tmp_path, capsys):
    # 192.0.2.0/24 is TEST-NET-1: nothing answers there, and nothing must be tried.
    argv = ["--server", "192.0.2.1:2525", "--no-starttls", "--user", "alice"]
    code, lines, err = _send(tmp_path, capsys, *argv, "--password-env", "SEND_PW")
    assert code == 2
    assert lines == []  # not even "Trying ..."
    assert err.count("\n") == 1 and "refusing to send the password for 'alice'" in err
    assert "--allow-plaintext-auth" in err


def _parse(*argv: str):
    import argparse

    from mailcatcher_gui.cli.send import add_send_parser

    parser = argparse.ArgumentParser()
    add_send_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["send", *argv, *ENVELOPE])


def test_security_plan_for_remote_and_loopback_hosts(tmp_path):
    cfg = ["--config-dir", str(tmp_path)]
    remote = ["--server", "smtp.example.com:587", "--user", "alice", *cfg]
    profile, opportunistic = _resolve_profile(_parse(*remote))
    assert (profile.security, profile.allow_invalid_cert, opportunistic) == (
        Security.STARTTLS,
        False,
        False,
    )  # required and verified
    profile, opportunistic = _resolve_profile(_parse(*remote, "--allow-plaintext-auth"))
    assert (profile.security, opportunistic) == (Security.NONE, True)
    profile, opportunistic = _resolve_profile(_parse("--server", "smtp.example.com", *cfg))
    assert (profile.security, profile.port, opportunistic) == (Security.NONE, 25, True)
    profile, opportunistic = _resolve_profile(_parse("--server", "localhost:1025", *cfg))
    assert (profile.security, profile.allow_invalid_cert, opportunistic) == (
        Security.NONE,
        True,
        True,
    )
    for host in ("localhost", "a.localhost", "127.0.0.1", "127.9.9.9", "::1", "[::1]"):
        assert is_loopback(host), host
    for host in ("example.com", "10.0.0.1", "192.0.2.1", "localhost.example.com"):
        assert not is_loopback(host), host


def test_console_script_refuses_plaintext_auth_in_one_line(tmp_path):
    import sys

    result = subprocess.run(
        [
            sys.executable, "-m", "mailcatcher_gui", "send", "--server", "192.0.2.1",
            "--no-starttls", "--user", "u", *ENVELOPE, "--config-dir", str(tmp_path),
        ],
        capture_output=True, text=True, timeout=60, env={"SEND_PW": "x", "PATH": ""},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
