"""The message store's schema, as an ordered list of SQL migrations.

``MIGRATIONS[i]`` upgrades a database from schema version ``i`` to ``i + 1``;
the version lives in ``PRAGMA user_version`` (0 for a brand-new file). Opening
an older file applies the missing steps in one ``BEGIN IMMEDIATE``
transaction, so an interrupted upgrade leaves the old schema intact and two
processes opening the same new file cannot both run a step. A file whose
version is higher than ``len(MIGRATIONS)`` was written by a newer release and
is refused rather than guessed at.

Never edit a migration that has shipped; append a new one.

Schema notes (version 1):

* ``messages`` holds everything the list, the counters and the session view
  need, but never the raw bytes: those live in ``raw`` so that listing and
  sorting never page blobs in. ``received_at`` is an INTEGER count of
  microseconds since the Unix epoch (UTC): exact, compact, and it sorts and
  compares as a number. List/JSON columns (``envelope_to``, ``header_to``,
  ``header_cc``, ``tls``, ``transcript``) are JSON text.
* ``from_sort`` / ``to_sort`` / ``subject_sort`` are case-folded, trimmed copies
  of the displayed values. Every sort key has an index on (key, id), so
  "sort by X, then id" with ``LIMIT``/``OFFSET`` walks an index instead of
  sorting, and every such index also carries the immutable columns the
  search filters on (``received_at``, ``has_html``, ``has_text``,
  ``attachments``): a filtered page is found without touching the wide table
  rows, which are read only for the page itself. ``(id, ...)`` exists for the
  same reason although ``id`` is the rowid. ``read`` is deliberately only in
  ``(read, received_at, ...)``: it is the one column that changes, and "mark
  all read" on 100,000 messages must not rewrite eight indexes.
* ``id`` is AUTOINCREMENT so an id is never reused after a delete: the UI and
  the CLI may hold on to ids across events.
* ``messages_fts`` is a regular (content-storing) FTS5 table whose rowid is the
  message id; ``core.store.search`` compiles queries against its columns.

Version 2 keeps the total and unread counts in a one-row ``counters`` table,
maintained by triggers, so ``count()``/``unread_count()`` are O(1) whatever
the mailbox size (the status bar asks after every change).

Version 3 drops the insert and delete triggers of ``counters``: the store
adjusts ``total``/``unread`` itself, once per transaction, in the same
transaction as the rows (a per-row trigger cost about 18 us of every message
stored, on the path that gates the ``250``). The ``read`` trigger stays.

Version 4 turns FTS5's automatic merging off (a persistent FTS5 setting):
the store merges segments in small steps when the writer is idle
(``Store.maintain``) instead of inside the commits that gate the ``250``.
FTS5's crisis merge still bounds the segment count if mail never pauses.

Version 5 adds tags and the facts the extended search needs:

* ``message_tags`` (``core.store.tags``): one row per (message, tag), keyed
  by ``(message_id, tag)`` without a rowid, and indexed by ``(tag,
  message_id)``; ``tag`` compares ``NOCASE``. It cascades from ``messages``.
* ``messages.reply_to`` (Reply-To as ``[name, addr]`` pairs), ``bcc`` (the
  envelope recipients no To/Cc header names, a JSON list) and
  ``inline_parts`` (how many attachments are inline). ``ADD COLUMN`` with a
  constant default rewrites no row, so upgrading a large store is instant;
  the price is that messages stored before version 5 have no Reply-To, Bcc or
  inline facts (``reply-to:``, ``bcc:`` and ``has:inline`` do not find them).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

_V1 = """
CREATE TABLE messages (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at   INTEGER NOT NULL,
    envelope_from TEXT    NOT NULL,
    envelope_to   TEXT    NOT NULL,
    header_from   TEXT    NOT NULL,
    header_to     TEXT    NOT NULL,
    header_cc     TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    date          TEXT,
    message_id    TEXT    NOT NULL,
    size          INTEGER NOT NULL CHECK (size >= 0),
    has_html      INTEGER NOT NULL CHECK (has_html IN (0, 1)),
    has_text      INTEGER NOT NULL CHECK (has_text IN (0, 1)),
    attachments   INTEGER NOT NULL CHECK (attachments >= 0),
    read          INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    snippet       TEXT    NOT NULL,
    peer          TEXT    NOT NULL,
    helo          TEXT    NOT NULL,
    tls           TEXT,
    auth_user     TEXT,
    transcript    TEXT    NOT NULL,
    source        TEXT    NOT NULL,
    from_sort     TEXT    NOT NULL,
    to_sort       TEXT    NOT NULL,
    subject_sort  TEXT    NOT NULL
);
CREATE INDEX messages_by_received_at
    ON messages (received_at, id, has_html, has_text, attachments);
