"""The SMTP sink: aiosmtpd sessions on the *running* asyncio loop.

``start_sink`` binds the listeners with ``loop.create_server`` on whatever
loop is running (plain asyncio for ``serve`` and the tests, qasync's
QEventLoop in the GUI), so there is no server thread and no cross-thread
hand-off: a session, its ``Mailbox.accept`` await and the ``250`` reply all
happen on that loop. aiosmtpd's ``Controller`` is deliberately not used (it
runs its own loop in a thread). Implicit TLS is a plain listener whose
sessions start with ``loop.start_tls``, so ``stop`` can reach connections
that are still handshaking.

Every accepted message becomes a ``Capture``: the raw bytes exactly as
received (after dot-unstuffing only; nothing is added or rewritten), the
envelope, who connected, TLS and AUTH facts and the session transcript. The
DATA payload loop is our own (``_SinkSMTP.smtp_DATA``): no line-length
limit, and dot-unstuffing with LF line semantics so bare-LF messages sent by
smtplib arrive unchanged; only CRLF "." CRLF ends the data.
``250 2.0.0 Ok: queued as <id>`` is sent only after the mailbox has
committed the message; a storage failure answers ``451`` so the client keeps
the message and retries.

Transcript per message (a choice, documented here): the session *prologue*
(greeting, EHLO, STARTTLS, AUTH: everything before the session's first MAIL)
plus every line since the previous message of the same session was stored
(so RSETs, rejected recipients and failed attempts in between stay visible).
If earlier messages were stored in the session, a ``*:`` note line says how
many are not shown. This keeps each transcript self-contained for debugging
while a session of 10 000 pipelined messages does not store O(n^2) lines.
Lines are ``"C: ..."`` (client), ``"S: ..."`` (server) and ``"*: ..."``
(notes such as the TLS handshake). The DATA payload is replaced by
``"C: <message data: N bytes>"`` (N = size after dot-unstuffing); AUTH
secrets (initial responses and every reply to a ``334`` challenge) become
``****``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import errno
import logging
import os
import re
import shutil
import socket
import ssl
import sys
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiosmtpd.smtp import MISSING, SMTP, Envelope, Session, TLSSetupException, syntax

from ..models import Capture, TlsInfo
from ..store.database import StoreError
from .auth import Authenticator, AuthMode, auth_user
from .tls import CertificateError, ensure_self_signed, server_context

if TYPE_CHECKING:  # the sink only needs Mailbox.accept
    from ..mailbox import Mailbox

__all__ = [
    "AuthMode",
    "PortInUse",
    "RunningSink",
    "SinkConfig",
    "SinkStartError",
    "parse_hostport",
    "start_sink",
]

log = logging.getLogger(__name__)

# The StreamReader limit: the longest command line read in one piece, and
# (x2) how much a connection buffers before reading pauses, which bounds how
# long one session can hold the loop (the GUI's) without yielding. DATA has
# no line-length limit at all (see _SinkSMTP.smtp_DATA).
_READ_LIMIT = 64 * 1024

_END_OF_DATA = b"\r\n.\r\n"

# The shape of nearly every MAIL FROM / RCPT TO path: an ASCII dot-atom local
# part and domain in angle brackets (RFC 5321 "Dot-string"), then parameters.
# ``_SinkSMTP._getaddr`` answers these itself; everything else (quoted local
# parts, domain literals, source routes, comments, UTF-8) goes to aiosmtpd.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_PATH = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>(.*)", re.DOTALL)

# How long ``stop`` lets a session that is committing a message finish, so a
# client that delivered a message gets its 250 instead of a dropped line.
_STOP_GRACE = 3.0

_HANDSHAKE_TIMEOUT = 30.0  # implicit TLS


# ---- configuration -----------------------------------------------------------


@dataclass(frozen=True)
class SinkConfig:
    smtp: tuple[str, int] = ("127.0.0.1", 1025)
    smtps: tuple[str, int] | None = None  # implicit TLS listener, off by default
    max_size: int = 50 * 1024 * 1024  # SIZE limit in bytes; 0 = unlimited
    auth: AuthMode = AuthMode("none")
    tls_cert: Path | None = None
    tls_key: Path | None = None  # None with tls_cert: the key is in the cert file
    cert_dir: Path | None = None  # where the self-signed cert lives when tls_cert is None
    accept_rcpt: str | None = None  # regex searched in each RCPT address; others get 550
    hostname: str = "mailcatcher-gui"
    idle_timeout: float = 300.0  # seconds a session may stay silent before it is closed


class SinkStartError(Exception):
    """The sink could not start; ``str()`` is a message for the user."""


class PortInUse(SinkStartError):
    """A listener's port is taken (typically another catcher is running)."""

    def __init__(self, host: str, port: int, flag: str) -> None:
        self.host = host
        self.port = port
        self.flag = flag
        super().__init__(
            f"port {port} on {_format_host(host)} is already in use ({flag}); "
            f"stop the other program or choose another port with {flag} HOST:PORT"
        )


