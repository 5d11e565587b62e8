"""The rules file for the "50 rules, none matching" row of target 1.

Fifty rules spread over every stage, each with a condition the load
generator's mail never meets (another network, sender, recipient, header,
size), so every stage evaluates rules on every message and none fires: the
cost measured is the engine's per-message overhead, not an action.

Row 1e: one ``stored`` rule posting every message to a webhook receiver that
accepts the connection and never answers, against the same rule posting to a
receiver that answers at once. Both runs pay the same rule firing (its
transcript line and rule-log row); the ratio is what a hung receiver adds.
Deliveries wait in the sink's bounded outbox (the rest are skipped and
logged), so ingest must not notice.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

RULE_COUNT = 50


def _rule(i: int) -> str:
    kind = i % 7
    name = f'name = "never {i}"'
    if kind == 0:
        body = f'stage = "connect"\nclient = "10.{i}.0.0/16"\ndelay_ms = 100'
    elif kind == 1:
        body = f'stage = "ehlo"\nclient = "192.0.2.{i}"\nreply = 421'
    elif kind == 2:
        body = f'stage = "mail"\nmail_from = "*@nowhere{i}.invalid"\nreply = 550'
    elif kind == 3:
        body = f'stage = "rcpt"\nrcpt = "nobody{i}@*"\nreply = {{ code = 550, text = "5.1.1 no" }}'
    elif kind == 4:
        body = f'stage = "rcpt"\nmail_from = "/^bounce{i}-/"\ngreylist = {{ attempts = 1 }}'
    elif kind == 5:
        body = f'stage = "data"\nheader = "X-Fault-{i}: *"\nreply = 554'
    else:
        body = f'stage = "stored"\nsize_above = {50_000_000 + i}\ntag = ["huge"]'
    return f"[[rule]]\n{name}\n{body}\n"


def write_rules_file(path: Path, count: int = RULE_COUNT) -> Path:
    path.write_text("\n".join(_rule(i) for i in range(count)), encoding="utf-8")
    return path


# ---- row 1e: a webhook to a receiver that never answers --------------------------


def write_webhook_rules_file(path: Path, url: str) -> Path:
    """One rule that posts EVERY message to ``url`` (a receiver that never answers)."""
    path.write_text(
        "[[rule]]\n"
        'name = "hook everything"\n'
        'stage = "stored"\n'
        f'webhook = {{ url = "{url}", timeout = 60, attempts = 3 }}\n',
        encoding="utf-8",
    )
    return path


@contextmanager
def never_answering() -> Iterator[str]:
    """A loopback HTTP "receiver" that accepts connections and never says a word.

    Every connection is kept open until the end, so the sink's outbox sees
    requests that neither fail nor finish: the worst case for a webhook.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    server.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)

    thread = threading.Thread(target=hold, name="never-answering", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(5)
        server.close()
        for conn in held:
            conn.close()


@contextmanager
def answering() -> Iterator[str]:
    """A loopback HTTP receiver that answers every POST with 204 at once (keep-alive).

    The reference for row 1e: the same webhook rule, to a receiver that works.
    One thread per connection; it reads the request head and its
    Content-Length body, answers, and waits for the next request.
    """
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1024)
    server.settimeout(0.2)
    stop = threading.Event()
    reply = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"

    def serve(conn: socket.socket) -> None:
        buf = b""
        with conn:
            conn.settimeout(5)
            while not stop.is_set():
                try:
                    while b"\r\n\r\n" not in buf:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    head, _, buf = buf.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip() or 0)
                    while len(buf) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            return
                        buf += chunk
                    buf = buf[length:]
                    conn.sendall(reply)
                except OSError:
                    return

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, name="answering", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/hook"
    finally:
        stop.set()
        thread.join(5)
        server.close()
