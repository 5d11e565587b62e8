"""The durable message store: one SQLite file.

Durability: the file runs in WAL mode with ``synchronous=NORMAL``. A commit
is then durable against a crash of *this process* (the WAL frames are in the
OS before ``add`` returns), which is what the sink's ``250 queued`` promises
here; only a power loss or OS crash may lose the last few transactions. That
trade keeps a burst of test mail from waiting on one fsync per message.

Deferred upkeep: the writer does not checkpoint the WAL on commit
(``wal_autocheckpoint = 0``) and the FTS5 index does not merge its segments
on commit (``automerge = 0``, migration 4). Both are real work (a checkpoint
copies pages into the main file and fsyncs it; a merge rewrites index
segments, and in a big store the merges reach big segments), and on commit
they landed on the path that gates the ``250``. ``maintain`` does them in
small steps instead; the Mailbox's writer calls it when no mail has arrived
for a moment; its last step truncates the WAL to zero bytes, so a burst's
WAL (749 MB after 100,000 messages) does not stay on disk. Bounds for a burst
that never pauses: once the WAL passes ``StoreConfig.wal_checkpoint_bytes`` a
commit checkpoints anyway, and FTS5's crisis merge still caps the segments
per level. When the disk is nearly full (``StoreConfig.low_disk_bytes``,
looked up at most once a second and only while the WAL is big), a commit
checkpoints and truncates the WAL once it passes a few MB.

Files (see ``core.store.files``): the database and its ``-wal``/``-shm`` are
0600 and a folder the store creates is 0700. Opening probes a write (inside a
transaction that is rolled back), so a read-only file or folder fails at
startup with one clear ``StoreError`` instead of a server that says
"listening" and then refuses every message.

A file deleted or replaced while open: SQLite keeps writing to the old inode,
so commits would "succeed" into a file nobody will open again. After every
commit the store compares the path with the file it opened (one ``stat``);
on a mismatch that commit and every later write raise ``StoreError`` (the
sink answers 451, so "250 means stored" stays true) and one error is logged.
The store does not quietly recreate the file: that would restart the ids at
1 under a window still listing the old ones, and a *replaced* file may be
another program's. Restarting opens whatever is at the path then.

Concurrency: SQLite allows one writer at a time, so every write (``add``,
``set_read``, ``delete``, ``clear``) goes through a single writer connection
behind a ``threading.Lock`` (the Mailbox calls ``add`` from its writer thread
and the rest from the UI/CLI thread). Reads use one connection per thread
(``threading.local``): under WAL a reader sees the last committed state and is
never blocked by the writer, so the UI can page through the list while a burst
is being committed. Another *process* can read (or write) the same file
concurrently; ``busy_timeout`` covers the brief moments SQLite needs a lock.

Each connection is only ever used by the thread that created it; they are
opened with ``check_same_thread=False`` solely so that ``close()`` (on
whatever thread) can close every one of them, and connections of threads
that have ended are closed when the next reader connection is opened.

Layout: ``messages`` (the summary row the list shows), ``raw`` (the bytes,
so listing never touches a blob) and ``messages_fts`` (FTS5, rowid = message
id). ``add`` writes all three for every message, and prunes, in one
transaction. The schema and its upgrades are in ``core.store.migrations``; the
search language in ``core.store.search``.
"""

from __future__ import annotations

import builtins
import json
import logging
import os
import shutil
import sqlite3
import tempfile
import threading
import time
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from ..models import Capture, MessageSummary, StoredMessage, Summary, TlsInfo
from ..paths import ensure_parent
from . import migrations
from .files import (
    JOURNAL_SIZE_LIMIT,
    FileIdentity,
    StoreConfig,
    companions,
    create_private,
    tighten,
)
from .rows import Prepared, summary_from_row, unique_ids
from .search import FTS_TABLE, compile_query

__all__ = ["MessageNotFound", "Store", "StoreConfig", "StoreError", "SORT_KEYS"]

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_S = 10.0
_BUSY_TIMEOUT_MS = int(_BUSY_TIMEOUT_S * 1000)
_MERGE_PAGES = 64  # FTS5 pages one ``maintain`` merge step may write (a few ms)

