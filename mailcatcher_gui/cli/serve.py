"""``mailcatcher-gui serve``: the SMTP sink (and the HTTP API) without a window.

Prints ``SMTP listening on HOST:PORT`` (and ``SMTPS ...``), then ``HTTP
listening on HOST:PORT`` (``HTTPS`` with ``--http-tls-cert``; no line with
``--http none``) once every socket is bound, so scripts can start it on
port 0 and read the real ports from those lines; SIGINT/SIGTERM stop it
after the queued writes are committed. A port that is taken, for SMTP or
HTTP, is one line on stderr and exit status 2, before anything listens.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from typing import TYPE_CHECKING, Any

from mailcatcher_gui import __version__
from mailcatcher_gui.core.options import (
    http_config_from_args,
    open_mailbox,
    sink_config_from_args,
)
from mailcatcher_gui.core.store import StoreError

from .check import add_check_options, check_options_from_args
from .common import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    add_db,
    add_http_options,
    add_sink_options,
    error,
    out,
)

if TYPE_CHECKING:
    from mailcatcher_gui.core.api.server import HttpConfig, RunningHttp
    from mailcatcher_gui.core.checks import CheckOptions
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.smtp import RunningSink, SinkConfig


def add_serve_parser(sub: Any, db: str) -> None:
    serve = sub.add_parser(
        "serve",
        help="run the SMTP sink (and the HTTP API) without a window",
        description="Run the SMTP sink headless. Prints 'SMTP listening on HOST:PORT' (and "
        "'SMTPS ...', then 'HTTP listening on HOST:PORT') first; SIGINT/SIGTERM stop it "
        "after finishing queued writes.",
    )
    add_sink_options(serve)
    add_http_options(serve)
    add_check_options(serve)  # what the API's check endpoints use
    add_db(serve, db)
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="print one line per captured message"
    )
    serve.set_defaults(handler=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiosmtpd logs several INFO lines per connection; -v means "one line per
    # captured message" (printed by serve()), not aiosmtpd's chatter.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    config = sink_config_from_args(args)
    http = http_config_from_args(args)
    checks = check_options_from_args(args)
    try:
        mailbox = open_mailbox(args)
    except StoreError as exc:  # a store it cannot write is a startup failure, as a busy port
        return error(str(exc), EXIT_USAGE)
    try:
        with asyncio.Runner() as runner:
            return runner.run(
                serve(config, mailbox, verbose=args.verbose, http=http, check_options=checks)
            )
    except KeyboardInterrupt:  # no signal handlers on this platform: Ctrl+C still stops cleanly
        return EXIT_OK
    finally:
        mailbox.close()


async def serve(
    config: SinkConfig,
    mailbox: Mailbox,
    *,
    verbose: bool,
    http: HttpConfig | None = None,
    check_options: CheckOptions | None = None,
) -> int:
    from mailcatcher_gui.core.models import MessagesAdded
    from mailcatcher_gui.core.smtp import PortInUse, SinkStartError, start_sink

    try:
        running = await start_sink(config, mailbox)
    except PortInUse as exc:
        return error(str(exc), EXIT_USAGE)
    except SinkStartError as exc:
        return error(str(exc), EXIT_ERROR)
    api: RunningHttp | None = None
    if http is not None:
        code, api = await _start_api(http, running, mailbox, config, check_options)
        if api is None:
            await running.stop()
            return code

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    def announce(event: object) -> None:
        if isinstance(event, MessagesAdded):
            for s in event.summaries:
                to = ", ".join(s.envelope_to)
                out(
                    f"#{s.id} from <{s.envelope_from}> to {to or '-'} "
                    f"subject {json.dumps(s.subject, ensure_ascii=False)} size {s.size}"
                )
            sys.stdout.flush()

    unsubscribe = mailbox.subscribe(announce) if verbose else None
    try:
        for kind, host, port in running.listeners + (api.listeners if api else []):
            shown = f"[{host}]" if ":" in host else host
            out(f"{kind.upper()} listening on {shown}:{port}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        if api is not None:
            await api.stop()
        await running.stop()
        if unsubscribe is not None:
            unsubscribe()
    return EXIT_OK


async def _start_api(
    http: HttpConfig,
    sink: RunningSink,
    mailbox: Mailbox,
    config: SinkConfig,
    check_options: CheckOptions | None = None,
) -> tuple[int, RunningHttp | None]:
    """The HTTP API over ``mailbox``; (exit code, None) with the error printed if it fails."""
    from mailcatcher_gui.core.api import ApiContext
    from mailcatcher_gui.core.api.server import HttpPortInUse, HttpStartError, start_http

    ctx = ApiContext(
        mailbox=mailbox,
        version=__version__,
        smtp_listeners=tuple(sink.listeners),
        max_body=config.max_size,
        extras={"check_options": check_options} if check_options is not None else {},
    )
    try:
        return EXIT_OK, await start_http(http, ctx)
    except HttpPortInUse as exc:
        return error(str(exc), EXIT_USAGE), None
    except HttpStartError as exc:
        return error(str(exc), EXIT_USAGE), None
