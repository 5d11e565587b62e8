"""Listening sockets: the backlog, running out of file descriptors, clear bind errors.

Backlog: the system's maximum (``/proc/sys/net/core/somaxconn`` on Linux,
else ``socket.SOMAXCONN``), not asyncio's default of 100, so a burst of
clients that connect at once waits in the kernel's queue instead of some of
them never being greeted.

Out of file descriptors (``EMFILE``/``ENFILE`` from ``accept``): asyncio
would log a traceback for every failed ``accept`` (up to its backlog count
per loop iteration: tens of thousands a minute). Instead each listener keeps
one spare descriptor; when ``accept`` fails for lack of descriptors it
closes the spare, accepts the waiting connection, answers ``421`` (a
temporary failure: the client retries later), closes it and opens the spare
again, the way libuv and nginx shed load. One warning per interval says so
and what to raise. Connections the sink already has are not affected.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import math
import os
import socket
import sys
import time
from pathlib import Path

from .config import PortInUse, SinkStartError, format_host

__all__ = ["FdShortage", "GatedSocket", "bind_listeners", "listen_backlog"]

log = logging.getLogger(__name__)

_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE)
_REFUSED = b"421 4.3.2 Too many open connections, try again later\r\n"


def listen_backlog() -> int:
    """The longest accept queue the system allows (what ``listen`` is given)."""
    backlog = socket.SOMAXCONN
    with contextlib.suppress(OSError, ValueError):
        backlog = max(backlog, int(Path("/proc/sys/net/core/somaxconn").read_text()))
    return min(backlog, 65535)


class FdShortage:
    """Reports connections refused for lack of file descriptors, at most once per interval."""

    def __init__(self, interval: float = 10.0) -> None:
        self.interval = interval
        self.refused = 0  # connections refused in total
        self._last_report = -math.inf

    def refused_one(self, error: OSError) -> None:
        self.refused += 1
        now = time.monotonic()
        if now - self._last_report < self.interval:
            return
        self._last_report = now
        log.warning(
            "out of file descriptors (%s): refusing new SMTP connections with 421 "
            "(%d so far); raise the open-file limit (ulimit -n, now %s) "
            "or have clients open fewer connections at once",
            os.strerror(error.errno or errno.EMFILE),
            self.refused,
            _open_file_limit(),
        )


def _open_file_limit() -> str:
    try:
        import resource  # POSIX only
    except ImportError:
        return "unknown"
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return "unlimited" if soft == resource.RLIM_INFINITY else str(soft)


def _open_spare() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None


class GatedSocket(socket.socket):
    """A listening socket whose ``accept`` can be switched off, and sheds load when out of fds.

    The gate works around CPython gh-109564: a selector event loop accepts a
    connection in one iteration and attaches its transport to the
    ``asyncio.Server`` in the next; a ``Server.close()`` in between makes the
    attach fail and leaks the accepted socket (a ResourceWarning, an open fd).
    ``RunningSink.stop`` closes the gate, lets already accepted connections
    attach, and only then closes the server. Loops that do not call
    ``sock.accept()`` (the Windows proactor) simply ignore the gate.

    Out of descriptors, see the module docstring.
    """

    accepting = True
    shortage: FdShortage | None = None
    _spare: int | None = None
    _resting_until = 0.0  # no spare descriptor: asyncio backs off, see _shed

    def enable_shedding(self, shortage: FdShortage) -> None:
        self.shortage = shortage
        self._spare = _open_spare()

    def accept(self) -> tuple[socket.socket, object]:
        if not self.accepting:
            raise BlockingIOError(errno.EAGAIN, "listener is closing")
        if self._resting_until and time.monotonic() < self._resting_until:
            raise BlockingIOError(errno.EAGAIN, "out of descriptors, backing off")
        try:
            return super().accept()
        except OSError as exc:
            if exc.errno not in _OUT_OF_FDS or self.shortage is None:
                raise
            self._shed(exc)
            # Nothing to hand over: asyncio ends this round of accepts quietly.
            raise BlockingIOError(errno.EAGAIN, "connection refused: out of descriptors") from None

    def _shed(self, error: OSError) -> None:
        """Accept one waiting connection with the spare descriptor and refuse it (421)."""
        assert self.shortage is not None
        if self._spare is None:
            self._spare = _open_spare()
            if self._spare is None:
                # Not even one. Leave it to asyncio: it logs this error once and
                # stops accepting for a second, but calls accept up to its
                # backlog count more times in this round first; those rest.
                self._resting_until = time.monotonic() + 0.5
                raise error
        os.close(self._spare)
        self._spare = None
        try:
            conn, _addr = super().accept()
        except OSError:
            pass  # another thread took the descriptor, or the client left
        else:
            with contextlib.suppress(OSError):
                conn.setblocking(False)
                conn.send(_REFUSED)
            conn.close()
            self.shortage.refused_one(error)
        finally:
            self._spare = _open_spare()

    def close(self) -> None:
        super().close()
        spare, self._spare = self._spare, None
        if spare is not None:
            os.close(spare)


async def bind_listeners(
    loop: asyncio.AbstractEventLoop,
    address: tuple[str, int],
    flag: str,
    shortage: FdShortage | None = None,
) -> list[GatedSocket]:
    """Bound, listening sockets for every address ``host`` resolves to (like create_server)."""
    host, port = address
    where = f"{format_host(host)}:{port} ({flag})"
    try:
        infos = await loop.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise SinkStartError(f"cannot listen on {where}: unknown host {host!r}") from exc
    socks: list[GatedSocket] = []
    try:
        for family, type_, proto, _name, sockaddr in dict.fromkeys(infos):
            sock = GatedSocket(family, type_, proto)
            socks.append(sock)
            if os.name == "posix" and sys.platform != "cygwin":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6 and hasattr(socket, "IPPROTO_IPV6"):
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            sock.bind(sockaddr)
            sock.listen(listen_backlog())
            sock.setblocking(False)
            if shortage is not None:
                sock.enable_shedding(shortage)
    except OSError as exc:
        for sock in socks:
            sock.close()
        raise _bind_error(exc, host, port, flag, where) from exc
    return socks


def _bind_error(exc: OSError, host: str, port: int, flag: str, where: str) -> SinkStartError:
    if exc.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
        return PortInUse(host, port, flag)
    if exc.errno in (errno.EACCES, getattr(errno, "WSAEACCES", -1)):
        return SinkStartError(
            f"cannot listen on {where}: permission denied "
            "(ports below 1024 need privileges; the usual choice is 1025)"
        )
    if exc.errno in (errno.EADDRNOTAVAIL, getattr(errno, "WSAEADDRNOTAVAIL", -1)):
        return SinkStartError(f"cannot listen on {where}: {host} is not an address of this machine")
    return SinkStartError(f"cannot listen on {where}: {exc.strerror or exc}")
