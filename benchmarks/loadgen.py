"""SMTP load generator: N concurrent raw-asyncio SMTP sessions.

Run it as its own process (``python -m benchmarks.loadgen ...``) so the
client has its own core and never competes with the server under test for
the GIL. It speaks just enough SMTP: banner, EHLO, MAIL/RCPT/DATA, QUIT. When
the server advertises PIPELINING (or ``--pipelining force``) the envelope and
DATA commands go out in one write, which halves the round trips the client
waits on.

Two modes:

* ``reuse``: each connection sends message after message (MAIL ... 250,
  next MAIL ...), one QUIT at the end;
* ``per-connection``: every message gets its own connection, EHLO and QUIT.

The result (printed as one JSON object) has the throughput measured from the
first connect to the last reply, and the per-message latency from the end of
DATA (the final ``.`` line written) to the ``250``. Timestamps are
``time.monotonic()``, which on Linux is the same clock in every process, so
a GUI probe can line its stall samples up with the burst.

``--client smtp-source`` drives Postfix's ``smtp-source`` instead, when it is
installed (same messages via ``-F``; throughput only).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

from .messages import KINDS, MessageFactory
from .stats import summarize_ms

_CHUNK = 1 << 20  # big bodies go out in 1 MiB slices so drain() keeps memory flat
_QUEUED = re.compile(rb"queued as (\d+)")


class SmtpError(Exception):
    pass


@dataclass
class _Shared:
    count: int
    next_index: int = 0
    done: int = 0
    failed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    pipelined: bool | None = None
    banner: str = ""
    #: (queued id, monotonic time of its 250) per message, when asked for (--record-acks)
    acks: list[tuple[int, float]] | None = None

    def take(self) -> int | None:
        if self.next_index >= self.count:
            return None
        i = self.next_index
        self.next_index += 1
        return i

    def error(self, text: str) -> None:
        self.failed += 1
        if len(self.errors) < 20:
            self.errors.append(text)


async def _reply(reader: asyncio.StreamReader) -> tuple[int, list[bytes]]:
    lines: list[bytes] = []
    while True:
        line = await reader.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            try:
                return int(line[:3]), lines
            except ValueError:
                raise SmtpError(f"bad reply line {line!r}") from None


async def _expect(reader: asyncio.StreamReader, code: int, what: str) -> list[bytes]:
    got, lines = await _reply(reader)
    if got != code:
        raise SmtpError(f"{what}: expected {code}, got {b''.join(lines)!r}")
    return lines


class _Session:
    """One SMTP connection."""

    def __init__(self, host: str, port: int, shared: _Shared, pipelining: str) -> None:
        self.host, self.port, self.shared, self.pipelining = host, port, shared, pipelining
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.pipeline = False

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        banner = await _expect(self.reader, 220, "banner")
        if not self.shared.banner:
            self.shared.banner = banner[0].decode("ascii", "replace").strip()
        self.writer.write(b"EHLO loadgen.example\r\n")
        lines = await _expect(self.reader, 250, "EHLO")
        advertised = any(line[4:].strip().upper() == b"PIPELINING" for line in lines)
        self.pipeline = self.pipelining == "force" or (self.pipelining == "auto" and advertised)
        if self.shared.pipelined is None:
            self.shared.pipelined = self.pipeline

    async def send(self, head: bytes, body: bytes) -> float:
        """Send one message; returns seconds from the end of DATA to the 250."""
        r, w = self.reader, self.writer
        assert r is not None and w is not None
        envelope = (b"MAIL FROM:<alice@example.com>\r\n", b"RCPT TO:<bob@example.net>\r\n")
        if self.pipeline:
            w.write(envelope[0] + envelope[1] + b"DATA\r\n")
            await _expect(r, 250, "MAIL")
            await _expect(r, 250, "RCPT")
            await _expect(r, 354, "DATA")
        else:
            w.write(envelope[0])
            await _expect(r, 250, "MAIL")
            w.write(envelope[1])
            await _expect(r, 250, "RCPT")
            w.write(b"DATA\r\n")
            await _expect(r, 354, "DATA")
        w.write(head)
        if len(body) <= _CHUNK:
            w.write(body)
        else:
            view = memoryview(body)
            for start in range(0, len(view), _CHUNK):
                w.write(view[start : start + _CHUNK])
                await w.drain()
        await w.drain()
        t_end = time.monotonic()
        lines = await _expect(r, 250, "end of DATA")
        t_250 = time.monotonic()
        if self.shared.acks is not None:
            queued = _QUEUED.search(lines[-1])
            if queued:
                self.shared.acks.append((int(queued.group(1)), t_250))
        return t_250 - t_end

    async def quit(self) -> None:
        if self.writer is None:
            return
        try:
            self.writer.write(b"QUIT\r\n")
            assert self.reader is not None
            await _expect(self.reader, 221, "QUIT")
        finally:
            await self.close()

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
            self.writer = None


async def _worker_reuse(host, port, shared: _Shared, factory: MessageFactory, pipelining) -> None:
    session: _Session | None = None
    while (i := shared.take()) is not None:
        try:
            if session is None:
                session = _Session(host, port, shared, pipelining)
                await session.open()
            shared.latencies.append(await session.send(*factory.parts(i)))
            shared.done += 1
        except (OSError, SmtpError, ConnectionError) as exc:
            shared.error(f"message {i}: {exc}")
            if session is not None:
                await session.close()
            session = None
    if session is not None:
        try:
            await session.quit()
        except (OSError, SmtpError, ConnectionError) as exc:
            shared.errors.append(f"QUIT: {exc}")


async def _worker_per_connection(
    host, port, shared: _Shared, factory: MessageFactory, pipelining
) -> None:
    while (i := shared.take()) is not None:
        session = _Session(host, port, shared, pipelining)
        try:
            await session.open()
            shared.latencies.append(await session.send(*factory.parts(i)))
            shared.done += 1
            await session.quit()
        except (OSError, SmtpError, ConnectionError) as exc:
            shared.error(f"message {i}: {exc}")
            await session.close()


async def run_load(
    host: str,
    port: int,
    *,
    connections: int = 10,
    count: int = 1000,
    kind: str = "small",
    mode: str = "reuse",
    pipelining: str = "auto",
    large_bytes: int = 25 * 1000 * 1000,
    timeout: float = 600.0,
    factory: MessageFactory | None = None,
    record_acks: bool = False,
) -> dict:
    """Drive ``count`` messages through ``connections`` sessions; return the stats.

    ``record_acks``: the result's ``acks`` lists ``[queued id, monotonic time
    of the 250]`` per message (the events benchmark matches them with what a
    WebSocket subscriber received, on the same clock).
    """
    factory = factory or MessageFactory(kind, large_bytes=large_bytes)
    shared = _Shared(count=count, acks=[] if record_acks else None)
    worker = {"reuse": _worker_reuse, "per-connection": _worker_per_connection}[mode]
    cpu0 = time.process_time()
    start = time.monotonic()
    tasks = [
        asyncio.create_task(worker(host, port, shared, factory, pipelining))
        for _ in range(max(1, min(connections, count)))
    ]
    timed_out = False
    try:
        await asyncio.wait_for(asyncio.gather(*tasks), timeout)
    except TimeoutError:
        timed_out = True
        shared.errors.append(f"timed out after {timeout:.0f} s")
    end = time.monotonic()
    cpu = time.process_time() - cpu0
    elapsed = end - start
    return {
        "client": "asyncio",
        "kind": kind,
        "message_bytes": factory.size,
        "mode": mode,
        "connections": connections,
        "requested": count,
        "messages": shared.done,
        "failed": shared.failed + (count - shared.done - shared.failed if timed_out else 0),
        "errors": shared.errors,
        "pipelined": bool(shared.pipelined),
        "banner": shared.banner,
        "start_monotonic": start,
        "end_monotonic": end,
        "elapsed_s": round(elapsed, 6),
        "msgs_per_s": round(shared.done / elapsed, 2) if elapsed > 0 else None,
        # A client near 100% of one core would be the bottleneck; the report shows this.
        "client_cpu_s": round(cpu, 3),
        "client_cpu_pct": round(100.0 * cpu / elapsed, 1) if elapsed > 0 else None,
        "latency": summarize_ms(shared.latencies),
        **({"acks": shared.acks} if shared.acks is not None else {}),
    }


def run_smtp_source(
    host: str, port: int, *, connections: int, count: int, kind: str, mode: str, large_bytes: int
) -> dict:
    """Drive the load with Postfix's ``smtp-source`` (throughput only)."""
    exe = shutil.which("smtp-source")
    if exe is None:
        raise SystemExit("smtp-source is not installed (apt-get install postfix)")
    factory = MessageFactory(kind, large_bytes=large_bytes)
    wire = factory(0)
    text = wire[: -len(b".\r\n")].replace(b"\r\n..", b"\r\n.")
    with tempfile.NamedTemporaryFile(suffix=".eml", delete=False) as fh:
        fh.write(text)
        path = fh.name
    try:
        cmd = [exe, "-s", str(connections), "-m", str(count), "-F", path]
        cmd += ["-f", "alice@example.com", "-t", "bob@example.net", "-M", "loadgen.example"]
        if mode == "reuse":
            cmd.append("-d")
        cmd.append(f"{host}:{port}")
        start = time.monotonic()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        end = time.monotonic()
    finally:
        os.unlink(path)
    ok = proc.returncode == 0
    elapsed = end - start
    return {
        "client": "smtp-source",
        "kind": kind,
        "message_bytes": factory.size,
        "mode": mode,
        "connections": connections,
        "requested": count,
        "messages": count if ok else 0,
        "failed": 0 if ok else count,
        "errors": [] if ok else [proc.stderr.strip()[-500:]],
        "pipelined": True,
        "banner": "",
        "start_monotonic": start,
        "end_monotonic": end,
        "elapsed_s": round(elapsed, 6),
        "msgs_per_s": round(count / elapsed, 2) if ok and elapsed > 0 else None,
        "latency": summarize_ms([]),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.loadgen", description=__doc__)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=10)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--kind", choices=KINDS, default="small")
    ap.add_argument("--mode", choices=("reuse", "per-connection"), default="reuse")
    ap.add_argument("--pipelining", choices=("auto", "force", "off"), default="auto")
    ap.add_argument("--large-bytes", type=int, default=25 * 1000 * 1000)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--client", choices=("asyncio", "smtp-source"), default="asyncio")
    ap.add_argument(
        "--record-acks",
        choices=("yes", "no"),
        default="no",
        help="add [queued id, time of the 250] per message to the result (asyncio client)",
    )
    args = ap.parse_args(argv)
    if args.client == "smtp-source":
        result = run_smtp_source(
            args.host,
            args.port,
            connections=args.connections,
            count=args.count,
            kind=args.kind,
            mode=args.mode,
            large_bytes=args.large_bytes,
        )
    else:
        # Build the messages before the clock starts.
        factory = MessageFactory(args.kind, large_bytes=args.large_bytes)
        result = asyncio.run(
            run_load(
                args.host,
                args.port,
                connections=args.connections,
                count=args.count,
                kind=args.kind,
                mode=args.mode,
                pipelining=args.pipelining,
                timeout=args.timeout,
                factory=factory,
                record_acks=args.record_acks == "yes",
            )
        )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["failed"] == 0 and result["messages"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
