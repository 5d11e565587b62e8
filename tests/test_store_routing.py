"""Mailboxes and the rule log in a real store file (schema version 6): routing,
counts, the ``mailbox:``/``rule:`` searches, cascades, events and the upgrade."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.mailbox_names import clean_mailbox
from mailcatcher_gui.core.models import MailboxesChanged, RuleEvent, RuleLogAdded
from mailcatcher_gui.core.store import QueryError, migrations
from mailcatcher_gui.core.store.database import Store
from tests.test_store import _downgrade, make


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "mail.sqlite3") as s:
        yield s


def test_set_mailbox_counts_and_search(store: Store) -> None:
    ids = [s.id for s in store.add([make(i) for i in range(6)])[0]]
    assert store.mailbox_counts() == {"": (6, 6)}
    moved = store.set_mailbox(ids[:3], "Orders")
    assert moved == [(i, "Orders") for i in ids[:3]]
    store.set_read([ids[0]], True)
    # another case takes the spelling in use; an id already there does not "move"
    assert store.set_mailbox([ids[0], ids[3]], "orders") == [(ids[3], "Orders")]
    store.set_mailbox([ids[4]], "Alerts")
    assert store.mailbox_counts() == {"": (1, 1), "Alerts": (1, 1), "Orders": (4, 3)}
    assert store.get_summary(ids[1]).mailbox == "Orders"
    assert store.get_summary(ids[5]).mailbox == ""
    assert set(store.ids("mailbox:orders")) == set(ids[:4])
    assert set(store.ids("mailbox:Alerts")) == {ids[4]}
    assert set(store.ids("mailbox:inbox")) == {ids[5]}
    assert set(store.ids("-mailbox:orders")) == {ids[4], ids[5]}
    assert store.ids("mailbox:nowhere") == []
    assert store.count("mailbox:orders") == 4
    assert [s.id for s in store.list(query="mailbox:orders", limit=2)] == [ids[3], ids[2]]
    # back to the default mailbox
    assert store.set_mailbox([ids[4]], "INBOX") == [(ids[4], "")]
    assert store.mailbox_counts() == {"": (2, 2), "Orders": (4, 3)}


def test_mailbox_search_uses_the_partial_index(store: Store) -> None:
    from mailcatcher_gui.core.store.search import compile_query

    compiled = compile_query("mailbox:Orders")
    plan = (
        store._reader()
        .execute(
            f"EXPLAIN QUERY PLAN SELECT id FROM messages AS m WHERE {compiled.where}",
            compiled.params,
        )
        .fetchall()
    )
    assert any("messages_by_mailbox" in str(row) for row in plan), plan


def test_mailbox_names_are_cleaned() -> None:
    assert clean_mailbox("  Big   Orders ") == "Big Orders"
    assert clean_mailbox("inbox") == "" and clean_mailbox("  ") == ""
    with pytest.raises(ValueError, match="at most"):
        clean_mailbox("x" * 101)


def test_rule_log_round_trip_search_and_cascade(store: Store) -> None:
    ids = [s.id for s in store.add([make(i) for i in range(3)])[0]]
    at = datetime(2024, 5, 1, 12, 0, 0, 5, tzinfo=UTC)
    stored = store.log_rule_events(
        ids[0],
        [RuleEvent("billing", "fired"), RuleEvent("billing", "forward", "250 OK", at=at)],
    )
    assert [e.action for e in stored] == ["fired", "forward"] and stored[0].at is not None
    store.log_rule_events(ids[1], [RuleEvent("Other", "webhook", "HTTP 500")])
    log = store.rule_log(ids[0])
    assert [(e.rule, e.action, e.detail) for e in log] == [
        ("billing", "fired", ""),
        ("billing", "forward", "250 OK"),
    ]
    assert log[1].at == at
    assert store.rule_log(ids[2]) == []
    assert set(store.ids("rule:BILLING")) == {ids[0]}
    assert set(store.ids("rule:other")) == {ids[1]}
    assert set(store.ids("-rule:billing")) == {ids[1], ids[2]}
    assert store.ids("rule:nothing") == []
    # a missing message logs nothing
    assert store.log_rule_events(99999, [RuleEvent("x", "fired")]) == []
    store.delete([ids[0]])
    with sqlite3.connect(store.path) as conn:
        left = conn.execute("SELECT DISTINCT message_id FROM message_rule_log").fetchall()
    assert left == [(ids[1],)]
    store.clear()
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT count(*) FROM message_rule_log").fetchone() == (0,)


def test_bad_operator_values_raise(store: Store) -> None:
    with pytest.raises(QueryError, match="needs a value"):
        store.ids("rule:")
    with pytest.raises(QueryError, match="needs a value"):
        store.ids("mailbox:")


def test_mailbox_events(tmp_path: Path) -> None:
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    try:
        events: list[object] = []
        mailbox.subscribe(events.append)
        (one,) = mailbox.accept_many_sync([make(1)[0]])
        mailbox.set_mailbox([one], "Orders")
        mailbox.set_mailbox([one], "Orders")  # no change, no event
        mailbox.log_rule_events(one, [RuleEvent("r", "fired")])
        mailbox.log_rule_events(one, [])
        assert [type(e) for e in events[1:]] == [MailboxesChanged, RuleLogAdded]
        assert events[1] == MailboxesChanged(((one, "Orders"),))
        assert mailbox.mailboxes() == {"": (0, 0), "Orders": (1, 1)}
        assert [e.rule for e in mailbox.rule_log(one)] == ["r"]
        assert mailbox.summary(one).to_json()["mailbox"] == "Orders"
    finally:
        mailbox.close()


def test_version_5_file_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "v5.sqlite3"
    with Store(path) as old:
        ids = [s.id for s in old.add([make(i) for i in range(3)])[0]]
    _downgrade(path, 5)
    with Store(path) as store:
        assert store.mailbox_counts() == {"": (3, 3)}
        store.set_mailbox(ids[:1], "A")
        store.log_rule_events(ids[1], [RuleEvent("r", "fired")])
        assert store.ids("mailbox:a") == ids[:1] and store.ids("rule:r") == ids[1:2]
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (migrations.SCHEMA_VERSION,)
