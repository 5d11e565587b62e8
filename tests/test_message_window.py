"""The list's paging and burst logic without Qt (core.message_window), over a real store.

A recorder stands in for the Qt model: it checks the contract Qt relies on
(begin before the change with the old count, end after it with the new
one, never nested) and keeps the calls, so a test can say "one insertion of
40 rows at the top and nothing repainted" exactly. Mailbox events are fed
to the window synchronously, on the thread that wrote (``accept_sync``
announces before it returns).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from gui_helpers import capture, fill_store, simple_message

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.message_window import MessageWindow, SyncResult, ranges
from mailcatcher_gui.core.mime.summary import summarize
from mailcatcher_gui.core.models import (
    Capture,
    MailboxCleared,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
)
from mailcatcher_gui.core.store.search import QueryError


class Recorder:
    """``RowEvents`` that asserts Qt's begin/end contract and records every call."""

    def __init__(self) -> None:
        self.window: MessageWindow | None = None
        self.calls: list[tuple[object, ...]] = []
        self._open: tuple[str, int, int] | None = None  # (kind, count before, rows)

    def _begin(self, kind: str, first: int, last: int) -> None:
        assert self.window is not None and self._open is None, "nested change"
        count = self.window.count
        assert 0 <= first <= last
        if kind == "insert":
            assert first <= count
        else:
            assert last < count
        self._open = (kind, count, last - first + 1)
        self.calls.append((kind, first, last))

    def _end(self, kind: str) -> None:
        assert self.window is not None and self._open is not None
        opened, before, n = self._open
        assert opened == kind
        assert self.window.count == (before + n if kind == "insert" else before - n)
        self._open = None

    def begin_insert(self, first: int, last: int) -> None:
        self._begin("insert", first, last)

    def end_insert(self) -> None:
        self._end("insert")

    def begin_remove(self, first: int, last: int) -> None:
        self._begin("remove", first, last)

    def end_remove(self) -> None:
        self._end("remove")

    def begin_reset(self) -> None:
        assert self._open is None
        self._open = ("reset", 0, 0)
        self.calls.append(("reset",))

    def end_reset(self) -> None:
        assert self._open is not None and self._open[0] == "reset"
        self._open = None

    def changed(self, first: int, last: int, *, read_only: bool) -> None:
        assert self.window is not None and self._open is None
        assert 0 <= first <= last < self.window.count
        self.calls.append(("changed", first, last, read_only))


def make_window(mailbox: Mailbox, **kw: object) -> tuple[MessageWindow, Recorder]:
    rec = Recorder()
    w = MessageWindow(mailbox, rec, ids=mailbox.store.ids, **kw)  # type: ignore[arg-type]
    rec.window = w
    return w, rec


@pytest.fixture
def wired(mailbox: Mailbox) -> Iterator[list[MessageWindow]]:
    """Windows put in the yielded list get the mailbox events, as the bridge delivers them."""
    windows: list[MessageWindow] = []

    def deliver(event: MailboxEvent) -> None:
        for w in windows:
            if isinstance(event, MessagesAdded):
                w.messages_added(event.summaries)
            elif isinstance(event, MessagesDeleted):
                w.messages_deleted(event.ids)
            elif isinstance(event, MessagesChanged):
                w.messages_changed(event.ids, event.read)
            elif isinstance(event, MailboxCleared):
                w.refresh()

    unsubscribe = mailbox.subscribe(deliver)
    yield windows
    unsubscribe()


def shown_ids(w: MessageWindow, n: int | None = None) -> list[int | None]:
    return [w.id_at(r) for r in range(w.count if n is None else n)]


# ---- paging --------------------------------------------------------------------------------


def test_pages_are_read_on_demand_and_the_cache_stays_bounded(mailbox):
    fill_store(mailbox.store, 2000)
    w, rec = make_window(mailbox, page_size=100, max_cached_rows=400)
    assert w.count == 2000 and w.page_fetches == 0 and not w.rows
    assert w.summary_at(0).subject == "Message 001999"
    assert w.summary_at(99) is not None and w.page_fetches == 1
    assert w.summary_at(150).subject == "Message 001849" and w.page_fetches == 2
    assert w.summary_at(-1) is None and w.summary_at(2000) is None
    assert shown_ids(w) == mailbox.store.ids()  # every row, in the store's order
    assert w.page_fetches == 20
    assert len(w.rows) <= w.max_cached_rows
    assert rec.calls == []  # reading never changes rows


