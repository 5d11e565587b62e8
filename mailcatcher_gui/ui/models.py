"""The message list model: a window onto the store, never the whole table.

A mail catcher left running for a week can hold 100,000 messages, so the
model keeps only a count and a bounded cache of rows. A row is fetched from
the store a page at a time (``LIMIT/OFFSET`` in the store's own sort order)
the first time a view asks for it; the cache is trimmed around the rows in
use. Row numbers are positions in the store's ordering, so the store is the
single source of truth and the model can never drift from it for long:

* Read/unread changes patch cached rows in place (``dataChanged``).
* A user's delete removes exactly the known rows (``beginRemoveRows``).
* New mail is not inserted message by message: events are collected and a
  short timer coalesces a burst into one ``beginInsertRows(0..n)``. In the
  default newest-first order without a search, the ``MessagesAdded`` events
  carry exactly the rows that land on top: the cached rows are shifted down
  and the new summaries prepended, so a burst costs no store reads and no
  repaint of rows that did not change. Retention pruning below a cached top
  block is announced as rows removed at the end. Anything the events cannot
  place (a search, another order, rows that sort below the top) falls back
  to re-counting the store and dropping the cache; for any order other than
  newest-first the view re-finds its selected message by id afterwards. When
  the mail stops, the count is checked against the store once more.
* Display strings are computed once per message (cached by id), not for
  every cell of every repaint.

The view owns selection-by-id; the model offers ``id_at`` and ``row_of_id``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta
from enum import IntEnum
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QFont, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from ..core.mailbox import Mailbox
from ..core.models import MessageSummary, address_labels
from ..core.units import format_size

log = logging.getLogger(__name__)

ASSETS = Path(__file__).resolve().parent.parent / "resources"

Index = QModelIndex | QPersistentModelIndex


class Column(IntEnum):
    ATTACHMENT = 0
    FROM = 1
    TO = 2
    SUBJECT = 3
    RECEIVED = 4
    SIZE = 5


COLUMN_TITLES = {
    Column.ATTACHMENT: "",
    Column.FROM: "From",
    Column.TO: "To",
    Column.SUBJECT: "Subject",
    Column.RECEIVED: "Received",
    Column.SIZE: "Size",
}

#: Column -> the store's sort key (see ``Store.list``).
SORT_KEYS = {
    Column.ATTACHMENT: "attachments",
    Column.FROM: "from",
    Column.TO: "to",
    Column.SUBJECT: "subject",
    Column.RECEIVED: "received_at",
    Column.SIZE: "size",
}

#: Role carrying the message id of a row (int).
IdRole = Qt.ItemDataRole.UserRole + 1
#: Role carrying the whole ``MessageSummary`` of a row.
SummaryRole = Qt.ItemDataRole.UserRole + 2

DEFAULT_SORT = "received_at"


# ---- display formatting --------------------------------------------------------


def format_received(when: datetime, now: datetime | None = None) -> str:
    """A short, relative-feeling timestamp in local time.

    Today: ``"14:03"``; the last week: ``"Tue 14:03"``; this year: ``"5 Mar"``;
    older: ``"2023-03-05"``. The tooltip carries the full timestamp.
    """
    local = when.astimezone()
    now_local = (now or datetime.now(local.tzinfo)).astimezone(local.tzinfo)
    if local.date() == now_local.date():
        return local.strftime("%H:%M")
    if now_local - local < timedelta(days=6) and local <= now_local:
        return local.strftime("%a %H:%M")
    if local.year == now_local.year:
        return f"{local.day} {local.strftime('%b')}"
    return local.strftime("%Y-%m-%d")


def sender_text(s: MessageSummary) -> str:
    """The From column: display names from the stored pairs, else the envelope sender.

    The names come from the ingest summary's ``(name, address)`` pairs; the
    ``"Name <addr>"`` text is never parsed again (``Smith, John <j@x>`` is
    one sender, which only the pairs can say).
    """
    return address_labels(s.from_addrs) or s.envelope_from or "(unknown sender)"


def recipients_text(s: MessageSummary) -> str:
    """The To column: display names of To, else the envelope recipients."""
    return address_labels(s.to_addrs) or ", ".join(s.envelope_to)


_DISPLAY = int(Qt.ItemDataRole.DisplayRole)
_FONT = int(Qt.ItemDataRole.FontRole)
_TOOLTIP = int(Qt.ItemDataRole.ToolTipRole)
_DECORATION = int(Qt.ItemDataRole.DecorationRole)
_ALIGNMENT = int(Qt.ItemDataRole.TextAlignmentRole)
_FOREGROUND = int(Qt.ItemDataRole.ForegroundRole)
_ACCESSIBLE = int(Qt.ItemDataRole.AccessibleTextRole)
_ID = int(IdRole)
_SUMMARY = int(SummaryRole)
_ALIGN_LEFT = int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
_ALIGN_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_COL_ATTACHMENT = int(Column.ATTACHMENT)
_COL_SUBJECT = int(Column.SUBJECT)
_COL_SIZE = int(Column.SIZE)
#: columns drawn in the muted placeholder colour
_MUTED_COLUMNS = frozenset({int(Column.RECEIVED), int(Column.SIZE), int(Column.TO)})


def display_texts(s: MessageSummary) -> tuple[str, ...]:
    """The DisplayRole text of every column of ``s`` (indexed by ``Column``)."""
    return (
        "",
        sender_text(s),
        recipients_text(s),
        " ".join(s.subject.split()) if s.subject else "(no subject)",
        format_received(s.received_at),
        format_size(s.size),
    )


def _ranges(rows: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted rows -> contiguous (first, last) ranges."""
    out: list[tuple[int, int]] = []
    for r in rows:
        if out and r == out[-1][1] + 1:
            out[-1] = (out[-1][0], r)
        else:
            out.append((r, r))
    return out


