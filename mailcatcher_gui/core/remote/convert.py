"""Mailpit's JSON shapes -> this app's value objects, and the id map.

A catcher names messages with strings: ``mailcatcher-gui serve`` uses its
integer id in decimal, Mailpit a random 22-character string. The window and
the list's paging logic work with ``int`` ids (``MailboxProtocol``), so
``IdMap`` gives every server id one local handle for the life of the
connection: a decimal id keeps its own value (the same number the server and
its CLI show), any other string gets the next number from a counter above
every decimal id (``FOREIGN_BASE``), so handles of newly seen mail grow the
way the list's "newest" hint expects.

The converters never raise on odd input (a missing ``From``, ``null``
lists, an unparsable date): a summary that cannot be read completely is
shown with what it has, the same rule the local parser follows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from ..models import Address, MessageSummary

__all__ = ["FOREIGN_BASE", "IdMap", "summary_from_json"]

#: first handle given to a non-decimal server id (far above any local store's ids)
FOREIGN_BASE = 1 << 40
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class IdMap:
    """Server id (str) <-> local handle (int), both ways; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_server: dict[str, int] = {}
        self._by_handle: dict[int, str] = {}
        self._next = FOREIGN_BASE

    def handle(self, server_id: str) -> int:
        """The handle of ``server_id``, assigned on first sight."""
        with self._lock:
            found = self._by_server.get(server_id)
            if found is not None:
                return found
            if server_id.isascii() and server_id.isdigit() and 0 < int(server_id) < FOREIGN_BASE:
                handle = int(server_id)
            else:
                handle = self._next
                self._next += 1
            self._by_server[server_id] = handle
            self._by_handle[handle] = server_id
            return handle

    def server_id(self, handle: int) -> str | None:
        """The server's id for ``handle``; None for a handle never seen."""
        with self._lock:
            found = self._by_handle.get(handle)
        if found is None and 0 < handle < FOREIGN_BASE:
            # A decimal id the list has not shown yet (e.g. typed in a test
            # or handed over by the sink's "queued as"): it is its own name.
            return str(handle)
        return found

    def forget(self, handle: int) -> None:
        with self._lock:
            server_id = self._by_handle.pop(handle, None)
            if server_id is not None:
                self._by_server.pop(server_id, None)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _address(value: Any) -> Address | None:
    if not isinstance(value, dict):
        return None
    name, addr = _text(value.get("Name")), _text(value.get("Address"))
    if not (name or addr):
        return None
    return Address(name, addr)


def _addresses(value: Any) -> tuple[Address, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(a for a in (_address(v) for v in value) if a is not None)


def parse_time(value: Any) -> datetime:
    """An RFC 3339 time (``Created``) as aware UTC; the epoch when unreadable."""
    if isinstance(value, str) and value:
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return _EPOCH
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return _EPOCH


def _int(value: Any) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return int(value)
    return 0


def tags_of(value: Any) -> tuple[str, ...]:
    """A ``Tags`` list, sorted case-insensitively as Mailpit shows them."""
    if not isinstance(value, list):
        return ()
    return tuple(sorted((t for t in value if isinstance(t, str) and t), key=str.lower))


def summary_from_json(data: dict[str, Any], handle: int) -> MessageSummary:
    """One Mailpit ``MessageSummary`` object as a list row with id ``handle``."""
    sender = _address(data.get("From"))
    to = _addresses(data.get("To"))
    cc = _addresses(data.get("Cc"))
    attachments = _int(data.get("Attachments"))
    # A summary has no SMTP envelope, and none is made up from the headers
    # (the Session tab would present it as one): the session extension
    # (``core.remote.session``) fills it in where the server has it.
    return MessageSummary(
        id=handle,
        received_at=parse_time(data.get("Created")),
        envelope_from="",
        envelope_to=(),
        from_="",
        to=(),
        cc=(),
        subject=_text(data.get("Subject")),
        message_id=_text(data.get("MessageID")),
        size=_int(data.get("Size")),
        has_html=False,
        has_text=True,
        attachments=attachments,
        read=bool(data.get("Read")),
        snippet=_text(data.get("Snippet")),
        from_addrs=(sender,) if sender else (),
        to_addrs=to,
        cc_addrs=cc,
        tags=tags_of(data.get("Tags")),
    )
