"""Real SMTP servers for the sending tests (imported by test_sending_*.py).

Everything runs on one asyncio loop in a background thread, so both the
async API (``asyncio.run`` in the test) and the blocking API / CLI can talk
to the servers. The well-behaved servers are aiosmtpd with small handlers;
the misbehaving ones (silent, hanging up) are raw asyncio protocols, because
those faults are below what an SMTP library lets you express.

This module holds no tests; pytest collects it and finds none.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, LoginPassword
from tls_helpers import make_test_ca

USER = "alice"
PASSWORD = "s3cret-Pa55word!"


# ---- certificates -------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx


def make_pki(directory: Path, names: tuple[str, ...] = ("localhost", "127.0.0.1")) -> Pki:
    """A throwaway CA and a server certificate for ``names`` (DNS names or IPs)."""
    return Pki(*make_test_ca(directory, names))


# ---- the loop thread ------------------------------------------------------


class LoopThread:
    """An event loop running in a daemon thread; servers live here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._servers: list[asyncio.Server] = []
        self._protocols: list[Any] = []

    def __enter__(self) -> LoopThread:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.call(self._shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()

    def call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _shutdown(self) -> None:
        for server in self._servers:
            server.close()
        # Close what is still connected (a client that hung up mid-way, a
        # server we made hang): no transports left for the loop to complain about.
        for protocol in self._protocols:
            transport = getattr(protocol, "transport", None)
            if transport is not None and not transport.is_closing():
                transport.close()
        for server in self._servers:
            await server.wait_closed()
        for _ in range(3):
            await asyncio.sleep(0)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def serve(self, factory: Callable[[], asyncio.BaseProtocol], ssl_ctx=None) -> int:
        def tracked() -> asyncio.BaseProtocol:
            protocol = factory()
            self._protocols.append(protocol)
            return protocol

        async def start() -> asyncio.Server:
            return await self.loop.create_server(tracked, "127.0.0.1", 0, ssl=ssl_ctx)

        server = self.call(start())
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]


# ---- well-behaved servers (aiosmtpd) ------------------------------------------


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes  # exactly as received, dot-unstuffed
    mail_options: list[str]
    tls: bool
    auth_user: str | None


@dataclass
class RecordingHandler:
    """Accepts mail and remembers it; can refuse recipients or the data."""

    refuse: set[str] = field(default_factory=set)
    refuse_senders: set[str] = field(default_factory=set)
    data_reply: str | None = None  # e.g. "421 4.3.2 shutting down" at end of DATA
    messages: list[Received] = field(default_factory=list)
    transports: list[asyncio.BaseTransport] = field(default_factory=list)

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        if address in self.refuse_senders:
            return f"553 5.7.1 <{address}>: Sender address rejected: not owned by user"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if self.data_reply:
            return self.data_reply
        login = getattr(session.auth_data, "login", None)
        self.messages.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                content=envelope.original_content,
                mail_options=list(envelope.mail_options),
                # session.ssl is set for STARTTLS only; implicit TLS shows on the transport.
                tls=session.ssl is not None
                or server.transport.get_extra_info("ssl_object") is not None,
                auth_user=login.decode() if isinstance(login, bytes) else login,
            )
        )
        return f"250 2.0.0 Ok: queued as Q{len(self.messages)}"

    async def auth_CRAM__MD5(self, server, args):  # noqa: N802 - aiosmtpd's naming scheme
        challenge = f"<{secrets.token_hex(8)}@test.local>".encode()
        response = await server.challenge_auth(challenge)
        if response is MISSING:
            return AuthResult(success=False, handled=False)
        user, _, digest = response.partition(b" ")
        expected = hmac.new(PASSWORD.encode(), challenge, "md5").hexdigest().encode()
        ok = user == USER.encode() and hmac.compare_digest(digest, expected)
        return AuthResult(success=ok, handled=False, auth_data=LoginPassword(user, b""))


def check_password(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False, auth_data=auth_data)


class CountingFactory:
    """Builds one aiosmtpd ``SMTP`` per connection and counts connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop, handler: Any, **kwargs: Any) -> None:
        self.loop = loop
        self.handler = handler
        self.kwargs = kwargs
        self.connections = 0

    def __call__(self) -> SMTP:
        self.connections += 1
        return SMTP(self.handler, hostname="test.local", loop=self.loop, **self.kwargs)


@dataclass
class Server:
    port: int
    handler: RecordingHandler
    factory: Any

    @property
    def connections(self) -> int:
        return self.factory.connections


def smtp_server(
    loops: LoopThread,
    *,
    handler: RecordingHandler | None = None,
    starttls: ssl.SSLContext | None = None,
    implicit: ssl.SSLContext | None = None,
    auth: bool = False,
    auth_require_tls: bool = True,
    **kwargs: Any,
) -> Server:
    handler = handler or RecordingHandler()
    options: dict[str, Any] = {
        "enable_SMTPUTF8": True,
        "auth_require_tls": auth_require_tls,
        **kwargs,
    }
    if starttls is not None:
        options["tls_context"] = starttls
    if auth:
        options.update(authenticator=check_password, auth_required=True)
    factory = CountingFactory(loops.loop, handler, **options)
    port = loops.serve(factory, ssl_ctx=implicit)
    return Server(port, handler, factory)


# ---- misbehaving servers (raw protocols) ----------------------------------------


class ScriptedProtocol(asyncio.Protocol):
    """Greets (or not) and answers commands from a script; ``None`` hangs up."""

    def __init__(self, greeting: bytes | None, script: Callable[[str], bytes | None]):
        self.greeting = greeting
        self.script = script
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport
        if self.greeting is not None:
            transport.write(self.greeting)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            reply = self.script(line.decode("latin-1"))
            if reply is None:
                assert self.transport is not None
                self.transport.close()
                return
            assert self.transport is not None
            if reply:
                self.transport.write(reply)


def hang_up_after_greeting(loops: LoopThread) -> int:
    return loops.serve(lambda: ScriptedProtocol(b"220 flaky.test ESMTP\r\n", lambda line: None))


def hang_up_after_ehlo(loops: LoopThread) -> int:
    def script(line: str) -> bytes | None:
        if line.upper().startswith("EHLO"):
            return b"250-flaky.test\r\n250 8BITMIME\r\n"
        return None

    return loops.serve(lambda: ScriptedProtocol(b"220 flaky.test ESMTP\r\n", script))


class HeloOnlyProtocol(ScriptedProtocol):
    """An old server: EHLO is unknown, HELO works, mail is accepted."""

    def __init__(self, received: list[bytes]) -> None:
        super().__init__(b"220 old.test SMTP\r\n", self.answer)
        self.received = received
        self.in_data = False
        self.data: list[bytes] = []

    def answer(self, line: str) -> bytes | None:
        if self.in_data:
            if line == ".":
                self.in_data = False
                self.received.append(b"".join(self.data))
                self.data = []
                return b"250 accepted\r\n"
            self.data.append(line.encode("latin-1").removeprefix(b".") + b"\r\n")
            return b""
        verb = line.split(" ", 1)[0].upper()
        if verb == "EHLO":
            return b"502 5.5.2 Error: command not recognized\r\n"
        if verb == "DATA":
            self.in_data = True
            return b"354 go ahead\r\n"
        if verb == "QUIT":
            return b"221 bye\r\n"
        return b"250 ok\r\n"


def helo_only(loops: LoopThread, received: list[bytes]) -> int:
    return loops.serve(lambda: HeloOnlyProtocol(received))


class SilentPort:
    """A listening socket that accepts (via the kernel backlog) and never speaks."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]

    def __enter__(self) -> SilentPort:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()


def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