def test_row_of_id_looks_in_the_cache_then_near_the_hint_then_asks_for_ids(mailbox):
    fill_store(mailbox.store, 1000)
    w, _ = make_window(mailbox, page_size=100)
    ids = mailbox.store.ids()
    assert w.row_of_id(ids[5]) == 5 and w.page_fetches == 0  # ids() query, no page
    w.summary_at(0)
    assert w.cached_row_of_id(ids[42]) == 42
    # The pages at, above and below the hint: three reads.
    assert w.row_of_id(ids[520], hint=500) == 520 and w.page_fetches == 4
    assert w.row_of_id(ids[900]) == 900  # not cached, no hint: the id list
    assert w.row_of_id(-1) is None
    assert w.set_sort("subject", descending=False)
    w.summary_at(0)
    assert w.row_of_id(ids[999]) == 0  # "Message 000000" sorts first; it is cached
    assert w.row_of_id(ids[0]) is None  # not cached, no hint, no id list for this order


def test_sort_and_query_reset_and_a_bad_query_changes_nothing(mailbox):
    fill_store(mailbox.store, 30)
    w, rec = make_window(mailbox)
    assert not w.set_sort("received_at", descending=True)  # already so: no reset
    assert w.set_sort("subject", descending=False) and rec.calls == [("reset",)]
    assert w.summary_at(0).subject == "Message 000000"
    rec.calls.clear()
    with pytest.raises(QueryError):
        w.set_query("before:yesterday-ish")
    assert rec.calls == [] and w.query is None and w.count == 30
    w.set_query("  has:attachment ")
    assert rec.calls == [("reset",)] and w.query == "has:attachment"
    assert w.count == mailbox.count("has:attachment") == 5
    assert not w.rows


# ---- bursts --------------------------------------------------------------------------------


def test_a_burst_is_one_insert_on_top_and_the_old_rows_only_move(mailbox, wired):
    fill_store(mailbox.store, 300)
    w, rec = make_window(mailbox, page_size=100)
    wired.append(w)
    assert w.id_at(0) is not None and w.page_fetches == 1
    mailbox.accept_many_sync([capture(i) for i in range(40)])
    assert w.has_pending() and w.count == 300  # nothing moves before the sync
    result = w.sync()
    assert result == SyncResult(delta=40, by_events=True, busy=False)
    assert rec.calls == [("insert", 0, 39)]  # and no row was marked changed
    assert w.page_fetches == 1  # the new rows came from the events
    assert shown_ids(w, 140) == mailbox.store.ids()[:140]
    assert w.summary_at(0).subject == "Burst 39" and w.summary_at(40).subject == "Message 000299"
    assert w.settle() is None  # the store agrees


def test_retention_pruning_leaves_at_the_end_without_a_reread(mailbox, wired):
    fill_store(mailbox.store, 300)
    mailbox.max_messages = 320
    w, rec = make_window(mailbox, page_size=100)
    wired.append(w)
    w.summary_at(0)
    for start in (0, 25, 50):
        mailbox.accept_many_sync([capture(start + i) for i in range(25)])
        w.sync()
    assert w.count == mailbox.count() == 320
    removes = [c for c in rec.calls if c[0] == "remove"]
    assert removes == [("remove", 320, 324), ("remove", 320, 344), ("remove", 320, 344)]
    assert w.page_fetches == 1
    assert shown_ids(w) == mailbox.store.ids()
    assert w.summary_at(319).subject == "Message 000055"


def test_deleting_cached_rows_removes_exactly_them_at_once(mailbox, wired):
    fill_store(mailbox.store, 50)
    w, rec = make_window(mailbox)
    wired.append(w)
    ids = mailbox.store.ids()
    w.summary_at(0)
    mailbox.delete([ids[1], ids[2], ids[7]])
    assert rec.calls == [("remove", 7, 7), ("remove", 1, 2)]  # bottom first: rows stay valid
    assert not w.has_pending() and w.count == 47
    assert shown_ids(w) == mailbox.store.ids()


