"""A plausible SMTP envelope for messages that did not arrive over SMTP (imports)."""

from __future__ import annotations

from datetime import UTC, datetime

from ..mime.addresses import addr_specs
from ..models import Capture
from .reading import SourceMessage

_MAX_RECIPIENTS = 1000


def header_fields(raw: bytes, max_bytes: int = 256 * 1024) -> list[tuple[str, str]]:
    """The header block as ``(lower-case name, unfolded value)`` pairs.

    A small tolerant scanner instead of ``email``: it never raises, decodes
    bytes as UTF-8 with replacement (so values are always storable text) and
    skips a leading mbox ``From `` line.
    """
    head = raw[:max_bytes]
    lines = head.split(b"\n")
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    fields: list[tuple[str, str]] = []
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, value + " " + _decode(line).strip())
            continue
        raw_name, colon, raw_value = line.partition(b":")
        if not colon or not raw_name.strip():
            continue
        fields.append((_decode(raw_name).strip().lower(), _decode(raw_value).strip()))
    return fields


def _decode(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


def _addresses(values: list[str]) -> list[str]:
    """The deliverable addresses, by the parser every reader of received mail uses
    (``core.mime.addresses``: tolerant, never raises, encoded commas stay in names)."""
    return addr_specs(values)


def envelope_from_headers(raw: bytes) -> tuple[str, list[str]]:
    """A plausible SMTP envelope for a message that did not come over SMTP.

    Sender: the ``Return-Path`` address (``<>`` gives the null sender) else
    the first ``From`` address. Recipients: ``To``, ``Cc`` and ``Bcc``
    addresses, de-duplicated case-insensitively, in header order.
    """
    fields = header_fields(raw)
    sender = ""
    return_path = [v for n, v in fields if n == "return-path"]
    if return_path:
        addrs = _addresses(return_path[:1])
        sender = addrs[0] if addrs else ""
    else:
        addrs = _addresses([v for n, v in fields if n == "from"][:1])
        sender = addrs[0] if addrs else ""
    recipients: list[str] = []
    seen: set[str] = set()
    for addr in _addresses([v for n, v in fields if n in ("to", "cc", "bcc")]):
        key = addr.lower()
        if key not in seen:
            seen.add(key)
            recipients.append(addr)
            if len(recipients) >= _MAX_RECIPIENTS:
                break
    return sender, recipients


def capture_for_import(
    source: SourceMessage | bytes, *, received_at: datetime | None = None
) -> Capture:
    """A ``Capture`` with ``source="import"`` and an envelope from the headers.

    ``received_at`` defaults to now (UTC): it records when the catcher got
    the message; the message's own Date header stays in the summary.
    """
    if isinstance(source, bytes):
        source = SourceMessage(source, "")
    sender, recipients = envelope_from_headers(source.raw)
    if source.envelope_from is not None:
        sender = source.envelope_from
    return Capture(
        raw=source.raw,
        envelope_from=sender,
        envelope_to=tuple(recipients),
        received_at=received_at or datetime.now(UTC),
        source="import",
    )
