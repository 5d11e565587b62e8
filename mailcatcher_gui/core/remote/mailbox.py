"""``RemoteMailbox``: ``MailboxProtocol`` over a Mailpit-compatible HTTP API.

The window, its list model and its viewer take a ``MailboxProtocol``; this
is the second implementation, so the same widgets show a shared catcher
(another ``mailcatcher-gui serve --http``, or Mailpit >= 1.22) without
knowing it. Reads are blocking HTTP calls (``core.remote.client``) made on
the caller's thread; events come from the WebSocket thread
(``core.remote.events``) and reach subscribers there, as the local
mailbox's writer-thread events do.

How the Protocol maps onto the API:

* ids: the server's string ids get local ``int`` handles (``IdMap``).
* ``list``/``count``: ``GET /api/v1/messages`` or, with a query,
  ``/api/v1/search`` with ``start``/``limit``; the list stays windowed.
  The API has one order, newest first; the oldest-first order is the same
  pages read from the other end. Other sort keys (From, Subject ...) cannot
  be asked of the server, so they show in received order.
* ``get``/``raw``: ``GET /api/v1/message/{ID}/raw`` (which does not mark
  the message read, unlike ``GET /message/{ID}``), parsed here, so every
  viewer tab works; the SMTP session comes from this app's extension
  ``GET /api/v1/message/{ID}/session`` when the server has it.
* ``mark_read``/``delete``/``clear``: ``PUT``/``DELETE /api/v1/messages``;
  the change is announced at once (as the local mailbox does) and the echo
  that comes back over the WebSocket is not announced a second time.
* tags: ``/api/v1/tags`` (see ``core.remote.tagging``).
* ``release``: the catcher's own relay (``POST /message/{ID}/release``).
* ``accept``: a Mailpit API has no way to store raw bytes as received, so
  it raises ``RemoteError``: mail reaches a catcher over its SMTP port.
* ``retention``: the server's business (0 here; ``set_retention`` does nothing).

Caches: summaries (filled by every list page and ``new`` event, so opening
or re-selecting a row costs no request) and the raw bytes of the last few
opened messages (so the viewer's tabs, reply and save do not re-download).
"""

from __future__ import annotations

import builtins
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..listeners import Listeners
from ..mailbox_protocol import Listener
from ..mime.parse import parse_message
from ..mime.summary import summarize
from ..models import (
    Capture,
    MailboxCleared,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
    MessageSummary,
    OpenedMessage,
    StoredMessage,
)
from ..store import MessageNotFound, QueryError
from .client import ApiClient, CatcherEndpoint, HttpStatusError, RemoteError, message_path
from .convert import IdMap, parse_time, summary_from_json
from .events import ConnectionState, EventStream, StateHandler
from .memo import Memo
from .routing import RemoteRouting
from .session import stored_message
from .tagging import RemoteTags

__all__ = ["RemoteMailbox"]

log = logging.getLogger(__name__)

#: how many summaries to remember (list pages, events)
SUMMARY_CACHE = 50_000
#: raw bytes kept of recently opened messages
RAW_CACHE_BYTES = 64 * 1024 * 1024
RAW_CACHE_COUNT = 16
#: largest page asked of the server in one call (``ids``)
ID_PAGE = 5_000

#: how long a counter (total, unread, a search's count) is remembered without events
COUNTS_TTL = 0.5
#: a ``prune`` this soon after a ``delete`` event only confirms the deletes
PRUNE_FOLLOWS_S = 2.0


