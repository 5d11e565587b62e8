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
for a moment. Bounds for a burst that never pauses: once the WAL passes
``_WAL_CHECKPOINT_BYTES`` a commit checkpoints anyway, and FTS5's crisis
merge still caps the segments per level.

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
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ..models import Address, Capture, MessageSummary, StoredMessage, Summary, TlsInfo
from . import migrations
from .search import FTS_TABLE, compile_query, index_text

__all__ = ["MessageNotFound", "Store", "StoreError", "SORT_KEYS"]

log = logging.getLogger(__name__)

_BUSY_TIMEOUT_S = 10.0
_JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # truncate the WAL back to this after checkpoints
# A commit checkpoints by itself only when the WAL has grown past this (a
# burst with no pause for ``maintain``), which bounds the file. A 2 KB
# message adds about 20 KB of WAL (each commit logs whole index pages), so a
# burst checkpoints about every 12,000 messages, and that checkpoint holds the
# writer for about 0.3 s (128 MB measured 0.16 s). The bound trades disk space
# for fewer such pauses. A helper thread checkpointing alongside the writer
# was tried: it cannot bound a WAL that never stops growing (SQLite restarts
# the WAL only after a checkpoint catches up), and its copying competed with
# the burst for the same two cores.
_WAL_CHECKPOINT_BYTES = 4 * _JOURNAL_SIZE_LIMIT
_MERGE_PAGES = 64  # FTS5 pages one ``maintain`` merge step may write (a few ms)
_SORT_KEY_CHARS = 200  # sort keys are prefixes: keeps the indexes small

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

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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

    def __init__(self, path: str | os.PathLike[str]) -> None:
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
        try:
            self._writer = self._open()
        except BaseException:
            self._remove_tempdir()
            raise

    # ---- connections ---------------------------------------------------

    def _open(self) -> sqlite3.Connection:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"Cannot create the folder for the message store {self.path}: {exc.strerror or exc}"
            ) from exc
        if self.path.is_dir():
            raise StoreError(f"Cannot open the message store {self.path}: it is a directory.")
        conn: sqlite3.Connection | None = None
        try:
            conn = self._connect()
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StoreError(
                    f"Cannot open the message store {self.path}: "
                    f"SQLite refused WAL mode (journal_mode={mode})."
                )
            conn.execute(f"PRAGMA journal_size_limit = {_JOURNAL_SIZE_LIMIT}")
            conn.execute("PRAGMA wal_autocheckpoint = 0")  # see maintain()
            migrations.migrate(conn, migrations.MIGRATIONS)
        except migrations.SchemaError as exc:
            self._close_quietly(conn)
            raise StoreError(f"Cannot use {self.path} as a message store: {exc}") from exc
        except sqlite3.Error as exc:
            self._close_quietly(conn)
            raise StoreError(f"Cannot open the message store {self.path}: {exc}") from exc
        except BaseException:
            self._close_quietly(conn)
            raise
        return conn

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=_BUSY_TIMEOUT_S,
            isolation_level=None,  # autocommit; we issue BEGIN/COMMIT ourselves
            check_same_thread=False,  # see the module docstring
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(_BUSY_TIMEOUT_S * 1000)}")
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
            if self._wal_bytes() > _WAL_CHECKPOINT_BYTES:
                self._checkpoint(conn)

    # ---- deferred upkeep -------------------------------------------------

    @property
    def needs_upkeep(self) -> bool:
        """True while ``maintain`` has work left (a WAL to checkpoint, segments to merge)."""
        return not self._closed and (self._wal_dirty or self._merge_pending)

    def maintain(self) -> bool:
        """Do one small step of deferred upkeep; returns ``needs_upkeep``.

        A step is one bounded FTS5 merge (``_MERGE_PAGES``) while merging has
        work, then one PASSIVE checkpoint (it never waits for readers; pages a
        reader still needs are copied by a later one). Raises ``StoreError``;
        the work is then dropped until the next write asks for it again, so a
        full disk cannot make the caller spin.
        """
        with self._write_lock:
            if self._closed:
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
            except sqlite3.Error as exc:
                self._wal_dirty = self._merge_pending = False
                raise StoreError(f"Could not tidy up {self.path}: {exc}") from exc
        return self.needs_upkeep

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        self._wal_dirty = False

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
        prepared = [_Prepared.build(capture, summary) for capture, summary in rows]
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
        wanted = _unique_ids(ids)
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
        wanted = _unique_ids(ids)
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
        return [_summary_from_row(r) for r in rows]

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

    def ids(self, query: str | None = None) -> list[int]:
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
        return _summary_from_row(row)

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
        summary = _summary_from_row(row[:15])
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
        """Close every connection (checkpointing the WAL); remove a ``:memory:`` store's file."""
        with self._write_lock, self._readers_lock:
            if self._closed:
                return
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


