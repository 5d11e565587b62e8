"""Content-Transfer-Encoding: the label, and undoing it without raising.

Real mail writes ``quoted_printable``, ``quoted-printable;``, ``7-bit``,
``base9000`` and worse; the label is normalised once here. Decoding uses
``binascii`` (C, linear, fine for a 25 MB attachment) with repairs that
``email``'s ``get_payload(decode=True)`` silently skips or gets wrong:
base64 with bad padding or junk is cleaned and decoded as far as it goes,
base64 made of several padded chunks (concatenated encoders) is decoded
chunk by chunk, and uuencode is decoded line by line. Every repair is
reported as a note so the caller can list it as a defect.
"""

from __future__ import annotations

import binascii
import re

IDENTITY = "identity"
BASE64 = "base64"
QP = "quoted-printable"
UU = "x-uuencode"

_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_B64_DELETE = bytes(b for b in range(256) if b not in _B64_ALPHABET)
_B64_DELETE_KEEP_PAD = bytes(b for b in _B64_DELETE if b != ord("="))
_B64_TEXT = _B64_ALPHABET + b"=\r\n\t "
_IDENTITY_LABELS = frozenset({"", "7bit", "8bit", "binary"})
_BITS = re.compile(r"^[78][-_ ]?bits?$")


def normalize_cte(value: str | None) -> tuple[str, str | None]:
    """``(one of IDENTITY/BASE64/QP/UU, note if the label was unusual)``."""
    if value is None:
        return IDENTITY, None
    label = value.strip().strip(";\"' \t").lower()
    if label in _IDENTITY_LABELS:
        return IDENTITY, None
    if label == "base64":
        return BASE64, None
    if label == "quoted-printable":
        return QP, None
    if label in ("x-uuencode", "uuencode", "x-uue", "uue"):
        return UU, None
    if _BITS.match(label):
        return IDENTITY, None
    if "base64" in label:
        return BASE64, f"Content-Transfer-Encoding {value.strip()!r} read as base64"
    if "quoted" in label:
        return QP, f"Content-Transfer-Encoding {value.strip()!r} read as quoted-printable"
    return IDENTITY, f"unknown Content-Transfer-Encoding {value.strip()!r}, body left as is"


def decode_payload(data: bytes, cte: str) -> tuple[bytes, str | None]:
    """Undo ``cte`` (a normalised label). Returns ``(bytes, note or None)``; never raises."""
    try:
        if cte == BASE64:
            return decode_base64(data)
        if cte == QP:
            return binascii.a2b_qp(data), None
        if cte == UU:
            return decode_uu(data)
    except Exception as exc:  # noqa: BLE001 - fall back to the raw bytes
        return data, f"could not decode {cte} ({exc}); raw bytes kept"
    return data, None


def decode_base64(data: bytes) -> tuple[bytes, str | None]:
    try:
        out = binascii.a2b_base64(data)
    except (binascii.Error, ValueError):
        return _repair_base64(data)
    # a2b_base64 stops at the first padding. If only more base64 follows,
    # several streams were concatenated: decode them all. Anything else after
    # the padding (a signature, junk) is ignored, as every decoder does.
    pad = data.find(b"=")
    if pad >= 0:
        rest = data[pad:]
        if rest.translate(None, _B64_DELETE) and not rest.translate(None, _B64_TEXT):
            return _decode_chunks(data)
    return out, None


def _repair_base64(data: bytes) -> tuple[bytes, str]:
    clean = data.translate(None, _B64_DELETE_KEEP_PAD)
    if b"=" in clean.rstrip(b"="):
        out, _ = _decode_chunks(data)
        return out, "invalid base64 (padding inside the data); decoded in chunks"
    clean = clean.rstrip(b"=")
    note = "invalid base64 padding; decoded as far as possible"
    if len(clean) % 4 == 1:
        clean = clean[:-1]
        note = "truncated base64 (one stray character dropped)"
    clean += b"=" * (-len(clean) % 4)
    try:
        return binascii.a2b_base64(clean), note
    except (binascii.Error, ValueError):
        return b"", "undecodable base64"


def _decode_chunks(data: bytes) -> tuple[bytes, str | None]:
    clean = data.translate(None, _B64_DELETE_KEEP_PAD)
    out: list[bytes] = []
    for chunk in re.split(rb"=+", clean):
        if not chunk:
            continue
        if len(chunk) % 4 == 1:
            chunk = chunk[:-1]
        chunk += b"=" * (-len(chunk) % 4)
        try:
            out.append(binascii.a2b_base64(chunk))
        except (binascii.Error, ValueError):
            continue
    return b"".join(out), "base64 with padding inside the data (concatenated streams)"


def decode_uu(data: bytes) -> tuple[bytes, str | None]:
    lines = data.splitlines()
    start = 0
    for i, line in enumerate(lines):
        if line.startswith(b"begin "):
            start = i + 1
            break
    out: list[bytes] = []
    bad = False
    for line in lines[start:]:
        s = line.rstrip(b"\r")
        if s.strip() == b"end":
            break
        if not s.strip():
            continue
        try:
            out.append(binascii.a2b_uu(s))
        except binascii.Error:
            nbytes = (((s[0] - 32) & 63) * 4 + 5) // 3
            try:
                out.append(binascii.a2b_uu(s[:nbytes]))
            except binascii.Error:
                bad = True
    return b"".join(out), ("damaged uuencoded lines skipped" if bad else None)


def decode_prefix(data: bytes, cte: str, limit: int) -> bytes:
    """Decode only roughly the first ``limit`` output bytes (cheap summaries)."""
    if cte == BASE64:
        head = data[: limit * 4 // 3 + limit // 19 + 8]  # room for line breaks
        clean = head.translate(None, _B64_DELETE_KEEP_PAD)
        if len(data) > len(head):
            clean = clean.rstrip(b"=")
            clean = clean[: len(clean) - len(clean) % 4]
        out, _ = decode_base64(clean)
        return out[:limit]
    if cte == QP:
        head = data[: limit * 3 + 8]
        return binascii.a2b_qp(head)[:limit]
    if cte == UU:
        return decode_uu(data[: limit * 2])[0][:limit]
    return data[:limit]
