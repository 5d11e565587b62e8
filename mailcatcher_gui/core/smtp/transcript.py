"""The session transcript stored with every captured message.

Transcript per message (a choice, documented here): the session *prologue*
(greeting, EHLO, STARTTLS, AUTH: everything before the session's first MAIL)
plus every line since the previous message of the same session was stored
(so RSETs, rejected recipients and failed attempts in between stay visible).
If earlier messages were stored in the session, a ``*:`` note line says how
many are not shown. This keeps each transcript self-contained for debugging
while a session of 10 000 pipelined messages does not store O(n^2) lines.
Lines are ``"C: ..."`` (client), ``"S: ..."`` (server), ``"*: ..."``
(notes such as the TLS handshake) and ``"R: ..."`` (a rule that fired, e.g.
``R: rule "greylist" answered 451 ...``). The DATA payload is replaced by
``"C: <message data: N bytes>"`` (N = size after dot-unstuffing); AUTH
secrets (initial responses and every reply to a ``334`` challenge) become
``****``.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

__all__ = ["Transcript", "TranscribingReader"]


class Transcript:
    """Records one connection's command/reply lines (see this module's docstring)."""

    MAX_PROLOGUE = 100
    MAX_HEAD = 400
    MAX_TAIL = 100
    MAX_LINE = 1000  # characters kept of one line

    def __init__(self) -> None:
        self.ruled = False  # a rule fired in this session (there are R: lines)
        self._prologue: list[str] = []
        self._prologue_open = True
        self._head: list[str] = []
        self._tail: collections.deque[str] = collections.deque(maxlen=self.MAX_TAIL)
        self._dropped = 0
        self._stored_before = 0
        self._rollover_pending = False
        self._secret_next = False  # the next client line answers a 334 AUTH challenge
        self._partial = b""  # fragments of an overlong command line
        self._in_data = False

    # -- input from the wire --

    def received(self, chunk: bytes) -> None:
        """Bytes the session read from the client (one line or a fragment)."""
        if self._in_data:
            return  # the payload is summarised by data_finished()
        if not chunk.endswith(b"\n"):
            if len(self._partial) < self.MAX_LINE:
                self._partial += chunk[: self.MAX_LINE]
        else:
            line, self._partial = self._partial + chunk, b""
            self._command(line.rstrip(b"\r\n"))

    def sent(self, reply: str) -> None:
        """A reply line the session sent (without CRLF)."""
        self._append("S: " + reply)
        if reply.startswith("334"):
            self._secret_next = True
        if self._rollover_pending:
            self._rollover_pending = False
            self._rollover()

    def note(self, text: str) -> None:
        self._append("*: " + text)

    def rule(self, text: str) -> None:
        """A rule fired (``core/rules``): which rule answered, delayed, dropped..."""
        self.ruled = True  # the handler then copies the R: lines into the rule log
        self._append("R: " + text)

    def data_started(self) -> None:
        self._in_data = True

    def data_finished(self, size: int, *, complete: bool = True) -> None:
        """The DATA payload ended; record its size instead of its bytes."""
        self._in_data = False
        self._append(f"C: <message data: {size} bytes>")
        if complete:
            self._append("C: .")

    def message_stored(self) -> None:
        """The current message was committed; start a new segment after its reply."""
        self._rollover_pending = True

    def snapshot(self) -> tuple[str, ...]:
        lines = list(self._prologue)
        if self._stored_before:
            lines.append(f"*: {self._stored_before} earlier message(s) of this session not shown")
        lines.extend(self._head)
        if self._dropped:
            lines.append(f"*: {self._dropped} line(s) not shown")
        lines.extend(self._tail)
        return tuple(lines)

    # -- internals --

    def _command(self, line: bytes) -> None:
        text = line.decode("utf-8", "backslashreplace")
        if self._secret_next:
            self._secret_next = False
            text = "****"
        else:
            words = text.split()
            if words and words[0].upper() == "AUTH" and len(words) > 2:
                text = f"{words[0]} {words[1]} ****"
            elif self._prologue_open and words and words[0].upper() == "MAIL":
                self._prologue_open = False
        self._append("C: " + text)

    def _append(self, line: str) -> None:
        if len(line) > self.MAX_LINE:
            line = line[: self.MAX_LINE] + " [...]"
        if self._prologue_open and len(self._prologue) < self.MAX_PROLOGUE:
            self._prologue.append(line)
        elif len(self._head) < self.MAX_HEAD:
            self._head.append(line)
        else:
            if len(self._tail) == self._tail.maxlen:
                self._dropped += 1
            self._tail.append(line)

    def _rollover(self) -> None:
        self._prologue_open = False
        self._stored_before += 1
        self._head.clear()
        self._tail.clear()
        self._dropped = 0


class TranscribingReader:
    """Wraps the session's StreamReader so every line read is recorded.

    aiosmtpd reads commands with ``readuntil`` and AUTH responses with
    ``readline``; wrapping the reader catches all of them, including unknown
    or malformed commands that never reach an ``smtp_*`` method (the DATA
    payload is not recorded, see ``Transcript.data_started``). Everything
    else (aiosmtpd touches ``_transport`` and ``_buffer`` on STARTTLS) is
    delegated to the real reader.
    """

    __slots__ = ("_inner", "_transcript")
    _inner: asyncio.StreamReader
    _transcript: Transcript

    def __init__(self, inner: asyncio.StreamReader, transcript: Transcript) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "_transcript", transcript)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._inner, name, value)

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        data = await self._inner.readuntil(separator)
        self._transcript.received(data)
        return data

    async def readline(self) -> bytes:
        data = await self._inner.readline()
        self._transcript.received(data)
        return data

    async def read(self, n: int = -1) -> bytes:
        data = await self._inner.read(n)
        self._transcript.received(data)
        return data
