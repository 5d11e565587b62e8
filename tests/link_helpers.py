"""Loopback HTTP servers for the link check: on the test's loop, or on a thread of their own.

Paths: ``/ok`` 200, ``/missing`` 404, ``/r1`` 301 → ``/r2`` 302 → ``/ok``,
``/loop`` redirects to itself, ``/nohead`` refuses HEAD (405) but answers
GET, ``/slow`` answers after 5 s, ``/to-local?target=URL`` redirects to URL.
Every request is logged as (method, path).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from aiohttp import web

from tests.smtp_helpers import background_loop

__all__ = ["http_server", "http_server_thread"]


async def _handler(request: web.Request) -> web.StreamResponse:
    request.app[SEEN].append((request.method, request.path))
    path = request.path
    if path == "/ok":
        return web.Response(text="fine")
    if path == "/r1":
        raise web.HTTPMovedPermanently("/r2")
    if path == "/r2":
        raise web.HTTPFound("/ok")
    if path == "/loop":
        raise web.HTTPFound("/loop")
    if path == "/nohead":
        if request.method == "HEAD":
            raise web.HTTPMethodNotAllowed("HEAD", ["GET"])
        return web.Response(text="get only")
    if path == "/slow":
        await asyncio.sleep(5)
        return web.Response(text="late")
    if path == "/to-local":
        raise web.HTTPFound(request.query["target"])
    raise web.HTTPNotFound()


SEEN: web.AppKey[list[tuple[str, str]]] = web.AppKey("seen", list)


@asynccontextmanager
async def http_server() -> AsyncIterator[tuple[str, list[tuple[str, str]]]]:
    """Serve on 127.0.0.1, port 0, on the running loop; yields (base URL, request log)."""
    app = web.Application()
    seen: list[tuple[str, str]] = []
    app[SEEN] = seen
    app.router.add_route("*", "/{tail:.*}", _handler)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


@contextmanager
def http_server_thread() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """The same server on a background loop, for code that runs its own loop (the CLI)."""
    with background_loop() as (loop, errors):
        cm = http_server()
        base, seen = asyncio.run_coroutine_threadsafe(cm.__aenter__(), loop).result(30)
        try:
            yield base, seen
        finally:
            asyncio.run_coroutine_threadsafe(cm.__aexit__(None, None, None), loop).result(30)
    assert not errors, errors
