"""Helpers for the HTTP API server tests (``test_api_server``, ``_events``, ``_security``).

Everything real: ``start_http`` on port 0 over a real ``Mailbox`` on a
temporary SQLite file, the real SMTP sink on the same loop, aiohttp's client
and WebSocket, ``smtplib`` for mail (in a thread, so the loop keeps serving).
A scenario is an ``async def`` run with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import smtplib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import bcrypt
from smtp_helpers import HOST, make_message, queued_id, sink_config

from mailcatcher_gui.core.api import ApiContext
from mailcatcher_gui.core.api.server import HttpConfig, RunningHttp, start_http
from mailcatcher_gui.core.smtp import RunningSink, start_sink


@asynccontextmanager
async def api_server(
    mailbox: Any, config: HttpConfig | None = None, **ctx: Any
) -> AsyncIterator[RunningHttp]:
    """``start_http`` on 127.0.0.1:0 (or ``config``) over ``mailbox``; stopped afterwards."""
    running = await start_http(config or HttpConfig(port=0), ApiContext(mailbox=mailbox, **ctx))
    try:
        yield running
    finally:
        await running.stop()


@asynccontextmanager
async def smtp_sink(mailbox: Any, **overrides: Any) -> AsyncIterator[RunningSink]:
    """The real SMTP sink on port 0 on the running loop."""
    sink = await start_sink(sink_config(**overrides), mailbox)
    try:
        yield sink
    finally:
        await sink.stop()


def send_burst(port: int, subjects: Sequence[str], connections: int = 1) -> list[int]:
    """Deliver one message per subject over ``connections`` smtplib sessions; queued ids."""
    ids: list[int] = []
    chunks = [subjects[i::connections] for i in range(connections)]
    for chunk in chunks:
        if not chunk:
            continue
        with smtplib.SMTP(HOST, port, timeout=30) as client:
            for subject in chunk:
                client.ehlo_or_helo_if_needed()
                client.mail("app@example.com")
                client.rcpt("dev@example.com")
                code, reply = client.data(make_message(subject))
                assert code == 250, reply
                ids.append(queued_id(reply))
    return ids


async def send_burst_async(port: int, subjects: Sequence[str], connections: int = 1) -> list[int]:
    """``send_burst`` in worker threads (one per connection) while the loop runs."""
    parts = [subjects[i::connections] for i in range(connections)]
    results = await asyncio.gather(
        *(asyncio.to_thread(send_burst, port, part) for part in parts if part)
    )
    return [i for part in results for i in part]


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def htpasswd_line(user: str, password: str, rounds: int = 4) -> str:
    """One htpasswd line with a real bcrypt hash (few rounds: tests stay fast)."""
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds)).decode()
    return f"{user}:{hashed}\n"


async def next_event(ws: aiohttp.ClientWebSocketResponse, timeout: float = 10.0) -> dict[str, Any]:
    msg = await ws.receive(timeout=timeout)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    event = json.loads(msg.data)
    assert set(event) == {"Type", "Data"}, event
    return event


async def events_until(
    ws: aiohttp.ClientWebSocketResponse,
    done: Any,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Collect events until ``done(events)`` is true (or fail after ``timeout``)."""
    events: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not done(events):
        left = deadline - loop.time()
        assert left > 0, f"timed out; got {len(events)} events, last {events[-3:]}"
        events.append(await next_event(ws, left))
    return events
