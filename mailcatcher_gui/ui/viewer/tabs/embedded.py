"""Attached messages (``message/rfc822`` parts, forwarded mail) as viewer input.

A forwarded message is a whole message inside another one. The viewer
shows it the way it shows an ``.eml`` opened from disk: an unstored
``OpenedMessage`` (id 0, no SMTP facts) built from the part's bytes, so
every tab works on it. No widgets here.
"""

from __future__ import annotations

from datetime import datetime

from ....core.mailio.local import unstored_message
from ....core.mime.tree import EMBEDDED_MESSAGE_TYPES
from ....core.models import OpenedMessage


def is_embedded_message(content_type: str) -> bool:
    """Whether a part of this type is a whole message the viewer can show."""
    return content_type.split(";", 1)[0].strip().lower() in EMBEDDED_MESSAGE_TYPES


def embedded_opened(raw: bytes, *, received_at: datetime, source: str) -> OpenedMessage:
    """``raw`` (an attached message's bytes) ready for ``MessageView.show_message``.

    ``received_at`` is the outer message's time (the attachment has none of
    its own); ``source`` says where it came from, for the Session tab. The
    same unstored message as a file opened from disk (``core.mailio.local``).
    """
    return unstored_message(raw, received_at=received_at, source=source)
