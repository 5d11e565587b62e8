"""The worker threads the API's handlers run store reads, parsing and thumbnails on.

Why not ``asyncio.to_thread``: the store keeps one SQLite reader connection
(with its own page cache) per thread, and the loop's default executor grows
to several threads that each start cold and that the rest of the app shares.
A small pool of the API's own keeps two connections warm, so a search's
pages stay cached between requests, and bounds how much CPU concurrent API
clients can take from the SMTP sink on the same two cores. The pool belongs
to the application: ``install`` creates it when the routes are added and
shuts it down when the app is cleaned up.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from aiohttp import web

__all__ = ["READ_WORKERS", "install", "run"]

P = ParamSpec("P")
T = TypeVar("T")

READ_WORKERS = 2

_POOL: web.AppKey[ThreadPoolExecutor] = web.AppKey("mailcatcher_api_workers", ThreadPoolExecutor)


def install(app: web.Application) -> None:
    """Give ``app`` its worker pool (once, however many route modules ask)."""
    if _POOL in app:
        return
    pool = ThreadPoolExecutor(max_workers=READ_WORKERS, thread_name_prefix="api-worker")
    app[_POOL] = pool

    async def shutdown(_app: web.Application) -> None:
        pool.shutdown(wait=False, cancel_futures=True)

    app.on_cleanup.append(shutdown)


async def run(request: web.Request, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """``fn(*args, **kwargs)`` on the app's worker pool, awaited from the handler."""
    pool = request.app[_POOL]
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))
