"""An in-process HTTP API server for tests: real Mailbox, real SQLite file, real socket.

Import with ``from api_helpers import ...`` (``tests/`` is on ``sys.path``).

* ``serving_api(mailbox, **ctx_fields)``: an async context manager for code
  already running on a loop (``asyncio.run`` in the test): builds
  ``build_application(ApiContext(mailbox, ...))`` and serves it with
  ``web.AppRunner`` + ``TCPSite`` on 127.0.0.1 port 0; yields an ``ApiServer``
  (``url``, ``port``, ``app``, ``ctx``).
* ``running_api(directory, **ctx_fields)``: the same on a background loop in a
  thread, over a fresh ``Store`` + ``Mailbox`` on ``directory/mail.sqlite3``
  (or the ``mailbox=`` given), for plain synchronous tests. The yielded
  ``ApiThread`` has ``request(method, path, ...)`` (a real aiohttp client
  request on that loop, returning a ``Reply``), ``run(coro)`` and
  ``deliver(raw, ...)``; on exit it stops the server and asserts the loop
  reported no errors.
* ``deliver(mailbox, raw, ...)`` stores a message the way the sink does
  (``Mailbox.accept_sync(Capture(...))``) and returns its id.

``route_modules=`` and ``middlewares=`` pass through to ``build_application``
(``None`` = every module in ``ROUTE_MODULES``).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from smtp_helpers import background_loop

from mailcatcher_gui.core.api import ApiContext, build_application
from mailcatcher_gui.core.models import Capture, TlsInfo

HOST = "127.0.0.1"


@dataclass
class ApiServer:
    """A served application: ``url`` is ``http://127.0.0.1:PORT`` (no trailing slash)."""

    app: web.Application
    ctx: ApiContext
    runner: web.AppRunner
    port: int

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"


@asynccontextmanager
async def serving_api(
    mailbox: Any,
    *,
    route_modules: Iterable[str] | None = None,
    middlewares: Iterable[object] = (),
    **ctx_fields: Any,
) -> AsyncIterator[ApiServer]:
    """Serve the API over ``mailbox`` on a real socket, port 0, on the running loop."""
    ctx = ApiContext(mailbox=mailbox, **ctx_fields)
    app = build_application(ctx, middlewares=middlewares, route_modules=route_modules)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, HOST, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield ApiServer(app=app, ctx=ctx, runner=runner, port=port)
    finally:
        await runner.cleanup()


