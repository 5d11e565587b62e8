"""Reading the DATA payload: bulk reads, dot-unstuffing, the SIZE limit, the memory budget.

The sink's own payload loop (aiosmtpd's reads line by line and refuses
lines over 1000 octets): no line-length limit, and dot-unstuffing with LF
line semantics so bare-LF messages sent by smtplib arrive unchanged; only
CRLF "." CRLF ends the data (no SMTP smuggling).

Memory: a payload is held in memory until it is stored, so what all
connections hold at once is bounded by ``SinkConfig.data_budget`` (a
``DataBudget`` shared by the sessions of one sink). A payload that does
not fit is read to its end and dropped (the session answers ``452``, the
client retries later); the chunks read so far are released on every way
out, the client going away mid-message included.
"""

from __future__ import annotations

import asyncio
from typing import NamedTuple

from .transcript import Transcript

__all__ = ["DataBudget", "DataClaim", "Payload", "read_payload"]

_END_OF_DATA = b"\r\n.\r\n"


class DataBudget:
    """The payload bytes all sessions of one sink hold, against one limit (0 = none).

    The limit bounds what concurrent payloads hold *together*: a payload
    that is the only one held always fits (the SIZE limit bounds it), so a
    message up to the SIZE limit is never refused forever, only while
    others are in memory. Sessions run on one event loop, so plain integers
    suffice (no lock).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def claim(self) -> DataClaim:
        return DataClaim(self)


class DataClaim:
    """One payload's share of a ``DataBudget``; ``release`` gives it back (idempotent)."""

    __slots__ = ("_budget", "held")

    def __init__(self, budget: DataBudget) -> None:
        self._budget = budget
        self.held = 0

    def take(self, n: int) -> bool:
        """Hold ``n`` more bytes; False (holding nothing more) if they do not fit."""
        budget = self._budget
        if budget.limit and budget.used + n > budget.limit and budget.used != self.held:
            return False
        budget.used += n
        self.held += n
        return True

    def release(self) -> None:
        self._budget.used -= self.held
        self.held = 0


class Payload(NamedTuple):
    """What ``read_payload`` read: the bytes (None if refused), size, why refused."""

    raw: bytes | None
    size: int  # after dot-unstuffing, counted even when the bytes were dropped
    refused: str | None  # None, "size" (over the SIZE limit) or "budget" (memory)


async def read_payload(
    stream: asyncio.StreamReader, limit: int, transcript: Transcript, claim: DataClaim
) -> Payload | None:
    """The DATA payload up to CRLF "." CRLF, unstuffed.

    The bytes are ``None`` when they exceed ``limit`` (0 = none) or do not
    fit in ``claim``'s budget; the rest is still read up to the end of
    data. ``None`` overall when the client went away first. The bytes
    returned stay held in ``claim`` until the caller releases it (after
    storing them); on every other way out it is released here.

    It reads in bulk: ``readuntil(CRLF "." CRLF)`` on the real StreamReader
    (not the transcribing wrapper: the payload is not transcribed), so a
    message costs a few calls instead of one per line, and dot-unstuffing is
    one ``bytes.replace`` of LF "." at the end. The start of the data counts
    as following a CRLF, so a payload that starts with "." CRLF is empty;
    while the data so far ends in CRLF and fewer than 3 bytes are buffered
    (or the buffer cannot be peeked at), one line is read instead so the
    bulk read can never run past the end of data into pipelined commands;
    likewise after a fragment that ends in CR.
    """
    chunks: list[bytes] = []
    try:
        wire = 0  # payload bytes read, dot-stuffed
        dots = 0  # stuffing dots among them (a "." at the start or after an LF)
        tail = b"\r\n"  # the payload's last two bytes; the start counts as a CRLF
        refused: str | None = None
        done = False  # the bytes go to the caller, still held in claim
        while True:
            final = False
            try:
                if tail == b"\r\n":
                    buffered = getattr(stream, "_buffer", None)
                    if buffered is not None and len(buffered) >= 3:
                        if buffered.startswith(b".\r\n"):
                            await stream.readexactly(3)
                            break
                        piece = await stream.readuntil(_END_OF_DATA)
                        final = True
                    else:
                        piece = await stream.readuntil(b"\n")
                        if piece == b".\r\n":
                            break
                elif tail[-1:] == b"\r":  # the end's CRLF may straddle: finish the line
                    piece = await stream.readuntil(b"\n")
                else:
                    piece = await stream.readuntil(_END_OF_DATA)
                    final = True
            except asyncio.LimitOverrunError as exc:  # no end in sight: take what is buffered
                piece = await stream.read(exc.consumed)
            except asyncio.IncompleteReadError as exc:
                transcript.data_finished(wire - dots + len(exc.partial), complete=False)
                return None
            if final:
                piece = piece[:-3]  # keep the CRLF before "." CRLF
            if piece:
                n = piece.count(b"\n.")
                if tail[-1:] == b"\n" and piece[:1] == b".":
                    n += 1
                dots += n
                wire += len(piece)
                tail = (tail + piece[-2:])[-2:]
                if refused is None:
                    if limit and wire - dots > limit:
                        refused = "size"
                    elif not claim.take(len(piece)):
                        refused = "budget"
                    if refused is None:
                        chunks.append(piece)
                    else:  # drop it now; the client still sends the rest
                        chunks.clear()
                        claim.release()
            if final:
                break
        size = wire - dots
        if refused is not None:
            return Payload(None, size, refused)
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        if dots:
            if raw[:1] == b".":
                raw = raw[1:]
            raw = raw.replace(b"\n.", b"\n")
        done = True
        return Payload(raw, size, None)
    finally:
        # Every way out, a CancelledError (the client went away) included: a
        # cancelled session's frames can outlive it in a reference cycle, and
        # with them these chunks, until the cyclic GC happens to run.
        chunks.clear()
        if not done:
            claim.release()
