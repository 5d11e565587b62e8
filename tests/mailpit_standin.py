"""A small stand-in for a Mailpit server, for the parts of its API a remote window uses.

Mailpit itself (a Go binary) does not run on this machine, and our own
``serve`` uses decimal ids, so this is how the client meets what only a real
Mailpit does: random 22-character string ids, no ``/session`` extension
(404), plain-text errors, ``GET /message/{ID}`` marking read. Shapes follow
Mailpit's swagger.json (``MessagesSummary``, ``MessageSummary``) and its
WebSocket (``{"Type", "Data"}`` frames, several per frame joined by newlines
as older releases sent them). Served by aiohttp on a real socket, port 0.

``MailpitStandIn(directory)`` is a context manager; ``add(raw, subject)``
stores a message and announces it; ``requests`` records every path asked.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import string
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from smtp_helpers import background_loop

_ALPHABET = string.ascii_letters + string.digits


@dataclass
class _Message:
    id: str
    raw: bytes
    subject: str
    created: str
    read: bool = False
    tags: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "ID": self.id,
            "MessageID": f"{self.id}@standin",
            "Read": self.read,
            "From": {"Name": "Sender", "Address": "sender@example.com"},
            "To": [{"Name": "", "Address": "rcpt@example.com"}],
            "Cc": None,
            "Bcc": [],
            "ReplyTo": [],
            "Subject": self.subject,
            "Created": self.created,
            "Tags": self.tags,
            "Size": len(self.raw),
            "Attachments": 0,
            "Snippet": "",
        }


class MailpitStandIn:
    def __init__(self, *, greet: bool = True) -> None:
        #: send ``stats`` when a client connects (False: say nothing until there is news)
        self.greet = greet
        self.messages: list[_Message] = []  # oldest first
        self.requests: list[str] = []
        self.sockets: list[web.WebSocketResponse] = []
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None

    # ---- the API -----------------------------------------------------------------

    def _page(self, found: list[_Message], request: web.Request) -> web.Response:
        start = int(request.query.get("start", "0"))
        limit = int(request.query.get("limit", "50"))
        newest_first = list(reversed(found))
        unread = sum(not m.read for m in self.messages)
        return web.json_response(
            {
                "total": len(self.messages),
                "unread": unread,
                "count": len(newest_first[start : start + limit]),
                "messages_count": len(found),
                "messages_unread": sum(not m.read for m in found),
                "start": start,
                "tags": [],
                "messages": [m.summary() for m in newest_first[start : start + limit]],
            }
        )

    async def _list(self, request: web.Request) -> web.Response:
        return self._page(self.messages, request)

    async def _search(self, request: web.Request) -> web.Response:
        q = request.query.get("query", "").strip()
        if not q:
            return web.Response(status=400, text="Error: no search query")
        return self._page([m for m in self.messages if q.lower() in m.subject.lower()], request)

    def _find(self, request: web.Request) -> _Message:
        for m in self.messages:
            if m.id == request.match_info["id"]:
                return m
        raise web.HTTPNotFound(text="Message not found")

    async def _raw(self, request: web.Request) -> web.Response:
        return web.Response(body=self._find(request).raw, content_type="text/plain")

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.json()
        for m in self.messages:
            if m.id in body.get("IDs", []):
                m.read = bool(body.get("Read"))
                await self._broadcast(("update", {"ID": m.id, "Read": m.read}))
        return web.Response(text="ok")

    async def _delete(self, request: web.Request) -> web.Response:
        body = await request.json()
        ids = set(body.get("IDs") or [m.id for m in self.messages])
        gone = [m for m in self.messages if m.id in ids]
        self.messages = [m for m in self.messages if m.id not in ids]
        await self._broadcast(*[("delete", {"ID": m.id}) for m in gone])
        return web.Response(text="ok")

    async def _events(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self.sockets.append(ws)
        if self.greet:
            await ws.send_str(json.dumps({"Type": "stats", "Data": {"Total": len(self.messages)}}))
        async for _msg in ws:
            pass
        self.sockets.remove(ws)
        return ws

    async def _broadcast(self, *events: tuple[str, Any]) -> None:
        # One frame, one object per line (what older Mailpit releases sent).
        frame = "\n".join(json.dumps({"Type": t, "Data": d}) for t, d in events)
        for ws in list(self.sockets):
            await ws.send_str(frame)

    @web.middleware
    async def _record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        self.requests.append(request.path)
        return await handler(request)

    # ---- driving it from the test thread -------------------------------------------------

    def add(self, subject: str) -> str:
        """Store a message with a fresh random id and announce it; returns the id."""
        mid = "".join(secrets.choice(_ALPHABET) for _ in range(22))
        raw = f"From: sender@example.com\r\nSubject: {subject}\r\n\r\nHello.\r\n".encode()
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        message = _Message(mid, raw, subject, now)

        async def go() -> None:
            self.messages.append(message)
            await self._broadcast(("new", message.summary()), ("stats", {}))

        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(go(), self._loop).result(10)
        return mid

    def broadcast(self, *events: tuple[str, Any]) -> None:
        """Send these events in one frame (from the test thread)."""
        assert self._loop is not None
        asyncio.run_coroutine_threadsafe(self._broadcast(*events), self._loop).result(10)

    def __enter__(self) -> MailpitStandIn:
        self._cm = background_loop()
        self._loop, self._errors = self._cm.__enter__()
        app = web.Application(middlewares=[self._record])
        app.router.add_get("/api/v1/messages", self._list)
        app.router.add_put("/api/v1/messages", self._put)
        app.router.add_delete("/api/v1/messages", self._delete)
        app.router.add_get("/api/v1/search", self._search)
        app.router.add_get("/api/v1/message/{id}/raw", self._raw)
        app.router.add_get("/api/events", self._events)

        async def start() -> web.AppRunner:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            assert site._server is not None
            self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"
            return runner

        self._runner = asyncio.run_coroutine_threadsafe(start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._loop is not None

        async def stop() -> None:
            for ws in list(self.sockets):
                await ws.close()
            await self._runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._cm.__exit__(None, None, None)