def parse_hostport(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """Parse ``HOST:PORT``, ``:PORT``, ``[IPv6]:PORT`` or a bare ``PORT``.

    Port 0 is allowed (the OS picks a free port; ``RunningSink.listeners``
    reports it).
    """
    value = text.strip()
    if not value:
        raise ValueError("empty address: use HOST:PORT, :PORT or [IPv6]:PORT")
    if value.isdigit():
        host, port_text = default_host, value
    elif value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise ValueError(f"invalid address {text!r}: use [IPv6]:PORT, e.g. [::1]:1025")
        host, port_text = value[1:end], value[end + 2 :]
        if not host:
            raise ValueError(f"invalid address {text!r}: empty IPv6 address in brackets")
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ValueError(f"invalid address {text!r}: missing port; use HOST:PORT or :PORT")
        if ":" in host:
            raise ValueError(
                f"invalid address {text!r}: put IPv6 addresses in brackets, e.g. [::1]:1025"
            )
        host = host or default_host
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"invalid port {port_text!r} in {text!r}: must be 0-65535")
    return host, int(port_text)


def _format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _format_peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{_format_host(str(peer[0]))}:{peer[1]}"
    return "" if peer is None else str(peer)


def _clean(text: str | None) -> str:
    """Undo aiosmtpd's surrogateescape so invalid UTF-8 cannot break storage."""
    if not text:
        return ""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


# ---- transcript -------------------------------------------------------------


class Transcript:
    """Records one connection's command/reply lines (see the module docstring)."""

    MAX_PROLOGUE = 100
    MAX_HEAD = 400
    MAX_TAIL = 100
    MAX_LINE = 1000  # characters kept of one line

    def __init__(self) -> None:
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


class _TranscribingReader:
    """Wraps the session's StreamReader so every line read is recorded.

    aiosmtpd reads commands with ``readuntil`` and AUTH responses with
    ``readline``; wrapping the reader catches all of them, including unknown
    or malformed commands that never reach an ``smtp_*`` method (the DATA
    payload is not recorded, see ``Transcript.data_started``). Everything
    else (aiosmtpd touches ``_transport`` and ``_buffer`` on STARTTLS) is
    delegated to the real reader.
    """

    __slots__ = ("_inner", "_transcript")

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


# ---- the SMTP session -------------------------------------------------------


