"""The command line, end to end: real ``serve`` subprocesses on port 0, real
smtplib clients, a second process reading the store while ``serve`` writes it,
and every ``messages`` subcommand on real SQLite files.

Slow-ish paths (process start-up) run as subprocesses where the process
boundary is the point (signals, exit codes, stdout framing, concurrent
readers); the rest call ``main([...])`` in-process.
"""

from __future__ import annotations

import json
import mailbox as pymailbox
import os
import queue
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import sys
import threading
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailcatcher_gui.cli import main
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.store.database import Store

REPO = Path(__file__).resolve().parent.parent
LIST_KEYS = {
    "id",
    "received_at",
    "envelope_from",
    "envelope_to",
    "from",
    "to",
    "cc",
    "subject",
    "message_id",
    "size",
    "has_html",
    "has_text",
    "attachments",
    "read",
    "tags",
}
SHOW_KEYS = LIST_KEYS | {
    "headers",
    "text",
    "html",
    "attachments",
    "parts",
    "defects",
    "peer",
    "helo",
    "tls",
    "auth_user",
    "transcript",
}
HOSTILE_ATTACHMENT_NAMES = ["../../.bashrc", "..\\..\\evil.bat", "CON"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------


def cli_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MAILCATCHER_GUI_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONWARNINGS", None)
    return env


def run_cli(home: Path, *args: str, cwd: Path | None = None, stdin: bytes | None = None):
    """``python -m mailcatcher_gui ARGS`` as a real process; stdout/stderr as bytes."""
    return subprocess.run(
        [sys.executable, "-m", "mailcatcher_gui", *args],
        env=cli_env(home),
        cwd=cwd or home,
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


class ServeProcess:
    """``mailcatcher-gui serve`` in a subprocess; stdout lines arrive on a queue."""

    def __init__(self, home: Path, *args: str) -> None:
        # The HTTP API's fixed default port would clash between parallel tests;
        # these tests read the SMTP lines only.
        if "--http" not in args:
            args = (*args, "--http", "none")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailcatcher_gui", "serve", *args],
            env=cli_env(home),
            cwd=home,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.stderr_chunks: list[bytes] = []
        self._threads = [
            threading.Thread(target=self._pump_stdout, daemon=True),
            threading.Thread(target=self._pump_stderr, daemon=True),
        ]
        for t in self._threads:
            t.start()

    def _pump_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            self.lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.lines.put(None)

    def _pump_stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.stderr_chunks.append(raw)

    def next_line(self, timeout: float = 30) -> str:
        try:
            line = self.lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no output from serve; stderr: {self.stderr!r}") from None
        if line is None:
            self.proc.wait(timeout=10)
            raise AssertionError(f"serve exited ({self.proc.returncode}): {self.stderr!r}")
        return line

    def listeners(self, count: int = 1) -> dict[str, int]:
        found: dict[str, int] = {}
        for _ in range(count):
            line = self.next_line()
            m = re.fullmatch(r"(SMTPS?) listening on 127\.0\.0\.1:(\d+)", line)
            assert m, line
            found[m.group(1)] = int(m.group(2))
        return found

    @property
    def stderr(self) -> str:
        return b"".join(self.stderr_chunks).decode("utf-8", "replace")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=30)
        for t in self._threads:
            t.join(timeout=10)
        self.proc.stdout.close()  # type: ignore[union-attr]
        self.proc.stderr.close()  # type: ignore[union-attr]
        return rc

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.stop()


@pytest.fixture
def home(tmp_path) -> Path:
    h = tmp_path / "home"
    h.mkdir(exist_ok=True)
    return h


@pytest.fixture(autouse=True)
def _isolated_home(home, monkeypatch) -> None:
    """In-process ``main()`` calls must never touch the user's real data folder."""
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(home))


@pytest.fixture
def serve(home):
    started: list[ServeProcess] = []

    def start(*args: str) -> ServeProcess:
        sp = ServeProcess(home, *args)
        started.append(sp)
        return sp

    yield start
    for sp in started:
        sp.kill()


