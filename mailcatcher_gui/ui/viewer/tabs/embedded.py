"""Attached messages (``message/rfc822`` parts, forwarded mail) as viewer input.

A forwarded message is a whole message inside another one. The viewer
shows it the way it shows an ``.eml`` opened from disk: an unstored
``OpenedMessage`` (id 0, no SMTP facts) built from the part's bytes, so
every tab works on it. No widgets here.
"""

from __future__ import annotations

from datetime import datetime

from ....core.mime.parse import parse_message
from ....core.mime.summary import summarize
from ....core.mime.tree import EMBEDDED_MESSAGE_TYPES
from ....core.models import MessageSummary, OpenedMessage, StoredMessage


def is_embedded_message(content_type: str) -> bool:
    """Whether a part of this type is a whole message the viewer can show."""
    return content_type.split(";", 1)[0].strip().lower() in EMBEDDED_MESSAGE_TYPES


def embedded_opened(raw: bytes, *, received_at: datetime, source: str) -> OpenedMessage:
    """``raw`` (an attached message's bytes) ready for ``MessageView.show_message``.

    ``received_at`` is the outer message's time (the attachment has none of
    its own); ``source`` says where it came from, for the Session tab.
    """
    s = summarize(raw)
    summary = MessageSummary(
        id=0,
        received_at=received_at,
        envelope_from="",
        envelope_to=(),
        from_=s.from_,
        to=s.to,
        cc=s.cc,
        subject=s.subject,
        message_id=s.message_id,
        size=len(raw),
        has_html=s.has_html,
        has_text=s.has_text,
        attachments=s.attachments,
        read=True,
        snippet=s.snippet,
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