class _QuietSession(Session):
    """aiosmtpd's Session logs a deprecation warning whenever AUTH succeeds
    (it still fills ``login_data`` itself); keep the value, drop the noise."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class _SinkSMTP(SMTP):
    """One SMTP connection: aiosmtpd plus transcript, TLS facts and AUTH policy."""

    line_length_limit = _READ_LIMIT

    def __init__(
        self,
        handler: _SinkHandler,
        *,
        sessions: set[_SinkSMTP],
        implicit_tls: ssl.SSLContext | None,
        auth: AuthMode,
        **kwargs: Any,
    ) -> None:
        # aiosmtpd keeps command_size_limits on the class and mutates it per
        # EHLO, so concurrent connections would share it; give each its own.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        self.transcript = Transcript()
        self.implicit_tls = implicit_tls is not None
        self.storing = False
        self._implicit_context = implicit_tls
        self._raw_transport: asyncio.BaseTransport | None = None  # implicit TLS: the TCP transport
        self._handshake: asyncio.Task | None = None
        self._eof_early = self._lost_early = False
        self._auth_mode = auth
        # HELP lists AUTH only when it is on (no auth_ prefix: aiosmtpd treats
        # every auth_* attribute as a mechanism).
        self.offers_auth = auth.enabled
        self._sessions = sessions
        super().__init__(handler, **kwargs)

    _collecting: list[str] | None = None  # EHLO reply lines being gathered (smtp_EHLO)
    _dir_cache: list[str] | None = None
    _hold_replies = False  # inside MAIL/RCPT/RSET: a reply may wait for the next one
    _held: list[str] | None = None  # replies held back (RFC 2920 section 3.1)
    _deadline = 0.0  # when the session counts as idle (see _reset_timeout)
    _timer_due = 0.0  # when the running idle timer fires

    def __dir__(self) -> list[str]:
        """Only the ``smtp_*`` and ``auth_*`` names.

        aiosmtpd's ``SMTP.__init__`` runs ``inspect.getmembers(self)`` and
        ``dir(self)`` on every connection only to find those (commands and
        AUTH mechanisms); over the full ``dir`` that is most of the cost of
        a connection. The list depends only on the class, so it is cached.
        """
        cls = type(self)
        if cls.__dict__.get("_dir_cache") is None:
            cls._dir_cache = [n for n in dir(cls) if n.startswith(("smtp_", "auth_"))]
        return list(cls._dir_cache)  # type: ignore[arg-type]

    def _create_session(self) -> Session:
        return _QuietSession(self.loop)

    def _cb_client_connected(self, reader, writer) -> None:
        super()._cb_client_connected(reader, writer)
        self._stream = reader  # the real reader: DATA is read from it directly
        self._reader = _TranscribingReader(reader, self.transcript)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._implicit_context is not None and self._raw_transport is None:
            # Implicit TLS: the listener is plain TCP and the handshake is done
            # here with loop.start_tls, so a stop() can reach (and abort) a
            # connection that is still handshaking; create_server(ssl=...)
            # hides those until the handshake ends.
            self._raw_transport = transport
            self._sessions.add(self)
            self._handshake = self.loop.create_task(self._implicit_handshake(transport))
            return
        first = self.transport is None
        super().connection_made(transport)
        if first:
            self._sessions.add(self)
            if self._handler_coroutine is not None:
                self._handler_coroutine.add_done_callback(_consume_result)
        info = self.tls_info()
        if info is not None:
            kind = "implicit TLS" if info.implicit else "STARTTLS"
            self.transcript.note(
                f"TLS established ({kind}): {info.version} {info.cipher}, {info.bits} bits"
            )

    async def _implicit_handshake(self, raw: asyncio.BaseTransport) -> None:
        assert self._implicit_context is not None
        try:
            tls_transport = await self.loop.start_tls(
                raw,
                self,
                self._implicit_context,
                server_side=True,
                ssl_handshake_timeout=_HANDSHAKE_TIMEOUT,
            )
        except asyncio.CancelledError:
            self._end_handshake(raw)
            raise
        except Exception as exc:  # any handshake failure ends just this connection
            log.warning("implicit TLS handshake with %s failed: %s", _peer_of(raw), exc)
            self._end_handshake(raw)
            return
        if tls_transport is None or self._lost_early:
            self._end_handshake(raw)
            return
        self.connection_made(tls_transport)
        if self._eof_early and self.transport is not None:
            self.transport.close()

    def _end_handshake(self, raw: asyncio.BaseTransport) -> None:
        raw.abort()
        self._sessions.discard(self)

    def eof_received(self) -> bool | None:
        if self.session is None:
            # Implicit TLS: the peer closed between the handshake and our
            # connection_made; aiosmtpd would trip over the missing session.
            self._eof_early = True
            return False
        return super().eof_received()

    def connection_lost(self, error: Exception | None) -> None:
        if self.session is None:  # see eof_received
            self._lost_early = True
            self._sessions.discard(self)
            return
        try:
            super().connection_lost(error)
        finally:
            self._sessions.discard(self)

    async def push(self, status: str | bytes) -> None:
        """Send a reply, or hold it back while the client's pipeline goes on.

        RFC 2920 lets a server buffer replies to MAIL, RCPT and RSET while
        further commands are already waiting in its input; the held replies go
        out together with the next reply that is sent (the one to DATA, at
        the latest), so a pipelined MAIL/RCPT/DATA costs one write instead
        of three. A reply is only held while a *complete* command line is
        buffered: that line is read without waiting and always answered.
        """
        text = status.decode("utf-8", "replace") if isinstance(status, bytes) else status
        if self._collecting is not None:
            self._collecting.append(text)
            return
        for line in text.split("\r\n"):  # a multi-line reply goes out in one write
            self.transcript.sent(line)
        held = self._held
        if self._hold_replies:
            buffered = getattr(self._stream, "_buffer", None)
            if buffered is not None and b"\n" in buffered:
                if held is None:
                    self._held = [text]
                else:
                    held.append(text)
                return
        if held:
            self._held = None
            held.append(text)
            text = "\r\n".join(held)
        # aiosmtpd's push, without its per-reply debug log call and with the
        # drain awaited only when the transport asked us to pause writing.
        self._writer.write(text.encode("utf-8" if self.enable_SMTPUTF8 else "ascii") + b"\r\n")
        if self._paused or self._writer.transport.is_closing():
            await self._writer.drain()

    async def _pipelinable(self, command: Any, arg: str | None) -> None:
        self._hold_replies = True
        try:
            await command(arg)
        finally:
            self._hold_replies = False

    # The same HELP syntax as aiosmtpd's own methods.
    @syntax("MAIL FROM: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_MAIL(self, arg: str | None) -> None:
        await self._pipelinable(super().smtp_MAIL, arg)

    @syntax("RCPT TO: <address>", extended=" [SP <mail-parameters>]")
    async def smtp_RCPT(self, arg: str | None) -> None:
        await self._pipelinable(super().smtp_RCPT, arg)

    @syntax("RSET")
    async def smtp_RSET(self, arg: str | None) -> None:
        await self._pipelinable(super().smtp_RSET, arg)

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        """aiosmtpd's path parser, with a fast lane for ``<local@domain>``.

        aiosmtpd runs the ``email`` header parser on every MAIL and RCPT
        (and defines a class each time), about a quarter of the loop's time
        per message under load. For a plain dot-atom path the answer is
        known without it: the address, and the rest with leading
        whitespace removed (as the header parser's CFWS rule does). Anything
        else, including a rest that starts with a comment, takes aiosmtpd's
        path; ``tests/test_sink_getaddr.py`` checks the two agree.
        """
        match = _SIMPLE_PATH.match(arg) if arg else None
        if match is not None:
            rest = match.group(2)
            if rest[:1] in (" ", "\t"):
                rest = rest.lstrip()
            if not rest.startswith("("):
                address = match.group(1)
                limit = self.local_part_limit
                if limit and len(address.rpartition("@")[0]) > limit:
                    return None, None
                return address, rest
        return super()._getaddr(arg)

    def _reset_timeout(self, duration: float | None = None) -> None:
        """Push the idle timeout back without a new timer per command.

        aiosmtpd cancels and re-creates a loop timer for every command (under
        qasync each one is a Qt timer); here the running timer stays and
        ``_timeout_cb`` re-arms it for the remaining time if the deadline
        moved. A new timer is only made when the deadline comes *earlier*
        (or there is none yet). The due time is kept here because qasync's
        timer handles have no ``when()``.
        """
        delay = duration or self._timeout_duration
        deadline = self.loop.time() + delay
        self._deadline = deadline
        handle = self._timeout_handle
        if handle is None or handle.cancelled() or self._timer_due > deadline:
            if handle is not None:
                handle.cancel()
            self._timer_due = deadline
            self._timeout_handle = self.loop.call_later(delay, self._timeout_cb)

    def _timeout_cb(self) -> None:
        remaining = self._deadline - self.loop.time()
        if remaining > 0:
            self._timer_due = self._deadline
            self._timeout_handle = self.loop.call_later(remaining, self._timeout_cb)
            return
        super()._timeout_cb()

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        """aiosmtpd's EHLO, plus PIPELINING, minus AUTH when it is off, in ONE write.

        aiosmtpd reads the stream line by line, so pipelined commands work;
        it just does not say so. Its reply lines are gathered and sent
        together (aiosmtpd would send each line with its own ``send()``).
        """
        self._collecting = lines = []
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._collecting = None
        if lines and lines[-1].startswith("250 "):
            if not self._auth_mode.enabled:
                lines = [r for r in lines if not r.startswith(("250-AUTH", "250 AUTH"))]
            lines.insert(len(lines) - 1, "250-PIPELINING")
        if lines:
            await self.push("\r\n".join(lines))

    def tls_info(self) -> TlsInfo | None:
        transport = self.transport
        if transport is None:
            return None
        ssl_object = transport.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        cipher = ssl_object.cipher()
        return TlsInfo(
            version=ssl_object.version() or "",
            cipher=cipher[0] if cipher else "",
            bits=cipher[2] if cipher else None,
            implicit=self.implicit_tls,
        )

    async def check_auth_needed(self, caller_method: str) -> bool:
        # aiosmtpd's own auth_required warns when TLS is not required too; the
        # sink allows plaintext AUTH on purpose (a loopback dev tool).
        if self._auth_mode.required and not (self.session and self.session.authenticated):
            await self.push("530 5.7.0 Authentication required")
            return True
        return False

    @syntax("AUTH <mechanism>", when="offers_auth")
    async def smtp_AUTH(self, arg: str) -> None:
        if not self._auth_mode.enabled:
            await self.push("502 5.5.1 AUTH is not enabled on this server")
            return
        await super().smtp_AUTH(arg)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str) -> None:
        """aiosmtpd's DATA, with the payload loop replaced.

        Lines for dot-unstuffing are LF-terminated, as Python's smtplib (it
        stuffs a dot after a bare LF too) and Postfix see them, so a message
        with bare LFs is stored exactly as the client had it. The end of data
        is still only CRLF "." CRLF (a "." after a bare LF never ends the
        data: no SMTP smuggling). There is no line-length limit (aiosmtpd
        refuses lines over 1000 octets; a catcher should show such a message,
        not bounce it), only the SIZE limit, which counts stored bytes.
        """
        if await self.check_helo_needed():
            return
        if await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        self.transcript.data_started()
        limit = self.data_size_limit or 0
        payload = await self._read_payload(limit)
        if payload is None:  # the client went away mid-message
            if self.transport is not None:
                self.transport.close()
            return
        raw, size = payload
        self.transcript.data_finished(size)
        if raw is None:
            self._set_post_data_state()
            await self.push(f"552 5.3.4 Error: message exceeds the maximum size of {limit} bytes")
            return
        self.envelope.content = raw
        self.envelope.original_content = raw
        status = await self._call_handler_hook("DATA")
        self._set_post_data_state()
        await self.push("250 OK" if status is MISSING else status)

    async def _read_payload(self, limit: int) -> tuple[bytes | None, int] | None:
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
        stream = self._stream
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
                self.transcript.data_finished(wire - dots + len(exc.partial), complete=False)
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

    def shut_down(self) -> None:
        """Tell the client we are going away and close the connection now."""
        transport = self.transport
        if transport is None or self.implicit_tls or self._tls_protocol is not None:
            # Handshaking, or TLS: a TLS close waits for the peer's
            # close_notify (up to 30 s); a stopping server must not hang on
            # an idle client, so TLS sessions are cut off.
            self.abort()
            return
        if not transport.is_closing():
            with contextlib.suppress(Exception):  # best effort only
                transport.write(b"421 4.3.2 Service shutting down\r\n")
        transport.close()

    def abort(self) -> None:
        for transport in (self.transport, self._original_transport, self._raw_transport):
            if transport is not None:
                transport.abort()

    @property
    def tasks(self) -> list[asyncio.Task]:
        return [t for t in (self._handshake, self._handler_coroutine) if t is not None]


def _peer_of(transport: asyncio.BaseTransport) -> str:
    return _format_peer(transport.get_extra_info("peername"))


def _consume_result(task: asyncio.Task) -> None:
    """Retrieve a finished session task's exception so it is not reported as lost."""
    if not task.cancelled() and task.exception() is not None:
        log.debug("SMTP session ended with %r", task.exception())


