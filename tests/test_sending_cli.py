"""``mailcatcher-gui send``: swaks-style output and one exit status per failing stage."""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_sending_servers import (
    PASSWORD,
    USER,
    LoopThread,
    RecordingHandler,
    SilentPort,
    closed_port,
    hang_up_after_greeting,
    make_pki,
    smtp_server,
)

from mailcatcher_gui.cli.send import EXIT_CODES, add_send_parser, run_send
from mailcatcher_gui.core.sending import FailureStage, ProfileStore, RelayProfile, Security

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def loops():
    with LoopThread() as lt:
        yield lt


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="mailcatcher-gui")
    add_send_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["send", *argv])


def send(argv: list[str], tmp_path: Path) -> int:
    return run_send(parse([*argv, "--config-dir", str(tmp_path / "config")]))


BASIC = ["--helo", "cli.test", "--from", "me@example.org", "--to", "you@example.org"]


def test_exit_codes_are_distinct_and_documented():
    import mailcatcher_gui.cli.send as cli_send

    assert set(EXIT_CODES) == set(FailureStage)
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)
    assert 0 not in EXIT_CODES.values() and 1 not in EXIT_CODES.values()
    for stage, code in EXIT_CODES.items():
        assert f"\n{code:<4}  {stage.value}" in cli_send.__doc__ or (
            stage is FailureStage.INPUT and "\n2     usage" in cli_send.__doc__
        )


def test_success_prints_swaks_transcript_and_summary(loops, tmp_path, capsys):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"bad@example.org"}))
    code = send(
        [
            "--server",
            f"127.0.0.1:{server.port}",
            *BASIC,
            "bad@example.org",
            "--cc",
            "cc@example.org",
            "--bcc",
            "hidden@example.org",
            "--subject",
            "CLI test",
            "--text",
            "line one\\nline two",
            "--header",
            "X-Run: 42",
        ],
        tmp_path,
    )
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == f"=== Trying 127.0.0.1:{server.port}..."
    assert " -> EHLO cli.test" in lines
    assert any(line.startswith("<-  220 ") for line in lines)
    assert " -> RCPT TO:<hidden@example.org>" in lines
    assert any(line.startswith("<** 550 5.1.1 <bad@example.org>") for line in lines)
    assert "=== Sent to 3 of 4 recipient(s)" in out and "queue id Q1" in out
    assert "=== Refused bad@example.org: 550" in out
    got = server.handler.messages[0]
    assert got.rcpt_tos == ["you@example.org", "cc@example.org", "hidden@example.org"]
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    assert msg["Subject"] == "CLI test"
    assert msg["X-Run"] == "42"
    assert msg["Bcc"] is None and b"hidden@example.org" not in got.content
    assert msg.get_content().replace("\r\n", "\n") == "line one\nline two\n"


def test_quiet_and_timestamps(loops, tmp_path, capsys):
    server = smtp_server(loops)
    assert send(["--server", f"127.0.0.1:{server.port}", *BASIC, "--quiet"], tmp_path) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and out.startswith("=== Sent to 1 of 1")
    assert send(["--server", f"127.0.0.1:{server.port}", *BASIC, "--timestamps"], tmp_path) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith("[") and first.endswith(f"=== Trying 127.0.0.1:{server.port}...")


