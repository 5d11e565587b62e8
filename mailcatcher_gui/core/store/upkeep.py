"""Deferred upkeep of the store's writer connection: FTS5 merges, WAL checkpoints, WAL size.

The writer does not checkpoint the WAL on commit (``wal_autocheckpoint = 0``)
and the FTS5 index does not merge its segments on commit (``automerge = 0``,
migration 4). Both are real work (a checkpoint copies pages into the main
file and fsyncs it; a merge rewrites index segments, and in a big store the
merges reach big segments), and on commit they landed on the path that gates
the ``250``. ``Upkeep.step`` does them in small steps instead; the Mailbox's
writer calls it (through ``Store.maintain``) when no mail has arrived for a
moment. The last step truncates the WAL to zero bytes, so a burst's WAL
(749 MB after 100,000 messages) does not stay on disk.

Bounds for a burst that never pauses (``Upkeep.committed``, after every
commit): once the WAL passes ``StoreConfig.wal_checkpoint_bytes`` the commit
checkpoints anyway, and FTS5's crisis merge still caps the segments per
level. When the disk is nearly full (``StoreConfig.low_disk_bytes``; the free
space is looked up at most once per ``disk_check_interval`` and only while
the WAL is bigger than ``low_disk_wal_bytes``), the commit checkpoints *and
truncates* the WAL once it passes ``low_disk_wal_bytes``.

No checkpoint here waits for readers: PASSIVE never does, and TRUNCATE runs
with a zero busy timeout (a reader in the way means "not now", and SQLite
still copies what it can). A capture arriving meanwhile waits for at most
one step.

The caller holds the store's write lock around every method here.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

from .files import StoreConfig
from .search import FTS_TABLE

__all__ = ["Upkeep"]

log = logging.getLogger(__name__)

_MERGE_PAGES = 64  # FTS5 pages one merge step may write (a few ms)


class Upkeep:
    """What the writer connection of the store at ``path`` still owes, and the steps to pay it."""

    def __init__(self, path: Path, config: StoreConfig, busy_timeout_ms: int) -> None:
        self._path = path
        self._wal = Path(f"{path}-wal")
        self._config = config
        self._busy_timeout_ms = busy_timeout_ms
        self.wal_dirty = True  # frames not yet copied into the main file
        self.merge_pending = True  # FTS5 segments to merge
        self.truncate_pending = False  # a WAL to cut to 0 bytes (after the idle checkpoint)
        self._disk_low = False
        self._next_disk_check = 0.0

    @property
    def pending(self) -> bool:
        return self.wal_dirty or self.merge_pending or self.truncate_pending

    def drop(self) -> None:
        """Forget the work (after a failure) until the next write asks for it again."""
        self.wal_dirty = self.merge_pending = self.truncate_pending = False

    # ---- after every commit ----------------------------------------------

    def committed(self, conn: sqlite3.Connection) -> None:
        """Note the new work, and checkpoint now if the WAL outgrew its bound."""
        self.wal_dirty = self.merge_pending = True
        cfg = self._config
        wal = self.wal_bytes()
        if wal > cfg.low_disk_wal_bytes and self._disk_nearly_full():
            if self._truncate(conn):
                self.wal_dirty = False
        elif wal > cfg.wal_checkpoint_bytes:
            self._checkpoint(conn)

    def _disk_nearly_full(self) -> bool:
        """Free space below ``low_disk_bytes``; asked at most once per ``disk_check_interval``."""
        cfg = self._config
        now = time.monotonic()
        if now < self._next_disk_check:
            return self._disk_low
        self._next_disk_check = now + cfg.disk_check_interval
        try:
            free: int | None = cfg.disk_usage(str(self._path.parent)).free
        except OSError as exc:
            log.debug("cannot tell the free space for %s: %s", self._path, exc)
            free = None
        low = free is not None and free < cfg.low_disk_bytes
        if low and not self._disk_low:
            log.warning(
                "only %.1f MB free beside %s: its WAL is now truncated whenever it passes %.1f MB",
                (free or 0) / 1e6,
                self._path,
                cfg.low_disk_wal_bytes / 1e6,
            )
        elif self._disk_low and not low:
            log.info("enough free space beside %s again", self._path)
        self._disk_low = low
        return low

    # ---- while idle --------------------------------------------------------

    def step(self, conn: sqlite3.Connection) -> None:
        """One bounded step: an FTS5 merge, else a PASSIVE checkpoint, else cutting the WAL.

        Raises ``sqlite3.Error``; the caller then ``drop``s the work.
        """
        if self.merge_pending:
            before = conn.total_changes
            conn.execute(
                f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('merge', ?)",
                (_MERGE_PAGES,),
            )
            # FTS5's documented signal: fewer than 2 changes = nothing to merge.
            self.merge_pending = conn.total_changes - before >= 2
            self.wal_dirty = True
            if self.merge_pending:
                return
        if self.wal_dirty:
            self._checkpoint(conn)
            self.truncate_pending = True
            return
        if self.truncate_pending:
            self.truncate_pending = False
            if self.wal_bytes() and not self._truncate(conn):
                log.debug("WAL of %s not truncated: a reader is using it", self._path)

    # ---- the checkpoints ---------------------------------------------------

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self.wal_dirty = False

    def _truncate(self, conn: sqlite3.Connection) -> bool:
        """Checkpoint everything and cut the WAL to 0 bytes, without waiting for readers.

        Returns False if a reader (or another process) was in the way; SQLite
        then still copied what it could, as a PASSIVE checkpoint does.
        """
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms}")
        return not busy

    def wal_bytes(self) -> int:
        try:
            return os.stat(self._wal).st_size
        except OSError:
            return 0
