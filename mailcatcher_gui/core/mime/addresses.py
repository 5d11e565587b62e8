"""Address-list headers (From, To, Cc) -> one ``(display name, address)`` pair per mailbox.

``email.headerregistry`` raises on real mail (``'Group' object has no
attribute 'local_part'``, ``ValueError`` on odd From lines) and
``email.utils.getaddresses`` silently returns ``('', '')`` for anything its
strict mode dislikes since the CVE-2023-27043 fix. A mail catcher must show
what the sender wrote, so this is a small tolerant tokenizer instead:
quoted strings, comments, ``<angle-addr>``, groups (``name: a, b;``),
semicolons used as separators, and the common unquoted ``Last, First
<addr>`` mistake (a piece with no ``@`` is glued to the next one). Display
names are RFC 2047-decoded *after* splitting, so an encoded comma cannot
split an address. Output is a list of :class:`~mailcatcher_gui.core.models.Address`
pairs (the app's one address model); an empty group such as
``undisclosed-recipients:;`` is kept as written (as the ``addr`` of a pair
with no name) so the list does not look empty.

Every consumer takes the pairs from here (or from the stored summary), never
from ``email.utils`` on a display string: ``"Smith, John (Sales)" <j@x>``,
an encoded ``Müller, Hans`` and ``"John <Admin>" <j@x>`` are one mailbox
each, which a re-parse of the unquoted display text cannot know.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ..models import Address, ParsedMessage, address_labels, format_addresses
from .words import decode_words, header_bytes_to_str, unfold

__all__ = [
    "MAX_CHARS",
    "Address",
    "addr_specs",
    "address_labels",
    "format_addresses",
    "header_addresses",
    "parse_address_list",
    "parse_addresses",
    "parse_header_values",
]

_TOKEN = re.compile(
    r"""
      "(?:[^"\\]|\\.)*"?          # quoted string (may be unterminated)
    | \((?:[^()\\]|\\.)*\)?       # comment (not nested)
    | <[^>]*>?                    # angle address
    | [,;:]
    | [^",;:<(]+
    | .
    """,
    re.X | re.S,
)
_WS = re.compile(r"\s+")
_UNESCAPE = re.compile(r"\\(.)", re.S)


class _Mailbox:
    __slots__ = ("phrase", "angle", "comment", "after_angle")

    def __init__(self) -> None:
        self.phrase: list[str] = []
        self.angle: str | None = None
        self.comment: list[str] = []
        self.after_angle = 0  # len(phrase) when the angle address was seen

    def empty(self) -> bool:
        # A lone comment ("(no To-header on input)") is not a mailbox.
        return not self.angle and not "".join(self.phrase).strip()


def _unquote(tok: str) -> str:
    inner = tok[1:-1] if len(tok) >= 2 and tok.endswith('"') else tok[1:]
    return _UNESCAPE.sub(r"\1", inner)


def _fold(text: str) -> str:
    return _WS.sub(" ", text).strip()


def _pair(mb: _Mailbox) -> Address:
    if mb.angle is not None:
        addr = _fold(mb.angle)
        if addr.startswith("@") and ":" in addr:  # obsolete source route: <@relay:user@host>
            addr = addr.split(":", 1)[1]
        name = _fold(decode_words("".join(mb.phrase)))
        if not name and mb.comment:
            name = _fold(decode_words(" ".join(mb.comment)))
    else:
        addr = _fold("".join(mb.phrase))
        name = _fold(decode_words(" ".join(mb.comment)))
        if "@" not in addr:
            # A bare phrase (no address at all): show it decoded.
            addr = _fold(decode_words(addr))
    return _address(name, addr)


def _address(name: str, addr: str) -> Address:
    # A name that only repeats the address adds nothing (``a@b <a@b>``).
    return Address("" if name == addr else name, addr)


# The common single-mailbox forms, handled without the tokenizer (ingest speed):
# 'Name <a@b>', '"Name" <a@b>', '<a@b>', 'a@b'.
_SIMPLE = re.compile(
    r"""\s*(?:"(?P<q>[^"\\]*)"|(?P<p>[^"<>,;:()\\@]*?))\s*<(?P<a>[^<>\s,;:()"\\]*)>\s*
      |\s*(?P<bare>[^\s<>,;:()"\\]+@[^\s<>,;:()"\\]+)\s*""",
    re.X,
)


MAX_CHARS = 256 * 1024  # longer lists are cut (roughly 10,000 addresses)


def parse_addresses(value: str, limit: int = 10_000) -> list[Address]:
    """Split an unfolded, not yet RFC 2047-decoded header value into mailboxes.

    Names are decoded after the split, so an encoded comma stays inside its
    name. Never raises: on a tokenizer failure the decoded text comes back as
    one pair (shown rather than lost).
    """
    if len(value) > MAX_CHARS:
        value = value[:MAX_CHARS]
    m = _SIMPLE.fullmatch(value)
    if m is not None:
        if m.group("bare") is not None:
            return [Address("", m.group("bare"))]
        addr = m.group("a")
        name = m.group("q") if m.group("q") is not None else m.group("p")
        if name and "=?" in name:
            name = decode_words(name)
        name = _fold(name) if name else ""
        return [_address(name, addr)] if (addr or name) else []
    try:
        return _parse(value, limit)
    except Exception:  # noqa: BLE001 - show the raw text rather than nothing
        text = _fold(decode_words(value))
        return [Address("", text)] if text else []


def parse_address_list(value: str, limit: int = 10_000) -> list[str]:
    """``parse_addresses`` as ``"Name <addr>"`` text (for reading, never to re-parse)."""
    return [a.formatted() for a in parse_addresses(value, limit)]


def parse_header_values(values: Iterable[str], limit: int = 10_000) -> list[Address]:
    """The mailboxes of several raw header values (e.g. every ``To`` and ``Cc``).

    ``values`` are the header values *as in the message*: not RFC 2047-decoded
    (``Header.raw`` of a parsed message, folding and surrogate-escaped 8-bit
    bytes allowed). A decoded value (``Header.value``) must not be used: an
    encoded ``Doe, Jane`` would split in two.
    """
    out: list[Address] = []
    for value in values:
        if not value:
            continue
        if not value.isascii():
            # Header.raw keeps 8-bit bytes as surrogates; read them the way
            # the ingest summary does (UTF-8, else windows-1252).
            value = header_bytes_to_str(value.encode("utf-8", "surrogateescape"))
        out.extend(parse_addresses(unfold(value), limit - len(out)))
        if len(out) >= limit:
            break
    return out


def addr_specs(values: Iterable[str]) -> list[str]:
    """The bare addresses (``addr`` with an ``@``) of raw header values, in order.

    For callers that need only where mail would go (an envelope built from
    ``To``/``Cc``/``Bcc`` on import, a Return-Path): ``<>`` and junk without an
    ``@`` give nothing.
    """
    return [a.addr for a in parse_header_values(values) if "@" in a.addr]


def header_addresses(parsed: ParsedMessage, *names: str) -> list[Address]:
    """The deliverable mailboxes (``addr`` with an ``@``) of the named headers.

    Every occurrence of each header counts, in message order (``To`` and
    ``Cc`` may each appear more than once). Read from the raw values, so an
    encoded name with a comma stays one mailbox. Made for reply / reply-all
    / "who are we" decisions and the Bcc check: pairs, ready to use.
    """
    wanted = {n.lower() for n in names}
    raw = [h.raw for h in parsed.headers if h.name.lower() in wanted]
    return [a for a in parse_header_values(raw) if "@" in a.addr]


def _parse(value: str, limit: int) -> list[Address]:
    out: list[Address] = []
    boxes: list[_Mailbox] = []  # mailboxes of the current run (to glue "Last, First <a>")
    cur = _Mailbox()
    group: str | None = None
    group_members = 0

    def finish() -> None:
        nonlocal cur, group_members
        if not cur.empty():
            boxes.append(cur)
            group_members += 1
        cur = _Mailbox()

    for m in _TOKEN.finditer(value):
        tok = m.group()
        c = tok[0]
        if c == ",":
            finish()
        elif c == ":" and group is None and cur.angle is None and "@" not in "".join(cur.phrase):
            group = _fold(decode_words("".join(cur.phrase)))
            cur = _Mailbox()
            group_members = 0
        elif c == ";":
            finish()
            if group is not None:
                if group_members == 0:
                    out.extend(_flush(boxes))
                    out.append(Address("", f"{group}:;"))
                group = None
        elif c == '"':
            cur.phrase.append(_unquote(tok))
        elif c == "(":
            inner = tok[1:-1] if tok.endswith(")") else tok[1:]
            cur.comment.append(_UNESCAPE.sub(r"\1", inner))
        elif c == "<":
            if cur.angle is not None:
                # "A <a@x> B <b@y>": a missing comma between two mailboxes.
                nxt = _Mailbox()
                nxt.phrase = cur.phrase[cur.after_angle :]
                del cur.phrase[cur.after_angle :]
                finish()
                cur = nxt
            cur.angle = tok[1:-1] if tok.endswith(">") else tok[1:]
            cur.after_angle = len(cur.phrase)
        else:
            cur.phrase.append(tok)
        if len(boxes) > limit:
            break
    finish()
    if group is not None and group_members == 0:
        out.extend(_flush(boxes))
        out.append(Address("", f"{group}:;"))
    out.extend(_flush(boxes))
    return [a for a in out if a.name or a.addr][:limit]


def _flush(boxes: list[_Mailbox]) -> list[Address]:
    """Pairs for ``boxes``, gluing address-less pieces onto the next one."""
    out: list[Address] = []
    carry: list[str] = []
    for i, mb in enumerate(boxes):
        bare = mb.angle is None and "@" not in "".join(mb.phrase)
        if bare and i + 1 < len(boxes) and boxes[i + 1].angle is not None:
            carry.append(_fold("".join(mb.phrase)))
            continue
        if carry:
            mb.phrase.insert(0, ", ".join(carry) + ", ")
            carry = []
        if mb.angle is None and not mb.comment:
            words = "".join(mb.phrase).split()
            if len(words) > 1 and all("@" in w for w in words):
                # "a@x b@y": a missing comma between two addresses
                out.extend(Address("", w) for w in words)
                continue
        out.append(_pair(mb))
    boxes.clear()
    return out
