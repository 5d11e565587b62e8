"""HTTP API latency over the big store (target 3's rows for the Mailpit-compatible API).

Runs in a fresh process like ``scale.run_searches``: it opens the store the
scale target built, serves ``core.api.build_application`` on 127.0.0.1 port
0 on a background event loop (as ``serve`` and the window run it: the
mailbox's reads go through the API's worker threads), and times real HTTP
requests from an aiohttp client with keep-alive on the main thread:

* ``GET /api/v1/messages?limit=50`` (the first page plus every counter),
* ``GET /api/v1/search?query=...`` for the scale target's searches,
* ``GET /api/v1/message/{ID}`` of the store's largest message (the 100 KB
  multipart template: parse, JSON, attachment checksums).

Each figure is the latency of whole requests (client to last byte), p95 over
``repeats`` requests after a few warm-up ones.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from .scale import SEARCHES
from .stats import summarize_ms

#: Limits of the "Mailpit-compatible HTTP API" issue (p95, ms).
LIST_LIMIT_MS = 20.0
SEARCH_LIMIT_MS = 100.0
MESSAGE_LIMIT_MS = 30.0
_WARMUP = 3


def time_api(path: Path, *, repeats: int = 50) -> dict[str, Any]:
    """Serve the API over the store at ``path`` and time the three kinds of request."""
    import aiohttp
    from aiohttp import web
    from yarl import URL

    from mailcatcher_gui.core.api import ApiContext, build_application
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.store.database import Store

    mailbox = Mailbox(Store(path))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="api-bench-server", daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(build_application(ApiContext(mailbox=mailbox)), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, runner.addresses[0][1]

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(60)
    base = f"http://127.0.0.1:{port}"
    largest = mailbox.list(sort="size", limit=1)
    out: dict[str, Any] = {"total": mailbox.count()}

    async def measure(session: aiohttp.ClientSession, url: str) -> dict[str, Any]:
        times: list[float] = []
        status = 0
        size = 0
        for i in range(_WARMUP + repeats):
            t = time.perf_counter()
            async with session.get(url) as resp:
                body = await resp.read()
            if i >= _WARMUP:
                times.append(time.perf_counter() - t)
            status, size = resp.status, len(body)
            if status != 200:
                raise RuntimeError(f"GET {url} -> {status}: {body[:200]!r}")
        return {"url": url[len(base) :], "bytes": size, **summarize_ms(times)}

    async def client() -> None:
        async with aiohttp.ClientSession() as session:
            out["list"] = await measure(session, f"{base}/api/v1/messages?limit=50")
            out["search"] = {}
            for label, query in SEARCHES:
                async with session.get(f"{base}/api/v1/search", params={"query": query}) as r:
                    matches = (await r.json())["messages_count"]
                url = str(URL(f"{base}/api/v1/search").with_query(query=query))
                out["search"][label] = {
                    "query": query,
                    "matches": matches,
                    **await measure(session, url),
                }
            if largest:
                row = largest[0]
                out["message"] = {
                    "id": row.id,
                    "raw_bytes": row.size,
                    **await measure(session, f"{base}/api/v1/message/{row.id}"),
                }

    try:
        asyncio.run(client())
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        mailbox.close()
    return out


def run_api(path: Path, *, repeats: int) -> dict[str, Any]:
    """``time_api`` in a fresh process (cold interpreter, store opened anew)."""
    from .procs import REPO, child_env

    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks.api_bench", str(path), "--repeats", str(repeats)],
        cwd=REPO,
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"API timing failed:\n{proc.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m benchmarks.api_bench")
    ap.add_argument("db", type=Path)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    print(json.dumps(time_api(args.db, repeats=args.repeats)))


if __name__ == "__main__":
    main()
