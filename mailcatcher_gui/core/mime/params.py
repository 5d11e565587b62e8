"""Content-Type / Content-Disposition values and their parameters.

A tolerant reader of ``type/subtype; key=value; ...`` that never raises:
quoted strings with backslash escapes, unterminated quotes, unquoted values
with spaces or tspecials (``boundary=----=_Part``), duplicate parameters
(the first wins, as in Python's ``email``), and RFC 2231 extended
parameters: ``name*=charset'lang'%XX``, continuations ``name*0=``,
``name*1*=`` in any order, the extended form winning over the plain one.
Filenames additionally get RFC 2047 decoding, because most mailers still
write ``filename="=?UTF-8?B?...?="``.

The tokeniser is one regular expression written so that it runs in linear
time (no nested alternation inside a repetition that can re-scan), which
matters for a 25 MB parameter line.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from .charset import decode_text
from .words import decode_words

_PARAM = re.compile(
    r"""
    \s*(?P<key>[^\s=;"]+)\s*
    (?:=\s*(?:"(?P<q>[^"\\]*+(?:\\.[^"\\]*+)*+)"?|(?P<v>[^;]*+)))?
    \s*;?
    """,
    re.X | re.S,
)
_COMMENT = re.compile(r"\([^()]*\)")
_UNESCAPE = re.compile(r"\\(.)", re.S)
_SECTION = re.compile(r"^(?P<name>[^*]+)\*(?P<num>\d+)?(?P<enc>\*)?$")
MAX_PARAMS_CHARS = 64 * 1024  # parameters beyond this are ignored (hostile headers only)


def split_value(value: str) -> tuple[str, str]:
    """``"text/plain; charset=x"`` -> ``("text/plain", "charset=x")`` (first part stripped)."""
    head, sep, rest = value.partition(";")
    return head.strip(), rest


def parse_params(text: str) -> dict[str, str]:
    """Parameters -> ``{lowercase name: decoded value}``; never raises."""
    plain: dict[str, str] = {}
    sections: dict[str, list[tuple[int, bool, str]]] = {}
    if len(text) > MAX_PARAMS_CHARS:
        text = text[:MAX_PARAMS_CHARS]
    try:
        for m in _PARAM.finditer(text):
            key = m.group("key").lower()
            q = m.group("q")
            if q is not None:
                val = _UNESCAPE.sub(r"\1", q) if "\\" in q else q
            elif m.group("v") is not None:
                val = m.group("v").strip()
            else:
                continue  # a bare token, not a parameter
            if "*" in key:
                s = _SECTION.match(key)
                if s is not None:
                    num = int(s.group("num")) if s.group("num") is not None else -1
                    sections.setdefault(s.group("name"), []).append(
                        (num, s.group("enc") is not None or s.group("num") is None, val)
                    )
                    continue
            plain.setdefault(key, val)
        for name, parts in sections.items():
            plain[name] = _join_rfc2231(parts)
    except Exception:  # noqa: BLE001 - best effort: keep what was read
        pass
    return plain


def _join_rfc2231(parts: list[tuple[int, bool, str]]) -> str:
    parts.sort(key=lambda p: p[0])
    charset: str | None = None
    chunks: list[bytes] = []
    for i, (_num, encoded, val) in enumerate(parts):
        if encoded:
            if i == 0 and val.count("'") >= 2:
                charset, _lang, val = val.split("'", 2)
            chunks.append(unquote_to_bytes(val))
        else:
            chunks.append(val.encode("utf-8", "surrogateescape"))
    text, _note = decode_text(b"".join(chunks), charset or "utf-8")
    return text


_MAIN_ONLY = {"text": "text/plain", "multipart": "multipart/mixed", "message": "message/rfc822"}


def parse_content_type(value: str) -> tuple[str | None, dict[str, str], str | None]:
    """``(type/subtype lowercased or None if absent, params, note on a bad type)``."""
    head, rest = split_value(value)
    ctype = _COMMENT.sub("", head).strip().strip("\"'").lower()
    if " " in ctype or "\t" in ctype:
        first, _sep, extra = ctype.partition(" ") if " " in ctype else ctype.partition("\t")
        if "/" in first and "=" in extra:
            # "application/pdf name=x.pdf": a missing ";" before the first parameter.
            ctype = first
            rest = head.strip().split(None, 1)[1] + ";" + rest
        else:
            ctype = "".join(ctype.split())  # "text / plain"
    params = parse_params(rest)
    if not ctype:
        return None, params, None
    main, slash, sub = ctype.partition("/")
    if slash and main and sub:
        return f"{main}/{sub}", params, None
    fixed = _MAIN_ONLY.get(main, "application/octet-stream")
    return fixed, params, f"invalid Content-Type {head!r}, treated as {fixed}"


def parse_disposition(value: str) -> tuple[str | None, dict[str, str]]:
    head, rest = split_value(value)
    disp = head.strip().strip("\"'").lower()
    return (disp or None), parse_params(rest)


def clean_filename(name: str | None) -> str | None:
    """RFC 2047-decode a filename parameter; ``None`` for a blank one."""
    if name is None:
        return None
    name = decode_words(name).strip()
    name = name.replace("\r", "").replace("\n", "").replace("\x00", "")
    return name or None
