"""Listening sockets: binding every address a host resolves to, and clear bind errors."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import sys

from .config import PortInUse, SinkStartError, format_host

__all__ = ["GatedSocket", "bind_listeners"]


class GatedSocket(socket.socket):
    """A listening socket whose ``accept`` can be switched off before closing.

    Works around CPython gh-109564: a selector event loop accepts a
    connection in one iteration and attaches its transport to the
    ``asyncio.Server`` in the next; a ``Server.close()`` in between makes the
    attach fail and leaks the accepted socket (a ResourceWarning, an open fd).
    ``RunningSink.stop`` closes the gate, lets already accepted connections
    attach, and only then closes the server. Loops that do not call
    ``sock.accept()`` (the Windows proactor) simply ignore the gate.
    """

    accepting = True

    def accept(self):  # type: ignore[override]
        if not self.accepting:
            raise BlockingIOError(errno.EAGAIN, "listener is closing")
        return super().accept()


async def bind_listeners(
    loop: asyncio.AbstractEventLoop, address: tuple[str, int], flag: str
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
            sock.listen(100)
            sock.setblocking(False)
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