# ---- value conversion ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Prepared:
    """One (Capture, Summary) turned into column values, computed outside the lock.

    ``listed`` is the list row the store will announce, complete except for
    the id, which is only known inside the transaction.
    """

    message_row: tuple[object, ...]
    raw: bytes
    fts_row: tuple[str, ...]
    listed: MessageSummary

    @classmethod
    def build(cls, capture: Capture, summary: Summary) -> _Prepared:
        received_at = _utc(capture.received_at)
        envelope_from = _clean(capture.envelope_from)
        envelope_to = tuple(_clean(a) for a in capture.envelope_to)
        from_addrs = _clean_addresses(summary.from_addrs)
        to_addrs = _clean_addresses(summary.to_addrs)
        cc_addrs = _clean_addresses(summary.cc_addrs)
        from_ = ", ".join(a.formatted() for a in from_addrs)
        to = tuple(a.formatted() for a in to_addrs)
        cc = tuple(a.formatted() for a in cc_addrs)
        subject = _clean(summary.subject)
        message_id = _clean(summary.message_id)
        snippet = _clean(summary.snippet)
        raw = bytes(capture.raw)
        size = len(raw)
        attachments = int(summary.attachments)
        message_row = (
            _to_micros(received_at),
            envelope_from,
            _json_list(envelope_to),
            _addresses_json(from_addrs) if from_addrs else "",
            _addresses_json(to_addrs),
            _addresses_json(cc_addrs),
            subject,
            summary.date.isoformat() if summary.date is not None else None,
            message_id,
            size,
            int(bool(summary.has_html)),
            int(bool(summary.has_text)),
            attachments,
            snippet,
            _clean(capture.peer),
            _clean(capture.helo),
            _encode_json(capture.tls.to_json()) if capture.tls else None,
            _clean(capture.auth_user) if capture.auth_user is not None else None,
            _clean_json_list(capture.transcript),
            _clean(capture.source),
            _sort_key(from_ or envelope_from),
            _sort_key(", ".join(to or cc or envelope_to)),
            _sort_key(subject),
        )
        fts_row = (
            index_text(subject),
            index_text("\n".join((from_, envelope_from))),
            index_text("\n".join((*to, *cc, *envelope_to))),
            index_text(_clean(summary.body_text)),
            index_text(_clean(summary.html_text)),
            index_text("\n".join(_clean(n) for n in summary.attachment_names)),
        )
        listed = MessageSummary(
            id=0,
            received_at=received_at,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            from_=from_,
            to=to,
            cc=cc,
            subject=subject,
            message_id=message_id,
            size=size,
            has_html=bool(summary.has_html),
            has_text=bool(summary.has_text),
            attachments=attachments,
            read=False,
            snippet=snippet,
            from_addrs=from_addrs,
            to_addrs=to_addrs,
            cc_addrs=cc_addrs,
        )
        return cls(message_row=message_row, raw=raw, fts_row=fts_row, listed=listed)

    def summary(self, message_id: int) -> MessageSummary:
        return replace(self.listed, id=message_id)


