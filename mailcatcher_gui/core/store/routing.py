"""Mailboxes and the rule log in the store (schema version 6, see ``core.store.migrations``).

A *mailbox* is a name on the message row (``messages.mailbox``): rules route
mail into one after capture (``mailbox = "Name"`` in a rules file) and the
sidebar shows each with its (total, unread) counts. ``''`` is the default
mailbox, shown as "Inbox": ``core.mailbox_names.clean_mailbox`` maps "Inbox" (any case) and
blank names to it, so ``mailbox:inbox`` finds the messages no rule routed.
Names compare case-insensitively (the column is ``NOCASE``).

The *rule log* (``message_rule_log``) says which rule did what to a message:
every rule that fired, where it routed the message, each forward's send
report and each webhook's outcome. The Session view lists it and
``rule:NAME`` searches it. Rows go with their message (the foreign key
cascades on delete and prune; ``clear`` empties the table).

``StoreRouting`` is a mixin of ``core.store.database.Store`` (as
``StoreTags`` is) so ``database`` stays a readable size.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta

from ..mailbox_names import clean_mailbox
from ..models import RuleEvent
from .rows import unique_ids
from .statements import IDS_PARAM

__all__ = ["StoreRouting", "insert_rule_events"]

MAX_DETAIL_LENGTH = 4000  # a rule log line is a summary, not a transcript


def _micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    delta = value.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(value: int | None) -> datetime | None:
    if value is None:
        return None
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=int(value))


_INSERT_LOG = (
    "INSERT INTO message_rule_log (message_id, at, rule, action, detail) VALUES (?, ?, ?, ?, ?)"
)


def _stamped(events: Sequence[RuleEvent], now: datetime) -> list[RuleEvent]:
    return [
        RuleEvent(
            rule=e.rule,
            action=e.action,
            detail=e.detail[:MAX_DETAIL_LENGTH],
            at=e.at if e.at is not None else now,
        )
        for e in events
    ]


def _log_rows(message_id: int, events: Sequence[RuleEvent]) -> list[tuple[object, ...]]:
    return [
        (message_id, _micros(e.at) if e.at else None, e.rule, e.action, e.detail) for e in events
    ]


def insert_rule_events(
    conn: sqlite3.Connection, ids: Sequence[int], events: Sequence[tuple[RuleEvent, ...]]
) -> None:
    """Log the rules that fired on just-inserted messages (``events[i]`` for ``ids[i]``).

    Nothing is written when no rule fired (the usual case). On the path that
    gates the ``250``, so the rows are built directly (one clock read).
    """
    if not any(events):
        return
    now = _micros(datetime.now(UTC))
    conn.executemany(
        _INSERT_LOG,
        [
            (
                i,
                now if e.at is None else _micros(e.at),
                e.rule,
                e.action,
                e.detail[:MAX_DETAIL_LENGTH],
            )
            for i, evs in zip(ids, events, strict=True)
            for e in evs
        ],
    )


class StoreRouting:
    """The mailbox and rule-log operations of ``Store`` (see the module docstring)."""

    # Provided by Store.
    def _write(self, action: str) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError

    def _reader(self) -> sqlite3.Connection:
        raise NotImplementedError

    def _errors(self, action: str) -> AbstractContextManager[None]:
        raise NotImplementedError

    # ---- mailboxes ---------------------------------------------------------

    def set_mailbox(self, ids: Sequence[int], name: str) -> list[tuple[int, str]]:
        """Move ``ids`` into mailbox ``name``; returns the ids that moved with the stored name.

        Missing ids are skipped. A name in another case than one in use takes
        the spelling in use (as tags do).
        """
        target = clean_mailbox(name)
        wanted = unique_ids(ids)
        if not wanted:
            return []
        with self._write("move messages to a mailbox") as conn:
            if target:
                row = conn.execute(
                    "SELECT mailbox FROM messages WHERE mailbox != '' AND mailbox = ? LIMIT 1",
                    (target,),
                ).fetchone()
                if row is not None:
                    target = str(row[0])
            moving = {
                int(r[0])
                for r in conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({IDS_PARAM}) "
                    "AND mailbox COLLATE BINARY != ?",
                    (json.dumps(wanted), target),
                )
            }
            result = [i for i in wanted if i in moving]
            if result:
                conn.execute(
                    f"UPDATE messages SET mailbox = ? WHERE id IN ({IDS_PARAM})",
                    (target, json.dumps(result)),
                )
        return [(i, target) for i in result]

    def mailbox_counts(self) -> dict[str, tuple[int, int]]:
        """Every mailbox -> (total, unread); ``''`` (the default) first, then by name.

        The default mailbox is always present (it may be (0, 0)).
        """
        with self._errors("count mailboxes"):
            conn = self._reader()
            total, unread = conn.execute("SELECT total, unread FROM counters").fetchone()
            rows = conn.execute(
                "SELECT mailbox, count(*), coalesce(sum(read = 0), 0) FROM messages "
                "WHERE mailbox != '' GROUP BY mailbox"
            ).fetchall()
        named = {str(name): (int(n), int(u)) for name, n, u in rows}
        out = {
            "": (
                int(total) - sum(n for n, _ in named.values()),
                int(unread) - sum(u for _, u in named.values()),
            )
        }
        for name in sorted(named, key=lambda n: (n.casefold(), n)):
            out[name] = named[name]
        return out

    # ---- the rule log ------------------------------------------------------

    def log_rule_events(self, message_id: int, events: Sequence[RuleEvent]) -> list[RuleEvent]:
        """Append ``events`` to the message's rule log; returns them as stored (``at`` set).

        A message that no longer exists (deleted meanwhile) logs nothing and
        returns ``[]``.
        """
        return self.log_rule_events_many([(message_id, events)]).get(message_id, [])

    def log_rule_events_many(
        self, items: Sequence[tuple[int, Sequence[RuleEvent]]]
    ) -> dict[int, list[RuleEvent]]:
        """``log_rule_events`` for many messages in ONE transaction (the outbox's batches).

        Returns what was stored per message id; gone messages are skipped.
        """
        wanted = [(i, list(evs)) for i, evs in items if evs]
        if not wanted:
            return {}
        now = datetime.now(UTC)
        with self._write("log what rules did") as conn:
            ids = unique_ids([i for i, _ in wanted])
            existing = {
                int(r[0])
                for r in conn.execute(
                    f"SELECT id FROM messages WHERE id IN ({IDS_PARAM})", (json.dumps(ids),)
                )
            }
            out: dict[int, list[RuleEvent]] = {}
            rows: list[tuple[object, ...]] = []
            for message_id, evs in wanted:
                if message_id not in existing:
                    continue
                stored = _stamped(evs, now)
                out.setdefault(message_id, []).extend(stored)
                rows.extend(_log_rows(message_id, stored))
            conn.executemany(_INSERT_LOG, rows)
        return out

    def rule_log(self, message_id: int) -> list[RuleEvent]:
        """The message's rule log, oldest first (``[]`` for none or a missing message)."""
        with self._errors("read the rule log"):
            rows = (
                self._reader()
                .execute(
                    "SELECT at, rule, action, detail FROM message_rule_log "
                    "WHERE message_id = ? ORDER BY id",
                    (message_id,),
                )
                .fetchall()
            )
        return [
            RuleEvent(
                rule=str(r or ""), action=str(a or ""), detail=str(d or ""), at=_from_micros(at)
            )
            for at, r, a, d in rows
        ]
