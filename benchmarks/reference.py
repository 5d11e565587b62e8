"""The reference server: bare aiosmtpd with its built-in ``Sink`` handler.

Plain asyncio, ``loop.create_server`` with ``aiosmtpd.smtp.SMTP`` and an
explicit ``hostname=`` (so no reverse-DNS lookup per connection), nothing
stored. It is what "as fast as aiosmtpd can go" means on this machine; every
throughput target is a ratio against it, measured in the same run, driven by
the same load generator with the same messages.

``python -m benchmarks.reference --port P`` prints ``READY <port>`` once it
listens and exits cleanly on SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from aiosmtpd.handlers import Sink
from aiosmtpd.smtp import SMTP


async def serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    handler = Sink()
    server = await loop.create_server(lambda: SMTP(handler, hostname="reference.bench"), host, port)
    bound = server.sockets[0].getsockname()[1]
    print(f"READY {bound}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    await server.wait_closed()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.reference")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args(argv)
    asyncio.run(serve(args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
