"""The windowed message list model over a real store (offscreen Qt)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from gui_helpers import capture, fill_store, simple_message
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.mime.summary import summarize
from mailcatcher_gui.core.models import MessageSummary, Summary
from mailcatcher_gui.core.store.search import QueryError
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.window.list_model import (
    Column,
    IdRole,
    MessageListModel,
    SummaryRole,
    format_received,
    format_size,
    recipients_text,
    sender_text,
)
from mailcatcher_gui.ui.window.message_list import MessageTable

pytestmark = pytest.mark.gui


def connect(model: MessageListModel, bridge: MailboxBridge) -> None:
    bridge.messagesAdded.connect(model.on_messages_added)
    bridge.messagesDeleted.connect(model.on_messages_deleted)
    bridge.messagesChanged.connect(model.on_messages_changed)
    bridge.mailboxCleared.connect(model.on_mailbox_cleared)


@pytest.fixture
def bridge(qapp, mailbox):
    b = MailboxBridge(mailbox)
    yield b
    b.close()


# ---- formatting --------------------------------------------------------------------


def test_format_size_is_short_and_human():
    # The one formatter of core.units (tests/test_units.py has the full table).
    assert format_size(0) == "0 B"
    assert format_size(512) == "512 B"
    assert format_size(1536) == "1.5 KB"
    assert format_size(200 * 1024) == "200.0 KB"
    assert format_size(25 * 1024 * 1024) == "25.0 MB"
    assert format_size(3 * 1024**3) == "3.0 GB"


def test_format_received_is_relative():
    now = datetime(2025, 6, 18, 15, 0, tzinfo=UTC).astimezone()
    today = now.replace(hour=9, minute=5)
    assert format_received(today, now) == "09:05"
    three_days = now - timedelta(days=3)
    assert format_received(three_days, now) == three_days.strftime("%a %H:%M")
    months = now - timedelta(days=100)
    assert format_received(months, now) == f"{months.day} {months.strftime('%b')}"
    old = now.replace(year=2021)
    assert format_received(old, now) == old.strftime("%Y-%m-%d")


def test_list_address_text_prefers_the_names_of_the_ingested_pairs():
    # Through summarize(), the way every stored row gets its addresses (the old
    # test fed '"Alice Example" <...>', a quoted string the pipeline never makes).
    raw = (
        b'From: "Example, Alice" <alice@example.com>\r\n'
        b"To: =?utf-8?q?B=C3=B6b=2C_Jr=2E?= <bob@example.com>, carol@example.com\r\n"
        b"Subject: hi\r\n\r\nbody\r\n"
    )
    s = _listed(summarize(raw))
    assert sender_text(s) == "Example, Alice"
    assert recipients_text(s) == "Böb, Jr., carol@example.com"
    # No header addresses: the envelope speaks.
    bare = _listed(summarize(b"Subject: none\r\n\r\nbody\r\n"))
    assert sender_text(bare) == "env@example.com"
    assert recipients_text(bare) == "rcpt@example.com, other@example.com"


def _listed(summary: Summary) -> MessageSummary:
    return MessageSummary(
        id=1,
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
        envelope_from="env@example.com",
        envelope_to=("rcpt@example.com", "other@example.com"),
        from_=summary.from_,
        to=summary.to,
        cc=summary.cc,
        subject=summary.subject,
        message_id="",
        size=1,
        has_html=False,
        has_text=True,
        attachments=0,
        read=False,
        from_addrs=summary.from_addrs,
        to_addrs=summary.to_addrs,
        cc_addrs=summary.cc_addrs,
    )


# ---- the Qt model contract ----------------------------------------------------------------


def test_empty_model_passes_the_model_tester(qtmodeltester, mailbox):
    model = MessageListModel(mailbox)
    qtmodeltester.check(model)
    assert model.rowCount() == 0
    assert model.columnCount() == len(Column)
    assert model.data(model.index(0, 0)) is None


def test_populated_model_passes_the_model_tester_while_rows_change(
    qtmodeltester, qtbot, mailbox, bridge
):
    fill_store(mailbox.store, 450)  # more than two pages
    model = MessageListModel(mailbox, page_size=100)
    connect(model, bridge)
    qtmodeltester.check(model)
    assert model.rowCount() == 450

    # New mail while the tester watches: one coalesced insert at the top.
    inserted: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, first, last: inserted.append((first, last)))
    mailbox.accept_many_sync([capture(i) for i in range(12)])
    qtbot.waitUntil(lambda: model.rowCount() == 462)
    assert inserted == [(0, 11)]
    assert model.data(model.index(0, Column.SUBJECT)) == "Burst 11"

    # Read flags, deletions and a search, all under the tester.
    top_id = model.id_at(0)
    mailbox.mark_read([top_id])
    qtbot.waitUntil(lambda: model.summary_at(0).read)
    victims = [model.id_at(r) for r in (1, 2, 5)]
    mailbox.delete(victims)
    qtbot.waitUntil(lambda: model.rowCount() == 459)
    assert not {model.id_at(r) for r in range(10)} & set(victims)
    model.set_query("subject:burst")
    assert model.rowCount() == mailbox.count("subject:burst") == 9  # 12 minus 3 deleted
    model.sort(Column.SUBJECT, Qt.SortOrder.AscendingOrder)
    assert [model.data(model.index(r, Column.SUBJECT)) for r in range(3)] == [
        "Burst 0",
        "Burst 1",
        "Burst 11",
    ]


def test_roles_fonts_icons_and_tooltips(qapp, mailbox):
    fill_store(mailbox.store, 8)
    model = MessageListModel(mailbox)
    newest = model.index(0, Column.FROM)
    s = model.data(newest, SummaryRole)
    assert s.subject == "Message 000007"
    assert model.data(newest, IdRole) == s.id
    assert model.data(newest) == "Sender 7"
    assert model.data(newest, Qt.ItemDataRole.ToolTipRole) == "Sender 7 <s7@example.com>"
    assert model.data(newest, Qt.ItemDataRole.FontRole).bold()  # unread
    # message 7 has an attachment (every 7th), message 6 not
    assert not model.data(
        model.index(0, Column.ATTACHMENT), Qt.ItemDataRole.DecorationRole
    ).isNull()
    assert model.data(model.index(1, Column.ATTACHMENT), Qt.ItemDataRole.DecorationRole) is None
    assert model.data(model.index(0, Column.SIZE)).endswith(" B")
    mailbox.mark_read([s.id])
    model.on_messages_changed([s.id], True)
    assert model.data(newest, Qt.ItemDataRole.FontRole) is None
    assert model.headerData(Column.SUBJECT, Qt.Orientation.Horizontal) == "Subject"


def test_bad_query_raises_and_leaves_the_model_alone(qapp, mailbox):
    fill_store(mailbox.store, 30)
    model = MessageListModel(mailbox)
    resets = []
    model.modelReset.connect(lambda: resets.append(1))
    with pytest.raises(QueryError):
        model.set_query("before:yesterday")
    assert model.rowCount() == 30 and model.query is None and not resets
    model.set_query("has:attachment")
    assert model.rowCount() == mailbox.count("has:attachment") == 5


def test_sorting_uses_the_store_order(qapp, mailbox):
    fill_store(mailbox.store, 250)
    model = MessageListModel(mailbox, page_size=50)
    for column, key in ((Column.SUBJECT, "subject"), (Column.FROM, "from"), (Column.SIZE, "size")):
        for order in (Qt.SortOrder.AscendingOrder, Qt.SortOrder.DescendingOrder):
            model.sort(column, order)
            expected = mailbox.list(
                offset=120, limit=20, sort=key, descending=order == Qt.SortOrder.DescendingOrder
            )
            assert [model.id_at(r) for r in range(120, 140)] == [s.id for s in expected]


def test_burst_is_coalesced_into_one_insert(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 20)
    model = MessageListModel(mailbox, coalesce_ms=80)
    connect(model, bridge)
    inserts: list[tuple[int, int]] = []
    model.rowsInserted.connect(lambda _p, a, b: inserts.append((a, b)))
    for i in range(40):  # forty separate commits and events
        mailbox.accept_sync(capture(i))
    qtbot.waitUntil(lambda: model.rowCount() == 60)
    assert inserts == [(0, 39)]


def test_a_deleted_uncached_row_is_found_by_recounting(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 1000)
    model = MessageListModel(mailbox, page_size=100)
    connect(model, bridge)
    model.summary_at(0)  # only the first page is cached
    oldest = mailbox.list(offset=999, limit=1)[0].id
    mailbox.delete([oldest])
    qtbot.waitUntil(lambda: model.rowCount() == 999)
    assert model.id_at(998) == mailbox.list(offset=998, limit=1)[0].id
    mailbox.clear()
    qtbot.waitUntil(lambda: model.rowCount() == 0)


def test_new_mail_on_top_shifts_the_cache_instead_of_rereading(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 300)
    model = MessageListModel(mailbox, page_size=100)
    connect(model, bridge)
    assert model.id_at(0) is not None and model.page_fetches == 1
    changed: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda a, b, _roles=(): changed.append((a.row(), b.row())))
    mailbox.accept_many_sync([capture(i) for i in range(40)])
    qtbot.waitUntil(lambda: model.rowCount() == 340 and not model.sync_pending())
    # The 40 new rows came from the events, the old page moved down by 40:
    # nothing was read again and no old row was repainted as "changed".
    shown = [model.id_at(r) for r in range(140)]
    assert model.page_fetches == 1 and changed == []
    assert shown == [s.id for s in mailbox.list(limit=140)]
    assert model.data(model.index(0, Column.SUBJECT)) == "Burst 39"
    assert model.data(model.index(40, Column.SUBJECT)) == "Message 000299"


def test_retention_pruning_during_a_burst_keeps_rows_in_line_with_the_store(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 300)
    mailbox.max_messages = 320
    model = MessageListModel(mailbox, page_size=100)
    connect(model, bridge)
    model.summary_at(0)
    removed: list[tuple[int, int]] = []
    model.rowsRemoved.connect(lambda _p, first, last: removed.append((first, last)))
    for start in (0, 25, 50):
        mailbox.accept_many_sync([capture(start + i) for i in range(25)])
        newest = f"Burst {start + 24}"
        qtbot.waitUntil(lambda t=newest: model.data(model.index(0, Column.SUBJECT)) == t)
    qtbot.waitUntil(lambda: model.rowCount() == mailbox.count() == 320)
    # The pruned rows were never cached: they leave at the end, without a re-read.
    assert removed == [(320, 324), (320, 344), (320, 344)]
    assert model.page_fetches == 1
    assert [model.id_at(r) for r in range(320)] == mailbox.store.ids()
    assert model.data(model.index(319, Column.SUBJECT)) == "Message 000055"


def test_mail_the_events_missed_is_found_once_the_mail_stops(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 50)
    model = MessageListModel(mailbox, coalesce_ms=20)
    connect(model, bridge)
    model.summary_at(0)
    raw = simple_message(1, "Written behind the model's back")
    first = capture(1)
    mailbox.store.add([(first, summarize(raw))])  # no event for this one
    mailbox.accept_sync(capture(2))
    qtbot.waitUntil(lambda: model.rowCount() == 52, timeout=3000)
    assert [model.id_at(r) for r in range(52)] == mailbox.store.ids()


def test_bridge_hands_a_burst_over_in_one_signal_and_keeps_event_order(qtbot, mailbox, bridge):
    got: list[tuple[str, object]] = []
    bridge.messagesAdded.connect(lambda s: got.append(("added", [x.id for x in s])))
    bridge.messagesDeleted.connect(lambda ids: got.append(("deleted", list(ids))))
    ids = [mailbox.accept_sync(capture(i)) for i in range(40)]
    mailbox.delete(ids[:2])
    last = mailbox.accept_sync(capture(40))
    qtbot.waitUntil(lambda: len(got) == 3)
    assert got == [("added", ids), ("deleted", ids[:2]), ("added", [last])]

    # Deleting messages outside the current run (like retention pruning
    # during a burst) merges into one deletion ahead of the additions.
    got.clear()
    more = [mailbox.accept_sync(capture(50 + i)) for i in range(3)]
    mailbox.delete([ids[5]])
    more.append(mailbox.accept_sync(capture(60)))
    mailbox.delete([ids[6], ids[7]])
    qtbot.waitUntil(lambda: len(got) == 2)
    assert got == [("deleted", [ids[5], ids[6], ids[7]]), ("added", more)]


# ---- size --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "total", [20_000, pytest.param(100_000, marks=pytest.mark.slow)], ids=["20k", "100k"]
)
def test_big_store_scrolls_to_the_end_touching_few_pages(qtbot, mailbox, total):
    t0 = time.perf_counter()
    fill_store(mailbox.store, total, batch=10_000)
    fill_seconds = time.perf_counter() - t0
    model = MessageListModel(mailbox, page_size=200)
    table = MessageTable()
    qtbot.addWidget(table)
    table.setModel(model)
    table.resize(900, 600)
    table.show()
    qtbot.waitExposed(table)

    # CPU time, not wall time: other processes on a busy machine do not count.
    t0 = time.process_time()
    QApplication.processEvents()
    first_paint = time.process_time() - t0
    assert model.rowCount() == total
    assert model.page_fetches <= 2  # only what is on screen

    t0 = time.process_time()
    table.scrollToBottom()
    table.viewport().repaint()
    QApplication.processEvents()
    to_end = time.process_time() - t0
    assert model.page_fetches <= 4
    bottom = table.indexAt(table.viewport().rect().bottomLeft() + table.viewport().rect().topLeft())
    last = model.index(total - 1, Column.SUBJECT)
    assert model.data(last) == "Message 000000"
    assert bottom.row() > total - 50 or bottom.row() == -1

    # Jump through the middle like a dragged scroll bar: a page per jump at most.
    before = model.page_fetches
    for fraction in (0.25, 0.5, 0.75):
        table.verticalScrollBar().setValue(int(table.verticalScrollBar().maximum() * fraction))
        table.viewport().repaint()
    assert model.page_fetches - before <= 6
    assert len(model.window.rows) <= model.max_cached_rows
    print(
        f"fill {fill_seconds:.1f}s, first paint {first_paint * 1000:.0f} ms CPU, "
        f"to end {to_end * 1000:.0f} ms CPU, pages {model.page_fetches}"
    )
    assert first_paint < 1.0 and to_end < 1.0


def test_invalid_parent_has_no_children(qapp, mailbox):
    fill_store(mailbox.store, 3)
    model = MessageListModel(mailbox)
    assert model.rowCount(model.index(0, 0)) == 0
    assert model.columnCount(model.index(0, 0)) == 0
    assert model.rowCount(QModelIndex()) == 3


def test_the_model_dies_when_dropped_not_in_the_cycle_collector(qtbot, mailbox, bridge):
    """No reference cycle through the Qt-free window: the cycle collector may run
    on any thread (the mailbox writer's) and must never be the one to destroy a
    QObject with live timers ("Timers cannot be stopped from another thread")."""
    import gc

    fill_store(mailbox.store, 5)
    gc.collect()
    gc.disable()
    try:
        gone, window = _a_busy_model_dropped(qtbot, mailbox, bridge)
        assert gone() is None and window() is None  # freed by reference counting alone
    finally:
        gc.enable()


def _a_busy_model_dropped(qtbot, mailbox, bridge):
    import weakref

    model = MessageListModel(mailbox, coalesce_ms=10)
    connect(model, bridge)
    model.summary_at(0)
    mailbox.accept_sync(capture(1))
    qtbot.waitUntil(lambda: model.rowCount() == 6)
    assert model._settle_timer.isActive()  # a live timer, as after any burst
    return weakref.ref(model), weakref.ref(model.window)  # and the last reference goes
