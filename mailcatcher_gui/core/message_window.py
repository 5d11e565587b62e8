"""The message list as a window onto the store: paging, the row cache and bursts. No Qt.

A mail catcher left running for a week can hold 100,000 messages, so the
list keeps only a count and a bounded cache of rows. A row is fetched from
the store a page at a time (``LIMIT/OFFSET`` in the store's own sort order)
the first time someone asks for it; the cache is trimmed around the rows in
use. Row numbers are positions in the store's ordering, so the store is the
single source of truth and the window can never drift from it for long:

* Read/unread and tag changes patch cached rows in place.
* A user's delete removes exactly the known rows.
* New mail is not inserted message by message: events are collected and
  one :meth:`MessageWindow.sync` turns a burst into one insertion at row 0.
  In the default newest-first order without a search, the ``MessagesAdded``
  events carry exactly the rows that land on top: the cached rows are
  shifted down and the new summaries prepended, so a burst costs no store
  reads and no repaint of rows that did not change. Retention pruning below
  a cached top block is announced as rows removed at the end. Anything the
  events cannot place (a search, another order, rows that sort below the
  top) falls back to re-counting the store and dropping the cache. When the
  mail stops, :meth:`MessageWindow.settle` checks the count once more.

This is the logic; a view toolkit adapts it (``ui.window.list_model.MessageListModel``
is the Qt adapter, as napari's Qt models adapt its plain evented lists).
Every structural change is announced through :class:`RowEvents` *before*
and *after* the state changes, which is what Qt's ``beginInsertRows`` /
``endInsertRows`` contract needs; timers stay with the adapter, which asks
:meth:`MessageWindow.sync` for the coalescing interval to use next.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import NamedTuple, Protocol

from .models import MessageSummary

log = logging.getLogger(__name__)

DEFAULT_SORT = "received_at"


class MessageSource(Protocol):
    """What the window reads: the ``Mailbox`` facade's ``list`` and ``count``."""

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> Sequence[MessageSummary]: ...

    def count(self, query: str | None = None) -> int: ...


class RowEvents(Protocol):
    """Told about every change of the rows, begin before and end after it."""

    def begin_insert(self, first: int, last: int) -> None: ...
    def end_insert(self) -> None: ...
    def begin_remove(self, first: int, last: int) -> None: ...
    def end_remove(self) -> None: ...
    def begin_reset(self) -> None: ...
    def end_reset(self) -> None: ...

    def changed(self, first: int, last: int, *, read_only: bool) -> None:
        """Rows ``first..last`` show different data (``read_only``: only the read flag)."""
        ...


class NoRowEvents:
    """A ``RowEvents`` that listens to nothing (for a window nobody displays)."""

    def begin_insert(self, first: int, last: int) -> None:
        pass

    def end_insert(self) -> None:
        pass

    def begin_remove(self, first: int, last: int) -> None:
        pass

    def end_remove(self) -> None:
        pass

    def begin_reset(self) -> None:
        pass

    def end_reset(self) -> None:
        pass

    def changed(self, first: int, last: int, *, read_only: bool) -> None:
        pass


class SyncResult(NamedTuple):
    """What one :meth:`MessageWindow.sync` did, for the adapter's timers and signals."""

    delta: int  # rows added (negative: removed), as announced
    by_events: bool  # placed from the events alone: check the count once the mail stops
    busy: bool  # mail keeps arriving sync after sync: coalesce longer next time


def ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted rows -> contiguous (first, last) ranges."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


