"""One SMTP connection: aiosmtpd's ``SMTP`` protocol with the sink's changes.

aiosmtpd does the command parsing and state machine; the subclass adds the
transcript, TLS facts, the AUTH policy, implicit TLS started with
``loop.start_tls`` (so ``stop`` can reach connections still handshaking),
RFC 2920 reply batching, our own DATA payload loop (``payload.py``) and
fast lanes for the per-connection and per-command costs that dominated a
burst. The rule stages are in its base class ``RuleHooks`` (rule_hooks.py).
The private aiosmtpd names it overrides or calls are fenced by
``tests/test_private_apis.py``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import re
import ssl
from typing import TYPE_CHECKING, Any, cast

from aiosmtpd.smtp import MISSING, SMTP, Session, syntax

from ..models import TlsInfo
from .auth import AuthMode
from .config import format_peer
from .payload import DataBudget, read_payload
from .rule_hooks import RuleHooks
from .transcript import TranscribingReader, Transcript

if TYPE_CHECKING:
    from .handler import SinkHandler

__all__ = ["SinkSMTP"]

log = logging.getLogger(__name__)

# The StreamReader limit: the longest command line read in one piece, and
# (x2) how much a connection buffers before reading pauses, which bounds how
# long one session can hold the loop (the GUI's) without yielding. DATA has
# no line-length limit at all (see payload.read_payload).
_READ_LIMIT = 64 * 1024

# The shape of nearly every MAIL FROM / RCPT TO path: an ASCII dot-atom local
# part and domain in angle brackets (RFC 5321 "Dot-string"), then parameters.
# ``SinkSMTP._getaddr`` answers these itself; everything else (quoted local
# parts, domain literals, source routes, comments, UTF-8) goes to aiosmtpd.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_SIMPLE_PATH = re.compile(rf"<({_ATEXT}(?:\.{_ATEXT})*@{_ATEXT}(?:\.{_ATEXT})*)>(.*)", re.DOTALL)

_HANDSHAKE_TIMEOUT = 30.0  # implicit TLS


class _QuietSession(Session):
    """aiosmtpd's Session logs a deprecation warning whenever AUTH succeeds
    (it still fills ``login_data`` itself); keep the value, drop the noise."""

    @property
    def login_data(self) -> Any:
        return self._login_data

    @login_data.setter
    def login_data(self, value: Any) -> None:
        self._login_data = value


class SinkSMTP(RuleHooks):
    """One SMTP connection: aiosmtpd plus transcript, TLS facts, AUTH policy, rules."""

    line_length_limit = _READ_LIMIT

    def __init__(
        self,
        handler: SinkHandler,
        *,
        sessions: set[SinkSMTP],
        implicit_tls: ssl.SSLContext | None,
        auth: AuthMode,
        data_budget: DataBudget,
        **kwargs: Any,
    ) -> None:
        # aiosmtpd keeps command_size_limits on the class and mutates it per
        # EHLO, so concurrent connections would share it; give each its own.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        self.transcript = Transcript()
        self.implicit_tls = implicit_tls is not None
        self.storing = False
        self._implicit_context = implicit_tls
        self._raw_transport: asyncio.Transport | None = None  # implicit TLS: the TCP transport
        self._handshake: asyncio.Task[None] | None = None
        self._eof_early = self._lost_early = False
        self._auth_mode = auth
        # HELP lists AUTH only when it is on (no auth_ prefix: aiosmtpd treats
        # every auth_* attribute as a mechanism).
        self.offers_auth = auth.enabled
        self._sessions = sessions
        self._data_budget = data_budget
        super().__init__(handler, **kwargs)

    _collecting: list[str] | None = None  # EHLO reply lines being gathered (smtp_EHLO)
    _dir_cache: list[str] | None = None
    _hold_replies = False  # inside MAIL/RCPT/RSET: a reply may wait for the next one
    _held: list[str] | None = None  # replies held back (RFC 2920 section 3.1)
    _deadline = 0.0  # when the session counts as idle (see _reset_timeout)
    _timer_due = 0.0  # when the running idle timer fires
    _paused: bool  # set by asyncio's FlowControlMixin (not in typeshed): writing is paused

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

    def _cb_client_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super()._cb_client_connected(reader, writer)
        self._stream = reader  # the real reader: DATA is read from it directly
        # A duck-typed wrapper: aiosmtpd only calls readuntil/readline/read on
        # it; every other attribute is delegated to the real reader.
        self._reader = TranscribingReader(reader, self.transcript)  # type: ignore[assignment]

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if self._implicit_context is not None and self._raw_transport is None:
            # Implicit TLS: the listener is plain TCP and the handshake is done
            # here with loop.start_tls, so a stop() can reach (and abort) a
            # connection that is still handshaking; create_server(ssl=...)
            # hides those until the handshake ends.
            # create_server hands its protocols a (TCP) Transport.
            raw = self._raw_transport = cast(asyncio.Transport, transport)
            self._sessions.add(self)
            self._handshake = self.loop.create_task(self._implicit_handshake(raw))
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

    async def _implicit_handshake(self, raw: asyncio.Transport) -> None:
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

    def _end_handshake(self, raw: asyncio.Transport) -> None:
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
        super()._timeout_cb()  # type: ignore[no-untyped-call]  # aiosmtpd leaves it unannotated

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        """aiosmtpd's EHLO, plus PIPELINING, minus AUTH when it is off, in ONE write.

        aiosmtpd reads the stream line by line, so pipelined commands work;
        it just does not say so. Its reply lines are gathered and sent
        together (aiosmtpd would send each line with its own ``send()``).
        """
        lines: list[str] = []
        self._collecting = lines
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

    @syntax("STARTTLS", when="tls_context")
    async def smtp_STARTTLS(self, arg: str) -> None:
        """aiosmtpd's STARTTLS, refused inside TLS (after STARTTLS, or on SMTPS).

        RFC 3207: a second STARTTLS is a bad sequence of commands. aiosmtpd
        would answer ``220`` and then fail to start TLS over TLS (an asyncio
        traceback); on the implicit-TLS listener it answered ``454``.
        """
        if self.implicit_tls or self._tls_protocol is not None:
            await self.push("503 5.5.1 Error: TLS is already active")
            return
        await super().smtp_STARTTLS(arg)

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
        not bounce it), only the SIZE limit, which counts stored bytes (552),
        and the memory budget shared by all connections (452, see payload.py).
        The payload's share of the budget is held until it is stored.
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
        claim = self._data_budget.claim()
        try:
            payload = await read_payload(self._stream, limit, self.transcript, claim)
            if payload is None:  # the client went away mid-message
                if self.transport is not None:
                    self.transport.close()
                return
            self.transcript.data_finished(payload.size)
            if payload.raw is None:
                self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated upstream
                await self.push(self._refusal(payload.refused, payload.size, limit))
                return
            self.envelope.content = self.envelope.original_content = payload.raw
            del payload
            try:
                status = await self._call_handler_hook("DATA")
            finally:  # stored (or not): the bytes are no longer held here
                self.envelope.content = self.envelope.original_content = None
                claim.release()
            self._set_post_data_state()  # type: ignore[no-untyped-call]  # unannotated upstream
            await self.push("250 OK" if status is MISSING else status)
        finally:
            claim.release()

    def _refusal(self, why: str | None, size: int, limit: int) -> str:
        if why == "budget":
            log.warning(
                "refused a %d-byte message from %s with 452: unfinished messages already "
                "hold the sink's DATA memory budget of %d bytes",
                size,
                format_peer(self.session.peer if self.session else None),
                self._data_budget.limit,
            )
            return (
                "452 4.3.1 Insufficient system storage: too much mail is arriving at once, "
                "try again later"
            )
        return f"552 5.3.4 Error: message exceeds the maximum size of {limit} bytes"

    def shut_down(self) -> None:
        """Tell the client we are going away and close the connection now."""
        transport = cast("asyncio.Transport | None", self.transport)
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
                cast(asyncio.Transport, transport).abort()

    @property
    def tasks(self) -> list[asyncio.Task[None]]:
        return [t for t in (self._handshake, self._handler_coroutine) if t is not None]


def _peer_of(transport: asyncio.BaseTransport) -> str:
    return format_peer(transport.get_extra_info("peername"))


def _consume_result(task: asyncio.Task[None]) -> None:
    """Retrieve a finished session task's exception so it is not reported as lost.

    A cancelled session (the client went away, often in the middle of DATA)
    keeps its CancelledError, whose traceback holds every frame of the
    session in a reference cycle through the protocol object: only the
    cyclic GC would free them, and whatever they refer to. Taking the error
    out of the task and dropping its traceback frees them now.
    """
    if task.cancelled():
        try:
            task.result()
        except asyncio.CancelledError as exc:
            exc.__traceback__ = None
        return
    error = task.exception()
    if error is not None:
        log.debug("SMTP session ended with %r", error)
