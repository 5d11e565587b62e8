"""Start the real ``mailcatcher-gui serve`` in a subprocess for tests."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path
from typing import NamedTuple


class Served(NamedTuple):
    """A running ``serve``: the process and the ports it printed (HTTP None with --http none)."""

    proc: subprocess.Popen
    smtp_port: int
    http_port: int | None
    http_url: str | None


def launch_serve(home: Path, log: Path, *extra_args: str) -> Served:
    """Start serve on free ports under ``MAILCATCHER_GUI_HOME=home``.

    SMTP listens on 127.0.0.1:0 and, unless ``extra_args`` give ``--http``,
    the HTTP API on 127.0.0.1:0 too (never the fixed default 8025, which
    parallel tests would fight over). Its stderr goes to ``log`` (a file, so
    it can never fill a pipe); stdout stays a pipe whose first lines
    (``SMTP listening on ...``, ``HTTP listening on ...``) give the real ports.
    """
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(home), PYTHONUNBUFFERED="1")
    http_given = any(a == "--http" or a.startswith("--http=") for a in extra_args)
    http_off = _http_value(extra_args) == "none"
    args = [*extra_args] if http_given else ["--http", "127.0.0.1:0", *extra_args]
    log_file = open(log, "ab")  # noqa: SIM115 - handed to the child, closed right after
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", "127.0.0.1:0", *args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=log_file,
    )
    log_file.close()  # the child has its own copy
    lines: queue.Queue[bytes] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for _ in range(4):  # SMTP, maybe SMTPS, HTTP(S): all printed together
            line = proc.stdout.readline()
            lines.put(line)
            if not line or line.startswith(b"HTTP") or http_off:
                return

    threading.Thread(target=pump, daemon=True).start()

    def next_line() -> bytes:
        try:
            return lines.get(timeout=30)
        except queue.Empty:
            _fail(proc, log, "serve did not report its port")
            raise

    first = next_line()
    m = re.fullmatch(rb"SMTP listening on 127\.0\.0\.1:(\d+)\n", first)
    if not m:
        _fail(proc, log, f"unexpected first line {first!r}")
    smtp_port = int(m.group(1))  # type: ignore[union-attr]
    if http_off:
        return Served(proc, smtp_port, None, None)
    while True:
        line = next_line()
        if line.startswith(b"SMTPS "):
            continue
        h = re.fullmatch(rb"(HTTPS?) listening on (\S+):(\d+)\n", line)
        if not h:
            _fail(proc, log, f"unexpected line {line!r} instead of the HTTP listener")
        scheme = h.group(1).decode().lower()  # type: ignore[union-attr]
        host = h.group(2).decode()  # type: ignore[union-attr]
        port = int(h.group(3))  # type: ignore[union-attr]
        return Served(proc, smtp_port, port, f"{scheme}://{host}:{port}")


def start_serve(home: Path, log: Path, *extra_args: str) -> tuple[subprocess.Popen, int]:
    """``launch_serve`` for callers that only need the SMTP port: (process, port)."""
    served = launch_serve(home, log, *extra_args)
    return served.proc, served.smtp_port


def _http_value(args: tuple[str, ...]) -> str | None:
    for i, a in enumerate(args):
        if a == "--http" and i + 1 < len(args):
            return args[i + 1].strip().lower()
        if a.startswith("--http="):
            return a.split("=", 1)[1].strip().lower()
    return None


def _fail(proc: subprocess.Popen, log: Path, what: str) -> None:
    proc.kill()
    proc.communicate()
    raise AssertionError(f"{what}; stderr {log.read_bytes()!r}")
