"""The Mailbox service: durable accept, events after commit, explicit flags."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailcatcher_gui.core.mailbox import Mailbox, MailboxProtocol
from mailcatcher_gui.core.models import (
    Capture,
    MailboxCleared,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
)
from mailcatcher_gui.core.store.database import Store


def _capture(n: int) -> Capture:
    raw = (
        f"From: Sender {n} <s{n}@example.com>\r\nTo: r@example.com\r\n"
        f"Subject: message {n}\r\n\r\nbody {n}\r\n"
    ).encode()
    return Capture(
        raw=raw,
        envelope_from=f"s{n}@example.com",
        envelope_to=("r@example.com", "hidden@example.com"),
        received_at=datetime.now(UTC),
    )


def test_accept_commits_before_returning_and_then_announces(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    mailbox = Mailbox(store)
    events = []

    def on_event(event):
        # When the event fires, a separate connection must already see the row.
        if isinstance(event, MessagesAdded):
            with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
                (n,) = conn.execute("select count(*) from messages").fetchone()
            events.append((event, n))

    mailbox.subscribe(on_event)

    async def scenario():
        return await asyncio.gather(*(mailbox.accept(_capture(i)) for i in range(50)))

    ids = asyncio.run(scenario())
    try:
        assert len(set(ids)) == 50
        assert [e.summaries[0].id for e, _ in events] == ids
        assert all(n >= 1 for _, n in events)
        assert mailbox.count() == 50
        opened = mailbox.get(ids[7])
        assert opened.stored.raw == _capture(7).raw
        assert opened.parsed.header("Subject") == "message 7"
        assert opened.stored.summary.envelope_to == ("r@example.com", "hidden@example.com")
    finally:
        mailbox.close()


def test_reads_have_no_side_effects_and_flags_are_explicit(mailbox):
    events = []
    mailbox.subscribe(events.append)
    mid = mailbox.accept_sync(_capture(1))
    mailbox.get(mid)
    mailbox.list()
    assert mailbox.summary(mid).read is False
    assert mailbox.unread_count() == 1
    mailbox.mark_read([mid])
    mailbox.mark_read([mid])  # no change, no second event
    assert mailbox.summary(mid).read is True
    assert [type(e) for e in events] == [MessagesAdded, MessagesChanged]
    assert events[1] == MessagesChanged((mid,), True)
    assert mailbox.delete([mid, 9999]) == [mid]
    mailbox.accept_sync(_capture(2))
    assert mailbox.clear() == 1
    assert isinstance(events[-1], MailboxCleared)
    assert isinstance(events[2], MessagesDeleted)
    assert events[2].pruned is False  # the user's delete, not retention


def test_retention_prunes_oldest_and_announces_it(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"), max_messages=3)
    events = []
    mailbox.subscribe(events.append)
    try:
        ids = [mailbox.accept_sync(_capture(i)) for i in range(5)]
        assert mailbox.count() == 3
        assert [s.id for s in mailbox.list()] == ids[:1:-1]
        deleted = [i for e in events if isinstance(e, MessagesDeleted) for i in e.ids]
        assert deleted == ids[:2]
        assert all(e.pruned for e in events if isinstance(e, MessagesDeleted))
    finally:
        mailbox.close()


def test_a_batch_larger_than_retention_never_announces_what_it_pruned(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"), max_messages=2)
    added = []
    mailbox.subscribe(lambda e: added.extend(isinstance(e, MessagesAdded) and e.summaries or ()))
    try:
        ids = mailbox.accept_many_sync(_capture(i) for i in range(20))
        remaining = {s.id for s in mailbox.list()}
        assert len(remaining) == 2
        assert remaining <= set(ids)
        # Whatever was announced as added and not later deleted is what remains.
        assert remaining <= {s.id for s in added}
    finally:
        mailbox.close()


def test_storage_failure_reaches_the_caller_and_the_writer_survives(tmp_path):
    store = Store(tmp_path / "m.sqlite3")
    mailbox = Mailbox(store)
    try:
        good = mailbox.accept_sync(_capture(1))
        with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
            conn.execute(
                "create trigger refuse before insert on messages begin "
                "select raise(abort, 'disk says no'); end"
            )
        with pytest.raises(Exception, match="disk says no"):
            mailbox.accept_sync(_capture(2))
        with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
            conn.execute("drop trigger refuse")
        later = mailbox.accept_sync(_capture(3))
        assert later > good
        assert mailbox.count() == 2
    finally:
        mailbox.close()


def test_closed_mailbox_refuses_new_work(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    mailbox.close()
    with pytest.raises(RuntimeError, match="closed"):
        mailbox.accept_sync(_capture(1))


def test_callers_on_several_loops_and_threads_share_batches(tmp_path):
    """The writer resolves async waiters per loop (one wake-up per batch and
    loop); callers on two loops and a blocking caller all get their own ids."""
    import threading

    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    results: dict[str, list[int]] = {}

    def on_loop(name: str, base: int) -> None:
        async def scenario():
            return await asyncio.gather(*(mailbox.accept(_capture(base + i)) for i in range(40)))

        results[name] = asyncio.run(scenario())

    threads = [threading.Thread(target=on_loop, args=(f"loop{k}", k * 100)) for k in (1, 2)]
    try:
        for t in threads:
            t.start()
        results["sync"] = mailbox.accept_many_sync([_capture(300 + i) for i in range(40)])
        for t in threads:
            t.join(30)
        ids = [i for name in ("loop1", "loop2", "sync") for i in results[name]]
        assert len(ids) == len(set(ids)) == 120
        assert mailbox.count() == 120
        for name, base in (("loop1", 100), ("loop2", 200), ("sync", 300)):
            for n, message_id in enumerate(results[name]):
                assert mailbox.raw(message_id) == _capture(base + n).raw
    finally:
        mailbox.close()


def test_async_storage_failure_reaches_every_waiter(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    try:
        with sqlite3.connect(tmp_path / "m.sqlite3") as conn:
            conn.execute(
                "create trigger refuse before insert on messages begin "
                "select raise(abort, 'disk says no'); end"
            )

        async def scenario():
            return await asyncio.gather(
                *(mailbox.accept(_capture(i)) for i in range(10)), return_exceptions=True
            )

        outcomes = asyncio.run(scenario())
        assert len(outcomes) == 10
        assert all("disk says no" in str(o) for o in outcomes)
        assert mailbox.count() == 0
    finally:
        mailbox.close()


# ---- the facade's Protocol and what the UI needed from the store (issue 9 item 3)


def test_the_mailbox_keeps_the_protocol(mailbox):
    assert isinstance(mailbox, MailboxProtocol)
    assert not isinstance(object(), MailboxProtocol)  # control: the check has teeth
    # mypy checks the signatures too: core/mailbox.py assigns Mailbox to type[MailboxProtocol].


def test_what_the_ui_took_from_the_store_is_on_the_facade(mailbox):
    ids = [mailbox.accept_sync(_capture(i)) for i in range(3)]
    assert mailbox.location == str(mailbox.store.path)
    assert mailbox.ids() == ids[::-1]
    assert mailbox.ids("message 1") == [ids[1]]
    stored = mailbox.get_stored(ids[0])
    assert stored.raw == _capture(0).raw and stored.summary.id == ids[0]
    assert not mailbox.summary(ids[0]).read  # get_stored has no side effects either


#: ``mailbox.store``, ``self._mailbox.store``, ``mailbox._store``, ``x.mailbox.max_messages = n``
FACADE_BYPASS = re.compile(r"mailbox\._?store\b|\.max_messages\s*=[^=]")


def test_the_facade_bypass_pattern_catches_every_spelling():
    for line in (
        "ids = self.mailbox.store.ids()",
        "self._mailbox.store.path",
        "model.mailbox._store.add(rows)",
        "self.mailbox.max_messages = 5",
    ):
        assert FACADE_BYPASS.search(line), line
    for line in ("self.mailbox.ids()", "profiles_dialog.store.list()", "x.max_messages == 5"):
        assert not FACADE_BYPASS.search(line), line


def test_the_ui_never_reaches_past_the_facade():
    """The ui package and the composition root talk to the ``MailboxProtocol`` only."""
    package = Path(__file__).resolve().parent.parent / "mailcatcher_gui"
    files = [*sorted((package / "ui").rglob("*.py")), package / "app.py"]
    offending = [
        f"{path.name}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if FACADE_BYPASS.search(line)
    ]
    assert not offending, "\n".join(offending)


def test_the_ui_is_typed_against_the_mailbox_protocol_not_the_class():
    """Only the composition root (app.py) knows the concrete ``Mailbox``."""
    ui = Path(__file__).resolve().parent.parent / "mailcatcher_gui" / "ui"
    offending = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(ui.rglob("*.py"))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if re.search(r"core\.mailbox import|:\s*Mailbox\b|-> Mailbox\b", line)
    ]
    assert not offending, "\n".join(offending)


def test_lowering_retention_prunes_at_once_and_announces_it(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    events = []
    mailbox.subscribe(events.append)
    try:
        ids = mailbox.accept_many_sync(_capture(i) for i in range(6))
        assert mailbox.retention == 0
        assert mailbox.set_retention(4) == ids[:2]  # without waiting for the next message
        assert mailbox.retention == 4
        assert mailbox.ids() == ids[:1:-1]
        assert events[-1] == MessagesDeleted(tuple(ids[:2]), pruned=True)
        assert mailbox.set_retention(10) == []  # raising it removes nothing
        assert mailbox.set_retention(0) == []  # nor does "no limit"
        mailbox.max_messages = 1  # the old attribute is the same operation
        assert mailbox.ids() == [ids[-1]]
        new = mailbox.accept_sync(_capture(9))  # and the writer keeps to the new limit
        assert mailbox.ids() == [new]
    finally:
        mailbox.close()
