"""A remote message as a ``StoredMessage``: summary, raw bytes, SMTP session facts.

Mailpit keeps no SMTP session, so a message read from it has none: the
viewer's Session tab then says the envelope is unknown (``source`` is
``"remote"``). ``mailcatcher-gui serve`` answers the extension endpoint
``GET /api/v1/message/{ID}/session`` with what its store recorded; this
module reads that JSON leniently (PascalCase as Mailpit names things, or
snake_case), because a field missing or of the wrong type must not stop the
message from opening.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..models import MessageSummary, StoredMessage, TlsInfo

__all__ = ["stored_message"]


def _field(data: dict[str, Any], *names: str) -> Any:
    for name in names:
        if name in data:
            return data[name]
    return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(v for v in value if isinstance(v, str))


def _tls(value: Any) -> TlsInfo | None:
    if not isinstance(value, dict) or not value:
        return None
    bits = _field(value, "Bits", "bits")
    return TlsInfo(
        version=_str(_field(value, "Version", "version")),
        cipher=_str(_field(value, "Cipher", "cipher")),
        bits=bits if isinstance(bits, int) and not isinstance(bits, bool) else None,
        implicit=bool(_field(value, "Implicit", "implicit")),
    )


def stored_message(
    summary: MessageSummary, raw: bytes, session: dict[str, Any] | None
) -> StoredMessage:
    """The ``StoredMessage`` of a remote message (``session`` None: not known)."""
    if not session:
        return StoredMessage(
            summary=summary,
            raw=raw,
            peer="",
            helo="",
            tls=None,
            auth_user=None,
            transcript=(),
            source="remote",
        )
    envelope_from = _field(session, "EnvelopeFrom", "envelope_from", "MailFrom")
    envelope_to = _field(session, "EnvelopeTo", "envelope_to", "RcptTo")
    if isinstance(envelope_from, str) or isinstance(envelope_to, list):
        summary = replace(
            summary,
            envelope_from=_str(envelope_from) or summary.envelope_from,
            envelope_to=_strings(envelope_to) or summary.envelope_to,
        )
    auth_user = _field(session, "AuthUser", "auth_user", "Username")
    return StoredMessage(
        summary=summary,
        raw=raw,
        peer=_str(_field(session, "Peer", "peer", "RemoteAddr")),
        helo=_str(_field(session, "Helo", "helo", "HELO")),
        tls=_tls(_field(session, "TLS", "tls")),
        auth_user=auth_user if isinstance(auth_user, str) and auth_user else None,
        transcript=_strings(_field(session, "Transcript", "transcript")),
        source=_str(_field(session, "Source", "source")) or "smtp",
    )
