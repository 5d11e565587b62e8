"""Opening the store's file: the checks that turn a bad environment into one clear line.

Everything that can be wrong with the place the store lives is found here,
at startup, rather than as a 451 on every message later: a folder that cannot
be created, a directory where the file should be, a read-only file, folder
or file system (SQLite opens a file it may not write read-only without a
word, and a store already at the current schema writes nothing while
opening, so only a probing write shows it), a file that is not a store.
The file is created 0600 before SQLite opens it (see ``core.store.files``).

Commands that only read (``messages list/show/attachment/export``) open with
``open_reader_only`` instead: no probe, no write, no chmod, so a store the
user may read but not write (a copy from a CI artefact, a file owned by
another account) can still be read, as it could before the probe existed.
"""

from __future__ import annotations

import sqlite3
from contextlib import suppress
from pathlib import Path

from ..paths import ensure_parent
from . import migrations
from .files import JOURNAL_SIZE_LIMIT, OpenedFile, create_private, tighten

__all__ = [
    "BUSY_TIMEOUT_MS",
    "MessageNotFound",
    "StoreError",
    "connect",
    "open_reader_only",
    "open_writer",
]

BUSY_TIMEOUT_S = 10.0
BUSY_TIMEOUT_MS = int(BUSY_TIMEOUT_S * 1000)
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


def open_writer(path: Path) -> tuple[sqlite3.Connection, OpenedFile]:
    """The store's writer connection on ``path``, after every check opening makes.

    Creates the folder (0700) and the file (0600), tightens an old store's
    modes, turns on WAL, migrates the schema and probes a write. Raises
    ``StoreError`` with one line saying what is wrong and what to check.
    """
    try:
        ensure_parent(path)
    except OSError as exc:
        raise StoreError(
            f"Cannot create the folder for the message store {path}: {exc.strerror or exc}"
        ) from exc
    if path.is_dir():
        raise StoreError(f"Cannot open the message store {path}: it is a directory.")
    try:
        create_private(path)  # before SQLite: its -wal/-shm copy this file's mode
    except OSError as exc:
        raise StoreError(f"Cannot create the message store {path}: {exc.strerror or exc}") from exc
    tighten(path)
    conn: sqlite3.Connection | None = None
    try:
        conn = connect(path)
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(
                f"Cannot open the message store {path}: "
                f"SQLite refused WAL mode (journal_mode={mode})."
            )
        conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
        conn.execute("PRAGMA wal_autocheckpoint = 0")  # see core.store.upkeep
        migrations.migrate(conn, migrations.MIGRATIONS)
        _probe_write(conn)
        opened = OpenedFile(path)
    except migrations.SchemaError as exc:
        _close_quietly(conn)
        raise StoreError(f"Cannot use {path} as a message store: {exc}") from exc
    except sqlite3.Error as exc:
        _close_quietly(conn)
        raise StoreError(_open_failure(path, exc)) from exc
    except OSError as exc:  # OpenedFile: the file vanished while opening
        _close_quietly(conn)
        raise StoreError(f"Cannot open the message store {path}: {exc.strerror or exc}") from exc
    except BaseException:
        _close_quietly(conn)
        raise
    return conn, opened


def open_reader_only(path: Path) -> str | None:
    """Check that the store at ``path`` can be read without writing; its reader URI.

    Returns the SQLite URI every reader connection of a read-only ``Store``
    opens, or None when the store must be opened for writing after all: the
    file does not exist yet (it is created, as for any command, so a fresh
    install lists an empty mailbox) or has an older schema (upgrading is a
    write). Raises ``StoreError`` for a file that is not a usable store.

    ``mode=ro`` reads a WAL store whose file is read-only. A store in a
    read-only *folder* cannot get the ``-shm`` file a WAL reader needs; with
    no ``-wal`` beside it no writer can be active there either (a writer
    creates one), so it is read as ``immutable``.
    """
    if path.is_dir():
        raise StoreError(f"Cannot open the message store {path}: it is a directory.")
    try:
        if path.stat().st_size == 0:
            return None  # brand new (or created by create_private): needs the schema
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"Cannot open the message store {path}: {exc.strerror or exc}") from exc
    uri = f"{path.as_uri()}?mode=ro"
    try:
        version = _read_schema_version(uri)
    except sqlite3.Error as exc:
        if (
            getattr(exc, "sqlite_errorcode", 0) != _SQLITE_READONLY_DIRECTORY
            or Path(f"{path}-wal").exists()
        ):
            raise StoreError(f"Cannot open the message store {path}: {exc}") from exc
        uri = f"{path.as_uri()}?mode=ro&immutable=1"
        try:
            version = _read_schema_version(uri)
        except sqlite3.Error as again:
            raise StoreError(f"Cannot open the message store {path}: {again}") from again
    try:
        if version < migrations.SCHEMA_VERSION:
            return None
        migrations.check_known(version)
    except migrations.SchemaError as exc:
        raise StoreError(f"Cannot use {path} as a message store: {exc}") from exc
    return uri


def _read_schema_version(uri: str) -> int:
    conn = connect(uri, uri=True)
    try:
        return migrations.schema_version(conn)
    finally:
        conn.close()


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


def _open_failure(path: Path, exc: sqlite3.Error) -> str:
    """One line saying why the store cannot be opened, and what to check."""
    code = getattr(exc, "sqlite_errorcode", 0)
    if code == _SQLITE_READONLY_DIRECTORY:
        return (
            f"Cannot write to the message store {path}: its folder is read-only "
            f"(SQLite needs to create {path.name}-wal and -shm beside it)."
        )
    if code & 0xFF == sqlite3.SQLITE_READONLY:
        return (
            f"Cannot write to the message store {path}: the file is read-only "
            "(check its permissions and the file system)."
        )
    return f"Cannot open the message store {path}: {exc}"


def connect(path: Path | str, *, uri: bool = False) -> sqlite3.Connection:
    """A connection with the store's settings (autocommit, busy timeout, NORMAL sync).

    ``uri=True``: ``path`` is an SQLite ``file:`` URI (``open_reader_only``).
    """
    conn = sqlite3.connect(
        path,
        timeout=BUSY_TIMEOUT_S,
        isolation_level=None,  # autocommit; we issue BEGIN/COMMIT ourselves
        check_same_thread=False,  # see core.store.database (close() from any thread)
        uri=uri,
    )
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
    except BaseException:
        conn.close()
        raise
    return conn


def _close_quietly(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        with suppress(sqlite3.Error):
            conn.close()
