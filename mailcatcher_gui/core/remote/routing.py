"""The mailbox-routing half of ``RemoteMailbox``: what a shared catcher cannot do.

Mailboxes (named views the rules and listeners fill) and the per-message rule
log belong to the store of the app that caught the mail; Mailpit's API has
neither. So a catcher shows one mailbox, the default ``""`` holding
everything, an empty rule log for every message, and refuses to move
messages or write a log with a ``RemoteError`` (a ``StoreError``, which the
window turns into a status message).
"""

from __future__ import annotations

from collections.abc import Sequence

from ..models import RuleEvent
from .client import RemoteError

__all__ = ["RemoteRouting"]


class RemoteRouting:
    """Mixed into ``RemoteMailbox``; relies on its ``count``/``unread_count``."""

    def count(self, query: str | None = None) -> int:
        raise NotImplementedError

    def unread_count(self) -> int:
        raise NotImplementedError

    def mailboxes(self) -> dict[str, tuple[int, int]]:
        return {"": (self.count(), self.unread_count())}

    def set_mailbox(self, ids: Sequence[int], name: str) -> None:
        raise RemoteError("a shared catcher has no mailboxes; rules route mail where it is caught")

    def log_rule_events(self, message_id: int, events: Sequence[RuleEvent]) -> None:
        raise RemoteError("a shared catcher keeps no rule log of ours")

    def rule_log(self, message_id: int) -> Sequence[RuleEvent]:
        return ()
