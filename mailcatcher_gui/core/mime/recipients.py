"""Who a message was really delivered to, compared with what its headers claim.

A mail catcher sees the SMTP envelope (``RCPT TO``), which a recipient's
mail client never does. Addresses in the envelope but in neither ``To`` nor
``Cc`` are the blind-copy recipients: exactly what a developer checks when
testing "Bcc the auditor" features. Pure functions, no Qt.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.utils import getaddresses


def addresses_in(header_values: Iterable[str]) -> list[str]:
    """Bare addresses from address-list header values, lower-cased, in order.

    Tolerates junk: whatever ``email.utils.getaddresses`` cannot make an
    address of is skipped rather than raising.
    """
    out: list[str] = []
    values = [v for v in header_values if v]
    try:
        pairs = getaddresses(values)
    except Exception:  # noqa: BLE001 - malformed headers must not break the view
        pairs = []
    for _, addr in pairs:
        addr = addr.strip().strip("<>").strip().lower()
        if addr and "@" in addr and addr not in out:
            out.append(addr)
    return out


def normalize_address(addr: str) -> str:
    return addr.strip().strip("<>").strip().lower()


def envelope_only_recipients(envelope_to: Iterable[str], header_values: Iterable[str]) -> list[str]:
    """Envelope recipients absent from the given To/Cc header values.

    Compared case-insensitively (the local part is technically case-sensitive,
    but no real system treats ``Bob@x`` and ``bob@x`` as two people, and a
    false "Bcc" mark would mislead more than a missed one). Returned as they
    appear in the envelope, without duplicates.
    """
    shown = set(addresses_in(header_values))
    out: list[str] = []
    seen: set[str] = set()
    for rcpt in envelope_to:
        key = normalize_address(rcpt)
        if key and key not in shown and key not in seen:
            seen.add(key)
            out.append(rcpt.strip().strip("<>").strip())
    return out
