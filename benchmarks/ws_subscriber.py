"""A WebSocket subscriber of ``/api/events`` for the events benchmark.

Run it as its own process (``python -m benchmarks.ws_subscriber --url ...``)
so its JSON parsing never competes with the server under test for the GIL.
It connects, waits for the first ``stats`` frame, prints ``ready``, then
records the ``time.monotonic()`` of every ``new`` event by message ID (the
same clock as the load generator's 250 times on Linux) until it has seen
``--expect`` of them, or nothing arrived for ``--idle`` seconds. The result
(one JSON object on stdout): ``{"received": [[id, t], ...], "frames": n,
"closed": reason or null}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time

import aiohttp

_NEW = '{"Type":"new",'
_ID = re.compile(r'"ID":"(\d+)"')


async def subscribe(url: str, expect: int, idle: float) -> dict[str, object]:
    received: list[tuple[int, float]] = []
    frames = 0
    closed: str | None = None
    async with aiohttp.ClientSession() as http, http.ws_connect(url + "/api/events") as ws:
        first = await ws.receive(timeout=30)
        if first.type != aiohttp.WSMsgType.TEXT:
            raise SystemExit(f"no first frame: {first}")
        print("ready", flush=True)
        while len(received) < expect:
            try:
                msg = await ws.receive(timeout=idle)
            except TimeoutError:
                closed = f"nothing for {idle} s"
                break
            if msg.type != aiohttp.WSMsgType.TEXT:
                closed = f"{msg.type.name} {msg.data!r}"
                break
            now = time.monotonic()
            frames += 1
            # Cheap on purpose (this process shares the machine with the server):
            # the ID of a `new` frame without parsing the whole summary.
            if msg.data.startswith(_NEW):
                found = _ID.search(msg.data, 0, 80)
                mid = found.group(1) if found else json.loads(msg.data)["Data"]["ID"]
                received.append((int(mid), now))
    return {"received": received, "frames": frames, "closed": closed}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ws_subscriber", description=__doc__)
    ap.add_argument("--url", required=True, help="http://HOST:PORT of the API")
    ap.add_argument("--expect", type=int, required=True, help="stop after this many new events")
    ap.add_argument("--idle", type=float, default=30.0)
    args = ap.parse_args(argv)
    result = asyncio.run(subscribe(args.url, args.expect, args.idle))
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
