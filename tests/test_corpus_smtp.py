"""All 397 corpus messages through a real ``serve`` over SMTP, then every
``messages show`` mode on each stored message.

What "no loss" means here (the corpus README leaves the choice to us):
the bytes of each file are sent exactly as they are, with smtplib's
``SMTP.data(bytes)``, which (a) dot-stuffs every line that starts with "."
(it treats a bare LF as a line end too), (b) does not touch bare LF, lone CR,
NUL or 8-bit bytes, and (c) appends CRLF when the data does not already end
with CRLF, because the end-of-data marker is "CRLF . CRLF" and RFC 5321 makes
that first CRLF the end of the last line. So the only change the SMTP layer
itself must make is (c), and the message stored must be::

    expected = raw if raw.endswith(b"\\r\\n") else raw + b"\\r\\n"

Anything else (un-stuffing that does not match the client's stuffing, a line
the sink refuses, a rewritten byte) is loss, and the test names the files.
"""

from __future__ import annotations

import json
import re
import signal
import smtplib
import subprocess
from pathlib import Path

import pytest
from serve_process import start_serve

from mailcatcher_gui.cli import SHOW_MODES, CliError, main, show_message
from mailcatcher_gui.core.store.database import Store

pytestmark = pytest.mark.slow


def expected_stored(raw: bytes) -> bytes:
    return raw if raw.endswith(b"\r\n") else raw + b"\r\n"


def _start_serve(home: Path, log: Path) -> tuple[subprocess.Popen, int]:
    return start_serve(home, log, "--max-messages", "0", "--max-size", "0")


def _send_all(port: int, files: list[Path]) -> tuple[dict[Path, int], dict[Path, str]]:
    ids: dict[Path, int] = {}
    refused: dict[Path, str] = {}
    client: smtplib.SMTP | None = None
    try:
        for path in files:
            if client is None:
                client = smtplib.SMTP("127.0.0.1", port, timeout=60)
                client.ehlo("corpus.test")
            client.mail("corpus@example.test")
            client.rcpt("sink@example.test")
            code, reply = client.data(path.read_bytes())
            if code == 250:
                ids[path] = int(re.search(rb"queued as (\d+)", reply).group(1))
            else:
                refused[path] = f"{code} {reply.decode(errors='replace')}"
                client.rset()
    finally:
        if client is not None:
            client.quit()
    return ids, refused


def test_corpus_over_smtp_then_every_show_mode(corpus, corpus_dir, tmp_path, capsysbinary):
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "serve.log"
    proc, port = _start_serve(home, log)
    try:
        ids, refused = _send_all(port, corpus)
    finally:
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=60)
        proc.communicate(timeout=30)
    err = log.read_bytes()
    assert rc == 0 and b"Traceback" not in err, err

    db = home / "mail.sqlite3"
    identical: list[Path] = []
    changed: dict[Path, str] = {}
    with Store(db) as store:
        assert store.count() == len(ids)
        for path, message_id in ids.items():
            stored = store.get_raw(message_id)
            want = expected_stored(path.read_bytes())
            if stored == want:
                identical.append(path)
            else:
                changed[path] = f"{len(stored)} bytes stored, {len(want)} expected"

    # Every `messages show` mode on every stored message: through the same
    # function `main` uses (store opened once, so 397 x 6 renders stay fast),
    # and through `main([...])` itself for every 10th message.
    parse_ok = with_defects = no_text = no_html = 0
    with Store(db) as store:
        for n, (path, message_id) in enumerate(ids.items()):
            want = expected_stored(path.read_bytes())
            for mode in SHOW_MODES:
                try:
                    show_message(store, message_id, mode)
                except CliError as exc:
                    out = capsysbinary.readouterr()
                    if mode == "text" and "has no text part" in str(exc):
                        no_text += 1
                    elif mode == "html" and "has no HTML part" in str(exc):
                        no_html += 1
                    else:
                        raise
                    continue
                out = capsysbinary.readouterr()
                if mode == "raw":
                    assert out.out == want or path in changed
                elif mode == "json":
                    data = json.loads(out.out.decode("utf-8"))
                    assert data["id"] == message_id
                    assert data["size"] == len(want) or path in changed
                    with_defects += bool(data["defects"])
                else:
                    out.out.decode("utf-8")  # whatever the message, the terminal gets UTF-8 text
                if n % 10 == 0:
                    flag = [] if mode == "summary" else [f"--{mode}"]
                    rc = main(["messages", "show", str(message_id), *flag, "--db", str(db)])
                    again = capsysbinary.readouterr()
                    assert rc == 0 and again.out == out.out and again.err == b"", (path, mode)
            parse_ok += 1

    report = (
        f"\ncorpus over SMTP: {len(corpus)} files, {len(ids)} accepted, "
        f"{len(refused)} refused, {len(identical)} stored identical, "
        f"{len(changed)} changed, {parse_ok} parsed and shown in all modes, "
        f"{with_defects} with parser defects, {no_text} without text, {no_html} without HTML"
    )
    print(report)
    problems = [f"refused {p.relative_to(corpus_dir)}: {why}" for p, why in refused.items()]
    problems += [f"changed {p.relative_to(corpus_dir)}: {why}" for p, why in changed.items()]
    assert not problems, report + "\n" + "\n".join(problems)
    assert parse_ok == len(corpus)