def test_an_uncached_delete_and_another_order_fall_back_to_a_recount(mailbox, wired):
    fill_store(mailbox.store, 1000)
    w, rec = make_window(mailbox, page_size=100)
    wired.append(w)
    w.summary_at(0)
    mailbox.delete([mailbox.store.ids()[-1]])  # never cached
    assert w.has_pending() and w.count == 1000
    assert w.sync() == SyncResult(-1, True, False)
    assert rec.calls == [("remove", 999, 999), ("changed", 100, 998, False)]
    assert shown_ids(w) == mailbox.store.ids()

    w.set_sort("subject", descending=False)
    rec.calls.clear()
    mailbox.accept_sync(capture(1, "Zebra"))
    result = w.sync()
    assert not result.by_events and result.delta == 1
    # Growth is announced at the top, then every row re-read.
    assert rec.calls == [("insert", 0, 0), ("changed", 0, 999, False)]
    assert w.summary_at(999).subject == "Zebra"


def test_added_then_deleted_before_the_sync_never_becomes_a_row(mailbox, wired):
    fill_store(mailbox.store, 10)
    w, rec = make_window(mailbox)
    wired.append(w)
    w.summary_at(0)
    first = mailbox.accept_sync(capture(1))
    mailbox.accept_sync(capture(2))
    mailbox.delete([first])
    assert w.sync() == SyncResult(1, True, False)
    assert rec.calls == [("insert", 0, 0)]
    assert shown_ids(w) == mailbox.store.ids()


def test_mail_the_events_missed_is_found_when_the_mail_stops(mailbox, wired):
    fill_store(mailbox.store, 50)
    w, rec = make_window(mailbox)
    wired.append(w)
    w.summary_at(0)
    mailbox.store.add([(capture(1), summarize(simple_message(1, "behind the back")))])
    mailbox.accept_sync(capture(2))
    w.sync()
    assert w.count == 51  # the events knew of one message
    assert w.settle() == 1  # the store has two
    assert rec.calls[-2:] == [("insert", 0, 0), ("changed", 0, 51, False)]
    assert shown_ids(w) == mailbox.store.ids()
    assert w.settle() is None


def test_busy_means_syncs_with_events_less_than_a_second_apart(mailbox, wired):
    now = [100.0]
    w, _ = make_window(mailbox, clock=lambda: now[0])
    wired.append(w)
    assert not w.sync().busy  # nothing happened
    now[0] += 5.0
    mailbox.accept_sync(capture(1))
    assert not w.sync().busy  # the first mail in a while
    now[0] += 0.4
    mailbox.accept_sync(capture(2))
    assert w.sync().busy  # mail keeps coming: the adapter coalesces longer
    now[0] += 2.0
    mailbox.accept_sync(capture(3))
    assert not w.sync().busy


def test_read_flags_are_patched_in_place(mailbox, wired):
    fill_store(mailbox.store, 20)
    w, rec = make_window(mailbox)
    wired.append(w)
    ids = mailbox.store.ids()
    w.summary_at(0)
    mailbox.mark_read([ids[3], ids[4], ids[9]])
    assert rec.calls == [("changed", 3, 4, True), ("changed", 9, 9, True)]
    assert [w.summary_at(r).read for r in (2, 3, 4, 9)] == [False, True, True, True]
    rec.calls.clear()
    mailbox.mark_read([ids[3]])  # already read: nothing to repaint
    assert rec.calls == [] and w.page_fetches == 1


def test_clearing_the_mailbox_resets(mailbox, wired):
    fill_store(mailbox.store, 20)
    w, rec = make_window(mailbox)
    wired.append(w)
    w.summary_at(0)
    mailbox.clear()
    assert rec.calls == [("reset",)] and w.count == 0 and not w.rows


def test_a_window_with_nobody_watching(mailbox):
    base = datetime(2024, 1, 1, tzinfo=UTC)
    mailbox.accept_many_sync(
        Capture(
            raw=simple_message(i),
            envelope_from="a@x",
            envelope_to=("b@x",),
            received_at=base + timedelta(seconds=i),
        )
        for i in range(3)
    )
    w = MessageWindow(mailbox)
    assert [w.summary_at(r).subject for r in range(3)] == ["Burst 2", "Burst 1", "Burst 0"]
    assert w.row_of_id(mailbox.store.ids()[2]) == 2  # found in the cache; no id list needed


def test_ranges():
    assert ranges([]) == []
    assert ranges([1, 2, 3, 7, 9, 10]) == [(1, 3), (7, 7), (9, 10)]
