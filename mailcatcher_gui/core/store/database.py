"""The durable message store: one SQLite file.

Durability: the file runs in WAL mode with ``synchronous=NORMAL``. A commit
is then durable against a crash of *this process* (the WAL frames are in the
OS before ``add`` returns), which is what the sink's ``250 queued`` promises
here; only a power loss or OS crash may lose the last few transactions. That
trade keeps a burst of test mail from waiting on one fsync per message.

Deferred upkeep (``core.store.upkeep``): commits neither checkpoint the
WAL nor merge the FTS5 index, because both landed on the path that gates
the ``250``; ``maintain`` does them in small steps when the Mailbox's writer
is idle, ending with a WAL truncated to zero bytes. A commit checkpoints only
past a bound, or early when the disk is nearly full (``StoreConfig``).

Files (``core.store.files``): the database and its ``-wal``/``-shm`` are 0600
and a folder the store creates is 0700. Opening probes a write (inside a
transaction that is rolled back), so a read-only file or folder fails at
startup with one clear ``StoreError`` instead of a server that says
"listening" and then refuses every message. After every commit the store
checks (one ``stat``) that the path still names the file it opened: a file
deleted or replaced while open makes that commit and every later write raise
``StoreError`` (the sink answers 451, so "250 means stored" stays true).

``Store(path, readonly=True)`` (CLI commands that only read) skips the
probe and the writer (``connect.open_reader_only``); its writes raise.

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
so listing never touches a blob), ``messages_fts`` (FTS5, rowid = message
id) and ``message_tags`` (``core.store.tags``, the ``StoreTags`` half of the
``Store``). ``add`` writes them (tags only if a message came with some), and
prunes, in one transaction. The schema and its upgrades are in
``core.store.migrations``; the search language in ``core.store.search``.
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
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

from ..models import Capture, MessageSummary, StoredMessage, Summary, TlsInfo
from .connect import (
    BUSY_TIMEOUT_MS,
    MessageNotFound,
    StoreError,
    connect,
    open_reader_only,
    open_writer,
)
from .files import OpenedFile, StoreConfig
from .rows import Prepared, summary_from_row, unique_ids
from .search import FTS_TABLE, compile_query
from .statements import (
    COUNT_ADDED,
    COUNT_REMOVED,
    IDS_PARAM,
    INSERT_FTS,
    INSERT_MESSAGE,
    INSERT_RAW,
    NEXT_ID,
    SUMMARY_COLUMNS,
    SUMMARY_WIDTH,
)
from .tags import StoreTags, insert_new_tags
from .upkeep import Upkeep

__all__ = ["MessageNotFound", "Store", "StoreConfig", "StoreError", "SORT_KEYS"]

log = logging.getLogger(__name__)


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


class Store(StoreTags):
    """Captured messages in one SQLite file. Thread-safe; see the module docstring."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        config: StoreConfig | None = None,
        *,
        readonly: bool = False,
    ) -> None:
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
        self._upkeep = Upkeep(self.path, self._config, BUSY_TIMEOUT_MS)
        self._writer: sqlite3.Connection | None = None
        self._file: OpenedFile | None = None
        #: readers open this URI (read-only) instead of the path
        self._reader_uri: str | None = None
        try:
            if readonly and self._tempdir is None:
                self._reader_uri = open_reader_only(self.path)
            if self._reader_uri is None:
                # Missing or older than this release: created/upgraded as for a writer.
                self._writer, self._file = open_writer(self.path)
        except BaseException:
            self._remove_tempdir()
            raise

    @property
    def readonly(self) -> bool:
        """True when opened with ``readonly=True`` on an existing store: writes raise."""
        return self._writer is None

    # ---- connections ---------------------------------------------------

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
                if self._reader_uri is not None:
                    conn = connect(self._reader_uri, uri=True)
                else:
                    conn = connect(self.path)
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
            if self._writer is None or self._file is None:
                raise StoreError(f"Could not {action}: {self.path} was opened read-only.")
            if self._file.lost is not None:
                raise StoreError(self._file.lost)
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
            # After the COMMIT: a file deleted before it took this transaction along.
            lost = self._file.check()
            if lost is not None:
                raise StoreError(lost)
            try:
                self._upkeep.committed(conn)
            except sqlite3.Error as exc:  # the commit stands: its caller must not hear otherwise
                log.warning("checkpoint after a commit to %s failed: %s", self.path, exc)

    # ---- deferred upkeep -------------------------------------------------

    @property
    def needs_upkeep(self) -> bool:
        """True while ``maintain`` has work left (segments to merge, a WAL to checkpoint or cut)."""
        return (
            not self._closed
            and self._file is not None
            and self._file.lost is None
            and self._upkeep.pending
        )

    def maintain(self) -> bool:
        """Do one small step of deferred upkeep; returns ``needs_upkeep``.

        The steps are ``Upkeep.step``: an FTS5 merge, a PASSIVE checkpoint,
        cutting the WAL to zero bytes; none waits for readers. Raises
        ``StoreError``; the work is then dropped until the next write asks for
        it again, so a full disk cannot make the caller spin.
        """
        with self._write_lock:
            if not self.needs_upkeep or self._writer is None:
                return False
            try:
                self._upkeep.step(self._writer)
            except sqlite3.Error as exc:
                self._upkeep.drop()
                raise StoreError(f"Could not tidy up {self.path}: {exc}") from exc
        return self.needs_upkeep

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
            first = conn.execute(NEXT_ID).fetchone()[0]
            ids = range(first, first + len(prepared))
            conn.executemany(
                INSERT_MESSAGE, [(i, *p.message_row) for i, p in zip(ids, prepared, strict=True)]
            )
            conn.executemany(INSERT_RAW, [(i, p.raw) for i, p in zip(ids, prepared, strict=True)])
            conn.executemany(
                INSERT_FTS, [(i, *p.fts_row) for i, p in zip(ids, prepared, strict=True)]
            )
            conn.execute(COUNT_ADDED, (len(prepared), len(prepared)))  # new mail is unread
            tags = insert_new_tags(conn, ids, [p.listed.tags for p in prepared])
            pruned = self._prune(conn, max_messages) if max_messages > 0 else []
        return [p.summary(i, tags.get(i)) for i, p in zip(ids, prepared, strict=True)], pruned

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
                    f"SELECT id FROM messages WHERE id IN ({IDS_PARAM}) AND read != ?",
                    (json.dumps(wanted), flag),
                )
            }
            result = [i for i in wanted if i in changed]
            if result:
                conn.execute(
                    f"UPDATE messages SET read = ? WHERE id IN ({IDS_PARAM})",
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
                    f"SELECT id FROM messages WHERE id IN ({IDS_PARAM})", (json.dumps(wanted),)
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
            f"SELECT count(*), coalesce(sum(read = 0), 0) FROM messages WHERE id IN ({IDS_PARAM})",
            (json.dumps(ids),),
        ).fetchone()
        conn.execute(COUNT_REMOVED, (total, unread))
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
            conn.execute("DELETE FROM message_tags")
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
            if self._closed or self._writer is None:
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
            f"SELECT {SUMMARY_COLUMNS} FROM ("
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
                .execute(f"SELECT {SUMMARY_COLUMNS} FROM messages AS m WHERE m.id = ?", (id,))
                .fetchone()
            )
        if row is None:
            raise MessageNotFound(id)
        return summary_from_row(row)

    def get(self, id: int) -> StoredMessage:
        # One statement, so the row and its bytes come from the same snapshot.
        sql = (
            f"SELECT {SUMMARY_COLUMNS}, m.peer, m.helo, m.tls, m.auth_user, m.transcript, "
            "m.source, raw.data FROM messages AS m LEFT JOIN raw ON raw.id = m.id WHERE m.id = ?"
        )
        with self._errors("read a message"):
            row = self._reader().execute(sql, (id,)).fetchone()
        if row is None:
            raise MessageNotFound(id)
        summary = summary_from_row(row[:SUMMARY_WIDTH])
        peer, helo, tls, auth_user, transcript, source, raw = row[SUMMARY_WIDTH:]
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
        ``core.store.files``).
        """
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
            if self._file is not None:
                self._file.check()  # a file lost since the last write: drop its stale WAL
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
