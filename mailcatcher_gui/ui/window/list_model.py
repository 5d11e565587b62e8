"""The message list's Qt model: a thin adapter of ``core.message_window``.

The logic of the list (a bounded cache of pages over the store, how a burst
of new mail becomes one insertion at the top, retention pruning, the
re-count when the mail stops) lives in the Qt-free ``MessageWindow`` and is
unit-tested without Qt. This module adds what only a Qt model has:

* the ``beginInsertRows``/``endInsertRows``/``dataChanged`` calls, made from
  the window's ``RowEvents`` before and after each change, so a view keeps
  its selection and scroll position while a burst lands on top;
* the two coalescing timers (a burst is applied every ``coalesce_ms``, or
  ``burst_coalesce_ms`` while mail keeps coming; one re-count after it);
* presentation: display strings computed once per message (cached by id,
  not per cell per repaint), bold unread rows, the paper-clip icon, tooltips,
  the tags (``TagsRole``, drawn as chips by ``tag_chips.SubjectDelegate``).

The view owns selection-by-id; the model offers ``id_at`` and ``row_of_id``.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
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

from ...core.mailbox_protocol import MailboxProtocol
from ...core.message_window import MessageWindow
from ...core.models import MessageSummary, address_labels
from ...core.units import format_size

ASSETS = Path(__file__).resolve().parents[2] / "resources"

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
#: Role carrying a row's tags (tuple[str, ...]; drawn by ``tag_chips.SubjectDelegate``).
TagsRole = Qt.ItemDataRole.UserRole + 3


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
_TAGS = int(TagsRole)
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


# ---- the model -------------------------------------------------------------------


class _QtRowEvents:
    """``RowEvents`` -> the Qt model's begin/end calls and ``dataChanged``.

    Holds the model weakly: a reference cycle (model -> window -> events ->
    model) would leave the model to Python's cycle collector, which may run
    on any thread (the mailbox writer's, say) and destroy a QObject with
    live timers there. Without the cycle the model dies on the thread that
    drops it, as a QObject must.
    """

    __slots__ = ("_ref",)

    def __init__(self, model: MessageListModel) -> None:
        self._ref = weakref.ref(model)

    def _m(self) -> MessageListModel:
        model = self._ref()
        if model is None:  # pragma: no cover - the model owns the window that calls this
            raise RuntimeError("message list model is gone")
        return model

    def begin_insert(self, first: int, last: int) -> None:
        self._m().beginInsertRows(QModelIndex(), first, last)

    def end_insert(self) -> None:
        self._m().endInsertRows()

    def begin_remove(self, first: int, last: int) -> None:
        self._m().beginRemoveRows(QModelIndex(), first, last)

    def end_remove(self) -> None:
        self._m().endRemoveRows()

    def begin_reset(self) -> None:
        self._m().beginResetModel()

    def end_reset(self) -> None:
        self._m().endResetModel()

    def changed(self, first: int, last: int, *, read_only: bool) -> None:
        m = self._m()
        top, bottom = m.index(first, 0), m.index(last, len(Column) - 1)
        if read_only:
            m.dataChanged.emit(top, bottom, _READ_ROLES)
        else:
            m.dataChanged.emit(top, bottom)


_READ_ROLES = [Qt.ItemDataRole.FontRole, Qt.ItemDataRole.DisplayRole]


class MessageListModel(QAbstractTableModel):
    """The Qt adapter of a :class:`MessageWindow` (see the module docstring).

    The window decides which rows exist and when they change; this class
    turns that into Qt's model calls, owns the two coalescing timers, and
    presents a row (display strings, font, icon, tooltip).
    """

    #: emitted after a coalesced sync with the number of rows added (may be <= 0)
    synced = Signal(int)

    def __init__(
        self,
        mailbox: MailboxProtocol,
        parent: QObject | None = None,
        *,
        page_size: int = 200,
        max_cached_rows: int = 4000,
        coalesce_ms: int = 80,
        burst_coalesce_ms: int = 400,
    ) -> None:
        super().__init__(parent)
        self._mailbox = mailbox
        self._sort_column = Column.RECEIVED
        #: message id -> display strings (valid as long as the message exists
        #: and the day has not changed: "14:03" means today)
        self._texts: dict[int, tuple[str, ...]] = {}
        self._texts_day = date.today()
        self.coalesce_ms = coalesce_ms
        self.burst_coalesce_ms = max(burst_coalesce_ms, coalesce_ms)
        self._sync_timer = QTimer(self)
        self._sync_timer.setSingleShot(True)
        self._sync_timer.setInterval(coalesce_ms)
        self._sync_timer.timeout.connect(self.sync)
        # After event-driven syncs, one re-count once the mail has stopped.
        self._settle_timer = QTimer(self)
        self._settle_timer.setSingleShot(True)
        self._settle_timer.setInterval(max(4 * coalesce_ms, 300))
        self._settle_timer.timeout.connect(self._settle)
        self._bold: QFont | None = None
        self._clip: QIcon | None = None
        self._window = MessageWindow(
            mailbox,
            _QtRowEvents(self),
            ids=mailbox.ids,  # (a bound method of the mailbox: no cycle back to self)
            page_size=page_size,
            max_cached_rows=max_cached_rows,
        )

    # ---- properties ---------------------------------------------------------

    @property
    def window(self) -> MessageWindow:
        """The Qt-free state this model adapts."""
        return self._window

    @property
    def mailbox(self) -> MailboxProtocol:
        return self._mailbox

    @property
    def query(self) -> str | None:
        return self._window.query

    @property
    def sort_key(self) -> str:
        return self._window.sort_key

    @property
    def descending(self) -> bool:
        return self._window.descending

    @property
    def sort_column(self) -> Column:
        return self._sort_column

    @property
    def page_size(self) -> int:
        return self._window.page_size

    @property
    def max_cached_rows(self) -> int:
        return self._window.max_cached_rows

    @property
    def page_fetches(self) -> int:
        """How many pages were read from the store (for tests and diagnostics)."""
        return self._window.page_fetches

    def new_mail_on_top(self) -> bool:
        """Whether freshly received mail sorts to row 0 in the current order."""
        return self._window.new_mail_on_top()

    # ---- Qt model interface ----------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self._window.count

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
    ) -> object:
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

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        # Called for every role of every visible cell on every repaint: keep
        # it to dictionary lookups (the display strings are cached per id).
        row = index.row()
        w = self._window
        if not 0 <= row < w.count:
            return None
        s = w.rows.get(row)
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
            if col == _COL_SUBJECT and s.tags:
                return f"{self._texts_of(s)[col]}, tagged {', '.join(s.tags)}"
            return self._texts_of(s)[col] or ("has attachments" if s.attachments else "")
        if role == _TAGS:
            return s.tags
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
            if len(self._texts) >= 2 * self._window.max_cached_rows:
                self._texts.clear()
            texts = self._texts[s.id] = display_texts(s)
        return texts

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(Column):
            return
        descending = order == Qt.SortOrder.DescendingOrder
        key = SORT_KEYS[Column(column)]
        if key == self._window.sort_key and descending == self._window.descending:
            return
        self._sort_column = Column(column)
        self._settle_timer.stop()
        self._window.set_sort(key, descending)

    # ---- row access ------------------------------------------------------------

    def summary_at(self, row: int) -> MessageSummary | None:
        """The summary shown at ``row``, fetching its page on a cache miss."""
        if row not in self._window.rows:
            self._check_day()  # a page read is the moment "today" may have moved on
        return self._window.summary_at(row)

    def id_at(self, row: int) -> int | None:
        s = self.summary_at(row)
        return s.id if s is not None else None

    def cached_row_of_id(self, message_id: int) -> int | None:
        return self._window.cached_row_of_id(message_id)

    def row_of_id(self, message_id: int, hint: int | None = None) -> int | None:
        """Where ``message_id`` is in the current order, or None (see ``MessageWindow``)."""
        return self._window.row_of_id(message_id, hint)

    # ---- changes -----------------------------------------------------------------

    def set_query(self, query: str | None) -> None:
        """Filter by the store's search syntax; raises ``QueryError`` and leaves
        the model untouched when the query is invalid."""
        self._window.set_query(query)
        self._settle_timer.stop()
        self._sync_timer.stop()

    def refresh(self) -> None:
        """Drop everything cached and re-count (e.g. after an import)."""
        self._texts.clear()
        self._window.refresh()
        self._settle_timer.stop()
        self._sync_timer.stop()

    def on_messages_added(self, summaries: Sequence[MessageSummary] = ()) -> None:
        if self._window.messages_added(summaries):
            self.schedule_sync()

    def on_messages_deleted(self, ids: Sequence[int]) -> None:
        for i in ids:
            self._texts.pop(i, None)
        if self._window.messages_deleted(ids):
            self.schedule_sync()

    def on_messages_changed(self, ids: Sequence[int], read: bool) -> None:
        self._window.messages_changed(ids, read)

    def on_tags_changed(self, updates: Sequence[tuple[int, tuple[str, ...]]]) -> None:
        if self._window.tags_changed(updates):
            self.schedule_sync()

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
        """Apply the collected events now (see ``MessageWindow.sync``)."""
        self._sync_timer.stop()
        self._check_day()
        result = self._window.sync()
        self._sync_timer.setInterval(self.burst_coalesce_ms if result.busy else self.coalesce_ms)
        if result.by_events:
            self._settle_timer.start()
        else:
            self._settle_timer.stop()
        self.synced.emit(result.delta)

    def _settle(self) -> None:
        """The mail stopped: make sure the event-driven count matches the store."""
        if self._sync_timer.isActive():
            return
        delta = self._window.settle()
        if delta is not None:
            self.synced.emit(delta)

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
            tags = f"Tags: {', '.join(s.tags)}" if s.tags else ""
            return "\n".join(t for t in (s.subject, tags) if t) or None
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
