"""``GET /api/events``: Mailpit's live events over a WebSocket.

Every frame is one JSON object ``{"Type": ..., "Data": ...}``, as Mailpit
sends them:

* ``new``: a stored message, ``Data`` in Mailpit's ``MessageSummary`` shape;
* ``update``: ``{"ID", "Read"}`` when a message is marked (un)read, and
  ``{"ID", "Tags"}`` when its tags change;
* ``delete``: ``{"ID"}`` for each deleted message, pruned ones included (so a
  client can follow retention exactly), then one ``prune`` (``Data`` null,
  at most four a second) after retention removed messages, as Mailpit says
  "reload the list" after its own pruning;
* ``truncate``: every message was deleted;
* ``stats``: ``{"Total", "Unread", "Version"}``, at most four a second
  (Mailpit's debounce), and once to each client right after it connects.

The hub is fed by the mailbox's plain events (``Mailbox.subscribe``). They
arrive on the loop for SMTP mail and on other threads for synchronous calls
(imports, the CLI); those hop to the loop with ``call_soon_threadsafe``.
With no client connected an event costs one check. Each client has its own
bounded queue and a writer task: a slow client never slows ingest or the
other clients; when its queue overflows it is dropped (close code 1008)
instead of buffering without end or blocking the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from .. import models
from ..models import MailboxCleared, MailboxEvent, MessagesAdded, MessagesChanged, MessagesDeleted
from .context import CONTEXT, ApiContext
from .shapes import summary_json

__all__ = ["EVENTS", "EventHub", "add_routes"]

log = logging.getLogger(__name__)

#: Frames a client may have waiting before it counts as too slow and is dropped.
QUEUE_LIMIT = 4096
#: Mailpit sends ``stats`` (and we ``prune``) at most this often.
DEBOUNCE_S = 0.25
_HEARTBEAT_S = 30.0
_CLOSE_WAIT_S = 1.0

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _frame(kind: str, data: object) -> str:
    return _dumps({"Type": kind, "Data": data})


class _Client:
    """One WebSocket: its queue of frames and the task that writes them."""

    __slots__ = ("ws", "queue", "wake", "task", "dropped", "transport")

    def __init__(self, ws: web.WebSocketResponse, transport: asyncio.Transport | None) -> None:
        self.ws = ws
        self.transport = transport
        self.queue: deque[str] = deque()
        self.wake: asyncio.Future[None] | None = None
        self.task: asyncio.Task[None] | None = None
        self.dropped = False

    def push(self, frame: str) -> bool:
        """Queue ``frame``; False if the client is too far behind (the caller drops it)."""
        if len(self.queue) >= QUEUE_LIMIT:
            return False
        self.queue.append(frame)
        wake = self.wake
        if wake is not None and not wake.done():
            wake.set_result(None)
        return True

    async def pump(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self.queue
        send = self.ws.send_str
        while True:
            while queue:
                await send(queue.popleft())
            self.wake = loop.create_future()
            await self.wake
            self.wake = None


class EventHub:
    """The connected clients and what the mailbox tells them."""

    def __init__(self, ctx: ApiContext) -> None:
        self.ctx = ctx
        self.clients: set[_Client] = set()
        self.dropped = 0  # clients dropped for being too slow (tests, logs)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._stats_due: asyncio.TimerHandle | None = None
        self._prune_due: asyncio.TimerHandle | None = None
        self._tags_changed: type | None = getattr(models, "TagsChanged", None)

    # ---- lifecycle (the app's startup and shutdown signals) ---------------------------

    async def start(self, app: web.Application) -> None:
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._unsubscribe = self.ctx.mailbox.subscribe(self.on_event)

    async def shutdown(self, app: web.Application) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        for handle in (self._stats_due, self._prune_due):
            if handle is not None:
                handle.cancel()
        self._stats_due = self._prune_due = None
        clients = list(self.clients)
        self.clients.clear()
        await asyncio.gather(
            *(self._close(c, WSCloseCode.GOING_AWAY, b"server shutting down") for c in clients),
            return_exceptions=True,
        )

    # ---- mailbox events -> frames -----------------------------------------------------

    def on_event(self, event: MailboxEvent) -> None:
        """The mailbox's listener: on any thread; the work happens on the loop."""
        if not self.clients or self._loop is None:
            return
        if threading.get_ident() == self._loop_thread:
            self._dispatch(event)
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._dispatch, event)

    def _dispatch(self, event: object) -> None:
        if not self.clients:
            return
        if isinstance(event, MessagesAdded):
            for summary in event.summaries:
                self.broadcast(_frame("new", summary_json(summary)))
        elif isinstance(event, MessagesChanged):
            for mid in event.ids:
                self.broadcast(_frame("update", {"ID": str(mid), "Read": event.read}))
        elif isinstance(event, MessagesDeleted):
            for mid in event.ids:
                self.broadcast(_frame("delete", {"ID": str(mid)}))
            if event.pruned:
                self._prune_due = self._prune_due or self._later(self._send_prune)
        elif isinstance(event, MailboxCleared):
            self.broadcast(_frame("truncate", None))
        elif self._tags_changed is not None and isinstance(event, self._tags_changed):
            for mid, tags in getattr(event, "updates", ()):
                self.broadcast(_frame("update", {"ID": str(mid), "Tags": list(tags)}))
            return  # tags do not change the counts
        else:
            return
        self._stats_due = self._stats_due or self._later(self._send_stats)

    def _later(self, callback: Callable[[], None]) -> asyncio.TimerHandle:
        assert self._loop is not None
        return self._loop.call_later(DEBOUNCE_S, callback)

    def _send_stats(self) -> None:
        self._stats_due = None
        if self.clients:
            self.broadcast(self.stats_frame())

    def _send_prune(self) -> None:
        self._prune_due = None
        self.broadcast(_frame("prune", None))

    def stats_frame(self) -> str:
        mailbox = self.ctx.mailbox
        try:
            data: dict[str, Any] = {
                "Total": mailbox.count(),
                "Unread": mailbox.unread_count(),
                "Version": self.ctx.version,
            }
        except Exception as exc:  # noqa: BLE001 - a store problem must not kill the hub
            log.warning("HTTP API events: cannot count messages: %s", exc)
            data = {"Total": 0, "Unread": 0, "Version": self.ctx.version}
        return _frame("stats", data)

    def broadcast(self, frame: str) -> None:
        for client in list(self.clients):
            if not client.push(frame):
                self.drop(client)

    def drop(self, client: _Client) -> None:
        """Disconnect a client that fell ``QUEUE_LIMIT`` frames behind."""
        if client.dropped:
            return
        client.dropped = True
        self.clients.discard(client)
        self.dropped += 1
        client.queue.clear()
        log.warning(
            "HTTP API events: dropped a WebSocket client that fell %d events behind", QUEUE_LIMIT
        )
        task = asyncio.ensure_future(
            self._close(client, WSCloseCode.POLICY_VIOLATION, b"too slow: events were dropped")
        )
        task.add_done_callback(_ignore_result)

    async def _close(self, client: _Client, code: int, message: bytes) -> None:
        if client.task is not None:
            client.task.cancel()
        try:
            await asyncio.wait_for(client.ws.close(code=code, message=message), _CLOSE_WAIT_S)
        except (TimeoutError, ConnectionError, RuntimeError):
            # A client that reads nothing cannot take a close frame: cut it off.
            if client.transport is not None and not client.transport.is_closing():
                client.transport.abort()

    # ---- the endpoint -----------------------------------------------------------------

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(heartbeat=_HEARTBEAT_S, compress=False, max_msg_size=64 * 1024)
        await ws.prepare(request)
        client = _Client(ws, request.transport)
        client.push(self.stats_frame())
        client.task = asyncio.ensure_future(client.pump())
        client.task.add_done_callback(_ignore_result)
        self.clients.add(client)
        try:
            async for msg in ws:  # clients send nothing; this notices the close
                if msg.type == WSMsgType.ERROR:
                    break
        finally:
            self.clients.discard(client)
            if client.task is not None:
                client.task.cancel()
            if not client.dropped and not ws.closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    await ws.close()
        return ws


def _ignore_result(task: asyncio.Future[Any]) -> None:
    """Writers end by cancellation or a lost connection; neither is an error to report."""
    if not task.cancelled():
        task.exception()


EVENTS: web.AppKey[EventHub] = web.AppKey("mailcatcher_api_events", EventHub)


def add_routes(app: web.Application) -> None:
    hub = EventHub(app[CONTEXT])
    app[EVENTS] = hub
    app.on_startup.append(hub.start)
    app.on_shutdown.append(hub.shutdown)
    app.router.add_get("/api/events", hub.handle)
