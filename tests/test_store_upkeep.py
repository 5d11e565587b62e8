"""Deferred upkeep: no WAL checkpoint and no FTS5 merge inside the commits that
gate a ``250``; ``Store.maintain`` does both in small steps, and the Mailbox's
writer calls it once mail pauses.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import NamedTuple

import pytest
from test_store import assert_integrity, make

from mailcatcher_gui.core import mailbox as mailbox_module
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.store.database import Store, StoreConfig


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


def test_a_wal_past_the_bound_is_checkpointed_by_the_commit(tmp_path: Path) -> None:
    with Store(tmp_path / "m.sqlite3", StoreConfig(wal_checkpoint_bytes=1)) as store:
        store.add([make(1)])
        writer = store._writer  # noqa: SLF001 - ask the writer's own view, without checkpointing
        _busy, frames, copied = writer.execute("PRAGMA wal_checkpoint(NOOP)").fetchone()
        assert frames == copied > 0  # the commit itself checkpointed


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
            self._upkeep.merge_pending = True  # noqa: SLF001 - keep the upkeep going
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


# ---- the WAL after a burst, and on a nearly full disk (issue 10 item 25) -----


def _wal_size(store: Store) -> int:
    wal = Path(f"{store.path}-wal")
    return wal.stat().st_size if wal.exists() else 0


def test_idle_upkeep_truncates_the_wal_to_zero(tmp_path: Path) -> None:
    with Store(tmp_path / "m.sqlite3") as store:
        for i in range(150):
            store.add([make(i)])
        assert _wal_size(store) > 1_000_000  # control: a burst leaves a big WAL
        steps = 0
        while store.maintain():
            steps += 1
            assert steps < 1000, "maintain never finished"
        assert _wal_size(store) == 0  # a PASSIVE checkpoint alone leaves the file as big
        assert store.count() == 150
    assert_integrity(tmp_path / "m.sqlite3")


def test_the_idle_mailbox_writer_truncates_the_wal_after_a_burst(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(mailbox_module, "_UPKEEP_AFTER_IDLE", 0.02)
    mailbox = Mailbox(Store(tmp_path / "m.sqlite3"))
    try:
        mailbox.accept_many_sync([make(i)[0] for i in range(300)])
        deadline = time.monotonic() + 20
        while _wal_size(mailbox.store) or mailbox.store.needs_upkeep:
            assert time.monotonic() < deadline, f"WAL still {_wal_size(mailbox.store)} bytes"
            time.sleep(0.02)
        assert mailbox.count() == 300
    finally:
        mailbox.close()


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


def _burst_with_free_space(tmp_path: Path, free: int) -> tuple[list[int], list[str]]:
    """150 one-message commits; returns the WAL size after each and the disk_usage calls."""
    asked: list[str] = []

    def disk_usage(path: str) -> _Usage:
        asked.append(path)
        return _Usage(total=free * 2, used=free, free=free)

    config = StoreConfig(
        low_disk_bytes=64 * 1024 * 1024,
        low_disk_wal_bytes=256 * 1024,
        disk_check_interval=3600.0,
        disk_usage=disk_usage,
    )
    sizes = []
    with Store(tmp_path / "m.sqlite3", config) as store:
        for i in range(150):
            store.add([make(i)])
            sizes.append(_wal_size(store))
        assert store.count() == 150
    assert_integrity(tmp_path / "m.sqlite3")
    return sizes, asked


def test_a_nearly_full_disk_keeps_the_wal_small(tmp_path: Path) -> None:
    sizes, asked = _burst_with_free_space(tmp_path, free=10 * 1024 * 1024)
    assert max(sizes) <= 256 * 1024  # truncated by the commit that passed the bound
    assert 0 in sizes
    assert asked == [str(tmp_path)]  # asked once (the interval), about the store's folder


def test_with_room_on_the_disk_the_wal_grows_until_idle(tmp_path: Path) -> None:
    """The control: the same burst with plenty of space leaves the WAL alone."""
    sizes, asked = _burst_with_free_space(tmp_path, free=100 * 1024**3)
    assert max(sizes) > 1_000_000
    assert sizes == sorted(sizes)  # never cut during the burst
    assert asked == [str(tmp_path)]
