"""Reading the DATA payload: bulk reads, dot-unstuffing, the SIZE limit.

The sink's own payload loop (aiosmtpd's reads line by line and refuses
lines over 1000 octets): no line-length limit, and dot-unstuffing with LF
line semantics so bare-LF messages sent by smtplib arrive unchanged; only
CRLF "." CRLF ends the data (no SMTP smuggling).
"""

from __future__ import annotations

import asyncio

from .transcript import Transcript

__all__ = ["read_payload"]

_END_OF_DATA = b"\r\n.\r\n"


async def read_payload(
    stream: asyncio.StreamReader, limit: int, transcript: Transcript
) -> tuple[bytes | None, int] | None:
    """The DATA payload up to CRLF "." CRLF: ``(unstuffed bytes, size)``.

    The bytes are ``None`` when they exceed ``limit`` (0 = none; the rest
    is still read up to the end of data); ``None`` overall when the
    client went away first. It reads in bulk: ``readuntil(CRLF "." CRLF)``
    on the real StreamReader (not the transcribing wrapper: the payload is
    not transcribed), so a message costs a few calls instead of one per
    line, and dot-unstuffing is one ``bytes.replace`` of LF "." at the
    end. The start of the data counts as following a CRLF, so a payload
    that starts with "." CRLF is empty; while the data so far ends in
    CRLF and fewer than 3 bytes are buffered (or the buffer cannot be
    peeked at), one line is read instead so the bulk read can never run
    past the end of data into pipelined commands; likewise after a
    fragment that ends in CR.
    """
    chunks: list[bytes] = []
    wire = 0  # payload bytes read, dot-stuffed
    dots = 0  # stuffing dots among them (a "." at the start or after an LF)
    tail = b"\r\n"  # the payload's last two bytes; the start counts as a CRLF
    too_big = False
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
            if not too_big:
                if limit and wire - dots > limit:
                    too_big = True
                    chunks.clear()  # drop it now; the client still sends the rest
                else:
                    chunks.append(piece)
        if final:
            break
    size = wire - dots
    if too_big:
        return None, size
    raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
    chunks.clear()
    if dots:
        if raw[:1] == b".":
            raw = raw[1:]
        raw = raw.replace(b"\n.", b"\n")
    return raw, size