def rich_message(subject: str = "Hello CLI") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Alice Example <alice@example.com>"
    msg["To"] = "Bob <bob@example.com>, carol@example.com"
    msg["Cc"] = "dave@example.com"
    msg["Subject"] = subject
    msg["Message-ID"] = "<cli-test-1@example.com>"
    msg.set_content("Plain body line.\nÜnïcödé too.\n")
    msg.add_alternative("<p>HTML <b>body</b></p>", subtype="html")
    for i, name in enumerate(HOSTILE_ATTACHMENT_NAMES):
        msg.add_attachment(
            f"payload {i}\n".encode(), maintype="application", subtype="octet-stream", filename=name
        )
    return msg


def send(port: int, raw: bytes, sender="alice@example.com", rcpts=("bob@example.com",)) -> int:
    """Deliver one message; returns the id from the ``250 ... queued as <id>`` reply."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("cli-test.example")
        client.mail(sender)
        for r in rcpts:
            code, _ = client.rcpt(r)
            assert code == 250
        code, reply = client.data(raw)
        assert code == 250, reply
    m = re.search(rb"queued as (\d+)", reply)
    assert m, reply
    return int(m.group(1))


def capture(raw: bytes, sender: str = "s@example.com", to=("r@example.com",)) -> Capture:
    return Capture(
        raw=raw,
        envelope_from=sender,
        envelope_to=tuple(to),
        received_at=datetime.now(UTC),
        peer="127.0.0.1:1234",
        helo="test",
        transcript=("S: 220 hi", "C: EHLO test"),
    )


@pytest.fixture
def db(tmp_path) -> tuple[Path, dict[str, int]]:
    """A store file with a rich message, an HTML-only one and an 8-bit one."""
    path = tmp_path / "cli.sqlite3"
    mb = Mailbox(Store(path))
    try:
        ids = {
            "rich": mb.accept_sync(capture(rich_message().as_bytes(policy=policy.SMTP))),
            "html": mb.accept_sync(
                capture(
                    b"From: h@example.com\r\nSubject: html only\r\nContent-Type: text/html\r\n"
                    b"\r\n<h1>Hi</h1>\r\n"
                )
            ),
            "bytes": mb.accept_sync(
                capture(b"Subject: bytes \xff\r\nX-Null: a\x00b\r\n\r\nbody \xfe\r\n.dot\r\n")
            ),
        }
    finally:
        mb.close()
    return path, ids


def no_traceback(text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    assert "Traceback" not in text, text


# ---------------------------------------------------------------------------
# serve, end to end
# ---------------------------------------------------------------------------


def test_serve_capture_and_read_from_a_second_process(home, serve):
    sp = serve("--smtp", "127.0.0.1:0", "-v")
    port = sp.listeners()["SMTP"]
    raw = rich_message().as_bytes(policy=policy.SMTP)
    first = send(port, raw, rcpts=("bob@example.com", "carol@example.com"))
    second = send(port, b"Subject: second\r\n\r\nhello\r\n", sender="x@example.org")
    assert second > first
    # -v: one line per captured message, in order.
    line1, line2 = sp.next_line(), sp.next_line()
    assert line1.startswith(f"#{first} from <alice@example.com> to bob@example.com")
    assert '"Hello CLI"' in line1 and f"size {len(raw)}" in line1
    assert line2.startswith(f"#{second} from <x@example.org>")

    # A second process reads the same store while serve is running.
    listed = run_cli(home, "messages", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [second, first]
    for r in rows:
        assert set(r) == LIST_KEYS
    row = rows[1]
    assert row["envelope_from"] == "alice@example.com"
    assert row["envelope_to"] == ["bob@example.com", "carol@example.com"]
    assert row["subject"] == "Hello CLI"
    assert row["to"] and row["cc"] and row["from"].endswith("<alice@example.com>")
    assert row["has_html"] and row["has_text"] and row["attachments"] == 3
    assert row["size"] == len(raw) and row["read"] is False
    assert row["received_at"].endswith("Z")
    assert datetime.fromisoformat(row["received_at"].replace("Z", "+00:00")).tzinfo

    shown = run_cli(home, "messages", "show", str(first), "--json")
    assert shown.returncode == 0, shown.stderr
    data = json.loads(shown.stdout)
    assert set(data) >= SHOW_KEYS
    assert data["peer"].startswith("127.0.0.1:") and data["helo"] == "cli-test.example"
    assert any(line.upper().startswith("C: EHLO") for line in data["transcript"])
    assert [a["filename"] for a in data["attachments"]] == HOSTILE_ATTACHMENT_NAMES
    assert "Plain body line." in data["text"] and "<b>body</b>" in data["html"]
    assert ["Subject", "Hello CLI"] in data["headers"]

    raw_out = run_cli(home, "messages", "show", str(first), "--raw")
    assert raw_out.stdout == raw  # exact: raw ends with CRLF, so smtplib appends nothing

    rc = sp.stop(signal.SIGTERM)
    assert rc == 0, sp.stderr
    no_traceback(sp.stderr)
    # Closing finished the writes: the store is intact and complete.
    with Store(home / "mail.sqlite3") as store:
        assert store.count() == 2
        assert store.get_raw(first) == raw


def test_sigint_stops_cleanly_and_keeps_mail(home, serve, tmp_path):
    db_file = tmp_path / "explicit.sqlite3"
    sp = serve("--smtp", "127.0.0.1:0", "--db", str(db_file))
    port = sp.listeners()["SMTP"]
    mid = send(port, b"Subject: before sigint\r\n\r\nx\r\n")
    idle = smtplib.SMTP("127.0.0.1", port, timeout=30)  # an open, idle session must not block
    try:
        idle.ehlo("idle.example")
        assert sp.stop(signal.SIGINT) == 0
    finally:
        idle.close()
    no_traceback(sp.stderr)
    assert not (home / "mail.sqlite3").exists()  # --db wins over the default
    with Store(db_file) as store:
        assert store.get_summary(mid).subject == "before sigint"


def test_serve_smtps_and_starttls_use_the_generated_certificate(home, serve):
    sp = serve("--smtp", "127.0.0.1:0", "--smtps", "127.0.0.1:0", "--auth", "any")
    ports = sp.listeners(2)
    assert set(ports) == {"SMTP", "SMTPS"}
    assert list((home / "certs").iterdir())  # the cert lives under MAILCATCHER_GUI_HOME
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP_SSL("127.0.0.1", ports["SMTPS"], context=ctx, timeout=30) as c:
        c.login("dev", "secret")
        c.sendmail("a@example.com", ["b@example.com"], b"Subject: over smtps\r\n\r\nx\r\n")
    with smtplib.SMTP("127.0.0.1", ports["SMTP"], timeout=30) as c:
        c.starttls(context=ctx)
        c.sendmail("a@example.com", ["b@example.com"], b"Subject: over starttls\r\n\r\nx\r\n")
    assert sp.stop() == 0
    rows = json.loads(run_cli(home, "messages", "list", "--json").stdout)
    by_subject = {r["subject"]: r["id"] for r in rows}
    smtps = json.loads(
        run_cli(home, "messages", "show", str(by_subject["over smtps"]), "--json").stdout
    )
    assert smtps["tls"]["implicit"] is True and smtps["tls"]["version"].startswith("TLS")
    assert smtps["auth_user"] == "dev"
    starttls = json.loads(
        run_cli(home, "messages", "show", str(by_subject["over starttls"]), "--json").stdout
    )
    assert starttls["tls"]["implicit"] is False


@pytest.mark.parametrize("flag", ["--smtp", "--smtps"])
def test_busy_port_is_one_clear_line_and_exit_2(home, flag):
    blocker = socket.socket()
    try:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        busy = blocker.getsockname()[1]
        args = ["serve", "--smtp", f"127.0.0.1:{busy}"]
        if flag == "--smtps":
            args = ["serve", "--smtp", "127.0.0.1:0", "--smtps", f"127.0.0.1:{busy}"]
        result = run_cli(home, *args)
    finally:
        blocker.close()
    assert result.returncode == 2
    err = result.stderr.decode()
    no_traceback(err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert str(busy) in lines[0] and flag in lines[0] and "in use" in lines[0]
    assert b"listening" not in result.stdout


def test_bad_option_values_exit_2_without_traceback(home, capsys):
    for args in (
        ["serve", "--smtp", "nonsense"],
        ["serve", "--smtp", "127.0.0.1:99999"],
        ["serve", "--auth", "user-without-password"],
        ["serve", "--accept-rcpt", "("],
        ["serve", "--max-messages", "-1"],
        ["serve", "--tls-key", "k.pem"],
        ["gui", "--smtps", "[::1"],
    ):
        assert main(args) == 2, args
        err = capsys.readouterr().err
        no_traceback(err)
        assert "error:" in err, args
    assert not (home / "mail.sqlite3").exists()  # nothing was started or created


def test_serve_accept_rcpt_and_max_messages(home, serve):
    sp = serve("--smtp", "127.0.0.1:0", "--accept-rcpt", r"@allowed\.test$", "--max-messages", "2")
    port = sp.listeners()["SMTP"]
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as c:
        c.ehlo()
        c.mail("a@example.com")
        code, _ = c.rcpt("x@denied.test")
        assert code == 550
    ids = [
        send(port, f"Subject: {i}\r\n\r\nx\r\n".encode(), rcpts=("r@allowed.test",))
        for i in range(3)
    ]
    assert sp.stop() == 0
    rows = json.loads(run_cli(home, "messages", "list", "--json").stdout)
    assert [r["id"] for r in rows] == ids[:0:-1]  # the oldest was pruned


# ---------------------------------------------------------------------------
# messages ... (in-process)
# ---------------------------------------------------------------------------


def test_list_json_and_table(db, capsys):
    path, ids = db
    assert main(["messages", "list", "--json", "--db", str(path)]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == [ids["bytes"], ids["html"], ids["rich"]]
    assert all(set(r) == LIST_KEYS for r in rows)
    assert main(["messages", "list", "--db", str(path), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "bytes" in out and "Hello CLI" not in out and "1 of 3 shown" in out
    assert main(["messages", "list", "--db", str(path), "--search", "subject:hello"]) == 0
    out = capsys.readouterr().out
    assert "Hello CLI" in out and "html only" not in out


def test_show_every_mode(db, capsysbinary):
    def out() -> str:
        return capsysbinary.readouterr().out.decode("utf-8")

    path, ids = db
    d = ["--db", str(path)]
    rich = str(ids["rich"])
    assert main(["messages", "show", rich, *d]) == 0
    text = out()
    assert "Subject:   " in text and "Hello CLI" in text and "Plain body line." in text
    assert "[0] ../../.bashrc" in text  # shown as sent; only saving sanitises
    assert main(["messages", "show", rich, "--text", *d]) == 0
    assert out().startswith("Plain body line.\nÜnïcödé too.")
    assert main(["messages", "show", rich, "--html", *d]) == 0
    assert "<p>HTML <b>body</b></p>" in out()
    assert main(["messages", "show", rich, "--headers", *d]) == 0
    assert "Subject: Hello CLI" in out().splitlines()
    assert main(["messages", "show", rich, "--json", *d]) == 0
    data = json.loads(out())
    assert set(data) >= SHOW_KEYS
    assert [a["index"] for a in data["attachments"]] == [0, 1, 2]
    assert all(len(a["sha256"]) == 64 for a in data["attachments"])
    assert data["parts"][0]["content_type"].startswith("multipart/")
    assert data["transcript"] == ["S: 220 hi", "C: EHLO test"]
    assert data["tls"] is None and data["auth_user"] is None

    capsysbinary.readouterr()
    assert main(["messages", "show", str(ids["bytes"]), "--raw", *d]) == 0
    assert capsysbinary.readouterr().out == (
        b"Subject: bytes \xff\r\nX-Null: a\x00b\r\n\r\nbody \xfe\r\n.dot\r\n"
    )
    # 8-bit junk still gives valid UTF-8 JSON.
    assert main(["messages", "show", str(ids["bytes"]), "--json", *d]) == 0
    json.loads(capsysbinary.readouterr().out.decode("utf-8"))

    # An HTML-only message: --text is a clear error, --html works.
    assert main(["messages", "show", str(ids["html"]), "--text", *d]) == 1
    err = capsysbinary.readouterr().err.decode()
    assert "has no text part" in err and err.count("\n") == 1
    assert main(["messages", "show", str(ids["html"]), *d]) == 0
    assert b"HTML only" in capsysbinary.readouterr().out


def test_show_does_not_mark_read_but_read_does(db, capsys):
    path, ids = db
    d = ["--db", str(path)]
    main(["messages", "show", str(ids["rich"]), "--json", *d])
    capsys.readouterr()
    with Store(path) as store:
        assert store.get_summary(ids["rich"]).read is False
    assert main(["messages", "read", str(ids["rich"]), *d]) == 0
    with Store(path) as store:
        assert store.get_summary(ids["rich"]).read is True
        assert store.unread_count() == 2
    assert main(["messages", "unread", str(ids["rich"]), *d]) == 0
    with Store(path) as store:
        assert store.get_summary(ids["rich"]).read is False
    assert main(["messages", "read", "999", *d]) == 1
    assert "no message with id 999" in capsys.readouterr().err


def test_attachment_saving_is_sanitised_and_never_overwrites(db, tmp_path, monkeypatch, capsys):
    path, ids = db
    d = ["--db", str(path)]
    rich = str(ids["rich"])
    out_dir = tmp_path / "downloads"
    out_dir.mkdir()
    monkeypatch.chdir(out_dir)
    saved = []
    for index in ("0", "0", "1", "2"):
        assert main(["messages", "attachment", rich, index, *d]) == 0
        saved.append(Path(capsys.readouterr().out.strip()))
    assert [p.name for p in saved] == ["bashrc", "bashrc (1)", "evil.bat", "_CON"]
    for p in saved:
        assert p.resolve().parent == out_dir.resolve()
    assert saved[0].read_bytes() == b"payload 0\n" and saved[2].read_bytes() == b"payload 1\n"
    assert not (tmp_path / ".bashrc").exists()

    target = tmp_path / "explicit.bin"
    target.write_bytes(b"keep me")
    assert main(["messages", "attachment", rich, "1", "-o", str(target), *d]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_bytes() == b"keep me"
    assert main(["messages", "attachment", rich, "1", "-o", str(target), "--force", *d]) == 0
    assert target.read_bytes() == b"payload 1\n"
    capsys.readouterr()

    other = tmp_path / "other"
    other.mkdir()
    assert main(["messages", "attachment", rich, "0", "-o", str(other), *d]) == 0
    assert Path(capsys.readouterr().out.strip()) == other / "bashrc"

    assert main(["messages", "attachment", rich, "7", *d]) == 1
    assert "has no attachment 7 (it has 3" in capsys.readouterr().err


def test_attachment_output_with_trailing_slash_is_a_folder_created_if_missing(db, tmp_path, capsys):
    """``-o DIR/`` used to write a *file* named DIR when DIR did not exist."""
    path, ids = db
    d = ["--db", str(path)]
    rich = str(ids["rich"])
    folder = tmp_path / "new" / "nested"
    assert main(["messages", "attachment", rich, "1", "-o", f"{folder}/", *d]) == 0
    saved = Path(capsys.readouterr().out.strip())
    assert folder.is_dir() and saved == folder / "evil.bat"
    assert saved.read_bytes() == b"payload 1\n"
    # Again into the now existing folder: a new name, nothing replaced.
    assert main(["messages", "attachment", rich, "1", "-o", f"{folder}/", *d]) == 0
    assert Path(capsys.readouterr().out.strip()) == folder / "evil (1).bat"
    # Without the slash a missing name is still a file (the positive control).
    plain = tmp_path / "plain-name"
    assert main(["messages", "attachment", rich, "1", "-o", str(plain), *d]) == 0
    assert plain.is_file() and plain.read_bytes() == b"payload 1\n"
    capsys.readouterr()
    # A slash after an existing *file* is an error, not a write into it.
    assert main(["messages", "attachment", rich, "1", "-o", f"{plain}/", *d]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_attachment_to_stdout(db, capsysbinary):
    path, ids = db
    assert (
        main(["messages", "attachment", str(ids["rich"]), "2", "-o", "-", "--db", str(path)]) == 0
    )
    assert capsysbinary.readouterr().out == b"payload 2\n"


def test_delete_and_clear(db, capsys):
    path, ids = db
    d = ["--db", str(path)]
    assert main(["messages", "delete", str(ids["html"]), *d]) == 0
    assert "deleted 1 message(s)" in capsys.readouterr().out
    assert main(["messages", "delete", str(ids["html"]), str(ids["bytes"]), *d]) == 1
    captured = capsys.readouterr()
    assert "deleted 1 message(s)" in captured.out
    assert captured.err.strip() == f"mailcatcher-gui: error: no message with id {ids['html']}"
    with Store(path) as store:
        assert store.ids() == [ids["rich"]]
    assert main(["messages", "clear", *d]) == 0
    assert "deleted 1 message(s)" in capsys.readouterr().out
    with Store(path) as store:
        assert store.count() == 0


def test_user_errors_are_one_line_without_traceback(db, tmp_path, capsys):
    path, _ = db
    d = ["--db", str(path)]
    cases = [
        (["messages", "show", "999", *d], 1, "no message with id 999"),
        (["messages", "attachment", "999", "0", *d], 1, "no message with id 999"),
        (["messages", "list", "--search", "has:nonsense", *d], 1, "bad search query"),
        (["messages", "list", "--search", '"open', *d], 1, "bad search query"),
        (
            ["messages", "export", "--search", "is:maybe", "--dir", str(tmp_path / "x"), *d],
            1,
            "bad search query",
        ),
        (["messages", "import", str(tmp_path / "missing.eml"), *d], 1, "missing.eml"),
        (["messages", "show", "abc", *d], 2, "not a message id"),
        (["messages", "list", "--db", str(tmp_path)], 1, "is a directory"),
        (["missing-file.eml"], 1, "cannot open missing-file.eml"),
        (["gui", "--smtp", "bad"], 2, "invalid address"),
        (["messages"], 2, "required"),
    ]
    for argv, code, fragment in cases:
        assert main(argv) == code, argv
        err = capsys.readouterr().err
        assert fragment in err, (argv, err)
        no_traceback(err)


def test_unknown_id_via_subprocess(home):
    result = run_cli(home, "messages", "show", "4242")
    assert result.returncode == 1
    assert result.stderr.decode() == "mailcatcher-gui: error: no message with id 4242\n"
    assert result.stdout == b""
    bad = run_cli(home, "messages", "list", "--search", "before:2024-13-45")
    assert bad.returncode == 1 and bad.stderr.startswith(
        b"mailcatcher-gui: error: bad search query"
    )
    no_traceback(bad.stderr)


def test_help_and_version(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "serve" in out and "messages" in out
    assert main(["serve", "--help"]) == 0
    out = capsys.readouterr().out
    assert "10000" in out and "--max-messages" in out and "0 = unlimited" in out
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.startswith("mailcatcher-gui ")


# ---------------------------------------------------------------------------
# import / export round trips
# ---------------------------------------------------------------------------

SAMPLES = [
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: crlf one\r\n\r\nbody\r\n",
    b"From: c@example.com\nTo: d@example.com\nSubject: bare lf\n\nFrom the body\n>From quoted\n",
    b"Return-Path: <bounce@example.com>\nFrom: e@example.com\nSubject: 8bit \xe9\n\n\xff\x00\n",
    b"Subject: ../../etc/passwd\n\nhostile subject\n",
]


def _raws(path: Path) -> list[bytes]:
    with Store(path) as store:
        return [store.get_raw(i) for i in reversed(store.ids())]


def test_import_eml_files_and_export_dir_round_trip(tmp_path, capsys):
    src = tmp_path / "src"
    src.mkdir()
    for i, raw in enumerate(SAMPLES):
        (src / f"{i}.eml").write_bytes(raw)
    db1 = tmp_path / "one.sqlite3"
    assert main(["messages", "import", str(src), "--db", str(db1)]) == 0
    assert "imported 4 message(s) (directory)" in capsys.readouterr().out
    assert _raws(db1) == SAMPLES
    with Store(db1) as store:
        s = store.get_summary(store.ids()[-3])
        assert s.envelope_from == "bounce@example.com"
        first = store.get(store.ids()[-1])
        assert first.source == "import"
        assert first.summary.envelope_to == ("b@example.com",)

    out = tmp_path / "exported"
    assert main(["messages", "export", "--dir", str(out), "--db", str(db1)]) == 0
    assert "exported 4 message(s)" in capsys.readouterr().out
    files = sorted(out.iterdir())
    names = [f.name for f in files]
    assert names[0] == "0001-crlf-one.eml" and names[3] == "0004-etc-passwd.eml"
    assert all(f.resolve().parent == out.resolve() for f in files)
    assert [f.read_bytes() for f in files] == SAMPLES
    # Exporting again never overwrites: new names instead.
    assert main(["messages", "export", "--dir", str(out), "--db", str(db1)]) == 0
    assert len(list(out.iterdir())) == 8 and (out / "0001-crlf-one (1).eml").exists()
    capsys.readouterr()

    db2 = tmp_path / "two.sqlite3"
    single = [str(f) for f in files]
    assert main(["messages", "import", *single, "--db", str(db2), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["imported"] == 4 and len(report["ids"]) == 4 and report["failed"] == 0
    assert _raws(db2) == SAMPLES


def test_export_and_import_mbox_round_trip(tmp_path, capsys):
    db1 = tmp_path / "one.sqlite3"
    mb = Mailbox(Store(db1))
    try:
        mb.accept_many_sync(
            [capture(raw, sender=f"s{i}@example.com") for i, raw in enumerate(SAMPLES)]
        )
    finally:
        mb.close()
    mbox = tmp_path / "all.mbox"
    assert main(["messages", "export", "--mbox", str(mbox), "--db", str(db1)]) == 0
    capsys.readouterr()
    data = mbox.read_bytes()
    assert data.startswith(b"From s0@example.com ")
    assert b"\n>From the body\n>>From quoted\n" in data  # mboxrd escaping
    # Python's mbox reader sees the same four messages.
    box = pymailbox.mbox(mbox, create=False)
    try:
        assert len(box) == 4
    finally:
        box.close()
    # Refuses to overwrite; --append adds.
    assert main(["messages", "export", "--mbox", str(mbox), "--db", str(db1)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert mbox.read_bytes() == data

    db2 = tmp_path / "two.sqlite3"
    assert main(["messages", "import", str(mbox), "--db", str(db2)]) == 0
    assert "imported 4 message(s) (mbox)" in capsys.readouterr().out
    assert _raws(db2) == SAMPLES
    with Store(db2) as store:
        assert [store.get_summary(i).envelope_from for i in reversed(store.ids())] == [
            f"s{i}@example.com" for i in range(4)
        ]


def test_mbox_export_to_stdout_via_subprocess(tmp_path, home):
    db1 = tmp_path / "one.sqlite3"
    mb = Mailbox(Store(db1))
    try:
        mb.accept_many_sync([capture(raw) for raw in SAMPLES])
    finally:
        mb.close()
    result = run_cli(home, "messages", "export", "--mbox", "-", "--db", str(db1))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(b"From s@example.com ") == 4
    # ... and `import -` reads it back from stdin.
    db2 = tmp_path / "two.sqlite3"
    back = run_cli(home, "messages", "import", "-", "--db", str(db2), stdin=result.stdout)
    assert back.returncode == 0, back.stderr
    assert _raws(db2) == SAMPLES


def test_maildir_import_and_export_round_trip(tmp_path, capsys):
    root = tmp_path / "Maildir"
    box = pymailbox.Maildir(root, create=True)
    try:
        for raw in SAMPLES:
            box.add(raw)
    finally:
        box.close()
    db1 = tmp_path / "one.sqlite3"
    assert main(["messages", "import", str(root), "--db", str(db1)]) == 0
    assert "imported 4 message(s) (maildir)" in capsys.readouterr().out
    assert sorted(_raws(db1)) == sorted(SAMPLES)

    out = tmp_path / "Exported"
    assert main(["messages", "export", "--maildir", str(out), "--db", str(db1)]) == 0
    capsys.readouterr()
    assert sorted(p.read_bytes() for p in (out / "new").iterdir()) == sorted(SAMPLES)
    db2 = tmp_path / "two.sqlite3"
    assert main(["messages", "import", str(out), "--db", str(db2)]) == 0
    assert sorted(_raws(db2)) == sorted(SAMPLES)


def test_export_search_selects_messages(tmp_path, capsys):
    db1 = tmp_path / "one.sqlite3"
    mb = Mailbox(Store(db1))
    try:
        mb.accept_many_sync([capture(raw) for raw in SAMPLES])
    finally:
        mb.close()
    out = tmp_path / "some"
    assert (
        main(
            ["messages", "export", "--search", "subject:crlf", "--dir", str(out), "--db", str(db1)]
        )
        == 0
    )
    assert [p.read_bytes() for p in out.iterdir()] == [SAMPLES[0]]


def test_export_dir_sanitises_hostile_subjects_via_subprocess(tmp_path, home):
    db1 = tmp_path / "one.sqlite3"
    mb = Mailbox(Store(db1))
    hostile = [
        b"Subject: ../../../../tmp/owned\n\nx\n",
        b"Subject: =?utf-8?b?Li4vLi4vLmJhc2hyYw==?=\n\ny\n",  # "../../.bashrc" encoded
        b"Subject: CON\n\nz\n",
        b"Subject: \x1b[31mred\x07\n\nw\n",
    ]
    try:
        ids = mb.accept_many_sync([capture(raw) for raw in hostile])
    finally:
        mb.close()
    out = tmp_path / "out"
    result = run_cli(home, "messages", "export", "--dir", str(out), "--db", str(db1))
    assert result.returncode == 0, result.stderr
    files = sorted(out.iterdir())
    assert len(files) == 4
    for f in files:
        assert f.resolve().parent == out.resolve()
        assert re.fullmatch(r"\d{4}(-[\w-]+)?\.eml", f.name), f.name
    assert files[0].name == f"{ids[0]:04d}-tmp-owned.eml"
    assert sorted(f.read_bytes() for f in files) == sorted(hostile)
    assert not (tmp_path / "tmp").exists()


def test_import_reports_bad_paths_but_imports_the_rest(tmp_path, capsys):
    good = tmp_path / "good.eml"
    good.write_bytes(SAMPLES[0])
    empty = tmp_path / "empty.eml"
    empty.write_bytes(b"")
    db1 = tmp_path / "one.sqlite3"
    rc = main(
        ["messages", "import", str(tmp_path / "nope.mbox"), str(good), str(empty), "--db", str(db1)]
    )
    assert rc == 1
    captured = capsys.readouterr()
    assert "nope.mbox" in captured.err and captured.err.count("\n") == 1
    assert "imported 1 message(s) (eml)" in captured.out
    assert "1 empty skipped" in captured.out
    assert _raws(db1) == [SAMPLES[0]]


def test_corpus_import_and_mbox_round_trip(corpus, corpus_dir, tmp_path, capsys):
    """The whole corpus folder in, byte for byte; out as one mbox and back in."""
    root = corpus_dir
    db1 = tmp_path / "one.sqlite3"
    assert main(["messages", "import", str(root), "--db", str(db1), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["imported"] == len(corpus) == 397 and report["failed"] == 0
    by_path = sorted(corpus)  # the directory import goes in path order
    with Store(db1) as store:
        ids = report["ids"]
        for path, message_id in zip(by_path, ids, strict=True):
            assert store.get_raw(message_id) == path.read_bytes(), path

    mbox = tmp_path / "corpus.mbox"
    assert main(["messages", "export", "--mbox", str(mbox), "--db", str(db1)]) == 0
    assert "exported 397 message(s)" in capsys.readouterr().out
    db2 = tmp_path / "two.sqlite3"
    assert main(["messages", "import", str(mbox), "--db", str(db2)]) == 0
    assert "imported 397 message(s) (mbox)" in capsys.readouterr().out
    exact = 0
    for original, back in zip(_raws(db1), _raws(db2), strict=True):
        if original.endswith(b"\n"):
            assert back == original
            exact += 1
        else:  # mbox cannot represent a missing final newline
            assert back in (original + b"\n", original + b"\r\n")
    assert exact == sum(1 for p in corpus if p.read_bytes().endswith(b"\n"))
