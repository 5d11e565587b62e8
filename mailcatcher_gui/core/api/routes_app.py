"""About the running app: ``/api/v1/info``, ``/api/v1/webui`` and the ``/livez`` ``/readyz`` probes.

The shapes are Mailpit's ``AppInformation`` and ``WebUIConfiguration``, so
Mailpit's clients and dashboards read them unchanged. Differences, each
deliberate: ``LatestVersion`` is always empty (the app never phones home to
look for releases); ``RuntimeStats`` counts what this server saw since it
started (``SMTPAccepted`` counts every stored message, SMTP or import, and
``SMTPRejected``/``SMTPIgnored`` stay 0: the sink does not report refusals
here and duplicates are never ignored). ``/livez`` is 200 while the process
serves HTTP; ``/readyz`` is 200 once the mailbox answers, 503 when it does
not (a store that cannot be read). Both answer without a login.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from ..models import MailboxEvent, MessagesAdded, MessagesDeleted
from ..store import StoreError
from .context import CONTEXT, ApiContext

__all__ = ["RUNTIME", "RuntimeStats", "add_routes"]


class RuntimeStats:
    """Counters behind ``RuntimeStats``, fed by the mailbox's events while the server runs."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.accepted = 0
        self.accepted_size = 0
        self.deleted = 0
        self._lock = threading.Lock()  # events of sync calls arrive on other threads
        self._unsubscribe: Any = None

    def on_event(self, event: MailboxEvent) -> None:
        if isinstance(event, MessagesAdded):
            with self._lock:
                self.accepted += len(event.summaries)
                self.accepted_size += sum(s.size for s in event.summaries)
        elif isinstance(event, MessagesDeleted):
            with self._lock:
                self.deleted += len(event.ids)

    async def start(self, app: web.Application) -> None:
        self.started = time.monotonic()
        self._unsubscribe = app[CONTEXT].mailbox.subscribe(self.on_event)

    async def stop(self, app: web.Application) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def as_json(self) -> dict[str, Any]:
        return {
            "Uptime": round(time.monotonic() - self.started, 3),
            "Memory": _memory_bytes(),
            "MessagesDeleted": self.deleted,
            "SMTPAccepted": self.accepted,
            "SMTPAcceptedSize": self.accepted_size,
            "SMTPRejected": 0,
            "SMTPIgnored": 0,
        }


RUNTIME: web.AppKey[RuntimeStats] = web.AppKey("mailcatcher_api_runtime", RuntimeStats)


def _memory_bytes() -> int:
    """The process's resident memory now (Linux), else its peak."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        import resource  # POSIX; /proc is Linux only

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return int(peak if sys.platform == "darwin" else peak * 1024)


def _database_size(location: str) -> int:
    try:
        return os.stat(location).st_size
    except (OSError, ValueError):
        return 0  # a remote mailbox, or a store that is gone


def _tags(ctx: ApiContext) -> dict[str, int]:
    tags = getattr(ctx.mailbox, "tags", None)  # MailboxProtocol.tags (branch tags-search)
    return dict(tags()) if callable(tags) else {}


async def info(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    mailbox = ctx.mailbox
    body = {
        "Version": ctx.version,
        "LatestVersion": "",
        "Database": mailbox.location,
        "DatabaseSize": _database_size(mailbox.location),
        "Messages": mailbox.count(),
        "Unread": mailbox.unread_count(),
        "Tags": _tags(ctx),
        "RuntimeStats": request.app[RUNTIME].as_json(),
    }
    return web.json_response(body)


async def webui(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    relay = ctx.relay_transport()
    body = {
        "Label": str(ctx.extras.get("label", "")),
        "MessageRelay": {
            "Enabled": relay is not None,
            "SMTPServer": relay.target if relay is not None else "",
            "ReturnPath": "",
            "AllowedRecipients": "",
            "BlockedRecipients": "",
            "OverrideFrom": "",
            "PreserveMessageIDs": False,
        },
        "SpamAssassin": bool(ctx.extras.get("spamassassin")),
        "ChaosEnabled": False,
        "DuplicatesIgnored": False,
        "HideDeleteAllButton": False,
    }
    return web.json_response(body)


async def livez(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def readyz(request: web.Request) -> web.Response:
    try:
        request.app[CONTEXT].mailbox.count()
    except (StoreError, RuntimeError) as exc:
        return web.Response(status=503, text=f"not ready: {exc}")
    return web.Response(text="ok")


def add_routes(app: web.Application) -> None:
    stats = RuntimeStats()
    app[RUNTIME] = stats
    app.on_startup.append(stats.start)
    app.on_cleanup.append(stats.stop)
    app.router.add_get("/api/v1/info", info)
    app.router.add_get("/api/v1/webui", webui)
    app.router.add_get("/livez", livez)
    app.router.add_get("/readyz", readyz)
