"""The service the sink, the CLI and the UI talk to.

Writes go through one writer thread (SQLite's single-writer rule made
explicit): ``accept`` hands a ``Capture`` to the thread, which extracts the
cheap summary, and commits every capture that is waiting in one transaction
(group commit). Only after that commit does the caller's future resolve, so
the sink's ``250 queued as <id>`` is never sent for a message that is not on
disk. Summary extraction and the commit run off the event loop, so neither a
burst nor a 25 MB message stalls the window.

Reads (``list``, ``count``, ``get``) run on the caller's thread over the
store's per-thread reader connections; they have no side effects. Marking a
message read is the explicit ``mark_read`` call.

Events (``MessagesAdded`` ...) are plain callbacks, delivered on the thread
that awaited the write: the event loop for ``accept``, the calling thread for
the synchronous methods.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Sequence

from .models import (
    Capture,
    MailboxCleared,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
    MessageSummary,
    OpenedMessage,
)
from .parsing import parse_message
from .store import Store
from .summary import summarize

log = logging.getLogger(__name__)

Listener = Callable[[MailboxEvent], None]

# How many waiting captures one transaction may take. Large enough to
# amortise fsync under a burst, small enough that the first 250 is not held
# back by a long tail.
_MAX_BATCH = 256


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


class Mailbox:
    """Captured mail: accept, list, open, flag, delete. Owns the writer thread."""

    def __init__(self, store: Store, *, max_messages: int = 0) -> None:
        self._store = store
        self.max_messages = max_messages
        self._listeners: list[Listener] = []
        self._queue: queue.SimpleQueue[tuple[Capture, concurrent.futures.Future] | None] = (
            queue.SimpleQueue()
        )
        self._closed = False
        self._writer = threading.Thread(target=self._write_loop, name="mailbox-writer", daemon=True)
        self._writer.start()

    @property
    def store(self) -> Store:
        return self._store

    # ---- events -------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns a function that unregisters it."""
        self._listeners.append(listener)

        def unsubscribe() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return unsubscribe

    def _emit(self, event: MailboxEvent) -> None:
        for listener in list(self._listeners):
            try:
                listener(event)
            except Exception:  # a broken listener must not lose the message or stop others
                log.exception("mailbox listener failed on %r", type(event).__name__)

    # ---- writes -------------------------------------------------------

    def submit(self, capture: Capture) -> concurrent.futures.Future:
        """Queue a capture for the writer; the future resolves to a ``_WriteResult``."""
        if self._closed:
            raise RuntimeError("mailbox is closed")
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._queue.put((capture, fut))
        return fut

    async def accept(self, capture: Capture) -> int:
        """Store ``capture`` durably and return its id; raises if it was not committed."""
        result: _WriteResult = await asyncio.wrap_future(self.submit(capture))
        self._announce(result)
        return result.summary.id

    def accept_sync(self, capture: Capture) -> int:
        """Blocking variant for scripts, imports and the CLI."""
        result: _WriteResult = self.submit(capture).result()
        self._announce(result)
        return result.summary.id

    def accept_many_sync(self, captures: Iterable[Capture]) -> list[int]:
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
            self._emit(MessagesDeleted(tuple(sorted(result.pruned))))
        # Retention may prune a message of the very batch that added it (a
        # limit smaller than a burst); such a message is never announced.
        if result.summary.id not in result.pruned:
            self._emit(MessagesAdded((result.summary,)))

    def _write_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            stop = False
            while len(batch) < _MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            self._write_batch(batch)
            if stop:
                return

    def _write_batch(self, batch: list[tuple[Capture, concurrent.futures.Future]]) -> None:
        live = [(c, f) for c, f in batch if f.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            rows = [(c, summarize(c.raw)) for c, _ in live]
            summaries, pruned = self._store.add(rows, max_messages=self.max_messages)
        except BaseException as exc:  # noqa: BLE001 - every waiter must hear about it
            log.error("storing %d message(s) failed: %s", len(live), exc)
            for _, fut in live:
                fut.set_exception(exc)
            return
        gone = frozenset(pruned)
        for i, ((_, fut), summary) in enumerate(zip(live, summaries, strict=True)):
            fut.set_result(_WriteResult(summary, gone, announces_pruned=i == 0))

    # ---- reads (no side effects) ---------------------------------------

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> list[MessageSummary]:
        return self._store.list(
            query=query, offset=offset, limit=limit, sort=sort, descending=descending
        )

    def count(self, query: str | None = None) -> int:
        return self._store.count(query)

    def unread_count(self) -> int:
        return self._store.unread_count()

    def summary(self, message_id: int) -> MessageSummary:
        return self._store.get_summary(message_id)

    def raw(self, message_id: int) -> bytes:
        return self._store.get_raw(message_id)

    def get(self, message_id: int) -> OpenedMessage:
        """Re-parse the stored raw bytes. Raises ``MessageNotFound``."""
        stored = self._store.get(message_id)
        return OpenedMessage(stored=stored, parsed=parse_message(stored.raw))

    # ---- flag and delete (explicit, evented) ---------------------------

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None:
        changed = self._store.set_read(ids, read)
        if changed:
            self._emit(MessagesChanged(tuple(changed), read))

    def delete(self, ids: Sequence[int]) -> list[int]:
        deleted = self._store.delete(ids)
        if deleted:
            self._emit(MessagesDeleted(tuple(deleted)))
        return deleted

    def clear(self) -> int:
        n = self._store.clear()
        self._emit(MailboxCleared())
        return n

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
