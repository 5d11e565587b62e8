"""The service the sink, the CLI and the UI talk to.

Writes go through one writer thread (SQLite's single-writer rule made
explicit): ``accept`` hands a ``Capture`` to the thread, which extracts the
cheap summary, and commits every capture that is waiting in one transaction
(group commit). Only after that commit does the caller's future resolve, so
the sink's ``250 queued as <id>`` is never sent for a message that is not on
disk. Summary extraction and the commit run off the event loop, so neither a
burst nor a 25 MB message stalls the window. When no capture has arrived for
a moment, the same thread does the store's deferred upkeep (merging the
search index, checkpointing the WAL and cutting it back to zero bytes) in
small steps.

Tags (``set_tags`` ...) are written like flags, on the caller's thread, and
announced as ``TagsChanged``.

Reads (``list``, ``count``, ``get``) run on the caller's thread over the
store's per-thread reader connections; they have no side effects. Marking a
message read is the explicit ``mark_read`` call.

Events (``MessagesAdded`` ...) are plain callbacks, delivered on the thread
that awaited the write: the event loop for ``accept``, the calling thread for
the synchronous methods.

``Mailbox`` implements ``core.mailbox_protocol.MailboxProtocol``, the surface
the window and the CLI use; ``store`` is for the composition root and tests.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from .listeners import Listeners
from .mailbox_protocol import Listener, MailboxProtocol
from .mime.parse import parse_message
from .mime.summary import summarize
from .models import (
    Capture,
    MailboxCleared,
    MailboxesChanged,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
    MessageSummary,
    OpenedMessage,
    RuleEvent,
    RuleLogAdded,
    StoredMessage,
    TagsChanged,
)
from .store.database import Store, StoreError

__all__ = ["Listener", "Mailbox", "MailboxProtocol"]

log = logging.getLogger(__name__)

# How many waiting captures one transaction may take. Large enough to
# amortise fsync under a burst, small enough that the first 250 is not held
# back by a long tail.
_MAX_BATCH = 256

# Group commit under load. A transaction costs a fixed ~100-150 us (WAL pages
# of every index, a new FTS5 segment) plus a little per message, and with N
# SMTP connections up to N captures are in flight, so a busy writer waits
# briefly for the next capture before it commits: while captures keep
# arriving within _GATHER_GAP of each other (at most _GATHER_MAX in all). The
# wait only happens while a burst is on (this batch or the previous one had
# more than one capture), so a lone message is never held back.
#
# The gap is short on purpose, about the loop's time for one session's DATA.
# Waiting for *every* capture in flight puts the loop and the writer in
# lock-step: all N sessions wait on one commit (the loop idles), then the loop
# serves all N while the writer idles. A short gap commits part of the
# sessions while the loop serves the rest. 10 connections, 2 KB messages, 2
# cores: gap 250 us ~2,800 msgs/s, 100-150 us ~3,100, 50 us ~2,950.
_GATHER_GAP = 0.00012
_GATHER_MAX = 0.0015
_BURST_IDLE = 0.01  # a burst counts as over after this long without a batch
# The store's deferred upkeep (FTS5 merges, WAL checkpoint and truncation; core.store.upkeep)
# runs in small steps once no capture has arrived for this long.
_UPKEEP_AFTER_IDLE = 0.2


class _WriteResult:
    """One waiter's share of a committed batch.

    ``pruned`` is what retention removed in that transaction; only the first
    waiter of the batch announces it (``announces_pruned``), but every waiter
    needs it to leave out a message pruned within its own batch.
    """

    __slots__ = ("summary", "pruned", "announces_pruned")

    def __init__(self, summary: MessageSummary, pruned: frozenset[int], announces_pruned: bool):
        self.summary = summary
        self.pruned = pruned
        self.announces_pruned = announces_pruned


class _LoopWaiter:
    """An ``accept`` waiting on an event loop: its asyncio future and that loop.

    The writer resolves every such waiter of a batch with ONE
    ``call_soon_threadsafe`` per loop (one self-pipe write per batch instead of
    a ``concurrent.futures.Future`` plus ``wrap_future`` callback and a
    self-pipe write per message).
    """

    __slots__ = ("loop", "future")

    def __init__(
        self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[_WriteResult]
    ) -> None:
        self.loop = loop
        self.future = future

    def set_running_or_notify_cancel(self) -> bool:
        # Best effort from the writer thread: a waiter cancelled before its
        # batch starts is not stored (as with a cancelled concurrent future).
        return not self.future.cancelled()


_Waiter = concurrent.futures.Future[_WriteResult] | _LoopWaiter
_Outcome = tuple[_Waiter, "_WriteResult | None", BaseException | None]
_LoopOutcome = tuple["asyncio.Future[_WriteResult]", "_WriteResult | None", BaseException | None]


def _resolve(outcomes: list[_LoopOutcome]) -> None:
    """On the waiters' loop: hand each ``accept`` its result or exception."""
    for future, result, exc in outcomes:
        if future.done():  # cancelled meanwhile (the session went away)
            continue
        if exc is not None:
            future.set_exception(exc)
        elif result is not None:
            future.set_result(result)


