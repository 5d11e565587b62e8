"""What the window, the CLI and the sink may ask of a mailbox.

``MailboxProtocol`` is the whole surface the callers use, so a second
implementation (a remote mailbox over a Mailpit-compatible HTTP API, a fake
in a test) can stand in for ``core.mailbox.Mailbox`` without anyone reaching
past it into a ``Store``. It names operations, not storage: ``location`` is a
human-readable place (a file path here, a URL for a remote one), and the
only write a caller may make to the mailbox's settings is ``set_retention``.

Errors are part of the contract: a missing id raises
``core.store.MessageNotFound``, a bad search query ``core.store.QueryError``,
an unusable new tag name ``core.store.InvalidTag``,
an environment failure (disk full, file gone) ``core.store.StoreError``.

Events (``core.models.MailboxEvent``) reach the listeners given to
``subscribe``, on the thread that finished the operation (see
``core.mailbox``); adapters such as the Qt bridge move them to their own
thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

from .models import Capture, MailboxEvent, MessageSummary, OpenedMessage, StoredMessage

__all__ = ["Listener", "MailboxProtocol"]

Listener = Callable[[MailboxEvent], None]


@runtime_checkable
class MailboxProtocol(Protocol):
    """Captured mail: accept, list, open, flag, delete, and events about all of it."""

    # ---- where and how much -------------------------------------------

    @property
    def location(self) -> str:
        """Where the messages live, for people (the About box, logs)."""
        ...

    @property
    def retention(self) -> int:
        """How many messages are kept (oldest pruned first); 0 = no limit."""
        ...

    def set_retention(self, max_messages: int) -> Sequence[int]:
        """Change the limit and prune at once; returns the ids pruned (announced too)."""
        ...

    # ---- events --------------------------------------------------------

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Register ``listener``; returns the function that unregisters it."""
        ...

    # ---- adding mail ---------------------------------------------------

    async def accept(self, capture: Capture) -> int:
        """Store ``capture`` durably and return its id; raises if it was not stored."""
        ...

    def accept_many_sync(self, captures: Iterable[Capture]) -> Sequence[int]:
        """Store many captures (imports), blocking; their ids in input order."""
        ...

    # ---- reading (no side effects) -------------------------------------

    def list(
        self,
        *,
        query: str | None = None,
        offset: int = 0,
        limit: int = 100,
        sort: str = "received_at",
        descending: bool = True,
    ) -> Sequence[MessageSummary]:
        """One page of list rows."""
        ...

    def count(self, query: str | None = None) -> int:
        """How many messages match ``query`` (all when None or empty)."""
        ...

    def unread_count(self) -> int: ...

    def ids(self, query: str | None = None) -> Sequence[int]:
        """Ids of the matching messages, newest first (the default list order)."""
        ...

    def summary(self, message_id: int) -> MessageSummary: ...

    def get(self, message_id: int) -> OpenedMessage:
        """The stored message and its full parse."""
        ...

    def get_stored(self, message_id: int) -> StoredMessage:
        """The stored message (raw bytes, envelope, session facts) without parsing it."""
        ...

    def raw(self, message_id: int) -> bytes:
        """The message exactly as received."""
        ...

    # ---- flags and deletion (explicit, evented) ------------------------

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None: ...

    def delete(self, ids: Sequence[int]) -> Sequence[int]:
        """Delete messages; returns the ids that existed."""
        ...

    def clear(self) -> int:
        """Delete every message; returns how many there were."""
        ...

    # ---- tags (explicit, evented as TagsChanged) -------------------------
    #
    # Names are cleaned by Mailpit's rule (``core.tag_names``) and unique
    # case-insensitively; ids that do not exist are skipped, as by ``mark_read``.

    def tags(self) -> dict[str, int]:
        """Every tag in use -> how many messages carry it, sorted by name (case-insensitive)."""
        ...

    def set_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        """Replace those messages' tags (an empty ``tags`` removes them all)."""
        ...

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        """Add ``tags`` to those messages, keeping the ones they have."""
        ...

    def remove_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        """Take ``tags`` off those messages."""
        ...

    def rename_tag(self, old: str, new: str) -> int:
        """Rename a tag everywhere (merging into ``new`` if it exists); messages affected.

        Raises ``core.store.InvalidTag`` when ``new`` is no usable tag name.
        """
        ...

    def delete_tag(self, tag: str) -> int:
        """Take a tag off every message; messages affected."""
        ...

    # ---- lifecycle -----------------------------------------------------

    def close(self) -> None:
        """Finish what was accepted and release the storage."""
        ...