class _SinkHandler:
    """aiosmtpd handler hooks: recipient rule, storage.

    There is deliberately no ``handle_EHLO`` (the EHLO reply is shaped in
    ``_SinkSMTP.smtp_EHLO``): with one, aiosmtpd runs ``inspect.signature``
    on it for every connection.
    """

    _members = ("handle_DATA", "handle_RCPT", "handle_exception")

    def __dir__(self) -> list[str]:
        # aiosmtpd scans dir(handler) per connection for handle_* / auth_*.
        return list(self._members)

    def __init__(self, mailbox: Mailbox, config: SinkConfig, rcpt_rule: re.Pattern | None):
        self._mailbox = mailbox
        self._config = config
        self._rcpt_rule = rcpt_rule

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            # Typically a client that does not trust the certificate: worth a
            # line, not a traceback. aiosmtpd closes the connection itself.
            log.warning("STARTTLS handshake failed: %s", error.__cause__ or error)
            return "454 4.7.0 TLS handshake failed"
        log.exception("SMTP session error")
        return f"500 Error: ({type(error).__name__}) {error}"

    async def handle_RCPT(
        self,
        server: _SinkSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._rcpt_rule is not None and not self._rcpt_rule.search(address):
            return f"550 5.1.1 <{address}>: recipient rejected by this mail catcher's rules"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: _SinkSMTP, session: Session, envelope: Envelope) -> str:
        mail_from = _clean(envelope.mail_from)
        capture = Capture(
            raw=envelope.original_content or b"",
            envelope_from="" if mail_from == "<>" else mail_from,  # null reverse-path
            envelope_to=tuple(_clean(a) for a in envelope.rcpt_tos),
            received_at=datetime.now(UTC),
            peer=_format_peer(session.peer),
            helo=_clean(session.host_name),
            tls=server.tls_info(),
            auth_user=auth_user(session.auth_data) if session.authenticated else None,
            transcript=server.transcript.snapshot(),
            source="smtp",
        )
        server.storing = True
        try:
            message_id = await self._mailbox.accept(capture)
        except Exception as exc:
            log.error(
                "could not store a %d-byte message from %s; replied 451: %s",
                len(capture.raw),
                capture.peer,
                exc,
                exc_info=not isinstance(exc, StoreError),  # the environment needs no traceback
            )
            return "451 4.3.0 Error: could not store the message, please try again later"
        finally:
            server.storing = False
        server.transcript.message_stored()
        log.info(
            "stored message %d (%d bytes) from %s, envelope %s -> %s",
            message_id,
            len(capture.raw),
            capture.peer,
            capture.envelope_from or "<>",
            ", ".join(capture.envelope_to),
        )
        return f"250 2.0.0 Ok: queued as {message_id}"


