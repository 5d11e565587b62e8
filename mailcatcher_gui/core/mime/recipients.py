"""Who a message was really delivered to, compared with what its headers claim.

A mail catcher sees the SMTP envelope (``RCPT TO``), which a recipient's
mail client never does. Addresses in the envelope but in neither ``To`` nor
``Cc`` are the blind-copy recipients: exactly what a developer checks when
testing "Bcc the auditor" features. Pure functions, no Qt.

The header side comes as :class:`Address` pairs (the stored summary's
``to_addrs``/``cc_addrs``, or ``parse_header_values`` of the raw headers);
plain strings are still accepted and split with the same tolerant parser,
never with ``email.utils``.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..models import Address
from .addresses import parse_header_values


def addresses_in(header_values: Iterable[Address | str]) -> list[str]:
    """Bare addresses, lower-cased, in order, without duplicates.

    ``header_values`` are pairs, or raw (not RFC 2047-decoded) header values.
    Whatever is not an address (an empty group, a bare word, ``<>``) is
    skipped rather than raising.
    """
    out: list[str] = []
    seen: set[str] = set()
    for value in header_values:
        pairs = [value] if isinstance(value, Address) else parse_header_values([value])
        for pair in pairs:
            addr = normalize_address(pair.addr)
            if addr and "@" in addr and addr not in seen:
                seen.add(addr)
                out.append(addr)
    return out


def normalize_address(addr: str) -> str:
    return addr.strip().strip("<>").strip().lower()


def envelope_only_recipients(
    envelope_to: Iterable[str], header_values: Iterable[Address | str]
) -> list[str]:
    """Envelope recipients absent from the given To/Cc addresses.

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