# ---- the model -------------------------------------------------------------------


class MessageListModel(QAbstractTableModel):
    """Windowed table over ``Mailbox.list`` (see the module docstring)."""

    #: emitted after a coalesced sync with the number of rows added (may be <= 0)
    synced = Signal(int)

    def __init__(
        self,
        mailbox: Mailbox,
        parent: QObject | None = None,
        *,
        page_size: int = 200,
        max_cached_rows: int = 4000,
        coalesce_ms: int = 80,
        burst_coalesce_ms: int = 400,
    ) -> None:
        super().__init__(parent)
        self._mailbox = mailbox
        self.page_size = page_size
        self.max_cached_rows = max(max_cached_rows, page_size * 4)
        self._query: str | None = None
        self._sort = DEFAULT_SORT
        self._sort_column = Column.RECEIVED
        self._descending = True
        self._cache: dict[int, MessageSummary | None] = {}
        #: ids in the cache (a superset is fine): most deletions (retention
        #: pruning) concern rows that are not cached, and this says so
        #: without a scan of the cache per event
        self._cached_ids: set[int] = set()
        #: message id -> display strings (valid as long as the message exists
        #: and the day has not changed: "14:03" means today)
        self._texts: dict[int, tuple[str, ...]] = {}
        self._texts_day = date.today()
        # Events not yet applied by ``sync`` (see the module docstring).
        self._pending_added: list[MessageSummary] = []
        self._pending_removed = 0  # deleted rows that were not cached
        self._pending_unknown = False  # something only a re-count can place
        self._max_seen_id = 0
        self.coalesce_ms = coalesce_ms
        self.burst_coalesce_ms = max(burst_coalesce_ms, coalesce_ms)
        self._last_sync = 0.0
        self._hot_row = 0
        #: how many pages were read from the store (for tests and diagnostics)
        self.page_fetches = 0
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(coalesce_ms)
        self._sync_timer.timeout.connect(self.sync)
        # After event-driven syncs, one re-count once the mail has stopped.
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(max(4 * coalesce_ms, 300))
        self._settle_timer.timeout.connect(self._settle)
        self._count = self._safe_count()
        self._bold: QFont | None = None
        self._clip: QIcon | None = None

    # ---- properties ---------------------------------------------------------

    @property
    def mailbox(self) -> Mailbox:
        return self._mailbox

    @property
    def query(self) -> str | None:
        return self._query

    @property
    def sort_key(self) -> str:
        return self._sort

    @property
    def descending(self) -> bool:
        return self._descending

    @property
    def sort_column(self) -> Column:
        return self._sort_column

    def new_mail_on_top(self) -> bool:
        """Whether freshly received mail sorts to row 0 in the current order."""
        return self._descending and self._sort in ("received_at", "id")

    # ---- Qt model interface ----------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._count

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Column)

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return (
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemNeverHasChildren
        )

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ):
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(Column):
            return None
        col = Column(section)
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMN_TITLES[col]
        if role == Qt.ItemDataRole.DecorationRole and col is Column.ATTACHMENT:
            return self._clip_icon()
        if role == Qt.ItemDataRole.ToolTipRole and col is Column.ATTACHMENT:
            return "Attachments"
        if role == Qt.ItemDataRole.TextAlignmentRole and col is Column.SIZE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        # Called for every role of every visible cell on every repaint: keep
        # it to dictionary lookups (the display strings are cached per id).
        row = index.row()
        if not 0 <= row < self._count:
            return None
        s = self._cache.get(row)
        if s is None:
            s = self.summary_at(row)
            if s is None:
                return None
        col = index.column()
        role = int(role)
        if role == _DISPLAY:
            return self._texts_of(s)[col]
        if role == _FONT:
            return None if s.read else self._bold_font()
        if role == _ALIGNMENT:
            return _ALIGN_RIGHT if col == _COL_SIZE else _ALIGN_LEFT
        if role == _DECORATION:
            if col == _COL_ATTACHMENT and s.attachments:
                return self._clip_icon()
            return None
        if role == _FOREGROUND:
            if col in _MUTED_COLUMNS or (col == _COL_SUBJECT and not s.subject):
                return QApplication.palette().brush(QPalette.ColorRole.PlaceholderText)
            return None
        if role == _TOOLTIP:
            return self._tooltip(s, Column(col))
        if role == _ACCESSIBLE:
            return self._texts_of(s)[col] or ("has attachments" if s.attachments else "")
        if role == _ID:
            return s.id
        if role == _SUMMARY:
            return s
        return None

    def _check_day(self) -> None:
        today = date.today()
        if today != self._texts_day:
            self._texts_day = today
            self._texts.clear()

    def _texts_of(self, s: MessageSummary) -> tuple[str, ...]:
        texts = self._texts.get(s.id)
        if texts is None:
            if len(self._texts) >= 2 * self.max_cached_rows:
                self._texts.clear()
            texts = self._texts[s.id] = display_texts(s)
        return texts

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(Column):
            return
        key = SORT_KEYS[Column(column)]
        descending = order == Qt.SortOrder.DescendingOrder
        if key == self._sort and descending == self._descending:
            return
        self.beginResetModel()
        self._sort = key
        self._sort_column = Column(column)
        self._descending = descending
        self._cache.clear()
        self._cached_ids.clear()
        self._forget_pending()
        self._count = self._safe_count()
        self.endResetModel()

    # ---- row access ------------------------------------------------------------

    def summary_at(self, row: int) -> MessageSummary | None:
        """The summary shown at ``row``, fetching its page on a cache miss."""
        if not 0 <= row < self._count:
            return None
        s = self._cache.get(row)
        if s is None and row not in self._cache:
            self._fetch_page(row)
            s = self._cache.get(row)
        return s

    def id_at(self, row: int) -> int | None:
        s = self.summary_at(row)
        return s.id if s is not None else None

    def cached_row_of_id(self, message_id: int) -> int | None:
        for row, s in self._cache.items():
            if s is not None and s.id == message_id:
                return row
        return None

    def row_of_id(self, message_id: int, hint: int | None = None) -> int | None:
        """Where ``message_id`` is in the current order, or None.

        Looks in the cache, then in the pages around ``hint``; in the default
        newest-first order it falls back to the store's id list (one query).
        """
        row = self.cached_row_of_id(message_id)
        if row is not None:
            return row
        if hint is not None and self._count:
            hint = min(max(hint, 0), self._count - 1)
            for probe in (hint, hint - self.page_size, hint + self.page_size):
                if 0 <= probe < self._count:
                    self.summary_at(probe)
            row = self.cached_row_of_id(message_id)
            if row is not None:
                return row
        if self._sort == "received_at" and self._descending:
            try:
                ids = self._mailbox.store.ids(self._query)
            except Exception:  # noqa: BLE001 - a lookup aid, not essential
                log.exception("listing ids failed")
                return None
            try:
                row = ids.index(message_id)
            except ValueError:
                return None
            return row if row < self._count else None
        return None

    def _fetch_page(self, row: int) -> None:
        self._hot_row = row
        self._check_day()
        start = (row // self.page_size) * self.page_size
        limit = min(self.page_size, self._count - start)
        try:
            rows = self._mailbox.list(
                query=self._query,
                offset=start,
                limit=limit,
                sort=self._sort,
                descending=self._descending,
            )
        except Exception:  # noqa: BLE001 - a failed read must not take the view down
            log.exception("reading messages %d..%d failed", start, start + limit)
            rows = []
        self.page_fetches += 1
        self._trim_cache(row)
        for i in range(limit):
            # Rows the store no longer has (deleted meanwhile) cache as None
            # until the pending sync shrinks the model.
            self._cache[start + i] = rows[i] if i < len(rows) else None
        self._cached_ids.update(s.id for s in rows)

    def _trim_cache(self, around: int) -> None:
        if len(self._cache) + self.page_size <= self.max_cached_rows:
            return
        keep = self.max_cached_rows // 2
        self._cache = {r: s for r, s in self._cache.items() if abs(r - around) < keep}
        self._reindex_ids()

    def _reindex_ids(self) -> None:
        self._cached_ids = {s.id for s in self._cache.values() if s is not None}

    # ---- changes -----------------------------------------------------------------

    def set_query(self, query: str | None) -> None:
        """Filter by the store's search syntax; raises ``QueryError`` and leaves
        the model untouched when the query is invalid."""
        q = (query or "").strip() or None
        count = self._mailbox.count(q)  # validates before anything changes
        self.beginResetModel()
        self._query = q
        self._count = count
        self._cache.clear()
        self._cached_ids.clear()
        self._forget_pending()
        self._sync_timer.stop()
        self.endResetModel()

    def refresh(self) -> None:
        """Drop everything cached and re-count (e.g. after an import)."""
        self.beginResetModel()
        self._cache.clear()
        self._cached_ids.clear()
        self._texts.clear()
        self._forget_pending()
        self._count = self._safe_count()
        self._sync_timer.stop()
        self.endResetModel()

    def on_messages_added(self, summaries: Sequence[MessageSummary] = ()) -> None:
        if summaries and self._query is None and self.new_mail_on_top():
            self._pending_added.extend(summaries)
            self._max_seen_id = max(self._max_seen_id, max(s.id for s in summaries))
        else:
            self._pending_unknown = True
        self.schedule_sync()

    def on_messages_deleted(self, ids: Sequence[int]) -> None:
        wanted = set(ids)
        for i in wanted:
            self._texts.pop(i, None)
        if wanted.isdisjoint(self._cached_ids):
            rows = []
        else:
            rows = sorted(r for r, s in self._cache.items() if s is not None and s.id in wanted)
            self._cached_ids -= wanted
        rest = wanted - {self._cache[r].id for r in rows}  # type: ignore[union-attr]
        for first, last in reversed(_ranges(rows)):
            n = last - first + 1
            self.beginRemoveRows(QModelIndex(), first, last)
            self._count -= n
            self._cache = {
                (r if r < first else r - n): s
                for r, s in self._cache.items()
                if not first <= r <= last
            }
            self.endRemoveRows()
        if rest and self._pending_added:
            # Added and deleted before the list showed them.
            gone = {s.id for s in self._pending_added if s.id in rest}
            if gone:
                self._pending_added = [s for s in self._pending_added if s.id not in gone]
                rest -= gone
        if not rest:
            return
        # Deleted rows we had not cached (retention pruning, mostly) are
        # placed by the next sync.
        if self._query is None and self.new_mail_on_top():
            if not self._max_seen_id:
                self._max_seen_id = self._newest_stored_id()
            # Retention may prune a message in the very batch that stored it;
            # that one was never announced, so it never was a row. (Should
            # this guess be off, ``_settle`` re-counts when the mail stops.)
            self._pending_removed += sum(1 for i in rest if i <= self._max_seen_id)
        else:
            self._pending_unknown = True
        self.schedule_sync()

    def on_messages_changed(self, ids: Sequence[int], read: bool) -> None:
        wanted = set(ids)
        rows = []
        for r, s in self._cache.items():
            if s is not None and s.id in wanted and s.read != read:
                self._cache[r] = replace(s, read=read)
                rows.append(r)
        for first, last in _ranges(sorted(rows)):
            self.dataChanged.emit(
                self.index(first, 0),
                self.index(last, len(Column) - 1),
                [Qt.ItemDataRole.FontRole, Qt.ItemDataRole.DisplayRole],
            )

    def on_mailbox_cleared(self) -> None:
        self.refresh()

    def schedule_sync(self) -> None:
        """Coalesce: one sync per ``coalesce_ms`` however many events arrive
        (``burst_coalesce_ms`` while mail keeps arriving sync after sync)."""
        if not self._sync_timer.isActive():
            self._sync_timer.start()

    def sync_pending(self) -> bool:
        return self._sync_timer.isActive()

    def sync(self) -> None:
        """Apply the collected events in one structural change (two at most).

        Uses the events alone when they say where every row goes (see the
        module docstring); otherwise re-counts the store: growth is announced
        as rows inserted at the top (exact for the newest-first order),
        shrinkage as rows removed at the end, and the cache is dropped so
        every visible row is re-read.
        """
        self._sync_timer.stop()
        self._check_day()
        added, self._pending_added = self._pending_added, []
        removed, self._pending_removed = self._pending_removed, 0
        unknown, self._pending_unknown = self._pending_unknown, False
        now = time.monotonic()
        busy = bool(added or removed or unknown) and now - self._last_sync < 1.0
        self._sync_timer.setInterval(self.burst_coalesce_ms if busy else self.coalesce_ms)
        self._last_sync = now
        before = self._count
        if (
            not unknown
            and self._query is None
            and self.new_mail_on_top()
            and self._apply_events(added, removed)
        ):
            self._settle_timer.start()
            self.synced.emit(self._count - before)
            return
        self._recount()

    def _apply_events(self, added: list[MessageSummary], removed: int) -> bool:
        """Insert ``added`` on top and drop ``removed`` uncached rows; False
        (nothing changed) when the events alone cannot say where rows go."""
        old = self._count
        top = self._cache.get(0)
        if added:
            if not old or top is None:
                return False
            if self._sort == "id":
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
            self.beginInsertRows(QModelIndex(), 0, n - 1)
            cache: dict[int, MessageSummary | None] = dict(enumerate(added))
            cache.update((r + n, s) for r, s in self._cache.items())
            self._cache = cache
            self._cached_ids.update(s.id for s in added)
            self._hot_row += n
            self._count = old + n
            self.endInsertRows()
        if removed:
            # Rows 0..prefix-1 are all cached, so every uncached row that
            # went away was below them: to the view, rows vanish at the end
            # and the ones after the cached block change.
            prefix = 0
            while prefix in self._cache:
                prefix += 1
            # (More removals than uncached rows cannot be; ``_settle`` would
            # find such a mismatch.)
            new_count = max(self._count - removed, prefix)
            if new_count < self._count:
                self.beginRemoveRows(QModelIndex(), new_count, self._count - 1)
                self._cache = {r: s for r, s in self._cache.items() if r < prefix}
                self._reindex_ids()
                self._count = new_count
                self.endRemoveRows()
            if prefix < new_count:
                self.dataChanged.emit(
                    self.index(prefix, 0), self.index(new_count - 1, len(Column) - 1)
                )
        self._trim_cache(self._hot_row)
        return True

    def _settle(self) -> None:
        """The mail stopped: make sure the event-driven count matches the store."""
        if self._sync_timer.isActive():
            return
        if self._safe_count() != self._count:
            log.debug("message list drifted from the store; re-counting")
            self._recount()

    def _recount(self) -> None:
        self._settle_timer.stop()
        new_count = self._safe_count()
        delta = new_count - self._count
        if delta > 0:
            self.beginInsertRows(QModelIndex(), 0, delta - 1)
            self._count = new_count
            self._cache.clear()
            self._cached_ids.clear()
            self.endInsertRows()
        elif delta < 0:
            self.beginRemoveRows(QModelIndex(), new_count, self._count - 1)
            self._count = new_count
            self._cache.clear()
            self._cached_ids.clear()
            self.endRemoveRows()
        else:
            self._cache.clear()
            self._cached_ids.clear()
        if self._count:
            self.dataChanged.emit(self.index(0, 0), self.index(self._count - 1, len(Column) - 1))
        self.synced.emit(delta)

    def _forget_pending(self) -> None:
        self._pending_added = []
        self._pending_removed = 0
        self._pending_unknown = False
        self._settle_timer.stop()

    def _newest_stored_id(self) -> int:
        try:
            newest = self._mailbox.list(limit=1, sort="id", descending=True)
        except Exception:  # noqa: BLE001 - only a hint; the settle re-count corrects
            log.exception("reading the newest message failed")
            return 0
        return newest[0].id if newest else 0

    def _safe_count(self) -> int:
        try:
            return self._mailbox.count(self._query)
        except Exception:  # noqa: BLE001 - keep the window alive; the log says why
            log.exception("counting messages failed")
            return 0

    # ---- presentation ---------------------------------------------------------------

    def _tooltip(self, s: MessageSummary, col: Column) -> str | None:
        if col is Column.ATTACHMENT:
            if not s.attachments:
                return None
            return f"{s.attachments} attachment" + ("s" if s.attachments != 1 else "")
        if col is Column.FROM:
            return s.from_ or s.envelope_from
        if col is Column.TO:
            return "\n".join(s.to) if s.to else "\n".join(s.envelope_to)
        if col is Column.SUBJECT:
            return s.subject or None
        if col is Column.RECEIVED:
            return s.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
        return f"{s.size:,} bytes"

    def _bold_font(self) -> QFont:
        if self._bold is None:
            self._bold = QFont(QApplication.font())
            self._bold.setBold(True)
        return self._bold

    def _clip_icon(self) -> QIcon:
        if self._clip is None:
            self._clip = QIcon(str(ASSETS / "paperclip.svg"))
        return self._clip
