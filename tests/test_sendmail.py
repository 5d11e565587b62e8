"""``mailcatcher-gui sendmail``: sendmail's options and stdin rules, delivered to a real sink.

The command runs as a real subprocess (``python -m mailcatcher_gui sendmail``)
against the real sink on port 0, as PHP or cron would run it; the store
fallback writes a real SQLite file.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from smtp_helpers import catching_server, free_port

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.sending.sendmail import (
    SendmailOptions,
    SendmailUsageError,
    parse_arguments,
    prepare,
    read_message,
)
from mailcatcher_gui.core.store.database import Store


def run_sendmail(
    args: list[str], message: bytes, home: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    environment = dict(os.environ, MAILCATCHER_GUI_HOME=str(home))
    environment.pop("MAILCATCHER_SMTP", None)
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "sendmail", *args],
        input=message,
        capture_output=True,
        env=environment,
        timeout=60,
    )


MESSAGE = (
    b"From: App <app@example.com>\n"
    b"To: Alice <alice@example.com>, bob@example.com\n"
    b"Cc: carol@example.com\n"
    b"Bcc: secret@example.com,\n"
    b"  hidden@example.com\n"
    b"Subject: Password reset\n"
    b"\n"
    b"Hello,\n"
    b"..leading dots stay\n"
    b".\n"
    b"after a lone dot\n"
)


def test_t_reads_recipients_and_removes_bcc(tmp_path: Path) -> None:
    with catching_server(tmp_path / "sink") as sink:
        done = run_sendmail(["-t", "-i", "--smtp", f"127.0.0.1:{sink.port}"], MESSAGE, tmp_path)
        assert done.returncode == 0, done.stderr
        # committed before the 250, which the process waited for: no polling
        (summary,) = sink.mailbox.list()
        stored = sink.mailbox.get_stored(summary.id)
    assert set(summary.envelope_to) == {
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "secret@example.com",
        "hidden@example.com",
    }
    assert b"Bcc:" not in stored.raw and b"hidden@example.com" not in stored.raw
    assert b"secret@example.com" not in stored.raw
    # -i: the lone dot and the dot-leading line arrive exactly as written
    assert b"\r\n..leading dots stay\r\n.\r\nafter a lone dot\r\n" in stored.raw
    # what was missing was added; what was there was kept
    assert b"\r\nDate: " in stored.raw and b"\r\nMessage-ID: <" in stored.raw
    assert stored.raw.count(b"From: ") == 1


def test_without_i_a_lone_dot_ends_the_message(tmp_path: Path) -> None:
    with catching_server(tmp_path / "sink") as sink:
        done = run_sendmail(
            ["--smtp", f"127.0.0.1:{sink.port}", "dan@example.com"], MESSAGE, tmp_path
        )
        assert done.returncode == 0, done.stderr
        (summary,) = sink.mailbox.list()
        raw = sink.mailbox.raw(summary.id)
    assert summary.envelope_to == ("dan@example.com",)  # no -t: only the argument
    assert raw.endswith(b"..leading dots stay\r\n")
    assert b"after a lone dot" not in raw
    assert b"Bcc:" not in raw  # envelope-only, with or without -t


def test_f_sets_the_envelope_sender_and_F_the_added_from(tmp_path: Path) -> None:
    body = b"Subject: cron output\n\nall good\n"
    with catching_server(tmp_path / "sink") as sink:
        done = run_sendmail(
            ["-f", "cron@host.example", "-FCron Daemon", "-oi", "-odi", "-oem", "root@example.com"],
            body,
            tmp_path,
            env={"MAILCATCHER_SMTP": f"127.0.0.1:{sink.port}"},
        )
        assert done.returncode == 0, done.stderr
        (summary,) = sink.mailbox.list()
        raw = sink.mailbox.raw(summary.id)
    assert summary.envelope_from == "cron@host.example"
    assert b"From: Cron Daemon <cron@host.example>\r\n" in raw
    assert raw.endswith(b"\r\n\r\nall good\r\n")


def test_nobody_listening_stores_the_message_instead(tmp_path: Path) -> None:
    port = free_port()
    db = tmp_path / "fallback.sqlite3"
    done = run_sendmail(
        ["-t", "--smtp", f"127.0.0.1:{port}", "--db", str(db)],
        b"To: x@example.com\nSubject: s\n\nb\n",
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert b"no catcher listening on 127.0.0.1:" in done.stderr
    assert str(db).encode() in done.stderr
    mailbox = Mailbox(Store(db))
    try:
        (summary,) = mailbox.list()
        assert summary.subject == "s"
        assert summary.envelope_to == ("x@example.com",)
    finally:
        mailbox.close()


def test_default_store_is_used_without_db(tmp_path: Path) -> None:
    port = free_port()
    done = run_sendmail(
        ["--smtp", f"127.0.0.1:{port}", "y@example.com"], b"Subject: t\n\nb\n", tmp_path
    )
    assert done.returncode == 0, done.stderr
    store_file = tmp_path / "mail.sqlite3"
    assert store_file.exists(), done.stderr
    mailbox = Mailbox(Store(store_file))
    try:
        assert [s.subject for s in mailbox.list()] == ["t"]
    finally:
        mailbox.close()


@pytest.mark.parametrize(
    ("args", "stdin", "code", "text"),
    [
        (["-bs"], b"", 64, b"-bs is not supported"),
        (["-Z"], b"", 64, b"unknown option -Z"),
        (["-f"], b"", 64, b"-f needs a value"),
        (["x@example.com"], b"", 66, b"no message on standard input"),
        ([], b"Subject: s\n\nb\n", 65, b"no recipients"),
        (["-t"], b"Subject: no recipients\n\nb\n", 65, b"no recipients"),
    ],
)
def test_usage_and_data_errors_use_sysexits(
    tmp_path: Path, args: list[str], stdin: bytes, code: int, text: bytes
) -> None:
    done = run_sendmail(["--smtp", f"127.0.0.1:{free_port()}", *args], stdin, tmp_path)
    assert done.returncode == code
    assert text in done.stderr
    assert not (tmp_path / "mail.sqlite3").exists()  # nothing stored for a refused input


def test_refused_recipient_is_unavailable(tmp_path: Path) -> None:
    # The sink's --accept-rcpt rule answers 550 to recipients that do not match.
    with catching_server(tmp_path / "sink", accept_rcpt=r"@allowed\.test$") as sink:
        done = run_sendmail(
            ["--smtp", f"127.0.0.1:{sink.port}", "a@blocked.test"], b"Subject: s\n\nb\n", tmp_path
        )
        assert sink.mailbox.count() == 0
    assert done.returncode == 69, done.stderr
    assert b"550" in done.stderr


def test_help_lists_the_options() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", "sendmail", "--help"],
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0
    for option in (b"-t", b"-f ADDR", b"-F NAME", b"--smtp", b"MAILCATCHER_SMTP"):
        assert option in done.stdout


# ---- the rules without a process ------------------------------------------


def test_parse_arguments_accepts_what_programs_pass() -> None:
    opts = parse_arguments(
        [
            "-t",
            "-i",
            "-fme@x",
            "-F",
            "Me",
            "-odi",
            "-B",
            "8BITMIME",
            "-N",
            "never",
            "a@x",
            "--",
            "-b@x",
        ]
    )
    assert opts == SendmailOptions(
        recipients=("a@x", "-b@x"),
        extract_recipients=True,
        sender="me@x",
        full_name="Me",
        ignore_dots=True,
    )
    with pytest.raises(SendmailUsageError):
        parse_arguments(["-bd"])


def test_read_message_crlf_and_dots() -> None:
    assert read_message(io.BytesIO(b"a\nb\r\n.\nc\n"), ignore_dots=False) == b"a\r\nb\r\n"
    assert read_message(io.BytesIO(b"a\nb\r\n.\nc\n"), ignore_dots=True) == b"a\r\nb\r\n.\r\nc\r\n"


def test_prepare_keeps_folded_headers_and_the_body_intact() -> None:
    raw = (
        b"Subject: one\r\n two\r\nX-Keep: 1\r\nBcc: a@x,\r\n\tb@x\r\n\r\nBcc: in the body stays\r\n"
    )
    message = prepare(raw, SendmailOptions(extract_recipients=True), user="u", hostname="h.example")
    assert message.envelope_to == ("a@x", "b@x")
    assert message.envelope_from == "u@h.example"
    assert message.data.startswith(
        b"Subject: one\r\n two\r\nX-Keep: 1\r\nFrom: u@h.example\r\nDate: "
    )
    assert message.data.endswith(b"\r\n\r\nBcc: in the body stays\r\n")


def test_prepare_body_without_headers() -> None:
    message = prepare(
        b"just text\r\n", SendmailOptions(recipients=("r@x",)), user="u", hostname="h"
    )
    head, _, body = message.data.partition(b"\r\n\r\n")
    assert body == b"just text\r\n"
    assert b"From: u@h" in head and b"Message-ID: <" in head
