"""Mailbox names: what rules route mail into and the sidebar lists.

A mailbox is a name on the message (``messages.mailbox``, see
``core.store.routing``). ``''`` is the default mailbox, which people call
"Inbox": ``clean_mailbox`` maps "Inbox" (any case) and blank names to it,
so a rule ``mailbox = "Inbox"`` and the search ``mailbox:inbox`` both mean
"the messages no rule routed elsewhere". Kept apart from the store so the
search compiler, the rules loader and the UI clean names the same way.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAILBOX", "MAX_MAILBOX_LENGTH", "clean_mailbox", "display_mailbox"]

DEFAULT_MAILBOX = "Inbox"
"""What people call the default mailbox (stored as ``''``)."""
MAX_MAILBOX_LENGTH = 100


def clean_mailbox(name: str) -> str:
    """The stored form of a mailbox name: whitespace collapsed, "Inbox"/blank -> ``''``.

    Raises ``ValueError`` for a name longer than ``MAX_MAILBOX_LENGTH``.
    """
    cleaned = " ".join(str(name).split())
    if cleaned.casefold() == DEFAULT_MAILBOX.casefold():
        return ""
    if len(cleaned) > MAX_MAILBOX_LENGTH:
        raise ValueError(f"a mailbox name is at most {MAX_MAILBOX_LENGTH} characters")
    return cleaned


def display_mailbox(stored: str) -> str:
    """The name to show for a stored mailbox (``''`` -> "Inbox")."""
    return stored or DEFAULT_MAILBOX