class MessageWindow:
    """A windowed, event-driven view of ``source.list`` (see the module docstring).

    ``ids`` (optional) lists the matching ids newest first in one query; with
    it, :meth:`row_of_id` can find a message anywhere in the default order.
    ``clock`` is injectable so the burst detection can be tested.
    """

    def __init__(
        self,
        source: MessageSource,
        events: RowEvents | None = None,
        *,
        ids: Callable[[str | None], Sequence[int]] | None = None,
        page_size: int = 200,
        max_cached_rows: int = 4000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._events: RowEvents = events if events is not None else NoRowEvents()
        self._ids = ids
        self._clock = clock
        self.page_size = page_size
        self.max_cached_rows = max(max_cached_rows, page_size * 4)
        self.query: str | None = None
        self.sort_key = DEFAULT_SORT
        self.descending = True
        #: row -> summary; None for a row the store no longer had when read.
        #: Replaced, never shared: read it through this attribute each time.
        self.rows: dict[int, MessageSummary | None] = {}
        #: ids in the cache (a superset is fine): most deletions (retention
        #: pruning) concern rows that are not cached, and this says so
        #: without a scan of the cache per event
        self._cached_ids: set[int] = set()
        # Events not yet applied by ``sync``.
        self._pending_added: list[MessageSummary] = []
        self._pending_removed = 0  # deleted rows that were not cached
        self._pending_unknown = False  # something only a re-count can place
        self._max_seen_id = 0
        self._last_sync = 0.0
        self._hot_row = 0
        #: how many pages were read from the store (for tests and diagnostics)
        self.page_fetches = 0
        self.count = self._safe_count()

    # ---- state -----------------------------------------------------------------

    def new_mail_on_top(self) -> bool:
        """Whether freshly received mail sorts to row 0 in the current order."""
        return self.descending and self.sort_key in ("received_at", "id")

    def has_pending(self) -> bool:
        """Whether events are waiting for :meth:`sync`."""
        return bool(self._pending_added or self._pending_removed or self._pending_unknown)

    # ---- row access ------------------------------------------------------------

    def summary_at(self, row: int) -> MessageSummary | None:
        """The summary shown at ``row``, fetching its page on a cache miss."""
        if not 0 <= row < self.count:
            return None
        s = self.rows.get(row)
        if s is None and row not in self.rows:
            self._fetch_page(row)
            s = self.rows.get(row)
        return s

    def id_at(self, row: int) -> int | None:
        s = self.summary_at(row)
        return s.id if s is not None else None

    def cached_row_of_id(self, message_id: int) -> int | None:
        for row, s in self.rows.items():
            if s is not None and s.id == message_id:
                return row
        return None

    def row_of_id(self, message_id: int, hint: int | None = None) -> int | None:
        """Where ``message_id`` is in the current order, or None.

        Looks in the cache, then in the pages around ``hint``; in the default
        newest-first order it falls back to the source's id list (one query).
        """
        row = self.cached_row_of_id(message_id)
        if row is not None:
            return row
        if hint is not None and self.count:
            hint = min(max(hint, 0), self.count - 1)
            for probe in (hint, hint - self.page_size, hint + self.page_size):
                if 0 <= probe < self.count:
                    self.summary_at(probe)
            row = self.cached_row_of_id(message_id)
            if row is not None:
                return row
        if self.sort_key == "received_at" and self.descending and self._ids is not None:
            try:
                ids = self._ids(self.query)
            except Exception:  # noqa: BLE001 - a lookup aid, not essential
                log.exception("listing ids failed")
                return None
            try:
                row = ids.index(message_id)
            except ValueError:
                return None
            return row if row < self.count else None
        return None

    def _fetch_page(self, row: int) -> None:
        self._hot_row = row
        start = (row // self.page_size) * self.page_size
        limit = min(self.page_size, self.count - start)
        try:
            rows = self._source.list(
                query=self.query,
                offset=start,
                limit=limit,
                sort=self.sort_key,
                descending=self.descending,
            )
        except Exception:  # noqa: BLE001 - a failed read must not take the view down
            log.exception("reading messages %d..%d failed", start, start + limit)
            rows = []
        self.page_fetches += 1
        self._trim_cache(row)
        for i in range(limit):
            # Rows the store no longer has (deleted meanwhile) cache as None
            # until the pending sync shrinks the window.
            self.rows[start + i] = rows[i] if i < len(rows) else None
        self._cached_ids.update(s.id for s in rows)

    def _trim_cache(self, around: int) -> None:
        if len(self.rows) + self.page_size <= self.max_cached_rows:
            return
        keep = self.max_cached_rows // 2
        self.rows = {r: s for r, s in self.rows.items() if abs(r - around) < keep}
        self._reindex_ids()

    def _reindex_ids(self) -> None:
        self._cached_ids = {s.id for s in self.rows.values() if s is not None}

    def _drop_cache(self) -> None:
        self.rows = {}
        self._cached_ids = set()

    # ---- what the user changes -------------------------------------------------------

    def set_sort(self, key: str, descending: bool) -> bool:
        """Order by the store's sort ``key``; False (nothing done) when unchanged."""
        if key == self.sort_key and descending == self.descending:
            return False
        self._events.begin_reset()
        self.sort_key = key
        self.descending = descending
        self._drop_cache()
        self._forget_pending()
        self.count = self._safe_count()
        self._events.end_reset()
        return True

    def set_query(self, query: str | None) -> None:
        """Filter by the store's search syntax; raises (``QueryError``) and leaves
        the window untouched when the query is invalid."""
        q = (query or "").strip() or None
        count = self._source.count(q)  # validates before anything changes
        self._events.begin_reset()
        self.query = q
        self.count = count
        self._drop_cache()
        self._forget_pending()
        self._events.end_reset()

    def refresh(self) -> None:
        """Drop everything cached and re-count (e.g. after an import)."""
        self._events.begin_reset()
        self._drop_cache()
        self._forget_pending()
        self.count = self._safe_count()
        self._events.end_reset()

    # ---- mailbox events ----------------------------------------------------------------

    def messages_added(self, summaries: Sequence[MessageSummary] = ()) -> bool:
        """Note new mail for the next :meth:`sync`; True: schedule one."""
        if summaries and self.query is None and self.new_mail_on_top():
            self._pending_added.extend(summaries)
            self._max_seen_id = max(self._max_seen_id, max(s.id for s in summaries))
        else:
            self._pending_unknown = True
        return True

    def messages_deleted(self, ids: Sequence[int]) -> bool:
        """Remove the cached rows of ``ids`` now; True: the rest needs a :meth:`sync`."""
        wanted = set(ids)
        if wanted.isdisjoint(self._cached_ids):
            rows: list[int] = []
        else:
            rows = sorted(r for r, s in self.rows.items() if s is not None and s.id in wanted)
            self._cached_ids -= wanted
        rest = wanted - {s.id for r in rows if (s := self.rows[r]) is not None}
        for first, last in reversed(ranges(rows)):
            n = last - first + 1
            self._events.begin_remove(first, last)
            self.count -= n
            self.rows = {
                (r if r < first else r - n): s
                for r, s in self.rows.items()
                if not first <= r <= last
            }
            self._events.end_remove()
        if rest and self._pending_added:
            # Added and deleted before the list showed them.
            gone = {s.id for s in self._pending_added if s.id in rest}
            if gone:
                self._pending_added = [s for s in self._pending_added if s.id not in gone]
                rest -= gone
        if not rest:
            return False
        # Deleted rows we had not cached (retention pruning, mostly) are
        # placed by the next sync.
        if self.query is None and self.new_mail_on_top():
            if not self._max_seen_id:
                self._max_seen_id = self._newest_stored_id()
            # Retention may prune a message in the very batch that stored it;
            # that one was never announced, so it never was a row. (Should
            # this guess be off, ``settle`` re-counts when the mail stops.)
            self._pending_removed += sum(1 for i in rest if i <= self._max_seen_id)
        else:
            self._pending_unknown = True
        return True

    def messages_changed(self, ids: Sequence[int], read: bool) -> None:
        """Patch the read flag of cached rows in place."""
        wanted = set(ids)
        rows = []
        for r, s in self.rows.items():
            if s is not None and s.id in wanted and s.read != read:
                self.rows[r] = replace(s, read=read)
                rows.append(r)
        for first, last in ranges(sorted(rows)):
            self._events.changed(first, last, read_only=True)

    def tags_changed(self, updates: Sequence[tuple[int, tuple[str, ...]]]) -> bool:
        """Patch the tags of cached rows in place; True: a search may now match
        other rows (``tag:``, ``is:tagged``), so a :meth:`sync` re-counts."""
        new = dict(updates)
        rows = []
        for r, s in self.rows.items():
            if s is not None and s.id in new and s.tags != new[s.id]:
                self.rows[r] = replace(s, tags=new[s.id])
                rows.append(r)
        for first, last in ranges(sorted(rows)):
            self._events.changed(first, last, read_only=False)
        if self.query is None:
            return False
        self._pending_unknown = True
        return True

    def sync(self) -> SyncResult:
        """Apply the collected events in one structural change (two at most).

        Uses the events alone when they say where every row goes (see the
        module docstring); otherwise re-counts the store: growth is announced
        as rows inserted at the top (exact for the newest-first order),
        shrinkage as rows removed at the end, and the cache is dropped so
        every visible row is re-read.
        """
        added, self._pending_added = self._pending_added, []
        removed, self._pending_removed = self._pending_removed, 0
        unknown, self._pending_unknown = self._pending_unknown, False
        now = self._clock()
        busy = bool(added or removed or unknown) and now - self._last_sync < 1.0
        self._last_sync = now
        before = self.count
        if (
            not unknown
            and self.query is None
            and self.new_mail_on_top()
            and self._apply_events(added, removed)
        ):
            return SyncResult(self.count - before, True, busy)
        return SyncResult(self._recount(), False, busy)

    def settle(self) -> int | None:
        """The mail stopped: re-count if the event-driven count drifted from the
        store. Returns the change announced, None when there was nothing to do."""
        if self._safe_count() != self.count:
            log.debug("message list drifted from the store; re-counting")
            return self._recount()
        return None

    def _apply_events(self, added: list[MessageSummary], removed: int) -> bool:
        """Insert ``added`` on top and drop ``removed`` uncached rows; False
        (nothing changed) when the events alone cannot say where rows go."""
        old = self.count
        top = self.rows.get(0)
        if added:
            if not old or top is None:
                return False
            if self.sort_key == "id":
                added.sort(key=lambda s: s.id, reverse=True)
                if added[-1].id <= top.id:
                    return False
            else:
                added.sort(key=lambda s: (s.received_at, s.id), reverse=True)
                last = added[-1]
                if (last.received_at, last.id) <= (top.received_at, top.id):
                    return False
        if removed and (top is None or removed > old):
            return False
        n = len(added)
        if n:
            self._events.begin_insert(0, n - 1)
            cache: dict[int, MessageSummary | None] = dict(enumerate(added))
            cache.update((r + n, s) for r, s in self.rows.items())
            self.rows = cache
            self._cached_ids.update(s.id for s in added)
            self._hot_row += n
            self.count = old + n
            self._events.end_insert()
        if removed:
            # Rows 0..prefix-1 are all cached, so every uncached row that
            # went away was below them: to the view, rows vanish at the end
            # and the ones after the cached block change.
            prefix = 0
            while prefix in self.rows:
                prefix += 1
            # (More removals than uncached rows cannot be; ``settle`` would
            # find such a mismatch.)
            new_count = max(self.count - removed, prefix)
            if new_count < self.count:
                self._events.begin_remove(new_count, self.count - 1)
                self.rows = {r: s for r, s in self.rows.items() if r < prefix}
                self._reindex_ids()
                self.count = new_count
                self._events.end_remove()
            if prefix < new_count:
                self._events.changed(prefix, new_count - 1, read_only=False)
        self._trim_cache(self._hot_row)
        return True

    def _recount(self) -> int:
        new_count = self._safe_count()
        delta = new_count - self.count
        if delta > 0:
            self._events.begin_insert(0, delta - 1)
            self.count = new_count
            self._drop_cache()
            self._events.end_insert()
        elif delta < 0:
            self._events.begin_remove(new_count, self.count - 1)
            self.count = new_count
            self._drop_cache()
            self._events.end_remove()
        else:
            self._drop_cache()
        if self.count:
            self._events.changed(0, self.count - 1, read_only=False)
        return delta

    def _forget_pending(self) -> None:
        self._pending_added = []
        self._pending_removed = 0
        self._pending_unknown = False

    def _newest_stored_id(self) -> int:
        try:
            newest = self._source.list(limit=1, sort="id", descending=True)
        except Exception:  # noqa: BLE001 - only a hint; the settle re-count corrects
            log.exception("reading the newest message failed")
            return 0
        return newest[0].id if newest else 0

    def _safe_count(self) -> int:
        try:
            return self._source.count(self.query)
        except Exception:  # noqa: BLE001 - keep the window alive; the log says why
            log.exception("counting messages failed")
            return 0
