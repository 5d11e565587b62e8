"""Tags in the store: the ``message_tags`` table and every write and read of it.

One row per (message, tag) in a ``WITHOUT ROWID`` table keyed by
``(message_id, tag)``, with a second index on ``(tag, message_id)`` for the
sidebar's counts and the ``tag:`` search (schema version 5, see
``core.store.migrations``). The ``tag`` column compares ``NOCASE``, so a
message cannot carry ``urgent`` and ``Urgent`` at once and ``tag:URGENT``
finds both spellings; a tag added in another case takes the spelling already
in use (as Mailpit's tag table does). Rows go with their message: the foreign
key cascades on delete and prune, and ``clear`` empties the table.

Why a table and not a column of the message row: the list reads a page's
tags with one index probe per row (``statements.TAGS_COLUMN``), counting or finding a
tag never reads a message row, and tagging 10,000 messages does not rewrite
10,000 wide rows with all their indexes. A message without tags costs
nothing at ingest: ``Store.add`` only touches this table when a message came
with an ``X-Tags`` header.

``StoreTags`` is the ``Store``'s tag half (a mixin, so ``database`` stays a
readable size): each write runs in the store's one write transaction and
returns every affected id with its full new tag list, which the ``Mailbox``
announces as ``TagsChanged``. Tag names are cleaned by ``core.tag_names``;
input that cleans to nothing is skipped, as Mailpit skips it, except a
rename's new name, which raises ``InvalidTag``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager

from ..tag_names import clean_tag, sort_tags, unique_tags
from .rows import unique_ids
from .statements import IDS_PARAM

__all__ = ["InvalidTag", "StoreTags", "TagUpdates", "insert_new_tags", "tags_of"]

TagUpdates = list[tuple[int, tuple[str, ...]]]
"""Affected ids (in the order asked) with their full new, sorted tag lists."""


class InvalidTag(ValueError):
    """A tag name that is empty after cleaning where one is required; ``str(e)`` is for people."""


def _as_names(tags: Sequence[str] | str) -> tuple[str, ...]:
    if isinstance(tags, str):  # a lone string would be taken as its characters
        raise TypeError("tags must be a sequence of names, not one string")
    return unique_tags(tags)


def _spellings(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, str]:
    """casefold(name) -> the spelling in use for it, or the name itself if unused."""
    out: dict[str, str] = {}
    for name in names:
        key = name.casefold()
        if key in out:
            continue
        row = conn.execute("SELECT tag FROM message_tags WHERE tag = ? LIMIT 1", (name,)).fetchone()
        out[key] = str(row[0]) if row is not None else name
    return out


def _existing(conn: sqlite3.Connection, ids: list[int]) -> list[int]:
    found = {
        r[0]
        for r in conn.execute(
            f"SELECT id FROM messages WHERE id IN ({IDS_PARAM})", (json.dumps(ids),)
        )
    }
    return [i for i in ids if i in found]


def tags_of(conn: sqlite3.Connection, ids: list[int]) -> dict[int, tuple[str, ...]]:
    """The sorted tags of each of ``ids`` (ids without tags map to ``()``)."""
    found: dict[int, list[str]] = {i: [] for i in ids}
    if ids:
        rows = conn.execute(
            f"SELECT message_id, tag FROM message_tags WHERE message_id IN ({IDS_PARAM})",
            (json.dumps(ids),),
        )
        for message_id, tag in rows:
            found.setdefault(int(message_id), []).append(str(tag))
    return {i: sort_tags(t) for i, t in found.items()}


def insert_new_tags(
    conn: sqlite3.Connection, ids: Sequence[int], tags: Sequence[tuple[str, ...]]
) -> dict[int, tuple[str, ...]]:
    """Tag just-inserted messages (``X-Tags`` at ingest; ``tags[i]`` for ``ids[i]``).

    Returns the tagged ids with their tags in the spelling in use; nothing
    is read or written when no message has a tag (the usual case).
    """
    rows = [(i, t) for i, t in zip(ids, tags, strict=True) if t]
    if not rows:
        return {}
    spelling = _spellings(conn, (t for _, names in rows for t in names))
    out: dict[int, tuple[str, ...]] = {}
    params: list[tuple[int, str]] = []
    for message_id, names in rows:
        final = sort_tags(spelling[t.casefold()] for t in names)
        out[message_id] = final
        params.extend((message_id, t) for t in final)
    conn.executemany("INSERT OR IGNORE INTO message_tags (message_id, tag) VALUES (?, ?)", params)
    return out


def _folded(tags: Iterable[str]) -> frozenset[str]:
    return frozenset(t.casefold() for t in tags)


class StoreTags:
    """The tag operations of ``core.store.database.Store`` (see the module docstring)."""

    # Provided by Store.
    def _write(self, action: str) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _reader(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _errors(self, action: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ---- reads -------------------------------------------------------------

    def tag_counts(self) -> dict[str, int]:
        """Every tag in use -> how many messages carry it, sorted by name (case-insensitive)."""
        with self._errors("count tags"):
            rows = (
                self._reader()
                .execute("SELECT tag, count(*) FROM message_tags GROUP BY tag")
                .fetchall()
            )
        counts = {str(tag): int(n) for tag, n in rows}
        return {tag: counts[tag] for tag in sort_tags(counts)}

    def message_tags(self, ids: Sequence[int]) -> dict[int, tuple[str, ...]]:
        """The tags of each existing id of ``ids``."""
        with self._errors("read tags"):
            conn = self._reader()
            return tags_of(conn, _existing(conn, unique_ids(ids)))

    # ---- writes ------------------------------------------------------------

    def set_tags(self, ids: Sequence[int], tags: Sequence[str]) -> TagUpdates:
        """Replace the tags of ``ids`` (missing ids are skipped); returns the changed ones."""
        names = _as_names(tags)
        wanted_ids = unique_ids(ids)
        if not wanted_ids:
            return []
        with self._write("set tags") as conn:
            spelling = _spellings(conn, names)
            final = sort_tags(spelling[t.casefold()] for t in names)
            before = tags_of(conn, _existing(conn, wanted_ids))
            changed = [i for i, old in before.items() if old != final]
            if changed:
                conn.executemany(
                    "DELETE FROM message_tags WHERE message_id = ?", [(i,) for i in changed]
                )
                conn.executemany(
                    "INSERT INTO message_tags (message_id, tag) VALUES (?, ?)",
                    [(i, t) for i in changed for t in final],
                )
        return [(i, final) for i in changed]

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> TagUpdates:
        """Add ``tags`` to ``ids`` (those already there stay); returns the changed ids."""
        names = _as_names(tags)
        wanted_ids = unique_ids(ids)
        if not names or not wanted_ids:
            return []
        updates: TagUpdates = []
        with self._write("add tags") as conn:
            spelling = _spellings(conn, names)
            before = tags_of(conn, _existing(conn, wanted_ids))
            params: list[tuple[int, str]] = []
            for message_id, old in before.items():
                have = _folded(old)
                new = [spelling[t.casefold()] for t in names if t.casefold() not in have]
                if new:
                    params.extend((message_id, t) for t in new)
                    updates.append((message_id, sort_tags((*old, *new))))
            conn.executemany("INSERT INTO message_tags (message_id, tag) VALUES (?, ?)", params)
        return updates

    def remove_tags(self, ids: Sequence[int], tags: Sequence[str]) -> TagUpdates:
        """Take ``tags`` off ``ids`` (any case); returns the changed ids."""
        names = _as_names(tags)
        wanted_ids = unique_ids(ids)
        if not names or not wanted_ids:
            return []
        gone = _folded(names)
        updates: TagUpdates = []
        with self._write("remove tags") as conn:
            before = tags_of(conn, _existing(conn, wanted_ids))
            params: list[tuple[int, str]] = []
            for message_id, old in before.items():
                drop = [t for t in old if t.casefold() in gone]
                if drop:
                    params.extend((message_id, t) for t in drop)
                    updates.append((message_id, tuple(t for t in old if t not in drop)))
            conn.executemany("DELETE FROM message_tags WHERE message_id = ? AND tag = ?", params)
        return updates

    def rename_tag(self, old: str, new: str) -> TagUpdates:
        """Rename tag ``old`` on every message; into an existing tag it merges.

        Renaming to another case of the same name changes the spelling.
        Raises ``InvalidTag`` when ``new`` cleans to nothing.
        """
        old_name = clean_tag(old)
        new_name = clean_tag(new)
        if not new_name:
            raise InvalidTag(
                f"{new!r} is not a usable tag name: use letters, digits, spaces, '-', '_' or '.'."
            )
        if not old_name:
            return []
        with self._write("rename a tag") as conn:
            affected = [
                int(r[0])
                for r in conn.execute(
                    "SELECT message_id FROM message_tags WHERE tag = ? ORDER BY message_id",
                    (old_name,),
                )
            ]
            if not affected:
                return []
            if new_name.casefold() == old_name.casefold():
                conn.execute("UPDATE message_tags SET tag = ? WHERE tag = ?", (new_name, old_name))
            else:
                target = _spellings(conn, (new_name,))[new_name.casefold()]
                conn.execute("DELETE FROM message_tags WHERE tag = ?", (old_name,))
                conn.executemany(
                    "INSERT OR IGNORE INTO message_tags (message_id, tag) VALUES (?, ?)",
                    [(i, target) for i in affected],
                )
            after = tags_of(conn, affected)
        return [(i, after[i]) for i in affected]

    def delete_tag(self, tag: str) -> TagUpdates:
        """Take tag ``tag`` (any case) off every message; returns the changed ids."""
        name = clean_tag(tag)
        if not name:
            return []
        with self._write("delete a tag") as conn:
            affected = [
                int(r[0])
                for r in conn.execute(
                    "SELECT message_id FROM message_tags WHERE tag = ? ORDER BY message_id",
                    (name,),
                )
            ]
            if not affected:
                return []
            conn.execute("DELETE FROM message_tags WHERE tag = ?", (name,))
            after = tags_of(conn, affected)
        return [(i, after[i]) for i in affected]
