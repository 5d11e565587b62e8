"""``MailboxSwitch``: one ``MailboxProtocol`` whose target can change while the window runs.

The window, its list model, the compose and release dialogs all hold the
mailbox they were built with. To show a remote catcher and come back to the
local store ("Connect to a catcher…", "Back to local") without rebuilding
any of them, they are built over this switch: every call goes to the
current target, and the switch's subscribers receive the current target's
events. ``switch_to`` moves the subscription and announces
``MailboxCleared``, so the list re-reads and the viewer lets go of a
message that belonged to the other mailbox: no widget needs to know that
anything but "everything changed" happened.

The switch does not own its targets: the composition root closes them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from .listeners import Listeners
from .mailbox_protocol import Listener, MailboxProtocol
from .models import (
    Capture,
    MailboxCleared,
    MailboxEvent,
    MessageSummary,
    OpenedMessage,
    RuleEvent,
    StoredMessage,
)

__all__ = ["MailboxSwitch"]

log = logging.getLogger(__name__)


class MailboxSwitch:
    """Forwards ``MailboxProtocol`` to ``current``; see the module docstring."""

    def __init__(self, initial: MailboxProtocol) -> None:
        self._lock = threading.Lock()
        self._current = initial
        self._listeners: Listeners[MailboxEvent] = Listeners(log, "mailbox listener")
        self._unsubscribe = initial.subscribe(self._forward(initial))

    @property
    def current(self) -> MailboxProtocol:
        return self._current

    def switch_to(self, target: MailboxProtocol) -> MailboxProtocol:
        """Show ``target`` from now on; returns the previous one (still open)."""
        with self._lock:
            previous = self._current
            if target is previous:
                return previous
            self._unsubscribe()
            self._current = target
            self._unsubscribe = target.subscribe(self._forward(target))
        self._emit(MailboxCleared())
        return previous

    def _forward(self, source: MailboxProtocol) -> Listener:
        def listener(event: MailboxEvent) -> None:
            # An event already in flight from the previous target is dropped.
            if self._current is source:
                self._emit(event)

        return listener

    def _emit(self, event: MailboxEvent) -> None:
        self._listeners.emit(event)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        return self._listeners.add(listener)

    # ---- MailboxProtocol, forwarded ------------------------------------------------------------

    @property
    def location(self) -> str:
        return self._current.location

    @property
    def retention(self) -> int:
        return self._current.retention

    def set_retention(self, max_messages: int) -> Sequence[int]:
        return self._current.set_retention(max_messages)

    async def accept(self, capture: Capture) -> int:
        return await self._current.accept(capture)

    def accept_many_sync(self, captures: Iterable[Capture]) -> Sequence[int]:
        return self._current.accept_many_sync(captures)

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> Sequence[MessageSummary]:
        return self._current.list(
            query=query, offset=offset, limit=limit, sort=sort, descending=descending
        )

    def count(self, query: str | None = None) -> int:
        return self._current.count(query)

    def unread_count(self) -> int:
        return self._current.unread_count()

    def ids(self, query: str | None = None) -> Sequence[int]:
        return self._current.ids(query)

    def summary(self, message_id: int) -> MessageSummary:
        return self._current.summary(message_id)

    def get(self, message_id: int) -> OpenedMessage:
        return self._current.get(message_id)

    def get_stored(self, message_id: int) -> StoredMessage:
        return self._current.get_stored(message_id)

    def raw(self, message_id: int) -> bytes:
        return self._current.raw(message_id)

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None:
        self._current.mark_read(ids, read)

    def delete(self, ids: Sequence[int]) -> Sequence[int]:
        return self._current.delete(ids)

    def clear(self) -> int:
        return self._current.clear()

    # ---- tags -----------------------------------------------------------------------------------

    def tags(self) -> dict[str, int]:
        return self._current.tags()

    def set_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._current.set_tags(ids, tags)

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._current.add_tags(ids, tags)

    def remove_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._current.remove_tags(ids, tags)

    def rename_tag(self, old: str, new: str) -> int:
        return self._current.rename_tag(old, new)

    def delete_tag(self, tag: str) -> int:
        return self._current.delete_tag(tag)

    # ---- mailboxes and the rule log ---------------------------------------------------------

    def mailboxes(self) -> dict[str, tuple[int, int]]:
        return self._current.mailboxes()

    def set_mailbox(self, ids: Sequence[int], name: str) -> None:
        self._current.set_mailbox(ids, name)

    def log_rule_events(self, message_id: int, events: Sequence[RuleEvent]) -> None:
        self._current.log_rule_events(message_id, events)

    def rule_log(self, message_id: int) -> Sequence[RuleEvent]:
        return self._current.rule_log(message_id)

    def close(self) -> None:
        """Stop forwarding (the targets stay open; their owner closes them)."""
        with self._lock:
            self._unsubscribe()
            self._unsubscribe = lambda: None
