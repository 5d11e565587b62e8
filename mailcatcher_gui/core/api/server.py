"""Starting and stopping the HTTP API: ``start_http`` and the ``RunningHttp`` handle.

Like the SMTP sink, the server runs on whatever loop is running (plain
asyncio in ``serve``, qasync's loop in the window) through an aiohttp
``AppRunner``: no thread, so a handler reads the mailbox on the same loop
that stores the mail. The listening sockets come from the sink's
``bind_listeners`` (the system's backlog, clear bind errors, the accept gate
that lets ``stop`` close cleanly) and TLS reuses its certificate loading.

Safe by default: the API listens on 127.0.0.1:8025. Listening on any other
address without ``--http-auth-file`` would hand every captured message (and
the send endpoint) to anyone on the network, so it is refused unless
``--http-allow-insecure`` says the user means it (then a warning is logged).
Request bodies are limited to ``--max-size`` (413 with a JSON error).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import hdrs, web

from ..smtp.config import PortInUse, SinkStartError, format_host
from ..smtp.listen import GatedSocket, bind_listeners, listen_backlog
from ..smtp.tls import CertificateError, server_context
from .application import build_application
from .context import ApiContext
from .errors import json_error
from .security import (
    AuthFileError,
    Credentials,
    OriginPolicy,
    install_cors_headers,
    is_loopback_host,
    load_htpasswd,
    middlewares_for,
    parse_cors_origin,
)

__all__ = [
    "HttpConfig",
    "HttpPortInUse",
    "HttpStartError",
    "RunningHttp",
    "start_http",
]

log = logging.getLogger(__name__)

# How long ``stop`` lets a request in flight finish before it is cut off.
_STOP_GRACE = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class HttpConfig:
    """How to run the HTTP API (``--http``, ``--http-auth-file`` ...)."""

    host: str = "127.0.0.1"
    port: int = 8025
    auth_file: Path | None = None
    allow_insecure: bool = False
    cors_origin: str | None = None  # an origin, "*", or None (no CORS headers)
    tls_cert: Path | None = None
    tls_key: Path | None = None  # None with tls_cert: the key is in the cert file


class HttpStartError(Exception):
    """The HTTP API could not start; ``str()`` is one sentence for the user."""


class HttpPortInUse(HttpStartError):
    """The ``--http`` port is taken (another catcher, or Mailpit itself)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        super().__init__(
            f"port {port} on {format_host(host)} is already in use (--http); "
            "stop the other program, choose another port with --http HOST:PORT, "
            "or turn the API off with --http none"
        )


class RunningHttp:
    """Handle for a started API; ``stop`` closes the listeners and every connection."""

    def __init__(
        self,
        runner: web.AppRunner,
        sockets: list[GatedSocket],
        listeners: list[tuple[str, str, int]],
        secure: bool,
    ) -> None:
        self.listeners = listeners  # ("http" | "https", host, port) for each socket
        self.secure = secure
        self._runner = runner
        self._sockets = sockets
        self._stopped = False

    @property
    def app(self) -> web.Application:
        return self._runner.app

    @property
    def host(self) -> str:
        return self.listeners[0][1]

    @property
    def port(self) -> int:
        """The real port of the first listener (the one chosen for port 0)."""
        return self.listeners[0][2]

    @property
    def url(self) -> str:
        """``http(s)://host:port`` of the first listener, for people and clients."""
        scheme, host, port = self.listeners[0]
        return f"{scheme}://{format_host(_connect_host(host))}:{port}"

    async def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for sock in self._sockets:
            sock.accepting = False
        await asyncio.sleep(0)  # let accepted connections attach before closing (see GatedSocket)
        await self._runner.cleanup()
        log.info("HTTP API stopped")


