"""Closing an SMTP client connection at once, and noticing a cancellation that got lost.

Kept apart from ``session`` (which drives the steps) because every path out
of a session -- QUIT, a failure, a cancellation -- ends here, and because
the two Python 3.11 facts they deal with are easy to forget: a graceful TLS
close waits for the peer, and ``asyncio.wait_for`` can swallow a cancel.
"""

from __future__ import annotations

import asyncio
import socket

import aiosmtplib

__all__ = [
    "LOST_CANCEL_GRACE",
    "abort_transport",
    "drop",
    "drop_and_settle",
    "raise_if_cancel_lost",
]

# How long a cancelled connect gets to end by itself before its transport is aborted.
LOST_CANCEL_GRACE = 0.05


def raise_if_cancel_lost() -> None:
    """Raise ``CancelledError`` if this task was cancelled and the cancel got lost.

    Python 3.11's ``asyncio.wait_for`` (inside aiosmtplib) swallows a
    cancellation that arrives as a reply does; the task then goes on with
    ``cancelling()`` still counting the request. Checked between steps, so a
    cancelled send never goes on to MAIL or DATA.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def drop(client: aiosmtplib.SMTP | None) -> None:
    """Close at once: abort the transport instead of a graceful TLS shutdown.

    asyncio's graceful TLS close waits for the server's close_notify; when the
    loop ends first (``asyncio.run`` in scripts and the CLI) the socket is
    left open. Once QUIT is answered, or a session has failed, there is
    nothing left to say, so the transport is aborted.
    """
    if client is None:
        return
    transport = client.transport
    client.close()
    abort_transport(transport)


def abort_transport(transport: asyncio.BaseTransport | None) -> None:
    """Close at once, without waiting to flush (or for a TLS close_notify)."""
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    elif transport is not None:
        transport.close()


async def drop_and_settle(client: aiosmtplib.SMTP | None, sock: socket.socket | None) -> None:
    """``drop``, then let the loop run the close callbacks so the socket is released."""
    drop(client)
    for _ in range(5):
        await asyncio.sleep(0)
        if sock is None or sock.fileno() == -1:
            break
    if sock is not None and sock.fileno() != -1:  # never adopted by a transport
        sock.close()
