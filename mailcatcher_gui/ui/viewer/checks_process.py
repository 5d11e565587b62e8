"""Run a check in a child Python process (``python -m`` this module), not a thread.

Why a process: the checks are CPU-bound Python (HTML and CSS parsing,
feature tables). In a thread they hold the GIL, and the GUI thread, which
needs it for every Python slot, waits: measured, a worker thread checking
100 KB newsletters in a loop made a 10 ms Qt timer late by 58 ms at p99,
the same work in a child process by 6 ms (idle: 4 ms). The child also keeps
the checks' garbage and their gigantic feature tables out of the window's
heap, which the GUI thread's cycle collector walks (``ui/main_thread_gc``).

Protocol (stdin/stdout of our own child, so pickle is fine): length-prefixed
pickles. Parent -> child: ``(family, function, opened, options)``, where
``function`` is a module-level function (pickled by name). Child -> parent:
``("ok", value, seconds)`` or ``("error", "Type: message", seconds)``. A
network family's function is a coroutine function, run with ``asyncio.run``.

No Qt here: the child imports only this module and the checks.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import os
import pickle
import selectors
import struct
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path
from typing import IO, Any

_LENGTH = struct.Struct(">Q")
#: how much lower the child's CPU priority is than the window's
CHILD_NICENESS = 10


class ChecksProcessError(RuntimeError):
    """The child died, answered nonsense or took longer than allowed."""


def encode_request(family: str, function: Any, opened: Any, options: Any) -> bytes:
    """A job for the child: ``function(opened, options)``, length-prefixed."""
    data = pickle.dumps((family, function, opened, options), protocol=pickle.HIGHEST_PROTOCOL)
    return _LENGTH.pack(len(data)) + data


def decode_answer(answer: bytes) -> Any:
    """The child's value for a job, or ``ChecksProcessError`` with its error."""
    try:
        status, value, _seconds = pickle.loads(answer)
    except (pickle.PickleError, ValueError, TypeError, EOFError) as exc:
        raise ChecksProcessError(f"the checks process answered nonsense: {exc}") from exc
    if status != "ok":
        raise ChecksProcessError(str(value))
    return value


def _write(stream: IO[bytes], obj: object) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def _read_exact(stream: IO[bytes], n: int) -> bytes:
    buf = bytearray()  # not tracked by the cycle collector, unlike a list of chunks
    while len(buf) < n:
        chunk = stream.read(n - len(buf))
        if not chunk:
            raise EOFError("the checks process closed its output")
        buf += chunk
    return bytes(buf)


def _read(stream: IO[bytes]) -> Any:
    (size,) = _LENGTH.unpack(_read_exact(stream, _LENGTH.size))
    return pickle.loads(_read_exact(stream, size))


class ChecksProcess:
    """One child process running one check at a time (``run`` from one thread;
    ``shutdown`` from any)."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.Lock()
        self._shut_down = False

    @property
    def pid(self) -> int | None:
        """The child's process id (None when none runs)."""
        proc = self._proc
        return proc.pid if proc is not None and proc.poll() is None else None

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None

    def run(self, request: bytes, timeout: float) -> bytes:
        """Send ``request`` (see ``encode_request``) and return the child's answer
        unread (``decode_answer``), or raise ``ChecksProcessError`` (the child is
        then replaced on the next call).

        Bytes in, bytes out: the thread calling this (a worker) creates almost
        no Python objects, so it never triggers a cycle collection that could
        destroy the window's Qt objects off the GUI thread (see
        ``ui/main_thread_gc``); pickling happens on the GUI thread.
        """
        proc = self._ensure()
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(request)
            proc.stdin.flush()
            with selectors.DefaultSelector() as sel:
                sel.register(proc.stdout, selectors.EVENT_READ)
                if not sel.select(timeout):
                    raise ChecksProcessError(f"the checks took longer than {timeout:.0f} s")
            (size,) = _LENGTH.unpack(_read_exact(proc.stdout, _LENGTH.size))
            return _read_exact(proc.stdout, size)
        except (OSError, EOFError, ValueError) as exc:
            self._end(proc)
            raise ChecksProcessError(f"the checks process failed: {exc}") from exc
        except ChecksProcessError:
            self._end(proc)
            raise

    def shutdown(self) -> None:
        """End the child for good (a check still running in it is abandoned)."""
        with self._lock:
            self._shut_down = True
            proc, self._proc = self._proc, None
        if proc is not None:
            _stop(proc)

    def _end(self, proc: subprocess.Popen[bytes]) -> None:
        with self._lock:
            if self._proc is proc:
                self._proc = None
        _stop(proc)

    def _ensure(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._shut_down:
                raise ChecksProcessError("the checks were shut down")
            if self._proc is not None and self._proc.poll() is None:
                return self._proc
            old, self._proc = self._proc, None
            if old is not None:
                _stop(old)
            env = dict(os.environ)
            # The package may run from a checkout rather than an install.
            root = str(Path(__file__).resolve().parents[3])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            proc = subprocess.Popen(
                [sys.executable, "-m", __name__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env=env,
                close_fds=True,
            )
            # A process object dropped without shutdown() still ends its child.
            weakref.finalize(self, _stop, proc)
            self._proc = proc
            return proc


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.kill()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    with contextlib.suppress(OSError):
        proc.wait()


# ---- the checks, as the child runs them (module-level: pickled by name) ----------------


def local_checks(opened: Any, options: Any) -> Any:
    """Every network-free family (``core.checks.runner.run_local_checks``)."""
    from ...core.checks.runner import run_local_checks

    return run_local_checks(opened, options)


async def links_check(opened: Any, options: Any) -> Any:
    """The links family (``core.checks.links.check_links``): the network."""
    from ...core.checks.links import check_links

    return await check_links(opened, options)


async def spam_check(opened: Any, options: Any) -> Any:
    """The spam family (``core.checks.spam.check_spam``): asks spamd."""
    from ...core.checks.spam import check_spam

    return await check_spam(opened.stored.raw, options)


_WARM_UP_MESSAGE = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: warm-up\r\n"
    b"Content-Type: text/html\r\n\r\n<p style='display:flex'><img src='x.png'></p>\r\n"
)


def warm_up(_opened: Any, _options: Any) -> None:
    """Import the checks and load their tables (the first real check is then quick)."""
    from datetime import UTC, datetime

    from ...core.checks.model import CheckOptions
    from ...core.mailio.local import unstored_message

    opened = unstored_message(_WARM_UP_MESSAGE, received_at=datetime.now(UTC), source="warm-up")
    local_checks(opened, CheckOptions(resolve_dns=False))


def child_main() -> int:
    """The child: read a job, run it, answer; until stdin closes."""
    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the protocol
    if hasattr(os, "nice"):
        # Background work: on a busy machine the window's threads get the CPU first.
        with contextlib.suppress(OSError):
            os.nice(CHILD_NICENESS)
    while True:
        try:
            family, function, opened, options = _read(requests)
        except EOFError:
            return 0
        t0 = time.perf_counter()
        try:
            value = function(opened, options)
            if inspect.isawaitable(value):
                value = asyncio.run(_awaited(value))
            answer: tuple[str, Any, float] = ("ok", value, time.perf_counter() - t0)
        except Exception as exc:  # noqa: BLE001 - reported to the window, the child goes on
            answer = ("error", f"{type(exc).__name__}: {exc}", time.perf_counter() - t0)
        del family
        _write(answers, answer)


async def _awaited(value: Any) -> Any:
    return await value


if __name__ == "__main__":
    sys.exit(child_main())
