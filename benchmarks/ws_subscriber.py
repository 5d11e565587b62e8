"""A WebSocket subscriber of ``/api/events`` for the events benchmark.

Run it as its own process (``python -m benchmarks.ws_subscriber --url ...``).
On a two-core machine every cycle this client spends is taken from the
server under test, so it is deliberately lean: a blocking socket, the
handshake by hand, frames split from each received chunk, and only the ID
of each ``new`` event read (by pattern, not by parsing the summary). All
frames of one chunk get the time the chunk arrived, ``time.monotonic()``:
the same clock as the load generator's 250 times on Linux.

It prints ``ready`` once the first frame (``stats``) came, then records
every ``new`` event until it has ``--expect`` of them, or nothing arrived
for ``--idle`` seconds. The result (one JSON object on stdout):
``{"received": [[id, t], ...], "frames": n, "closed": reason or null}``.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import socket
import struct
import sys
import time
from urllib.parse import urlsplit

_ID = re.compile(rb'"ID":"(\d+)"')
_NEW = b'{"Type":"new",'


def _connect(url: str) -> tuple[socket.socket, bytes]:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=30)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            f"GET /api/events HTTP/1.1\r\nHost: {parts.netloc}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise SystemExit("connection closed during the handshake")
        buf += chunk
    head, _, rest = buf.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 101"):
        raise SystemExit(f"handshake refused: {head[:200]!r}")
    return sock, rest


def _frames(buf: bytearray) -> list[tuple[int, bytes]]:
    """Whole (opcode, payload) frames off the front of ``buf`` (server frames: unmasked)."""
    out = []
    pos = 0
    while len(buf) - pos >= 2:
        opcode, size = buf[pos] & 0x0F, buf[pos + 1] & 0x7F
        head = 2
        if size == 126:
            if len(buf) - pos < 4:
                break
            size = struct.unpack_from("!H", buf, pos + 2)[0]
            head = 4
        elif size == 127:
            if len(buf) - pos < 10:
                break
            size = struct.unpack_from("!Q", buf, pos + 2)[0]
            head = 10
        if len(buf) - pos < head + size:
            break
        out.append((opcode, bytes(buf[pos + head : pos + head + size])))
        pos += head + size
    del buf[:pos]
    return out


def _pong(sock: socket.socket, payload: bytes) -> None:
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes((0x8A, 0x80 | len(payload))) + mask + masked)


def subscribe(url: str, expect: int, idle: float) -> dict[str, object]:
    sock, rest = _connect(url)
    buf = bytearray(rest)
    received: list[tuple[int, float]] = []
    frames = 0
    closed: str | None = None
    ready = False
    now = time.monotonic()  # frames that came with the handshake's reply
    sock.settimeout(idle)
    try:
        while len(received) < expect:
            if not (pending := _frames(buf)):
                try:
                    chunk = sock.recv(1 << 20)
                except TimeoutError:
                    closed = f"nothing for {idle} s"
                    break
                if not chunk:
                    closed = "connection closed"
                    break
                now = time.monotonic()
                buf += chunk
                pending = _frames(buf)
            for opcode, payload in pending:
                frames += 1
                if opcode == 0x1:
                    if not ready:
                        ready = True
                        print("ready", flush=True)
                    if payload.startswith(_NEW):
                        found = _ID.search(payload, 0, 80)
                        mid = found.group(1) if found else json.loads(payload)["Data"]["ID"]
                        received.append((int(mid), now))
                elif opcode == 0x9:
                    _pong(sock, payload)
                elif opcode == 0x8:
                    closed = f"close frame {payload[:2].hex()}"
                    break
            if closed:
                break
    finally:
        sock.close()
    return {"received": received, "frames": frames, "closed": closed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ws_subscriber", description=__doc__)
    ap.add_argument("--url", required=True, help="http://HOST:PORT of the API")
    ap.add_argument("--expect", type=int, required=True, help="stop after this many new events")
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args(argv)
    result = subscribe(args.url, args.expect, args.idle)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