@dataclass
class Reply:
    """What a request got back: status, headers (case-insensitive keys) and the body bytes."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    content_type: str = ""

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return jsonlib.loads(self.body)


@dataclass
class ApiThread:
    """A server on a background loop, driven from the (synchronous) test thread."""

    loop: asyncio.AbstractEventLoop
    server: ApiServer
    mailbox: Any
    errors: list[dict[str, Any]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def ctx(self) -> ApiContext:
        return self.server.ctx

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run ``coro`` on the server's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = 30,
    ) -> Reply:
        """One real HTTP request with an aiohttp client; ``path`` starts with ``/``."""

        async def go() -> Reply:
            async with (
                aiohttp.ClientSession() as session,
                session.request(
                    method,
                    self.url + path,
                    params=params,
                    json=json,
                    data=data,
                    headers=headers,
                    allow_redirects=False,
                ) as resp,
            ):
                body = await resp.read()
                return Reply(resp.status, dict(resp.headers), body, resp.content_type)

        return self.run(go(), timeout)

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.request("GET", path, **kwargs)

    def deliver(self, raw: bytes, **capture_fields: Any) -> int:
        return deliver(self.mailbox, raw, **capture_fields)


def deliver(
    mailbox: Any,
    raw: bytes,
    *,
    envelope_from: str = "sender@example.com",
    envelope_to: tuple[str, ...] = ("rcpt@example.com",),
    received_at: datetime | None = None,
    peer: str = "127.0.0.1:40000",
    helo: str = "client.test",
    tls: TlsInfo | None = None,
    auth_user: str | None = None,
    transcript: tuple[str, ...] = (),
    source: str = "smtp",
) -> int:
    """Store ``raw`` as if the sink had received it; returns the new id."""
    capture = Capture(
        raw=raw,
        envelope_from=envelope_from,
        envelope_to=tuple(envelope_to),
        received_at=received_at or datetime.now(UTC),
        peer=peer,
        helo=helo,
        tls=tls,
        auth_user=auth_user,
        transcript=tuple(transcript),
        source=source,
    )
    return int(mailbox.accept_sync(capture))


@contextmanager
def running_api(
    directory: str | Path,
    *,
    mailbox: Any = None,
    route_modules: Iterable[str] | None = None,
    middlewares: Iterable[object] = (),
    allow_loop_errors: bool = False,
    **ctx_fields: Any,
) -> Iterator[ApiThread]:
    """The API on a background loop over ``mailbox`` (default: a fresh one in ``directory``)."""
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.store.database import Store

    own = mailbox is None
    if own:
        mailbox = Mailbox(Store(Path(directory) / "mail.sqlite3"))
    try:
        with background_loop() as (loop, errors):
            holder: dict[str, Any] = {}
            stop: asyncio.Event | None = None

            async def serve() -> None:
                nonlocal stop
                stop = asyncio.Event()
                async with serving_api(
                    mailbox, route_modules=route_modules, middlewares=middlewares, **ctx_fields
                ) as server:
                    holder["server"] = server
                    await stop.wait()

            task_future = asyncio.run_coroutine_threadsafe(serve(), loop)

            async def wait_started() -> None:
                while "server" not in holder and not task_future.done():
                    await asyncio.sleep(0.005)

            asyncio.run_coroutine_threadsafe(wait_started(), loop).result(30)
            if task_future.done():
                task_future.result()  # raises what went wrong while starting
            handle = ApiThread(loop, holder["server"], mailbox, errors)
            try:
                yield handle
            finally:
                assert stop is not None
                loop.call_soon_threadsafe(stop.set)
                task_future.result(30)
        if not allow_loop_errors:
            assert not errors, f"the API's event loop reported errors: {errors!r}"
    finally:
        if own:
            mailbox.close()


# ---- messages worth testing with ------------------------------------------------


def png_bytes(width: int, height: int, color: tuple[int, ...] = (200, 30, 30)) -> bytes:
    """A real PNG of the given size (RGBA when ``color`` has four values)."""
    import io

    from PIL import Image

    mode = "RGBA" if len(color) == 4 else "RGB"
    out = io.BytesIO()
    Image.new(mode, (width, height), color).save(out, format="PNG")
    return out.getvalue()


#: A small fake PDF attachment whose bytes the tests compare exactly.
PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"


def rich_message(
    *,
    subject: str = "Grüße aus Köln",
    image: bytes | None = None,
    cid: str = "logo@mail.test",
    extra_html: str = "",
) -> bytes:
    """A multipart message: text + HTML with an inline ``cid:`` image, a PDF, encoded headers.

    Structure (part ids): 1 multipart/alternative (1.1 text, 1.2
    multipart/related: 1.2.1 HTML, 1.2.2 the PNG), 2 the PDF attachment
    (``Rechnung März.pdf``). Headers carry non-ASCII names, Cc, Bcc,
    Reply-To, Return-Path and List-Unsubscribe.
    """
    from email.message import EmailMessage
    from email.policy import SMTP

    msg = EmailMessage(policy=SMTP)
    msg["Return-Path"] = "<bounces@mail.test>"
    msg["From"] = "Jörg Müller <joerg@mail.test>"
    msg["To"] = "Zoë Bar <zoe@mail.test>, plain@mail.test"
    msg["Cc"] = "Çelik <celik@mail.test>"
    msg["Bcc"] = "hidden@mail.test"
    msg["Reply-To"] = "Replies <reply@mail.test>"
    msg["Subject"] = subject
    msg["Date"] = "Wed, 01 May 2024 10:00:00 +0200"
    msg["Message-ID"] = "<rich-1@mail.test>"
    msg["List-Unsubscribe"] = "<mailto:unsub@mail.test>, <https://mail.test/unsub?u=1>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["X-Mailer"] = "api-tests"
    msg.set_content("Hallo Zoë,\nthe text body.\n")
    html = (
        "<html><body><p>Hallo <b>Zoë</b></p>"
        f'<img src="cid:{cid}" alt="logo">{extra_html}</body></html>'
    )
    msg.add_alternative(html, subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(
        image if image is not None else png_bytes(400, 300),
        maintype="image",
        subtype="png",
        cid=f"<{cid}>",
        filename="logo.png",
        disposition="inline",
    )
    msg.add_attachment(
        PDF_BYTES, maintype="application", subtype="pdf", filename="Rechnung März.pdf"
    )
    return msg.as_bytes()