class RemoteMailbox(RemoteTags, RemoteRouting):
    """A catcher's mailbox over HTTP; see the module docstring."""

    def __init__(self, endpoint: CatcherEndpoint, *, live: bool = True) -> None:
        self.endpoint = endpoint
        self.client = ApiClient(endpoint)
        self.ids_map = IdMap()
        self._lock = threading.Lock()
        self._listeners: Listeners[MailboxEvent] = Listeners(log, "mailbox listener")
        self._state_listeners: Listeners[ConnectionState] = Listeners(log, "connection watcher")
        self._summaries: OrderedDict[int, MessageSummary] = OrderedDict()
        self._raw: OrderedDict[int, bytes] = OrderedDict()
        self._raw_bytes = 0
        #: handles deleted here whose WebSocket echo is still to come
        self._deleted_here: set[int] = set()
        self._has_session: bool | None = None
        self.memo = Memo()
        self._last_delete_event = -PRUNE_FOLLOWS_S
        self._closed = False
        self.events = EventStream(endpoint, self._on_server_event, self._on_state)
        if live:
            self.events.start()

    # ---- where and how much ----------------------------------------------------------

    @property
    def location(self) -> str:
        return self.endpoint.base_url

    @property
    def retention(self) -> int:
        return 0

    def set_retention(self, max_messages: int) -> Sequence[int]:
        """The catcher keeps its own limit (Mailpit's ``--max``); nothing to do here."""
        return ()

    def check(self) -> int:
        """Prove the URL serves a Mailpit-compatible API and the login works:
        one one-row list (every such server has it; ``/api/v1/info`` is
        optional in older ones). Returns how many messages it holds; raises
        ``RemoteError`` (``RemoteAuthError`` for a refused login)."""
        try:
            data = self._page(None, 0, 1)
        except HttpStatusError as exc:
            raise RemoteError(
                f"{self.location} does not look like a Mailpit-compatible catcher "
                f"(GET /api/v1/messages: {exc.status})"
            ) from exc
        total = data.get("total", 0)
        return int(total) if isinstance(total, int | float) else 0

    # ---- events -------------------------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    def watch_connection(self, listener: StateHandler) -> Callable[[], None]:
        """Call ``listener(ConnectionState)`` (on the events thread) on every change."""
        return self._state_listeners.add(listener)

    @property
    def connection(self) -> ConnectionState:
        return self.events.state

    def _emit(self, event: MailboxEvent) -> None:
        self.memo.clear()  # every change makes the remembered counters stale
        self._listeners.emit(event)

    def _on_state(self, state: ConnectionState) -> None:
        self._state_listeners.emit(state)
        if state.connected:
            # Events were missed while the socket was down, or between the
            # first list read and the socket being up: listeners re-read (an
            # empty MessagesAdded; the message on screen stays).
            if state.resumed:
                self._forget_all()
            self._emit(MessagesAdded(()))

    def _on_server_event(self, kind: str, data: Any) -> None:
        if kind == "new" and isinstance(data, dict) and isinstance(data.get("ID"), str):
            summary = self._remember(data)
            self._emit(MessagesAdded((summary,)))
        elif kind == "delete" and isinstance(data, dict) and isinstance(data.get("ID"), str):
            handle = self.ids_map.handle(data["ID"])
            with self._lock:
                if handle in self._deleted_here:
                    self._deleted_here.discard(handle)
                    return
            self._last_delete_event = time.monotonic()
            self._forget(handle)
            self._emit(MessagesDeleted((handle,)))
        elif kind == "update" and isinstance(data, dict) and isinstance(data.get("ID"), str):
            handle = self.ids_map.handle(data["ID"])
            read = data.get("Read")
            if isinstance(read, bool) and self._set_cached_read([handle], read):
                self._emit(MessagesChanged((handle,), read))
            if isinstance(data.get("Tags"), builtins.list):
                self._tags_updated(handle, data["Tags"])
        elif kind == "truncate":
            self._forget_all()
            self._emit(MailboxCleared())
        elif kind == "prune" and not self._deletes_itemised():
            self._forget_all()
            self._emit(MessagesAdded(()))  # "re-read" (see core.models.MessagesAdded)

    def _deletes_itemised(self) -> bool:
        """Whether a ``prune`` just followed ``delete`` events for what it pruned.

        ``mailcatcher-gui serve`` names every pruned message before its
        ``prune``; Mailpit sends only ``prune`` ("reload the list"), which
        then re-reads everything.
        """
        return time.monotonic() - self._last_delete_event < PRUNE_FOLLOWS_S

    # ---- caches -------------------------------------------------------------------------

    def _remember(self, data: dict[str, Any]) -> MessageSummary:
        summary = summary_from_json(data, self.ids_map.handle(data["ID"]))
        with self._lock:
            self._summaries[summary.id] = summary
            self._summaries.move_to_end(summary.id)
            while len(self._summaries) > SUMMARY_CACHE:
                self._summaries.popitem(last=False)
        return summary

    def _forget(self, handle: int) -> None:
        with self._lock:
            self._summaries.pop(handle, None)
            raw = self._raw.pop(handle, None)
            if raw is not None:
                self._raw_bytes -= len(raw)

    def _forget_all(self) -> None:
        with self._lock:
            self._summaries.clear()
            self._raw.clear()
            self._raw_bytes = 0
            self._deleted_here.clear()

    def _set_cached_read(self, handles: Iterable[int], read: bool) -> bool:
        """Patch cached rows; True when one changed or was not cached."""
        changed = False
        with self._lock:
            for h in handles:
                s = self._summaries.get(h)
                if s is None or s.read != read:
                    changed = True
                if s is not None and s.read != read:
                    self._summaries[h] = replace(s, read=read)
        return changed

    # ---- adding mail ------------------------------------------------------------------------

    async def accept(self, capture: Capture) -> int:
        raise RemoteError(
            f"the catcher at {self.location} takes new mail on its SMTP port only; "
            "its API cannot store a message as received"
        )

    def accept_many_sync(self, captures: Iterable[Capture]) -> Sequence[int]:
        raise RemoteError(
            f"cannot import into the catcher at {self.location}: its API has no import; "
            "switch back to the local mailbox to import, or send the messages to its SMTP port"
        )

    # ---- reading --------------------------------------------------------------------------------

    def _page(self, query: str | None, start: int, limit: int) -> dict[str, Any]:
        q = (query or "").strip()
        params: dict[str, Any] = {"start": start, "limit": limit}
        try:
            if q:
                params["query"] = q
                data = self.client.get_json("/api/v1/search", params)
            else:
                data = self.client.get_json("/api/v1/messages", params)
        except HttpStatusError as exc:
            if q and exc.status == 400:
                raise QueryError(str(exc).split(": 400 ", 1)[-1]) from exc
            raise
        if not isinstance(data, dict) or not isinstance(data.get("messages"), builtins.list):
            raise RemoteError(f"{self.location} answered the list with an unexpected shape")
        return data

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> Sequence[MessageSummary]:
        """One page, newest first (or oldest first: the same rows from the other end)."""
        if limit <= 0:
            return []
        if descending:
            data = self._page(query, max(offset, 0), limit)
            return [self._remember(m) for m in data["messages"] if _has_id(m)]
        total = self.count(query)
        start = max(total - offset - limit, 0)
        count = min(limit, total - offset)
        if count <= 0:
            return []
        data = self._page(query, start, count)
        rows = [self._remember(m) for m in data["messages"] if _has_id(m)]
        rows.reverse()
        return rows

    def _counter(self, query: str | None, key: str) -> int:
        q = (query or "").strip()
        data = self.memo.get("page:" + q, COUNTS_TTL, lambda: self._page(q, 0, 1))
        value = data.get(key, data.get("total", 0))
        return int(value) if isinstance(value, int | float) else 0

    def count(self, query: str | None = None) -> int:
        return self._counter(query, "messages_count" if (query or "").strip() else "total")

    def unread_count(self) -> int:
        return self._counter(None, "unread")

    def ids(self, query: str | None = None) -> Sequence[int]:
        out: builtins.list[int] = []
        start = 0
        while True:
            data = self._page(query, start, ID_PAGE)
            page = [m for m in data["messages"] if _has_id(m)]
            out.extend(self._remember(m).id for m in page)
            start += len(data["messages"])
            if len(data["messages"]) < ID_PAGE:
                return out

    def _server_id(self, handle: int) -> str:
        server_id = self.ids_map.server_id(handle)
        if server_id is None:
            raise MessageNotFound(handle)
        return server_id

    def summary(self, message_id: int) -> MessageSummary:
        with self._lock:
            cached = self._summaries.get(message_id)
        if cached is not None:
            return cached
        # Not listed yet: built from the raw message (the API's own
        # ``GET /message/{ID}`` would mark it read). The flag is unknown; unread.
        raw = self.raw(message_id)
        facts = summarize(raw)
        received_at = facts.date or parse_time(None)
        return MessageSummary.from_facts(
            facts, id=message_id, received_at=received_at, size=len(raw), read=False
        )

    def raw(self, message_id: int) -> bytes:
        with self._lock:
            cached = self._raw.get(message_id)
            if cached is not None:
                self._raw.move_to_end(message_id)
                return cached
        server_id = self._server_id(message_id)
        try:
            data = self.client.get_bytes(message_path(server_id, "/raw"))
        except HttpStatusError as exc:
            if exc.status == 404:
                raise MessageNotFound(message_id) from exc
            raise
        with self._lock:
            self._raw[message_id] = data
            self._raw_bytes += len(data)
            while self._raw and (
                self._raw_bytes > RAW_CACHE_BYTES or len(self._raw) > RAW_CACHE_COUNT
            ):
                _h, old = self._raw.popitem(last=False)
                self._raw_bytes -= len(old)
        return data

    def get_stored(self, message_id: int) -> StoredMessage:
        raw = self.raw(message_id)
        summary = self.summary(message_id)
        return stored_message(summary, raw, self._session(message_id))

    def get(self, message_id: int) -> OpenedMessage:
        stored = self.get_stored(message_id)
        return OpenedMessage(stored=stored, parsed=parse_message(stored.raw))

    def _session(self, message_id: int) -> dict[str, Any] | None:
        """The extension's session facts, or None (Mailpit has no such endpoint)."""
        if self._has_session is False:
            return None
        try:
            data = self.client.get_json(message_path(self._server_id(message_id), "/session"))
        except HttpStatusError as exc:
            if exc.status in (404, 405) and self._has_session is None:
                # 404 for a message we could read a moment ago: no such endpoint.
                self._has_session = False
            return None
        except RemoteError:
            return None
        self._has_session = True
        return data if isinstance(data, dict) else None

    # ---- flags and deletion --------------------------------------------------------------------

    def _server_ids(self, ids: Sequence[int]) -> builtins.list[str]:
        return [s for s in (self.ids_map.server_id(h) for h in ids) if s is not None]

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None:
        handles = builtins.list(dict.fromkeys(ids))
        server_ids = self._server_ids(handles)
        if not server_ids:
            return
        # The cache first: the server's WebSocket echo may overtake the reply,
        # and finds the row already patched (so it is not announced twice).
        self._set_cached_read(handles, read)
        self.client.send_json("PUT", "/api/v1/messages", {"IDs": server_ids, "Read": read})
        self._emit(MessagesChanged(tuple(handles), read))

    def delete(self, ids: Sequence[int]) -> Sequence[int]:
        """Delete on the server. Every id it knew is returned (Mailpit does not
        say which existed; a second delete of one id is a no-op there)."""
        handles = [h for h in dict.fromkeys(ids) if self.ids_map.server_id(h) is not None]
        if not handles:
            return []
        server_ids = self._server_ids(handles)
        with self._lock:
            self._deleted_here.update(handles)
        try:
            self.client.send_json("DELETE", "/api/v1/messages", {"IDs": server_ids})
        except Exception:
            with self._lock:
                self._deleted_here.difference_update(handles)
            raise
        for h in handles:
            self._forget(h)
        self._emit(MessagesDeleted(tuple(handles)))
        return handles

    def release(self, message_id: int, recipients: Sequence[str]) -> None:
        """Have the catcher relay the message, unchanged, to ``recipients``
        (``POST /api/v1/message/{ID}/release``, through the relay the catcher is
        configured with). Not part of ``MailboxProtocol``: the window's Release
        To… sends the fetched raw bytes through this app's own relay profiles,
        which works with any catcher. Raises ``RemoteError`` with the server's
        reason (no relay configured, an SMTP error, a bad address)."""
        self.client.send_json(
            "POST",
            message_path(self._server_id(message_id), "/release"),
            {"To": list(recipients)},
        )

    def clear(self) -> int:
        total = self.count()
        # An empty ID list deletes everything (Mailpit's documented meaning).
        self.client.send_json("DELETE", "/api/v1/messages", {"IDs": []})
        self._forget_all()
        self._emit(MailboxCleared())
        return total

    # ---- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.events.stop()
        self.client.close()


def _has_id(data: Any) -> bool:
    return isinstance(data, dict) and isinstance(data.get("ID"), str) and bool(data["ID"])
