"""Turning bytes of a declared charset into text, without ever raising.

Mail declares charsets it does not use, misspells them, or invents them
("x-unknown", "fakescii", "charset=us-ascii"). Python's codec registry
raises ``LookupError`` for those and ``UnicodeDecodeError`` for mislabelled
bytes; both used to surface from ``get_content()``. Here every label is
resolved once to a real text codec (with the aliases browsers and mail
clients use, e.g. latin-1 -> windows-1252, ks_c_5601-1987 -> cp949), and
decoding falls back utf-8 -> windows-1252 with replacement; bytes labelled
with a legacy charset that are valid UTF-8 (non-ASCII) are read as UTF-8,
the usual mislabelling. The caller gets the text plus a human-readable note
when a fallback was needed, which it records as a defect.

Codecs that are not charsets (base64, zlib, rot13: ``codecs.lookup``
accepts them) and ones with super-linear decoders (punycode, idna) are
refused, so a hostile label cannot turn a body decode into a decompression
or a CPU sink.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

FALLBACK = "windows-1252"

# Labels mail software writes that Python does not know, or knows only as a
# narrower codec than the one the sender really used (WHATWG encoding spec).
_ALIASES = {
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252",
    "iso_8859-1": "cp1252",
    "l1": "cp1252",
    "us-ascii": "ascii",
    "ascii": "ascii",
    "ansi_x3.4-1968": "ascii",
    "us": "ascii",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "ks_c_5601-1989": "cp949",
    "euc-kr": "cp949",
    "euckr": "cp949",
    "korean": "cp949",
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "x-sjis": "cp932",
    "ms_kanji": "cp932",
    "windows-31j": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "windows-874": "cp874",
    "tis-620": "cp874",
    "x-user-defined": "latin-1",
    "unicode-1-1-utf-7": "utf-7",
    "utf8": "utf-8",
    "x-mac-roman": "mac-roman",
    "macintosh": "mac-roman",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-greek": "mac-greek",
    "x-mac-turkish": "mac-turkish",
    "x-mac-icelandic": "mac-iceland",
    "x-mac-ce": "mac-latin2",
    "x-mac-centraleurroman": "mac-latin2",
    "x-mac-croatian": "mac-croatian",
    "x-mac-romanian": "mac-romanian",
    "x-euc-jp": "euc-jp",
    "x-euc-tw": "big5",
    "big5-hkscs": "big5hkscs",
    "x-x-big5": "big5",
    "cn-big5": "big5",
    "ibm852": "cp852",
}

# Text codecs whose decoders are quadratic or otherwise unfit for untrusted bodies.
_REFUSED = frozenset({"punycode", "idna", "undefined", "unicode_escape", "raw_unicode_escape"})


def _clean_label(label: str) -> str:
    label = label.strip().strip("\"'").strip().lower()
    # "charset=us-ascii" as a charset value (seen in the wild), "utf-8*en" (RFC 2231 language).
    if "=" in label:
        label = label.rsplit("=", 1)[1].strip().strip("\"'")
    if "*" in label:
        label = label.split("*", 1)[0]
    return label


def _text_codec(name: str) -> str | None:
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError, TypeError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


@lru_cache(maxsize=512)
def resolve(label: str | None) -> str | None:
    """The Python codec for a charset label, or ``None`` if there is none usable."""
    if not label:
        return None
    clean = _clean_label(label)
    if not clean or len(clean) > 64:
        return None
    candidates = [_ALIASES.get(clean, clean)]
    if clean.startswith("x-"):
        candidates.append(_ALIASES.get(clean[2:], clean[2:]))
    candidates.append(clean.replace("_", "-"))
    for cand in candidates:
        name = _text_codec(cand)
        if name is not None:
            return name
    return None


_META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]{1,40})""", re.I
)


def meta_charset(html: bytes) -> str | None:
    """The charset an HTML part declares in a ``<meta>`` tag near its start."""
    m = _META_CHARSET.search(html, 0, 4096)
    return None if m is None else m.group(1).decode("ascii")


def decode_8bit(data: bytes) -> str:
    """Bytes with no declared charset: ASCII/UTF-8 if valid, else windows-1252."""
    if data.isascii():
        return data.decode("ascii")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode(FALLBACK, "replace")


def decode_text(data: bytes, label: str | None) -> tuple[str, str | None]:
    """Decode a body (or encoded word) declared as ``label``.

    Returns ``(text, note)``; ``note`` is ``None`` when the bytes decoded
    cleanly with the declared charset, otherwise it says what was done.
    Never raises.
    """
    try:
        return _decode_text(data, label)
    except Exception as exc:  # noqa: BLE001 - a codec bug must not lose the message
        return data.decode("latin-1"), f"charset {label!r} failed ({exc}), decoded as latin-1"


def _decode_text(data: bytes, label: str | None) -> tuple[str, str | None]:
    codec = resolve(label)
    if codec is None:
        text = decode_8bit(data)
        if not label or data.isascii():
            note = None if not label else f"unknown charset {label.strip()!r}"
            return text, note
        used = "utf-8" if _is_utf8(data) else FALLBACK
        return text, f"unknown charset {label.strip()!r}, decoded as {used}"
    declared = (label or "").strip()  # resolve() found a codec, so there was a label
    if codec == "ascii":
        # Declared us-ascii but 8-bit bytes present: almost always UTF-8 or
        # windows-1252 written by software that never set the charset.
        return decode_8bit(data), None
    if not codec.startswith(("utf-", "utf_")) and not data.isascii() and _is_utf8(data):
        # Legacy charset declared, but the 8-bit bytes form valid UTF-8: real
        # text in a legacy charset almost never does, mislabelled UTF-8 often.
        return data.decode("utf-8"), f"declared {declared} but the bytes are utf-8"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        pass
    else:
        if codec.startswith("utf-8") and text.startswith("\ufeff"):
            text = text[1:]
        return text, None
    if codec != "utf-8" and _is_utf8(data):
        return data.decode("utf-8"), f"bytes are not valid {declared}, decoded as utf-8"
    if codec == "utf-8":
        return (
            data.decode(FALLBACK, "replace"),
            f"bytes are not valid utf-8, decoded as {FALLBACK}",
        )
    return data.decode(codec, "replace"), f"invalid {declared} bytes replaced"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
