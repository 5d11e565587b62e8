"""A message file shown without storing it (``mailcatcher-gui message.eml``, File > Open).

Qt-free, so the window and any other front end open files the same way.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from ..mime.parse import parse_message
from ..mime.summary import summarize
from ..models import MessageSummary, OpenedMessage, StoredMessage


def open_local_message(path: str | os.PathLike[str]) -> OpenedMessage:
    """A message file shown in the viewer without storing it.

    It gets id 0 (never a stored id), the file's modification time as
    "received" and no SMTP facts, so the viewer's tabs all work while the
    mailbox stays untouched. ``OSError`` if the file cannot be read.
    """
    p = Path(path)
    raw = p.read_bytes()
    return unstored_message(
        raw, received_at=datetime.fromtimestamp(p.stat().st_mtime, UTC), source="file"
    )


def unstored_message(raw: bytes, *, received_at: datetime, source: str) -> OpenedMessage:
    """``raw`` as an unstored ``OpenedMessage``: id 0, no envelope, no SMTP facts.

    What a file on disk and an attached message (``message/rfc822``) both
    are to the viewer; ``source`` says which ("file", "attachment NAME"),
    ``received_at`` stands in for a receive time they do not have.
    """
    summary = MessageSummary.from_facts(
        summarize(raw), id=0, received_at=received_at, size=len(raw), read=True
    )
    stored = StoredMessage(
        summary=summary,
        raw=raw,
        peer="",
        helo="",
        tls=None,
        auth_user=None,
        transcript=(),
        source=source,
    )
    return OpenedMessage(stored=stored, parsed=parse_message(raw))