def _summary_from_row(row: Sequence[object]) -> MessageSummary:
    (
        id_,
        received_at,
        envelope_from,
        envelope_to,
        from_,
        to,
        cc,
        subject,
        message_id,
        size,
        has_html,
        has_text,
        attachments,
        read,
        snippet,
    ) = row
    from_text, from_addrs = _from_column(str(from_))
    to_text, to_addrs = _list_column(str(to))
    cc_text, cc_addrs = _list_column(str(cc))
    return MessageSummary(
        id=int(id_),  # type: ignore[arg-type]
        received_at=_from_micros(int(received_at)),  # type: ignore[arg-type]
        envelope_from=str(envelope_from),
        envelope_to=tuple(json.loads(envelope_to)),  # type: ignore[arg-type]
        from_=from_text,
        to=to_text,
        cc=cc_text,
        from_addrs=from_addrs,
        to_addrs=to_addrs,
        cc_addrs=cc_addrs,
        subject=str(subject),
        message_id=str(message_id),
        size=int(size),  # type: ignore[arg-type]
        has_html=bool(has_html),
        has_text=bool(has_text),
        attachments=int(attachments),  # type: ignore[arg-type]
        read=bool(read),
        snippet=str(snippet),
    )


def _utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _to_micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _clean(text: str) -> str:
    """``text`` as valid UTF-8 for SQLite.

    Header values decoded with ``surrogateescape`` carry lone surrogates that
    SQLite cannot store; their bytes are decoded again (invalid sequences
    become U+FFFD) rather than failing the whole capture.
    """
    if text.isascii():  # O(1) in CPython: nothing to repair
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


# One encoder for every row: json.dumps(..., ensure_ascii=False) builds a new
# JSONEncoder per call, a few microseconds each, several times per message.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def _json_list(values: tuple[str, ...]) -> str:
    return _encode_json(list(values))


# ---- addresses: [name, addr] pairs in the header_from/header_to/header_cc columns
#
# header_to and header_cc are JSON lists: an element is a ``[name, addr]``
# pair, or (rows stored before the pairs were) the ``"Name <addr>"`` text.
# header_from is "" (no From) or, since the pairs, the JSON list of pairs;
# before, it held the text itself. New rows always start with ``[[``; text
# that happens to be such a JSON list is read as pairs (harmless: it would
# show the same way). No migration: old rows are read as they are.


def _clean_addresses(addrs: tuple[Address, ...]) -> tuple[Address, ...]:
    return tuple(Address(_clean(a.name), _clean(a.addr)) for a in addrs)


def _addresses_json(addrs: tuple[Address, ...]) -> str:
    return _encode_json(addrs)  # an Address is a (name, addr) tuple: [[name, addr], ...]


def _pair(item: object) -> Address | None:
    if (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], str)
    ):
        return Address(item[0], item[1])
    return None


def _from_column(value: str) -> tuple[str, tuple[Address, ...]]:
    """header_from -> (text, pairs); old text-only rows give no pairs (the
    summary derives them from the text, see ``models._complete_addresses``)."""
    if value.startswith("[["):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if isinstance(items, list):
            pairs = [_pair(i) for i in items]
            if all(p is not None for p in pairs):
                addrs = tuple(p for p in pairs if p is not None)
                return ", ".join(a.formatted() for a in addrs), addrs
    return value, ()


def _list_column(value: str) -> tuple[tuple[str, ...], tuple[Address, ...]]:
    """header_to/header_cc -> (texts, pairs); () pairs for old text-only rows."""
    items = json.loads(value)
    pairs = [_pair(i) for i in items]
    if pairs and all(p is not None for p in pairs):
        addrs = tuple(p for p in pairs if p is not None)
        return tuple(a.formatted() for a in addrs), addrs
    return tuple(str(i) for i in items), ()


def _clean_json_list(values: tuple[str, ...]) -> str:
    """``_json_list`` of the ``_clean``-ed values; one check in the usual all-valid case."""
    text = _json_list(values)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _json_list(tuple(_clean(v) for v in values))


def _sort_key(text: str) -> str:
    return text.strip().lstrip("\"'<").casefold()[:_SORT_KEY_CHARS]


def _unique_ids(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))
