"""Header text: raw bytes -> unfolded, RFC 2047-decoded ``str``.

Written here instead of using ``email.header.decode_header`` because that
one raises on unknown charsets, keeps undecodable bytes as surrogates, and
its encoded-word pattern (``.*?``) rescans to the end of the header for every
unterminated ``=?``, which is quadratic on a hostile 25 MB header line. The
pattern below cannot cross a ``?``, so it is linear.

Rules applied (the lenient reading every mail client uses):
- 8-bit bytes are UTF-8 if they decode as such, else windows-1252;
- folding (CRLF + WSP) is removed, stray CR/LF become spaces, NUL becomes
  U+FFFD;
- encoded words are decoded wherever they appear, whitespace between two
  adjacent encoded words is dropped, and adjacent words in one charset are
  joined as bytes first (a multi-byte character may be split across words);
- an unknown charset or bad base64 is decoded best-effort and noted.
"""

from __future__ import annotations

import binascii
import re

from .charset import decode_8bit, decode_text

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,80})\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_CONTROL = re.compile(r"[\r\n\x00]")
_B64_JUNK = re.compile(rb"[^A-Za-z0-9+/]")


def header_bytes_to_str(raw: bytes) -> str:
    """Raw header bytes -> text (no RFC 2047 decoding, folding kept)."""
    return decode_8bit(raw)


def unfold(text: str) -> str:
    if "\n" not in text and "\r" not in text and "\x00" not in text:
        return text
    text = _FOLD.sub("", text)
    return _CONTROL.sub(lambda m: "\ufffd" if m.group() == "\x00" else " ", text)


def decode_value(raw: bytes, notes: list[str] | None = None) -> str:
    """A header field's raw value bytes -> display text (stripped)."""
    return decode_words(unfold(header_bytes_to_str(raw)), notes).strip()


def _word_bytes(encoding: str, text: str, notes: list[str] | None) -> bytes:
    data = text.encode("utf-8", "surrogateescape")
    if encoding in "qQ":
        return binascii.a2b_qp(data, header=True)
    try:
        return binascii.a2b_base64(data)
    except binascii.Error:
        clean = _B64_JUNK.sub(b"", data)
        clean = clean[: len(clean) - len(clean) % 4] if len(clean) % 4 == 1 else clean
        clean += b"=" * (-len(clean) % 4)
        if notes is not None:
            notes.append("invalid base64 in an encoded word")
        try:
            return binascii.a2b_base64(clean)
        except binascii.Error:
            return b""


# Encoded words are decoded in the first this-many characters of a value;
# the rest (only ever seen in hostile headers) is kept as written, so a
# 25 MB header of encoded words costs milliseconds, not seconds.
MAX_DECODED_CHARS = 100_000


def decode_words(text: str, notes: list[str] | None = None) -> str:
    """Decode RFC 2047 encoded words in ``text``; never raises."""
    if "=?" not in text:
        return text
    if len(text) > MAX_DECODED_CHARS:
        cut = text.rfind(" ", 0, MAX_DECODED_CHARS)
        cut = cut if cut > 0 else MAX_DECODED_CHARS
        return decode_words(text[:cut], notes) + text[cut:]
    out: list[str] = []
    pending_charset: str | None = None
    pending: list[bytes] = []
    pos = 0

    def flush() -> None:
        nonlocal pending_charset, pending
        if pending:
            decoded, note = decode_text(b"".join(pending), pending_charset)
            out.append(decoded)
            if note and notes is not None:
                notes.append(f"encoded word: {note}")
        pending = []
        pending_charset = None

    try:
        for m in _ENCODED_WORD.finditer(text):
            gap = text[pos : m.start()]
            if gap and not (pending and gap.isspace()):
                flush()
                out.append(gap)
            charset = m.group(1).split("*", 1)[0].lower()
            if pending and charset != pending_charset:
                flush()
            pending_charset = charset
            pending.append(_word_bytes(m.group(2), m.group(3), notes))
            pos = m.end()
        flush()
        out.append(text[pos:])
        return "".join(out)
    except Exception:  # noqa: BLE001 - header text is best-effort display data
        return text
