"""Deferred upkeep: no WAL checkpoint and no FTS5 merge inside the commits that
gate a ``250``; ``Store.maintain`` does both in small steps, and the Mailbox's
writer calls it once mail pauses.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from test_store import assert_integrity, make

from mailcatcher_gui.core import mailbox as mailbox_module
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.store import database as store_module
from mailcatcher_gui.core.store.database import Store


def _segments(path: Path) -> int:
    """How many FTS5 segments hold data (each has rows in the _idx table)."""
    conn = sqlite3.connect(path)
    try:
        return conn.execute("SELECT count(DISTINCT segid) FROM messages_fts_idx").fetchone()[0]
    finally:
        conn.close()


def _wal_pending(store: Store) -> int:
    """Frames in the WAL that are not yet copied into the main file."""
    conn = sqlite3.connect(store.path)
    try:
        _busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return log - done
    finally:
        conn.close()


def test_commits_neither_merge_the_index_nor_checkpoint(tmp_path: Path) -> None:
    with Store(tmp_path / "m.sqlite3") as store:
        for i in range(12):
            store.add([make(i)])  # one transaction each: one new segment each
        assert _segments(store.path) == 12  # automerge is off: nothing merged on commit
        assert store.needs_upkeep
        frames = store._writer.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()[1]  # noqa: SLF001
        assert frames > 12  # every commit's pages are still in the WAL only


def test_maintain_merges_and_checkpoints_in_steps_until_done(tmp_path: Path) -> None:
    with Store(tmp_path / "m.sqlite3") as store:
        added = [store.add([make(i)])[0][0] for i in range(40)]
        before = _segments(store.path)
        steps = 0
        while store.maintain():
            steps += 1
            assert steps < 1000, "maintain never finished"
        assert not store.needs_upkeep
        assert _segments(store.path) < before
        assert _segments(store.path) <= 4
        # Everything is still found, and the file is consistent.
        assert store.count("number") == 40
        assert {s.id for s in store.list(query="number", limit=100)} == {s.id for s in added}
        store.add([make(99)])  # a new write asks for upkeep again
        assert store.needs_upkeep
    assert_integrity(tmp_path / "m.sqlite3")


def test_a_wal_past_the_bound_is_checkpointed_by_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store_module, "_WAL_CHECKPOINT_BYTES", 1)
    with Store(tmp_path / "m.sqlite3") as store:
        store.add([make(1)])
        assert not store._wal_dirty  # noqa: SLF001 - the commit itself checkpointed
        assert _wal_pending(store) == 0


def test_the_mailbox_writer_does_the_upkeep_once_mail_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "_UPKEEP_AFTER_IDLE", 0.02)
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    try:
        for i in range(30):
            mailbox.accept_sync(make(i)[0])
        deadline = time.monotonic() + 10
        while mailbox.store.needs_upkeep:
            assert time.monotonic() < deadline, "the idle writer never finished the upkeep"
            time.sleep(0.02)
        assert _segments(mailbox.store.path) <= 4
        assert _wal_pending(mailbox.store) == 0
        assert mailbox.count("number") == 30
    finally:
        mailbox.close()
    assert_integrity(tmp_path / "m.sqlite3")


def test_mail_arriving_during_idle_upkeep_is_stored_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upkeep runs in small steps and yields to the next capture between steps.

    The upkeep is made long (UPKEEP_STEPS slow steps), and the proof counts
    steps, not seconds: a capture arriving during upkeep is stored after at
    most the step in progress, while the rest of the upkeep is still ahead
    (a writer that finished the upkeep first would have run them all).
    """
    monkeypatch.setattr(mailbox_module, "_UPKEEP_AFTER_IDLE", 0.01)
    upkeep_steps = 20
    steps: list[float] = []
    started = threading.Event()
    finished = threading.Event()
    original = Store.maintain

    def slow_long_maintain(self: Store) -> bool:
        steps.append(time.monotonic())
        started.set()
        time.sleep(0.05)  # a slow step, so the capture surely arrives during one
        more = original(self)
        if len(steps) < upkeep_steps:
            self._merge_pending = True  # noqa: SLF001 - keep the upkeep going
            return True
        if not more:
            finished.set()
        return more

    monkeypatch.setattr(Store, "maintain", slow_long_maintain)
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    try:
        mailbox.accept_sync(make(1)[0])
        assert started.wait(10), "upkeep never started"
        before = len(steps)
        mailbox.accept_sync(make(2)[0])
        after = len(steps)
        # At most one more step began before the capture was stored (the
        # queue check and a step's start can race), never the whole upkeep.
        assert after - before <= 1, (before, after)
        assert after < upkeep_steps and mailbox.store.needs_upkeep
        # ... and the upkeep finishes afterwards.
        assert finished.wait(30), "upkeep never finished"
        assert len(steps) >= upkeep_steps
        assert mailbox.count() == 2
    finally:
        mailbox.close()