CREATE INDEX messages_by_from
    ON messages (from_sort, id, received_at, has_html, has_text, attachments);
CREATE INDEX messages_by_to
    ON messages (to_sort, id, received_at, has_html, has_text, attachments);
CREATE INDEX messages_by_subject
    ON messages (subject_sort, id, received_at, has_html, has_text, attachments);
CREATE INDEX messages_by_size
    ON messages (size, id, received_at, has_html, has_text, attachments);
CREATE INDEX messages_by_attachments
    ON messages (attachments, id, received_at, has_html, has_text);
CREATE INDEX messages_by_id
    ON messages (id, received_at, has_html, has_text, attachments);
CREATE INDEX messages_by_read
    ON messages (read, received_at, id, has_html, has_text, attachments);

CREATE TABLE raw (
    id   INTEGER PRIMARY KEY REFERENCES messages (id) ON DELETE CASCADE,
    data BLOB    NOT NULL
);

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    subject, from_addr, to_addr, body, html, attachments,
    tokenize = 'unicode61 remove_diacritics 2'
);
"""

_V2 = """
CREATE TABLE counters (
    id     INTEGER PRIMARY KEY CHECK (id = 1),
    total  INTEGER NOT NULL,
    unread INTEGER NOT NULL
);
INSERT INTO counters (id, total, unread)
    SELECT 1, count(*), coalesce(sum(read = 0), 0) FROM messages;

CREATE TRIGGER messages_counters_insert AFTER INSERT ON messages BEGIN
    UPDATE counters SET total = total + 1, unread = unread + (NEW.read = 0) WHERE id = 1;
END;
CREATE TRIGGER messages_counters_delete AFTER DELETE ON messages BEGIN
    UPDATE counters SET total = total - 1, unread = unread - (OLD.read = 0) WHERE id = 1;
END;
CREATE TRIGGER messages_counters_read AFTER UPDATE OF read ON messages
WHEN OLD.read IS NOT NEW.read BEGIN
    UPDATE counters SET unread = unread + (NEW.read = 0) - (OLD.read = 0) WHERE id = 1;
END;
"""

_V3 = """
DROP TRIGGER messages_counters_insert;
DROP TRIGGER messages_counters_delete;
"""

_V4 = """
INSERT INTO messages_fts (messages_fts, rank) VALUES ('automerge', 0);
"""

_V5 = """
CREATE TABLE message_tags (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    tag        TEXT    NOT NULL COLLATE NOCASE,
    PRIMARY KEY (message_id, tag)
) WITHOUT ROWID;
CREATE INDEX message_tags_by_tag ON message_tags (tag, message_id);
ALTER TABLE messages ADD COLUMN reply_to TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN bcc TEXT NOT NULL DEFAULT '[]';
ALTER TABLE messages ADD COLUMN inline_parts INTEGER NOT NULL DEFAULT 0;
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5)
SCHEMA_VERSION = len(MIGRATIONS)


class SchemaError(Exception):
    """The file cannot be used with this release's schema (see the message)."""


def split_statements(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole).

    ``Connection.executescript`` would commit behind our back, so migrations
    run statement by statement inside our own transaction instead.
    """
    statements: list[str] = []
    pending = ""
    for piece in script.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \t\r\n;"):
                statements.append(pending.strip())
            pending = ""
    if pending.strip(" \t\r\n;"):
        raise ValueError(f"incomplete SQL statement in migration: {pending.strip()[:80]!r}")
    return statements


def schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, migrations: Sequence[str] = MIGRATIONS) -> int:
    """Bring the database behind ``conn`` up to ``len(migrations)``; return that version.

    ``conn`` must be in autocommit mode (``isolation_level=None``). Raises
    ``SchemaError`` for a file from a newer release or a foreign database;
    SQLite errors propagate unchanged (the store adds the path).
    """
    target = len(migrations)
    current = schema_version(conn)
    _check_known(current, target)
    if current == target:
        return current
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Re-read under the write lock: another process may have upgraded it.
        current = schema_version(conn)
        _check_known(current, target)
        if current == 0 and _has_tables(conn):
            raise SchemaError("it is an SQLite database, but not a mailcatcher-gui message store")
        for version in range(current, target):
            for statement in split_statements(migrations[version]):
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return target


def check_known(current: int, target: int = SCHEMA_VERSION) -> None:
    """Raise ``SchemaError`` for a file written by a newer release."""
    _check_known(current, target)


def _check_known(current: int, target: int) -> None:
    if current > target:
        raise SchemaError(
            f"it was written by a newer version of mailcatcher-gui (schema version {current}; "
            f"this version understands up to {target}). Upgrade mailcatcher-gui or use another "
            "file."
        )


def _has_tables(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' LIMIT 1"
    ).fetchone()
    return row is not None
