"""``/api/events``: Mailpit's WebSocket events, fed by the real mailbox while real SMTP
mail arrives; events from other threads; the debounced ``stats``; retention's
``delete``s and ``prune``; a slow client is dropped without slowing anyone."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import socket
import threading
from datetime import UTC, datetime

import aiohttp
from http_helpers import api_server, events_until, next_event, send_burst_async, smtp_sink

from mailcatcher_gui.core.api import routes_events
from mailcatcher_gui.core.api.routes_events import EVENTS
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.store.database import Store

SUMMARY_KEYS = {
    "ID",
    "MessageID",
    "Read",
    "From",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "Subject",
    "Created",
    "Tags",
    "Size",
    "Attachments",
    "Snippet",
}


def _capture(i: int, pad: int = 0) -> Capture:
    subject = f"sync {i}" + " x" * pad
    return Capture(
        raw=f"From: Sync <sync{i}@example.com>\r\nSubject: {subject}\r\n\r\nbody {i}\r\n".encode(),
        envelope_from=f"sync{i}@example.com",
        envelope_to=("dev@example.com",),
        received_at=datetime.now(UTC),
    )


def _new_ids(events):
    return [int(e["Data"]["ID"]) for e in events if e["Type"] == "new"]


def test_a_burst_of_smtp_mail_arrives_as_new_events_none_lost_in_order(mailbox):
    count = 150

    async def scenario():
        async with (
            smtp_sink(mailbox) as sink,
            api_server(mailbox, version="1.0") as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
            http.ws_connect(api.url + "/api/events") as second,
        ):
            first = await next_event(ws)
            await next_event(second)
            subjects = [f"burst {i}" for i in range(count)]
            ids = await send_burst_async(sink.port(), subjects, connections=4)

            def all_new(events):
                return len(_new_ids(events)) == count

            events = await events_until(ws, all_new)
            other = await events_until(second, all_new)
            # the debounced stats settle on the final counts
            tail = await events_until(
                ws,
                lambda evs: any(e["Type"] == "stats" and e["Data"]["Total"] == count for e in evs),
            )
            hub = api.app[EVENTS]
            return first, ids, events + tail, other, len(hub.clients)

    first, ids, events, other, clients = asyncio.run(scenario())
    assert first == {"Type": "stats", "Data": {"Total": 0, "Unread": 0, "Version": "1.0"}}
    new = _new_ids(events)
    assert new == sorted(ids)  # every message, once, in the order they were stored
    assert _new_ids(other) == new  # every subscriber gets them all
    sample = next(e["Data"] for e in events if e["Type"] == "new")
    assert set(sample) == SUMMARY_KEYS
    assert sample["From"] == {"Name": "Alice", "Address": "alice@example.com"}
    assert sample["To"] == [{"Name": "Bob", "Address": "bob@example.com"}]
    assert sample["Subject"].startswith("burst ") and sample["Read"] is False
    assert sample["Created"].endswith("Z") and sample["Size"] > 0
    stats = [e for e in events if e["Type"] == "stats"]
    assert stats[-1]["Data"] == {"Total": count, "Unread": count, "Version": "1.0"}
    assert len(stats) < count // 5  # debounced, not one per message
    assert clients == 2


def test_events_from_other_threads_hop_to_the_loop(mailbox):
    """Imports, mark read, delete and clear called on another thread (sync calls)."""

    async def scenario():
        async with (
            api_server(mailbox) as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
        ):
            await next_event(ws)
            loop_thread = threading.get_ident()
            seen_threads = set()
            mailbox.subscribe(lambda _e: seen_threads.add(threading.get_ident()))

            def work():
                ids = mailbox.accept_many_sync(_capture(i) for i in range(3))
                mailbox.mark_read(ids[:2])
                mailbox.mark_read([ids[0]], read=False)
                mailbox.delete([ids[1]])
                mailbox.clear()
                return ids

            ids = await asyncio.to_thread(work)
            events = await events_until(ws, lambda evs: any(e["Type"] == "truncate" for e in evs))
            return ids, events, seen_threads, loop_thread

    ids, events, seen_threads, loop_thread = asyncio.run(scenario())
    assert loop_thread not in seen_threads  # they really came from elsewhere
    typed = [(e["Type"], e["Data"]) for e in events if e["Type"] != "stats"]
    a, b, c = (str(i) for i in ids)
    assert typed == [
        ("new", typed[0][1]),
        ("new", typed[1][1]),
        ("new", typed[2][1]),
        ("update", {"ID": a, "Read": True}),
        ("update", {"ID": b, "Read": True}),
        ("update", {"ID": a, "Read": False}),
        ("delete", {"ID": b}),
        ("truncate", None),
    ]
    assert [d["ID"] for _t, d in typed[:3]] == [a, b, c]


def test_retention_sends_delete_per_message_and_one_prune(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"), max_messages=3)

    async def scenario():
        async with (
            smtp_sink(mailbox) as sink,
            api_server(mailbox) as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
        ):
            await next_event(ws)
            ids = await send_burst_async(sink.port(), [f"r{i}" for i in range(6)])
            events = await events_until(ws, lambda evs: any(e["Type"] == "prune" for e in evs))
            # nothing else pending: a user's delete is a delete, not a prune
            mailbox.delete([ids[-1]])
            more = await events_until(
                ws, lambda evs: any(e["Type"] == "delete" for e in evs), timeout=5
            )
            await asyncio.sleep(routes_events.DEBOUNCE_S * 2)
            rest = []
            while True:
                try:
                    rest.append(await next_event(ws, timeout=0.2))
                except TimeoutError:
                    break
            return ids, events, more + rest

    try:
        ids, events, after = asyncio.run(scenario())
    finally:
        mailbox.close()
    deleted = [int(e["Data"]["ID"]) for e in events if e["Type"] == "delete"]
    assert deleted == ids[:3]
    assert [e["Type"] for e in events].count("prune") == 1
    assert events[-1] == {"Type": "prune", "Data": None}
    assert {"Type": "delete", "Data": {"ID": str(ids[-1])}} in after
    assert not any(e["Type"] == "prune" for e in after)


def test_tag_changes_become_update_events_and_info_counts_them(mailbox):
    """``TagsChanged`` from the mailbox's tag operations -> Mailpit's ``{ID, Tags}`` updates."""

    async def scenario():
        async with (
            api_server(mailbox) as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
        ):
            await next_event(ws)
            ids = await asyncio.to_thread(
                lambda: mailbox.accept_many_sync(_capture(i) for i in range(2))
            )
            await events_until(ws, lambda evs: len(_new_ids(evs)) == 2)
            await asyncio.to_thread(mailbox.set_tags, ids, ["beta", "Alpha"])
            await asyncio.to_thread(mailbox.remove_tags, [ids[1]], ["beta"])
            updates = await events_until(
                ws, lambda evs: sum(e["Type"] == "update" for e in evs) == 3
            )
            async with http.get(api.url + "/api/v1/info") as r:
                info = await r.json()
            return ids, [e for e in updates if e["Type"] == "update"], info

    ids, updates, info = asyncio.run(scenario())
    a, b = (str(i) for i in ids)
    assert [u["Data"] for u in updates] == [
        {"ID": a, "Tags": ["Alpha", "beta"]},
        {"ID": b, "Tags": ["Alpha", "beta"]},
        {"ID": b, "Tags": ["Alpha"]},
    ]
    assert info["Tags"] == {"Alpha": 2, "beta": 1}


def test_a_bulk_operation_is_one_prune_and_drops_nobody(mailbox, monkeypatch):
    """Marking thousands read at once must not queue thousands of frames (clients dropped)."""
    monkeypatch.setattr(routes_events, "BULK_LIMIT", 50)

    async def scenario():
        async with (
            api_server(mailbox) as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
        ):
            await next_event(ws)
            ids = await asyncio.to_thread(
                lambda: mailbox.accept_many_sync(_capture(i) for i in range(120))
            )
            await events_until(ws, lambda evs: len(_new_ids(evs)) == 120)
            await asyncio.to_thread(mailbox.mark_read, ids[:10])  # small: itemised
            await asyncio.to_thread(mailbox.mark_read, ids)  # 110 changed: bulk
            await asyncio.to_thread(mailbox.delete, ids[:60])  # bulk
            await asyncio.to_thread(mailbox.delete, ids[60:63])  # small: itemised
            events = await events_until(
                ws,
                lambda evs: sum(e["Type"] == "delete" for e in evs) == 3,
            )
            return ids, [e for e in events if e["Type"] != "stats"], api.app[EVENTS].dropped

    ids, events, dropped = asyncio.run(scenario())
    kinds = [e["Type"] for e in events]
    assert kinds == ["update"] * 10 + ["prune", "prune"] + ["delete"] * 3
    assert [e["Data"]["ID"] for e in events[-3:]] == [str(i) for i in ids[60:63]]
    assert dropped == 0


def _raw_websocket(port: int, rcvbuf: int = 4096) -> socket.socket:
    """A WebSocket client that completes the handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def test_a_client_that_stops_reading_is_dropped_and_nobody_waits_for_it(
    mailbox, monkeypatch, caplog
):
    # Well above one write batch (256 events at once), well below the burst.
    monkeypatch.setattr(routes_events, "QUEUE_LIMIT", 1024)
    count = 4000

    async def scenario():
        async with (
            api_server(mailbox) as api,
            aiohttp.ClientSession() as http,
            http.ws_connect(api.url + "/api/events") as ws,
        ):
            await next_event(ws)
            stuck = await asyncio.to_thread(_raw_websocket, api.port)
            try:
                hub = api.app[EVENTS]
                await asyncio.sleep(0.05)
                assert len(hub.clients) == 2
                reader = asyncio.ensure_future(
                    events_until(ws, lambda evs: len(_new_ids(evs)) == count, timeout=90)
                )
                loop = asyncio.get_running_loop()
                started = loop.time()
                # Imports on another thread: thousands of `new` events (~3 KB each,
                # far more than the socket buffers hold) in a few seconds.
                stored = await asyncio.to_thread(
                    lambda: mailbox.accept_many_sync(_capture(i, pad=1500) for i in range(count))
                )
                ingest_s = loop.time() - started
                events = await reader
                return stored, events, hub.dropped, len(hub.clients), ingest_s
            finally:
                stuck.close()

    with caplog.at_level(logging.WARNING, logger="mailcatcher_gui.core.api.routes_events"):
        stored, events, dropped, clients, ingest_s = asyncio.run(scenario())
    assert dropped == 1 and clients == 1  # the stuck one went, the healthy one stays
    assert _new_ids(events) == list(stored)  # the healthy client lost nothing
    assert any("fell 1024 events behind" in r.getMessage() for r in caplog.records)
    assert ingest_s < 60


def test_no_subscribers_no_work(mailbox):
    async def scenario():
        async with api_server(mailbox) as api:
            hub = api.app[EVENTS]
            calls = []
            original = hub._dispatch
            hub._dispatch = lambda event: calls.append(event) or original(event)
            await asyncio.to_thread(lambda: mailbox.accept_sync(_capture(1)))
            await asyncio.sleep(0.05)
            idle = len(calls)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(api.url + "/api/events") as ws,
            ):
                await next_event(ws)
                await asyncio.to_thread(lambda: mailbox.accept_sync(_capture(2)))
                assert (await next_event(ws))["Type"] == "new"
            return idle, len(calls)

    idle, busy = asyncio.run(scenario())
    assert idle == 0 and busy == 1