# Public sort names -> indexed column. Every one is indexed as (column, id).
SORT_KEYS: dict[str, str] = {
    "received_at": "m.received_at",
    "from": "m.from_sort",
    "to": "m.to_sort",
    "subject": "m.subject_sort",
    "size": "m.size",
    "attachments": "m.attachments",
    "id": "m.id",
}

_SUMMARY_COLUMNS = (
    "m.id, m.received_at, m.envelope_from, m.envelope_to, m.header_from, m.header_to, "
    "m.header_cc, m.subject, m.message_id, m.size, m.has_html, m.has_text, m.attachments, "
    "m.read, m.snippet"
)
_INSERT_MESSAGE = """
INSERT INTO messages (
    id, received_at, envelope_from, envelope_to, header_from, header_to, header_cc, subject, date,
    message_id, size, has_html, has_text, attachments, read, snippet, peer, helo, tls,
    auth_user, transcript, source, from_sort, to_sort, subject_sort
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""
# AUTOINCREMENT keeps sqlite_sequence >= every id ever used, so ids are never reused.
_NEXT_ID = """
SELECT max(
    coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0),
    coalesce((SELECT max(id) FROM messages), 0)
) + 1
"""
_INSERT_RAW = "INSERT INTO raw (id, data) VALUES (?, ?)"
_INSERT_FTS = (
    f"INSERT INTO {FTS_TABLE} (rowid, subject, from_addr, to_addr, body, html, attachments) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_IDS_PARAM = "SELECT value FROM json_each(?)"  # a list of ids as one bound JSON array
# The counters row is kept by the store, once per transaction (migration 3).
_COUNT_ADDED = "UPDATE counters SET total = total + ?, unread = unread + ? WHERE id = 1"
_COUNT_REMOVED = "UPDATE counters SET total = total - ?, unread = unread - ? WHERE id = 1"
# Extended result code (SQLITE_READONLY | 6 << 8): the folder, not the file, is read-only.
_SQLITE_READONLY_DIRECTORY = 1544


class StoreError(Exception):
    """The environment let us down (cannot open the file, disk full, ...); the message says how."""


class MessageNotFound(KeyError):
    """No message has this id (any more)."""

    def __init__(self, message_id: int) -> None:
        super().__init__(message_id)
        self.id = message_id

    def __str__(self) -> str:
        return f"no message with id {self.id}"


class Store:
    """Captured messages in one SQLite file. Thread-safe; see the module docstring."""

    def __init__(self, path: str | os.PathLike[str], config: StoreConfig | None = None) -> None:
        self._config = config if config is not None else StoreConfig()
        self._tempdir: str | None = None
        if str(path) == ":memory:":
            # A real file (not SQLite's :memory:) so that WAL and several
            # connections behave exactly as they do for a saved mailbox.
            self._tempdir = tempfile.mkdtemp(prefix="mailcatcher-gui-")
            path = Path(self._tempdir) / "mail.sqlite3"
        self.path = Path(path).expanduser().absolute()
        self._closed = False
        self._write_lock = threading.Lock()
        self._local = threading.local()
        self._readers_lock = threading.Lock()
        self._readers: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        # Deferred upkeep (see the module docstring); set by every write.
        self._wal_dirty = True
        self._merge_pending = True
        self._truncate_pending = False  # set by the idle checkpoint
        self._disk_low = False
        self._next_disk_check = 0.0
        # Set once the file at ``path`` is no longer the one open: why, for every refusal.
        self._lost: str | None = None
        self._identity = FileIdentity(-1, -1)  # set by _open
        self._companions: dict[Path, FileIdentity] = {}  # our -wal and -shm, set by _open
        try:
            self._writer = self._open()
        except BaseException:
            self._remove_tempdir()
            raise

    # ---- connections ---------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            ensure_parent(self.path)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the folder for the message store {self.path}: {exc.strerror or exc}"
            ) from exc
        if self.path.is_dir():
            raise StoreError(f"Cannot open the message store {self.path}: it is a directory.")
        try:
            create_private(self.path)  # before SQLite: its -wal/-shm copy this file's mode
        except OSError as exc:
            raise StoreError(
                f"Cannot create the message store {self.path}: {exc.strerror or exc}"
            ) from exc
        tighten(self.path)
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"Cannot open the message store {self.path}: "
                    f"SQLite refused WAL mode (journal_mode={mode})."
                )
            conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # see maintain()
            migrations.migrate(conn, migrations.MIGRATIONS)
            self._probe_write(conn)
            self._identity = FileIdentity.of(self.path)
            self._companions = {c: FileIdentity.of(c) for c in companions(self.path) if c.exists()}
        except migrations.SchemaError as exc:
            self._close_quietly(conn)
            raise StoreError(f"Cannot use {self.path} as a message store: {exc}") from exc
        except sqlite3.Error as exc:
            self._close_quietly(conn)
            raise StoreError(self._open_failure(exc)) from exc
        except OSError as exc:  # FileIdentity: the file vanished while opening
            self._close_quietly(conn)
            raise StoreError(
                f"Cannot open the message store {self.path}: {exc.strerror or exc}"
            ) from exc
        except BaseException:
            self._close_quietly(conn)
            raise
        return conn

    @staticmethod
    def _probe_write(conn: sqlite3.Connection) -> None:
        """Fail now if nothing could be committed (a read-only file, folder or file system).

        SQLite opens a file it may not write read-only without a word, and a
        store already at the current schema writes nothing while opening, so
        only a write shows it. This one changes nothing and is rolled back.
        """
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("UPDATE counters SET total = total WHERE id = 1")
        finally:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def _open_failure(self, exc: sqlite3.Error) -> str:
        """One line saying why the store cannot be opened, and what to check."""
        code = getattr(exc, "sqlite_errorcode", 0)
        if code == _SQLITE_READONLY_DIRECTORY:
            return (
                f"Cannot write to the message store {self.path}: its folder is read-only "
                f"(SQLite needs to create {self.path.name}-wal and -shm beside it)."
            )
        if code & 0xFF == sqlite3.SQLITE_READONLY:
            return (
                f"Cannot write to the message store {self.path}: the file is read-only "
                "(check its permissions and the file system)."
            )
        return f"Cannot open the message store {self.path}: {exc}"

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_S,
            isolation_level=None,  # autocommit; we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # see the module docstring
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _reader(self) -> sqlite3.Connection:
        if self._closed:
            raise StoreError(f"The message store {self.path} is closed.")
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._readers_lock:
            if self._closed:
                raise StoreError(f"The message store {self.path} is closed.")
            self._close_dead_readers()
            try:
                conn = self._connect()
                conn.execute("PRAGMA query_only = ON")
            except sqlite3.Error as exc:
                raise StoreError(f"Cannot open the message store {self.path}: {exc}") from exc
            self._readers.append((weakref.ref(threading.current_thread()), conn))
        self._local.conn = conn
        return conn

    def _close_dead_readers(self) -> None:
        alive = []
        for ref, conn in self._readers:
            thread = ref()
            if thread is None or not thread.is_alive():
                conn.close()  # its thread is gone, so nobody else is using it
            else:
                alive.append((ref, conn))
        self._readers = alive

    @staticmethod
    def _close_quietly(conn: sqlite3.Connection | None) -> None:
        if conn is not None:
            with suppress(sqlite3.Error):
                conn.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn SQLite failures (disk full, I/O error, corruption) into StoreError."""
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"Could not {action} in {self.path}: {exc}") from exc

    @contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """The writer connection inside ``BEGIN IMMEDIATE``; commit, or roll back everything."""
        with self._write_lock, self._errors(action):
            if self._closed:
                raise StoreError(f"The message store {self.path} is closed.")
            if self._lost is not None:
                raise StoreError(self._lost)
            conn = self._writer
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back (e.g. SQLITE_FULL).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._wal_dirty = self._merge_pending = True
            # After the COMMIT: a file deleted before it took this transaction along.
            self._check_still_open()
            self._bound_wal(conn)

    def _check_still_open(self) -> None:
        """Raise ``StoreError`` (and log once) if ``path`` is no longer the file open."""
        if self._noticed_lost():
            raise StoreError(self._lost)

    def _noticed_lost(self) -> bool:
        """Compare the path with the open file; on the first mismatch log it and tidy up."""
        if self._lost is not None:
            return True
        moved = self._identity.moved(self.path)
        if moved is None:
            return False
        self._lost = (
            f"The message store {self.path} was {moved} while in use: nothing more can be "
            "stored in it, so new mail is refused (451) until mailcatcher-gui is restarted "
            "(which opens whatever is at that path then, or creates a new store)."
        )
        log.error("%s", self._lost)
        self._discard_companions()
        return True

    def _discard_companions(self) -> None:
        """Unlink our ``-wal``/``-shm`` if they are still at the path.

        They belong to the lost file, and SQLite does not check whose a WAL
        is: whatever is opened at the path next (the file that replaced ours,
        or a new store) would have our frames applied to it, overwriting its
        pages. Our open connections keep their own handles.
        """
        for companion, identity in self._companions.items():
            if identity.moved(companion) is None:
                try:
                    companion.unlink()
                except OSError as exc:
                    log.warning("could not remove %s: %s", companion, exc.strerror or exc)
                else:
                    log.info("removed %s, which belonged to the lost store file", companion)
        self._companions = {}

    def _bound_wal(self, conn: sqlite3.Connection) -> None:
        """Checkpoint inside a burst that never pauses, or when the disk is nearly full."""
        cfg = self._config
        wal = self._wal_bytes()
        if wal > cfg.low_disk_wal_bytes and self._disk_nearly_full():
            if self._truncate_wal(conn):
                self._wal_dirty = False
        elif wal > cfg.wal_checkpoint_bytes:
            self._checkpoint(conn)

    def _disk_nearly_full(self) -> bool:
        """``StoreConfig.disk_usage`` below ``low_disk_bytes``; asked at most once an interval."""
        cfg = self._config
        now = time.monotonic()
        if now < self._next_disk_check:
            return self._disk_low
        self._next_disk_check = now + cfg.disk_check_interval
        try:
            free: int | None = cfg.disk_usage(str(self.path.parent)).free
        except OSError as exc:
            log.debug("cannot tell the free space for %s: %s", self.path, exc)
            free = None
        low = free is not None and free < cfg.low_disk_bytes
        if low and not self._disk_low:
            log.warning(
                "only %.1f MB free beside %s: its WAL is now truncated whenever it passes %.1f MB",
                (free or 0) / 1e6,
                self.path,
                cfg.low_disk_wal_bytes / 1e6,
            )
        elif self._disk_low and not low:
            log.info("enough free space beside %s again", self.path)
        self._disk_low = low
        return low

    # ---- deferred upkeep -------------------------------------------------

    @property
    def needs_upkeep(self) -> bool:
        """True while ``maintain`` has work left (segments to merge, a WAL to checkpoint or cut)."""
        if self._closed or self._lost is not None:
            return False
        return self._wal_dirty or self._merge_pending or self._truncate_pending

    def maintain(self) -> bool:
        """Do one small step of deferred upkeep; returns ``needs_upkeep``.

        A step is one bounded FTS5 merge (``_MERGE_PAGES``) while merging has
        work, then one PASSIVE checkpoint (it never waits for readers; pages a
        reader still needs are copied by a later one), then truncating the WAL
        to zero bytes. The truncation does not wait for readers either: if one
        is in the way it is left for the next idle moment after a write.
        Raises ``StoreError``; the work is then dropped until the next write
        asks for it again, so a full disk cannot make the caller spin.
        """
        with self._write_lock:
            if not self.needs_upkeep:
                return False
            conn = self._writer
            try:
                if self._merge_pending:
                    before = conn.total_changes
                    conn.execute(
                        f"INSERT INTO {FTS_TABLE} ({FTS_TABLE}, rank) VALUES ('merge', ?)",
                        (_MERGE_PAGES,),
                    )
                    # FTS5's documented signal: fewer than 2 changes = nothing to merge.
                    self._merge_pending = conn.total_changes - before >= 2
                    self._wal_dirty = True
                    if self._merge_pending:
                        return True
                if self._wal_dirty:
                    self._checkpoint(conn)
                    self._truncate_pending = True
                    return self.needs_upkeep
                if self._truncate_pending:
                    self._truncate_pending = False
                    if self._wal_bytes() and not self._truncate_wal(conn):
                        log.debug("WAL of %s not truncated: a reader is using it", self.path)
                    self._wal_dirty = False  # what is left waits for the next write
            except sqlite3.Error as exc:
                self._wal_dirty = self._merge_pending = self._truncate_pending = False
                raise StoreError(f"Could not tidy up {self.path}: {exc}") from exc
        return self.needs_upkeep

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._wal_dirty = False

    @staticmethod
    def _truncate_wal(conn: sqlite3.Connection) -> bool:
        """Checkpoint everything and cut the WAL to 0 bytes, without waiting for readers.

        Returns False if a reader (or another process) was in the way; SQLite
        then still copied what it could, as a PASSIVE checkpoint does.
        """
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            busy = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        finally:
            conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
        return not busy

    def _wal_bytes(self) -> int:
        try:
            return os.stat(f"{self.path}-wal").st_size
        except OSError:
            return 0

    # ---- writes --------------------------------------------------------

    def add(
        self, rows: Sequence[tuple[Capture, Summary]], *, max_messages: int = 0
    ) -> tuple[list[MessageSummary], list[int]]:
        """Store ``rows`` and prune beyond ``max_messages`` (0 = unlimited), in ONE transaction.

        Returns the new summaries in input order and the ids pruned (oldest
        first, by arrival order; this may include ids from ``rows`` themselves
        when more rows than ``max_messages`` are added at once). Raises
        ``StoreError`` if nothing could be committed; then nothing was.
        """
        prepared = [Prepared.build(capture, summary) for capture, summary in rows]
        with self._write(f"store {len(prepared)} message(s)") as conn:
            # We hold the only write lock, so the next ids are known: assigning
            # them lets each table be filled with one executemany (about a
            # third faster than three statements per message).
            first = conn.execute(_NEXT_ID).fetchone()[0]
            ids = range(first, first + len(prepared))
            conn.executemany(
                _INSERT_MESSAGE, [(i, *p.message_row) for i, p in zip(ids, prepared, strict=True)]
            )
            conn.executemany(_INSERT_RAW, [(i, p.raw) for i, p in zip(ids, prepared, strict=True)])
            conn.executemany(
                _INSERT_FTS, [(i, *p.fts_row) for i, p in zip(ids, prepared, strict=True)]
            )
            conn.execute(_COUNT_ADDED, (len(prepared), len(prepared)))  # new mail is unread
            pruned = self._prune(conn, max_messages) if max_messages > 0 else []
        return [p.summary(i) for i, p in zip(ids, prepared, strict=True)], pruned

    def prune(self, max_messages: int) -> builtins.list[int]:
        """Delete the oldest messages beyond ``max_messages`` (0 = unlimited); returns their ids."""
        if max_messages <= 0:
            return []
        with self._write("apply the message limit") as conn:
            return self._prune(conn, max_messages)

    def _prune(self, conn: sqlite3.Connection, max_messages: int) -> list[int]:
        total = conn.execute("SELECT total FROM counters").fetchone()[0]
        excess = total - max_messages
        if excess <= 0:
            return []
        ids = [r[0] for r in conn.execute("SELECT id FROM messages ORDER BY id LIMIT ?", (excess,))]
        self._delete_rows(conn, ids)
        return ids

    def set_read(self, ids: Sequence[int], read: bool) -> list[int]:
        """Set the read flag; returns the ids (input order) whose flag actually changed."""
        wanted = unique_ids(ids)
        if not wanted:
            return []
        flag = 1 if read else 0
        with self._write("update the read flag") as conn:
            changed = {
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({_IDS_PARAM}) AND read != ?",
                    (json.dumps(wanted), flag),
                )
            }
            result = [i for i in wanted if i in changed]
            if result:
                conn.execute(
                    f"UPDATE messages SET read = ? WHERE id IN ({_IDS_PARAM})",
                    (flag, json.dumps(result)),
                )
        return result

    def delete(self, ids: Sequence[int]) -> list[int]:
        """Delete messages (row, raw bytes, search index); returns the ids that existed."""
        wanted = unique_ids(ids)
        if not wanted:
            return []
        with self._write("delete messages") as conn:
            existing = {
                r[0]
                for r in conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({_IDS_PARAM})", (json.dumps(wanted),)
                )
            }
            result = [i for i in wanted if i in existing]
            self._delete_rows(conn, result)
        return result

    @staticmethod
    def _delete_rows(conn: sqlite3.Connection, ids: list[int]) -> None:
        if not ids:
            return
        total, unread = conn.execute(
            f"SELECT count(*), coalesce(sum(read = 0), 0) FROM messages WHERE id IN ({_IDS_PARAM})",
            (json.dumps(ids),),
        ).fetchone()
        conn.execute(_COUNT_REMOVED, (total, unread))
        params = [(i,) for i in ids]
        conn.executemany(f"DELETE FROM {FTS_TABLE} WHERE rowid = ?", params)
        conn.executemany("DELETE FROM raw WHERE id = ?", params)
        conn.executemany("DELETE FROM messages WHERE id = ?", params)

    def clear(self) -> int:
        """Delete every message; returns how many there were. Ids are not reused afterwards."""
        with self._write("clear the mailbox") as conn:
            n = conn.execute("SELECT total FROM counters").fetchone()[0]
            # Deleting FTS rows one by one re-tokenizes every document; dropping
            # and re-creating the table from its own stored definition is instant.
            (fts_sql,) = conn.execute(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", (FTS_TABLE,)
            ).fetchone()
            conn.execute(f"DROP TABLE {FTS_TABLE}")
            conn.execute(fts_sql)
            conn.execute("DELETE FROM raw")
            conn.execute("DELETE FROM messages")
            conn.execute("UPDATE counters SET total = 0, unread = 0 WHERE id = 1")
        self._reclaim_space()
        return int(n)

    def _reclaim_space(self) -> None:
        """Give the emptied file's pages back to the disk (best effort).

        On an empty database VACUUM takes milliseconds, far less than
        incremental vacuuming hundreds of MB of free pages. If another
        connection is in the way it is skipped: SQLite reuses the free pages
        for new mail anyway.
        """
        with self._write_lock:
            if self._closed:
                return
            try:
                self._writer.execute("VACUUM")
            except sqlite3.Error as exc:
                log.info("not reclaiming space in %s after clear: %s", self.path, exc)

    # ---- reads ---------------------------------------------------------

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> list[MessageSummary]:
        """One page of summaries. Raises ``QueryError`` for a bad query, ``ValueError``
        for an unknown sort key or a negative offset/limit."""
        if sort not in SORT_KEYS:
            raise ValueError(f"unknown sort key {sort!r}; use one of {', '.join(SORT_KEYS)}")
        if offset < 0 or limit < 0:
            raise ValueError("offset and limit must not be negative")
        compiled = compile_query(query)
        direction = "DESC" if descending else "ASC"
        column = SORT_KEYS[sort]
        order = f"{column} {direction}" + ("" if column == "m.id" else f", m.id {direction}")
        # Find the page's ids on the (covering) sort index first, then fetch
        # only those rows: OFFSET 50000 then skips index entries, not rows.
        # A text search only probes its match set while the index is walked
        # (see CompiledQuery), so a common word does not cost a row lookup
        # per match.
        sql = (
            f"SELECT {_SUMMARY_COLUMNS} FROM ("
            f"SELECT m.id FROM messages AS m WHERE {compiled.probe_where} "
            f"ORDER BY {order} LIMIT ? OFFSET ?"
            f") AS page JOIN messages AS m ON m.id = page.id ORDER BY {order}"
        )
        with self._errors("list messages"):
            rows = self._reader().execute(sql, (*compiled.params, limit, offset)).fetchall()
        return [summary_from_row(r) for r in rows]

    def count(self, query: str | None = None) -> int:
        """How many messages match ``query`` (all when None/empty)."""
        compiled = compile_query(query)
        with self._errors("count messages"):
            conn = self._reader()
            if not compiled.params and compiled.where == "1":
                return int(conn.execute("SELECT total FROM counters").fetchone()[0])
            if compiled.match_only is not None:
                # Every FTS row belongs to exactly one message (same transaction).
                sql = f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
                return int(conn.execute(sql, (compiled.match_only,)).fetchone()[0])
            sql = f"SELECT count(*) FROM messages AS m WHERE {compiled.where}"
            return int(conn.execute(sql, compiled.params).fetchone()[0])

    def unread_count(self) -> int:
        with self._errors("count unread messages"):
            return int(self._reader().execute("SELECT unread FROM counters").fetchone()[0])

    def ids(self, query: str | None = None) -> builtins.list[int]:
        """Ids of the matching messages, newest first (the default list order)."""
        compiled = compile_query(query)
        sql = (
            f"SELECT m.id FROM messages AS m WHERE {compiled.where} "
            "ORDER BY m.received_at DESC, m.id DESC"
        )
        with self._errors("list message ids"):
            return [r[0] for r in self._reader().execute(sql, compiled.params)]

    def get_summary(self, id: int) -> MessageSummary:
        with self._errors("read a message"):
            row = (
                self._reader()
                .execute(f"SELECT {_SUMMARY_COLUMNS} FROM messages AS m WHERE m.id = ?", (id,))
                .fetchone()
            )
        if row is None:
            raise MessageNotFound(id)
        return summary_from_row(row)

    def get(self, id: int) -> StoredMessage:
        # One statement, so the row and its bytes come from the same snapshot.
        sql = (
            f"SELECT {_SUMMARY_COLUMNS}, m.peer, m.helo, m.tls, m.auth_user, m.transcript, "
            "m.source, raw.data FROM messages AS m LEFT JOIN raw ON raw.id = m.id WHERE m.id = ?"
        )
        with self._errors("read a message"):
            row = self._reader().execute(sql, (id,)).fetchone()
        if row is None:
            raise MessageNotFound(id)
        summary = summary_from_row(row[:15])
        peer, helo, tls, auth_user, transcript, source, raw = row[15:]
        return StoredMessage(
            summary=summary,
            raw=bytes(raw or b""),
            peer=peer,
            helo=helo,
            tls=TlsInfo.from_json(json.loads(tls)) if tls else None,
            auth_user=auth_user,
            transcript=tuple(json.loads(transcript)),
            source=source,
        )

    def get_raw(self, id: int) -> bytes:
        with self._errors("read a message"):
            row = self._reader().execute("SELECT data FROM raw WHERE id = ?", (id,)).fetchone()
        if row is None:
            raise MessageNotFound(id)
        return bytes(row[0])

    # ---- lifecycle -----------------------------------------------------

    def close(self) -> None:
        """Close every connection (checkpointing the WAL); remove a ``:memory:`` store's file.

        A file lost since the last write is noticed here too, so its stale
        WAL is not left for the next store opened at the path (see
        ``_discard_companions``; SQLite itself skips the closing checkpoint of
        a moved file and leaves the WAL behind).
        """
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            self._noticed_lost()
            self._closed = True
            for _, conn in self._readers:
                self._close_quietly(conn)
            self._readers.clear()
            self._close_quietly(self._writer)
        self._local = threading.local()
        self._remove_tempdir()

    def _remove_tempdir(self) -> None:
        if self._tempdir is not None:
            shutil.rmtree(self._tempdir, ignore_errors=True)
            self._tempdir = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"