class Mailbox:
    """Captured mail: accept, list, open, flag, delete. Owns the writer thread."""

    def __init__(self, store: Store, *, max_messages: int = 0) -> None:
        self._store = store
        self._max_messages = max(0, int(max_messages))
        self._listeners: Listeners[MailboxEvent] = Listeners(log, "mailbox listener")
        self._queue: queue.SimpleQueue[tuple[Capture, _Waiter] | None] = queue.SimpleQueue()
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="mailbox-writer", daemon=True)
        self._writer.start()

    @property
    def store(self) -> Store:
        return self._store

    @property
    def location(self) -> str:
        return str(self._store.path)

    # ---- retention -------------------------------------------------------

    @property
    def retention(self) -> int:
        """How many messages are kept; 0 = no limit. Change it with ``set_retention``."""
        return self._max_messages

    def set_retention(self, max_messages: int) -> builtins.list[int]:
        """Keep at most ``max_messages`` (0 = no limit), pruning the oldest now.

        Without the immediate prune a lowered limit would only take effect
        when the next message arrived. The writer thread reads the limit for
        each batch, so a batch in flight prunes by the old or the new one;
        either way the store's write lock keeps the two prunes apart.
        """
        limit = max(0, int(max_messages))
        self._max_messages = limit
        pruned = self._store.prune(limit)
        if pruned:
            self._emit(MessagesDeleted(tuple(pruned), pruned=True))
        return pruned

    @property
    def max_messages(self) -> int:
        """The same as ``retention`` (kept for callers written before ``set_retention``)."""
        return self._max_messages

    @max_messages.setter
    def max_messages(self, value: int) -> None:
        self.set_retention(value)

    # ---- events -------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns a function that unregisters it."""
        return self._listeners.add(listener)

    def _emit(self, event: MailboxEvent) -> None:
        # a broken listener must not lose the message or stop others (core.listeners)
        self._listeners.emit(event)

    # ---- writes -------------------------------------------------------

    def submit(self, capture: Capture) -> concurrent.futures.Future[_WriteResult]:
        """Queue a capture for the writer; the future resolves to a ``_WriteResult``."""
        if self._closed:
            raise RuntimeError("mailbox is closed")
        fut: concurrent.futures.Future[_WriteResult] = concurrent.futures.Future()
        self._queue.put((capture, fut))
        return fut

    async def accept(self, capture: Capture) -> int:
        """Store ``capture`` durably and return its id; raises if it was not committed."""
        if self._closed:
            raise RuntimeError("mailbox is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[_WriteResult] = loop.create_future()
        self._queue.put((capture, _LoopWaiter(loop, future)))
        result: _WriteResult = await future
        self._announce(result)
        return result.summary.id

    def accept_sync(self, capture: Capture) -> int:
        """Blocking variant for scripts, imports and the CLI."""
        result: _WriteResult = self.submit(capture).result()
        self._announce(result)
        return result.summary.id

    def accept_many_sync(self, captures: Iterable[Capture]) -> builtins.list[int]:
        """Queue many captures at once so they share transactions (imports)."""
        futures = [self.submit(c) for c in captures]
        ids: list[int] = []
        for fut in futures:
            result: _WriteResult = fut.result()
            self._announce(result)
            ids.append(result.summary.id)
        return ids

    def _announce(self, result: _WriteResult) -> None:
        if result.pruned and result.announces_pruned:
            self._emit(MessagesDeleted(tuple(sorted(result.pruned)), pruned=True))
        # Retention may prune a message of the very batch that added it (a
        # limit smaller than a burst); such a message is never announced.
        if result.summary.id not in result.pruned:
            self._emit(MessagesAdded((result.summary,)))

    def _write_loop(self) -> None:
        busy_until = 0.0  # a burst is on until then (the previous batch had > 1 capture)
        get = self._queue.get
        while True:
            if self._store.needs_upkeep:
                try:
                    item = get(timeout=_UPKEEP_AFTER_IDLE)
                except queue.Empty:
                    self._upkeep_while_idle()
                    continue
            else:
                item = get()
            if item is None:
                return
            batch = [item]
            stop = False
            deadline = 0.0
            busy = time.monotonic() < busy_until
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    if not (busy or len(batch) > 1):
                        break
                    now = time.monotonic()
                    if not deadline:
                        deadline = now + _GATHER_MAX
                    wait = min(_GATHER_GAP, deadline - now)
                    if wait <= 0:
                        break
                    try:
                        nxt = get(timeout=wait)
                    except queue.Empty:
                        break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write_batch(batch)
            busy_until = time.monotonic() + _BURST_IDLE if len(batch) > 1 else 0.0
            if stop:
                return

    def _upkeep_while_idle(self) -> None:
        """The store's deferred upkeep, one small step at a time, until mail comes in.

        Each step is bounded (a few ms), so a capture that arrives meanwhile
        waits for at most one step.
        """
        while self._store.needs_upkeep and self._queue.empty():
            try:
                self._store.maintain()
            except Exception as exc:  # noqa: BLE001 - upkeep must never stop the writer
                log.warning("message store upkeep failed: %s", exc)
                return

    def _write_batch(self, batch: list[tuple[Capture, _Waiter]]) -> None:
        live = [(c, w) for c, w in batch if w.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            rows = [(c, summarize(c.raw)) for c, _ in live]
            summaries, pruned = self._store.add(rows, max_messages=self._max_messages)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            # The environment (StoreError) is reported by whoever waited; a bug is logged here.
            level = logging.DEBUG if isinstance(exc, StoreError) else logging.ERROR
            log.log(level, "storing %d message(s) failed: %s", len(live), exc)
            self._settle([(w, None, exc) for _, w in live])
            return
        gone = frozenset(pruned)
        self._settle(
            [
                (w, _WriteResult(summary, gone, announces_pruned=i == 0), None)
                for i, ((_, w), summary) in enumerate(zip(live, summaries, strict=True))
            ]
        )

    @staticmethod
    def _settle(outcomes: builtins.list[_Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, builtins.list[_LoopOutcome]] = {}
        for waiter, result, exc in outcomes:
            if isinstance(waiter, _LoopWaiter):
                by_loop.setdefault(waiter.loop, []).append((waiter.future, result, exc))
            elif exc is not None:
                waiter.set_exception(exc)
            elif result is not None:
                waiter.set_result(result)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_resolve, items)
            except RuntimeError:  # that loop is closed: nobody is waiting any more
                log.debug("dropped %d result(s) for a closed event loop", len(items))

    # ---- reads (no side effects) ---------------------------------------

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> builtins.list[MessageSummary]:
        return self._store.list(
            query=query, offset=offset, limit=limit, sort=sort, descending=descending
        )

    def ids(self, query: str | None = None) -> builtins.list[int]:
        """Ids of the matching messages, newest first (the default list order)."""
        return self._store.ids(query)

    def count(self, query: str | None = None) -> int:
        return self._store.count(query)

    def unread_count(self) -> int:
        return self._store.unread_count()

    def summary(self, message_id: int) -> MessageSummary:
        return self._store.get_summary(message_id)

    def raw(self, message_id: int) -> bytes:
        return self._store.get_raw(message_id)

    def get(self, message_id: int) -> OpenedMessage:
        """Re-parse the stored raw bytes (with the rule log). Raises ``MessageNotFound``."""
        stored = self._store.get(message_id)
        log_lines = self._store.rule_log(message_id)
        if log_lines:
            stored = dataclasses.replace(stored, rule_log=tuple(log_lines))
        return OpenedMessage(stored=stored, parsed=parse_message(stored.raw))

    def get_stored(self, message_id: int) -> StoredMessage:
        """The stored message without parsing it (exports). Raises ``MessageNotFound``."""
        return self._store.get(message_id)

    # ---- flag and delete (explicit, evented) ---------------------------

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None:
        changed = self._store.set_read(ids, read)
        if changed:
            self._emit(MessagesChanged(tuple(changed), read))

    def delete(self, ids: Sequence[int]) -> builtins.list[int]:
        deleted = self._store.delete(ids)
        if deleted:
            self._emit(MessagesDeleted(tuple(deleted)))
        return deleted

    def clear(self) -> int:
        n = self._store.clear()
        self._emit(MailboxCleared())
        return n

    # ---- tags (explicit, evented: TagsChanged) ---------------------------

    def tags(self) -> dict[str, int]:
        """Every tag in use -> how many messages carry it, sorted by name."""
        return self._store.tag_counts()

    def set_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        """Replace the tags of ``ids`` (missing ids are skipped)."""
        self._announce_tags(self._store.set_tags(ids, tags))

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._announce_tags(self._store.add_tags(ids, tags))

    def remove_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._announce_tags(self._store.remove_tags(ids, tags))

    def rename_tag(self, old: str, new: str) -> int:
        """Rename (or merge into an existing tag); how many messages changed.
        Raises ``InvalidTag`` for a ``new`` that cleans to nothing."""
        return self._announce_tags(self._store.rename_tag(old, new))

    def delete_tag(self, tag: str) -> int:
        """Take ``tag`` off every message; how many messages had it."""
        return self._announce_tags(self._store.delete_tag(tag))

    def _announce_tags(self, updates: builtins.list[tuple[int, tuple[str, ...]]]) -> int:
        if updates:
            self._emit(TagsChanged(tuple(updates)))
        return len(updates)

    # ---- mailboxes and the rule log (evented) ----------------------------

    def mailboxes(self) -> dict[str, tuple[int, int]]:
        """Every mailbox -> (total, unread); ``""`` is the default one ("Inbox"), always first."""
        return self._store.mailbox_counts()

    def set_mailbox(self, ids: Sequence[int], name: str) -> None:
        """Move messages into mailbox ``name`` ("" or "Inbox": the default); evented."""
        moved = self._store.set_mailbox(ids, name)
        if moved:
            self._emit(MailboxesChanged(tuple(moved)))

    def log_rule_events(self, message_id: int, events: Sequence[RuleEvent]) -> None:
        """Append lines to the message's rule log; announced as ``RuleLogAdded``."""
        stored = self._store.log_rule_events(message_id, events)
        if stored:
            self._emit(RuleLogAdded(message_id, tuple(stored)))

    def log_rule_events_many(self, items: Sequence[tuple[int, Sequence[RuleEvent]]]) -> None:
        """``log_rule_events`` for many messages in one transaction (one event each)."""
        for message_id, stored in self._store.log_rule_events_many(items).items():
            self._emit(RuleLogAdded(message_id, tuple(stored)))

    def rule_log(self, message_id: int) -> builtins.list[RuleEvent]:
        """Which rule did what to the message, oldest first."""
        return self._store.rule_log(message_id)

    # ---- lifecycle -----------------------------------------------------

    def close(self, timeout: float = 30.0) -> None:
        """Finish queued writes, stop the writer, close the store.

        The wait is bounded: a writer stuck on a pathological message must
        not turn SIGTERM into a hang. Anything still queued then was never
        acknowledged with a 250, so nothing promised is lost.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._writer.join(timeout)
        if self._writer.is_alive():
            log.error("mailbox writer did not finish within %.0f s; closing anyway", timeout)
            return
        self._store.close()


if TYPE_CHECKING:  # mypy proves the class keeps the Protocol's promises
    _implements: type[MailboxProtocol] = Mailbox