def _connect_host(host: str) -> str:
    """Where a local client dials a listener bound to ``host`` (wildcards -> loopback)."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "::1"
    return host


async def _all_loopback(loop: asyncio.AbstractEventLoop, host: str) -> bool:
    """True if ``host`` is a loopback name or every address it resolves to is loopback."""
    if not host:
        return False
    if is_loopback_host(host):
        return True
    try:
        infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except OSError:
        return False  # the bind will fail with a clear message
    addresses = {str(info[4][0]) for info in infos}
    return bool(addresses) and all(is_loopback_host(a) for a in addresses)


def _size_middleware(limit: int) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """413 before reading a body that says it is too large (chunked bodies: aiohttp's own limit)."""

    @web.middleware
    async def check_size(request: web.Request, handler: Handler) -> web.StreamResponse:
        length = request.content_length
        if limit and length is not None and length > limit:
            return json_error(
                413,
                f"request body too large: {length} bytes, the limit is {limit} bytes (--max-size)",
                headers={hdrs.CONNECTION: "close"},
            )
        return await handler(request)

    return check_size


def _tls(config: HttpConfig) -> ssl.SSLContext | None:
    if config.tls_key and not config.tls_cert:
        raise HttpStartError("--http-tls-key needs --http-tls-cert")
    if not config.tls_cert:
        return None
    try:
        return server_context(config.tls_cert, config.tls_key or config.tls_cert)
    except CertificateError as exc:
        raise HttpStartError(f"HTTP API: {exc}") from exc


async def start_http(
    config: HttpConfig,
    ctx: ApiContext,
    *,
    route_modules: Iterable[str] | None = None,
) -> RunningHttp:
    """Start the API on the running loop; ``HttpStartError`` with one clear sentence."""
    loop = asyncio.get_running_loop()
    credentials: Credentials | None = None
    if config.auth_file is not None:
        try:
            credentials = load_htpasswd(config.auth_file)
        except AuthFileError as exc:
            raise HttpStartError(str(exc)) from exc
    loopback = await _all_loopback(loop, config.host)
    where = f"{format_host(config.host or '0.0.0.0')}:{config.port}"
    if not loopback and credentials is None:
        if not config.allow_insecure:
            raise HttpStartError(
                f"refusing to serve the HTTP API on {where} without a login: anyone who can "
                "reach it could read and delete every captured message; add --http-auth-file "
                "FILE, listen on 127.0.0.1, or pass --http-allow-insecure"
            )
        log.warning(
            "the HTTP API on %s has no login (--http-allow-insecure): anyone who can reach it "
            "can read, delete and send mail through this catcher",
            where,
        )
    try:
        cors = parse_cors_origin(config.cors_origin) if config.cors_origin else None
    except ValueError as exc:
        raise HttpStartError(str(exc)) from exc
    tls_context = _tls(config)
    policy = OriginPolicy(cors_origin=cors, loopback_only=loopback)
    app = build_application(
        ctx,
        middlewares=[*middlewares_for(policy, credentials), _size_middleware(ctx.max_body)],
        route_modules=route_modules,
    )
    install_cors_headers(app, policy)
    try:
        sockets = await bind_listeners(loop, (config.host, config.port), "--http")
    except PortInUse as exc:
        raise HttpPortInUse(exc.host, exc.port) from exc
    except SinkStartError as exc:
        raise HttpStartError(str(exc)) from exc
    runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=_STOP_GRACE)
    scheme = "https" if tls_context is not None else "http"
    listeners: list[tuple[str, str, int]] = []
    try:
        await runner.setup()
        for sock in sockets:
            name = sock.getsockname()
            listeners.append((scheme, str(name[0]), int(name[1])))
            site = web.SockSite(runner, sock, ssl_context=tls_context, backlog=listen_backlog())
            await site.start()
    except BaseException:
        await runner.cleanup()
        for sock in sockets:
            sock.close()
        raise
    running = RunningHttp(runner, sockets, listeners, secure=tls_context is not None)
    log.info(
        "HTTP API listening on %s%s%s",
        running.url,
        " (Basic auth)" if credentials is not None else "",
        f" (CORS {cors})" if cors else "",
    )
    return running