# ---- starting and stopping ---------------------------------------------------


class RunningSink:
    """Handle for started listeners; ``stop`` closes them and every open session."""

    def __init__(
        self,
        servers: list[asyncio.Server],
        gates: list[_GatedSocket],
        listeners: list[tuple[str, str, int]],
        sessions: set[_SinkSMTP],
        certificate: Path,
        temp_dir: Path | None,
    ) -> None:
        self.listeners = listeners
        self.certificate = certificate  # the PEM certificate clients see (trust this one)
        self._servers = servers
        self._gates = gates
        self._sessions = sessions
        self._temp_dir = temp_dir
        self._stopped = False

    def port(self, kind: str = "smtp") -> int:
        """The real port of the first ``kind`` ("smtp" | "smtps") listener."""
        for k, _host, port in self.listeners:
            if k == kind:
                return port
        raise LookupError(f"no {kind} listener")

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        # Stop accepting, let connections accepted until now attach to their
        # server (one loop iteration, see _GatedSocket), then close the
        # listeners; one more iteration runs their connection_made so every
        # session is registered and gets closed below.
        for gate in self._gates:
            gate.accepting = False
        await asyncio.sleep(0)
        for server in self._servers:
            server.close()
        for _ in range(2):
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _STOP_GRACE
        while any(s.storing for s in self._sessions) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await _close_sessions(self._sessions)
        for server in self._servers:
            await server.wait_closed()
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
        log.info("SMTP sink stopped")