def test_attachments_inline_and_html_files(loops, tmp_path):
    server = smtp_server(loops)
    (tmp_path / "page.html").write_text('<p>hi <img src="cid:dot.png"></p>', encoding="utf-8")
    (tmp_path / "dot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50)
    (tmp_path / "notes.bin").write_bytes(os.urandom(3000))
    code = send(
        [
            "--server",
            f"127.0.0.1:{server.port}",
            *BASIC,
            "--text",
            "plain",
            "--html-file",
            str(tmp_path / "page.html"),
            "--inline",
            str(tmp_path / "dot.png"),
            "--attach",
            str(tmp_path / "notes.bin"),
        ],
        tmp_path,
    )
    assert code == 0
    msg = email.message_from_bytes(server.handler.messages[0].content, policy=email.policy.default)
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    assert parts["dot.png"]["Content-ID"] == "<dot.png>"
    digest = hashlib.sha256(parts["notes.bin"].get_payload(decode=True)).hexdigest()
    assert digest == hashlib.sha256((tmp_path / "notes.bin").read_bytes()).hexdigest()


def test_eml_is_sent_byte_for_byte(loops, tmp_path):
    server = smtp_server(loops)
    raw = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: raw\r\n\r\nBody \xe2\x82\xac\r\n"
    (tmp_path / "m.eml").write_bytes(raw)
    code = send(
        ["--server", f"127.0.0.1:{server.port}", *BASIC, "--eml", str(tmp_path / "m.eml")],
        tmp_path,
    )
    assert code == 0
    assert server.handler.messages[0].content == raw
    assert server.handler.messages[0].rcpt_tos == ["you@example.org"]


def test_saved_profile_and_preset_lookup(loops, tmp_path, pki, monkeypatch):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    store = ProfileStore(tmp_path / "config")
    store.save(
        RelayProfile(
            name="staging",
            host="127.0.0.1",
            port=server.port,
            security=Security.STARTTLS,
            ca_file=str(pki.ca_file),
            username=USER,
            password_env="STAGING_SMTP_PASSWORD",
        )
    )
    monkeypatch.setenv("STAGING_SMTP_PASSWORD", PASSWORD)
    assert send(["--profile", "staging", *BASIC], tmp_path) == 0
    assert server.handler.messages[0].auth_user == USER
    assert send(["--profile", "nope", *BASIC], tmp_path) == EXIT_CODES[FailureStage.INPUT]


# ---- one exit status per failing stage --------------------------------------------


def test_exit_2_for_bad_input(loops, tmp_path, capsys):
    server = smtp_server(loops)
    addr = f"127.0.0.1:{server.port}"
    injected = send(["--server", addr, *BASIC, "--subject", "a\r\nBcc: x@example.org"], tmp_path)
    assert injected == 2
    assert "Subject contains a line break" in capsys.readouterr().err
    assert send(["--server", addr, *BASIC, "--attach", str(tmp_path / "missing")], tmp_path) == 2
    assert "No such file" in capsys.readouterr().err
    assert send(["--server", addr, *BASIC, "--header", "no colon"], tmp_path) == 2
    assert send(["--server", addr, *BASIC, "--eml", "x.eml", "--subject", "s"], tmp_path) == 2
    assert "cannot be combined with --subject" in capsys.readouterr().err
    assert server.connections == 0


def test_exit_3_connect(tmp_path):
    assert send(["--server", f"127.0.0.1:{closed_port()}", *BASIC], tmp_path) == 3


def test_exit_4_tls(loops, tmp_path, pki, capsys):
    server = smtp_server(loops, starttls=pki.server_context())
    addr = f"127.0.0.1:{server.port}"
    assert send(["--server", addr, "--starttls", *BASIC], tmp_path) == 4
    captured = capsys.readouterr()
    assert "*** TLS certificate verification failed" in captured.out
    assert "failed at stage tls" in captured.err
    ok = ["--server", addr, "--starttls", "--ca-file", str(pki.ca_file), *BASIC]
    assert send(ok, tmp_path) == 0
    assert send(["--server", addr, "--starttls", "--insecure", *BASIC], tmp_path) == 0


def test_exit_5_ehlo(loops, tmp_path):
    port = hang_up_after_greeting(loops)
    assert send(["--server", f"127.0.0.1:{port}", *BASIC], tmp_path) == 5


def test_exit_6_auth(loops, tmp_path, pki, monkeypatch, capsys):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    monkeypatch.setenv("SMTP_PW", "wrong-password")
    argv = [
        "--server",
        f"127.0.0.1:{server.port}",
        "--starttls",
        "--ca-file",
        str(pki.ca_file),
        "--user",
        USER,
        "--password-env",
        "SMTP_PW",
        *BASIC,
    ]
    assert send(argv, tmp_path) == 6
    captured = capsys.readouterr()
    assert "<~* 535" in captured.out
    assert "wrong-password" not in captured.out + captured.err
    monkeypatch.setenv("SMTP_PW", PASSWORD)
    assert send(argv, tmp_path) == 0
    monkeypatch.delenv("SMTP_PW")
    assert send(argv, tmp_path) == 2  # the named variable is not set


def test_exit_7_mail(loops, tmp_path):
    server = smtp_server(loops, handler=RecordingHandler(refuse_senders={"me@example.org"}))
    assert send(["--server", f"127.0.0.1:{server.port}", *BASIC], tmp_path) == 7


def test_exit_8_rcpt(loops, tmp_path):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"you@example.org"}))
    assert send(["--server", f"127.0.0.1:{server.port}", *BASIC], tmp_path) == 8


def test_exit_9_data(loops, tmp_path):
    server = smtp_server(loops, handler=RecordingHandler(data_reply="554 5.6.0 Message rejected"))
    assert send(["--server", f"127.0.0.1:{server.port}", *BASIC], tmp_path) == 9


def test_exit_10_timeout(tmp_path, capsys):
    with SilentPort() as silent:
        argv = ["--server", f"127.0.0.1:{silent.port}", "--timeout", "0.4", *BASIC]
        assert send(argv, tmp_path) == 10
    assert "failed at stage timeout (during connect)" in capsys.readouterr().err


def test_console_script_runs_send(loops, tmp_path):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"you@example.org"}))
    exe = shutil.which("mailcatcher-gui", path=str(Path(sys.executable).parent))
    command = [exe] if exe else [sys.executable, "-m", "mailcatcher_gui"]
    result = subprocess.run(
        [*command, "send", "--server", f"127.0.0.1:{server.port}", *BASIC],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )
    assert result.returncode == 8, result.stderr
    assert "<** 550" in result.stdout
