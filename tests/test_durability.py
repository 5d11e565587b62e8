"""A ``250 queued as <id>`` is a promise: the message is on disk.

``serve`` runs in a real subprocess; several client threads deliver mail over
their own connections (some reuse one connection, some reconnect per
message, some send large messages so commits are in flight) and the process
is SIGKILLed in the middle of the burst: no shutdown code runs. Reopening the
store must find every acknowledged message with the exact bytes sent,
nothing truncated or foreign, and SQLite's integrity check must pass. Then a
fresh ``serve`` must start on the same file and keep numbering after it.
"""

from __future__ import annotations

import contextlib
import random
import re
import signal
import smtplib
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

from serve_process import start_serve

from mailcatcher_gui.core.store.database import Store

THREADS = 8
KILL_AFTER_ACKS = 150


def _start_serve(home: Path, log: Path) -> tuple[subprocess.Popen, int]:
    return start_serve(home, log, "--max-messages", "0")


def _message(worker: int, seq: int, rng: random.Random) -> bytes:
    size = rng.choice([200, 2_000, 20_000, 300_000]) if worker % 3 == 0 else 300
    filler = rng.randbytes(size).hex().encode()
    body = b"\r\n".join(filler[i : i + 76] for i in range(0, len(filler), 76))
    return (
        (
            f"From: worker{worker}@example.com\r\nTo: sink@example.com\r\n"
            f"Subject: durability {worker}-{seq}\r\nMessage-ID: <{worker}.{seq}@durability>\r\n"
            "\r\n"
        ).encode()
        + body
        + b"\r\n"
    )


def _client(
    worker: int,
    port: int,
    acked: list[tuple[int, bytes]],
    attempted: list[bytes],
    lock: threading.Lock,
    stop: threading.Event,
    enough: threading.Event,
) -> None:
    rng = random.Random(worker)
    reconnect_each_time = worker % 2 == 1
    client: smtplib.SMTP | None = None
    seq = 0
    try:
        while not stop.is_set():
            if client is None:
                client = smtplib.SMTP("127.0.0.1", port, timeout=20)
                client.ehlo(f"worker{worker}")
            raw = _message(worker, seq, rng)
            seq += 1
            with lock:
                attempted.append(raw)
            client.mail(f"worker{worker}@example.com")
            client.rcpt("sink@example.com")
            code, reply = client.data(raw)
            if code != 250:
                continue
            m = re.search(rb"queued as (\d+)", reply)
            assert m, reply
            with lock:
                acked.append((int(m.group(1)), raw))
                if len(acked) >= KILL_AFTER_ACKS:
                    enough.set()
            if reconnect_each_time:
                client.quit()
                client = None
    except (OSError, smtplib.SMTPException):
        pass  # the server died under us: expected
    finally:
        if client is not None:
            with contextlib.suppress(OSError):
                client.close()


def test_sigkill_mid_burst_loses_no_acknowledged_message(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "serve.log"
    proc, port = _start_serve(home, log)
    acked: list[tuple[int, bytes]] = []
    attempted: list[bytes] = []
    lock = threading.Lock()
    stop = threading.Event()
    enough = threading.Event()
    workers = [
        threading.Thread(
            target=_client, args=(w, port, acked, attempted, lock, stop, enough), daemon=True
        )
        for w in range(THREADS)
    ]
    try:
        for t in workers:
            t.start()
        assert enough.wait(timeout=90), f"only {len(acked)} messages acknowledged"
        proc.send_signal(signal.SIGKILL)  # mid-burst: clients are still sending
        killed_at = time.monotonic()
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        stop.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=30)
        for t in workers:
            t.join(timeout=30)
    assert all(not t.is_alive() for t in workers)
    assert time.monotonic() - killed_at < 60

    db = home / "mail.sqlite3"
    # SQLite's own verdict first, on a plain connection (it replays the WAL).
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()

    sent = set(attempted)
    with Store(db) as store:
        stored_ids = set(store.ids())
        for message_id, raw in acked:
            assert message_id in stored_ids, f"acknowledged message {message_id} is missing"
            assert store.get_raw(message_id) == raw
        # Nothing half-written or foreign: every stored message is one that was sent whole.
        for message_id in stored_ids:
            assert store.get_raw(message_id) in sent
        assert store.count() == len(stored_ids) >= len(acked)
        highest = max(stored_ids)
    print(
        f"\ndurability: {len(attempted)} attempted, {len(acked)} acknowledged, "
        f"{len(stored_ids)} stored (incl. {len(stored_ids) - len(acked)} committed "
        "but not acknowledged before the kill)"
    )

    # The same file serves again, and numbering continues after what was stored.
    proc2, port2 = _start_serve(home, log)
    try:
        with smtplib.SMTP("127.0.0.1", port2, timeout=20) as client:
            client.ehlo("after")
            client.mail("after@example.com")
            client.rcpt("sink@example.com")
            code, reply = client.data(b"Subject: after the crash\r\n\r\nstill here\r\n")
        assert code == 250
        new_id = int(re.search(rb"queued as (\d+)", reply).group(1))
        assert new_id > highest
        proc2.send_signal(signal.SIGTERM)
        assert proc2.wait(timeout=30) == 0
    finally:
        if proc2.poll() is None:
            proc2.kill()
        proc2.communicate(timeout=30)
    assert b"Traceback" not in log.read_bytes()
    with Store(db) as store:
        assert store.get_raw(new_id).endswith(b"still here\r\n")