async def _close_sessions(sessions: set[_SinkSMTP]) -> None:
    loop = asyncio.get_running_loop()
    live = list(sessions)
    for session in live:
        session.shut_down()
    deadline = loop.time() + 2.0
    while sessions and loop.time() < deadline:
        await asyncio.sleep(0.005)
    for session in list(sessions):  # a client that does not read: force it
        session.abort()
    while sessions and loop.time() < deadline + 1.0:
        await asyncio.sleep(0.005)
    tasks = [task for s in live for task in s.tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def start_sink(config: SinkConfig, mailbox: Mailbox) -> RunningSink:
    """Start the listeners on the running loop; ``SinkStartError`` with a clear message."""
    loop = asyncio.get_running_loop()
    rcpt_rule = _compile_rcpt_rule(config.accept_rcpt)
    if config.max_size < 0:
        raise SinkStartError(f"invalid maximum message size {config.max_size}: must be >= 0")
    tls_context, certificate, temp_dir = _tls_setup(config)
    handler = _SinkHandler(mailbox, config, rcpt_rule)
    sessions: set[_SinkSMTP] = set()
    authenticator = Authenticator(config.auth)

    def factory(implicit_tls: bool):
        def make() -> _SinkSMTP:
            return _SinkSMTP(
                handler,
                sessions=sessions,
                implicit_tls=tls_context if implicit_tls else None,
                auth=config.auth,
                hostname=config.hostname,  # else aiosmtpd calls getfqdn() per connection
                ident="ESMTP ready",
                timeout=config.idle_timeout,
                data_size_limit=config.max_size or None,
                enable_SMTPUTF8=True,
                decode_data=False,
                tls_context=None if implicit_tls else tls_context,
                auth_require_tls=False,
                authenticator=authenticator,
                loop=loop,
            )

        return make

    wanted = [("smtp", config.smtp, "--smtp", factory(False))]
    if config.smtps is not None:
        wanted.append(("smtps", config.smtps, "--smtps", factory(True)))
    servers: list[asyncio.Server] = []
    gates: list[_GatedSocket] = []
    listeners: list[tuple[str, str, int]] = []
    try:
        for kind, address, flag, make in wanted:
            for sock in await _bind(loop, address, flag):
                gates.append(sock)
                name = sock.getsockname()
                listeners.append((kind, str(name[0]), int(name[1])))
                servers.append(await loop.create_server(make, sock=sock))
    except BaseException:
        for server in servers:
            server.close()
        for sock in gates:
            sock.close()
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    log.info(
        "SMTP sink listening on %s (STARTTLS, max size %d, auth %s)",
        ", ".join(f"{k} {_format_host(h)}:{p}" for k, h, p in listeners),
        config.max_size,
        config.auth.describe(),
    )
    return RunningSink(servers, gates, listeners, sessions, certificate, temp_dir)


def _compile_rcpt_rule(pattern: str | None) -> re.Pattern | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SinkStartError(f"invalid recipient rule {pattern!r}: {exc}") from exc


def _tls_setup(config: SinkConfig) -> tuple[ssl.SSLContext, Path, Path | None]:
    """The server TLS context, the certificate path and a temp dir to remove on stop."""
    temp_dir: Path | None = None
    try:
        if config.tls_cert is not None:
            cert = Path(config.tls_cert)
            key = Path(config.tls_key) if config.tls_key is not None else cert
        elif config.tls_key is not None:
            raise SinkStartError("a TLS key was given without its certificate")
        else:
            cert_dir = config.cert_dir
            if cert_dir is None:
                temp_dir = cert_dir = Path(tempfile.mkdtemp(prefix="mailcatcher-tls-"))
            cert, key = ensure_self_signed(cert_dir)
        return server_context(cert, key), cert, temp_dir
    except CertificateError as exc:
        if temp_dir is not None:
            shutil.rmtree(temp_dir, ignore_errors=True)
        raise SinkStartError(str(exc)) from exc


class _GatedSocket(socket.socket):
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


async def _bind(
    loop: asyncio.AbstractEventLoop, address: tuple[str, int], flag: str
) -> list[_GatedSocket]:
    """Bound, listening sockets for every address ``host`` resolves to (like create_server)."""
    host, port = address
    where = f"{_format_host(host)}:{port} ({flag})"
    try:
        infos = await loop.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise SinkStartError(f"cannot listen on {where}: unknown host {host!r}") from exc
    socks: list[_GatedSocket] = []
    try:
        for family, type_, proto, _name, sockaddr in dict.fromkeys(infos):
            sock = _GatedSocket(family, type_, proto)
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
