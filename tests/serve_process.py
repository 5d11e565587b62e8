"""Start the real ``mailcatcher-gui serve`` in a subprocess for tests."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
from pathlib import Path


def start_serve(home: Path, log: Path, *extra_args: str) -> tuple[subprocess.Popen, int]:
    """Start serve on a free port under ``MAILCATCHER_GUI_HOME=home``; returns (process, port).

    Its stderr goes to ``log`` (a file, so it can never fill a pipe); stdout
    stays a pipe whose first line is read for the real port.
    """
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(home), PYTHONUNBUFFERED="1")
    log_file = open(log, "ab")  # noqa: SIM115 - handed to the child, closed right after
    proc = subprocess.Popen(
        [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", "127.0.0.1:0", *extra_args],
        env=env,
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=log_file,
    )
    log_file.close()  # the child has its own copy
    lines: queue.Queue[bytes] = queue.Queue()
    threading.Thread(target=lambda: lines.put(proc.stdout.readline()), daemon=True).start()
    try:
        first = lines.get(timeout=30)
    except queue.Empty:
        proc.kill()
        proc.communicate()
        raise AssertionError("serve did not report its port") from None
    m = re.fullmatch(rb"SMTP listening on 127\.0\.0\.1:(\d+)\n", first)
    if not m:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"unexpected first line {first!r}; stderr {log.read_bytes()!r}")
    return proc, int(m.group(1))
