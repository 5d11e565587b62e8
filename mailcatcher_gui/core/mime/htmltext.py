"""A readable plain-text rendering of an HTML body.

Used for the search index and the list snippet at ingest time (so it must
be cheap and linear) and for the viewer's "text" tab when a message has no
text part.

Deliberately not ``html.parser``: on the Python this project runs (3.11),
``HTMLParser`` is quadratic on unclosed constructs. Measured here: 120 KB of
``<a b="`` takes 22 s, 80 KB of ``<!--`` 2 s (CPython fixed this only in
later security releases). A hostile message must not stall ingest, so this
is a tokenizer made of one regular expression whose alternatives cannot
backtrack across the input (possessive quantifiers, new in 3.11, also keep
``<<<<`` runs from costing a saved state per character), driven by a loop
that does constant work per token, plus ``html.unescape`` for entities.
Whitespace is folded once over the whole output, not per token. For text
extraction from mail HTML that is all that is needed.

Rendering rules: ``script``/``style``/``head``/``title``/``template`` are
dropped (``noscript`` is kept: mail clients never run scripts); block
elements and ``<br>`` become line breaks; list items get ``- ``; cells are
separated by spaces; links are written ``text <url>`` (unless the text
already is the URL); image ``alt`` text is kept; entities are decoded;
zero-width padding (common in marketing preheaders) is removed;
whitespace is folded, lines are stripped and at most one blank line is
kept. ``<pre>`` keeps its line breaks. Never raises.
"""

from __future__ import annotations

import re
from html import unescape

_TOKEN = re.compile(
    r"""
      (?P<comment><!--.*?(?:-->|\Z))
    | (?P<cdata><!\[CDATA\[.*?(?:\]\]>|\Z))
    | (?P<decl><[!?][^>]*>?)
    | (?P<tag><(?P<end>/)?(?P<name>[A-Za-z][^\s/>]*+)
        (?P<attrs>(?:[^>"']++|"[^"]*+(?:"|\Z)|'[^']*+(?:'|\Z))*+)>?)
    | (?P<text>(?:[^<]|<(?![A-Za-z!?]|/[A-Za-z]))[^<]*+(?:<(?![A-Za-z!?]|/[A-Za-z])[^<]*+)*+)
    | (?P<lt><)
    """,
    re.S | re.X,
)
_ATTR = re.compile(
    r"""([^\s"'=/>]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""",
    re.S,
)
_INVISIBLE = re.compile("[\u00ad\u034f\u200b-\u200f\u2028\u2029\u2060\ufeff]")

_SKIP_CONTENT = frozenset({"script", "style", "title", "template", "xml"})
_HEAD_ONLY = frozenset({"head", "meta", "link", "base", "basefont", "bgsound"})
# Blocks that stand apart by a blank line, and blocks that only start a new line.
_PARAGRAPH = frozenset(
    {
        *("p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "dl", "table", "blockquote"),
        *("pre", "hr", "figure", "address", "form", "fieldset", "menu", "dir"),
    }
)
_LINE = frozenset(
    {
        *("div", "li", "tr", "section", "article", "header", "footer", "nav", "main", "aside"),
        *("body", "html", "dd", "dt", "caption", "center", "details", "summary", "legend"),
        *("figcaption", "frameset", "hgroup", "dialog", "tbody", "thead", "tfoot"),
    }
)
_CELL = frozenset({"td", "th"})
_LINK_SCHEMES = ("http://", "https://", "ftp://", "mailto:", "tel:", "sms:", "file:")


def _attrs(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for m in _ATTR.finditer(text):
        key = m.group(1).lower()
        if key not in out:
            val = m.group(2) if m.group(2) is not None else m.group(3)
            if val is None:
                val = m.group(4) or ""
            out[key] = unescape(val)
    return out


# Structure is emitted as private-use characters so that whitespace folding
# can run once over the whole output (one regex pass instead of one per
# text token) without destroying line breaks or <pre> spacing. Block
# boundaries are "soft": several in a row (</div><div>) make one break.
_NL = "\ue000"  # <br>, a line inside <pre>: always a line break
_SP = "\ue001"  # a space inside <pre>
_SOFT = "\ue002"  # start/end of a line-level block
_PARA = "\ue003"  # start/end of a paragraph-level block
_PRE_KEEP = str.maketrans({"\n": _NL, " ": _SP, "\t": _SP, "\r": None})
_PARA_RUN = re.compile("\ue003[ \ue002\ue003]*")  # -> blank line
_SOFT_RUN = re.compile("\ue002[ \ue002]*")  # -> one line break
_TRAILING_SPACES = re.compile(r" +\n")
_LEADING_SPACE = re.compile(r"\n (?! )")  # one space left by folding (not <pre> indentation)


class _Renderer:
    def __init__(self, limit: int | None) -> None:
        self.out: list[str] = []
        self.size = 0
        # Raw text collected before folding; indentation can make it several
        # times longer than the folded result, hence the margin.
        self.budget = None if limit is None else limit * 4 + 4096
        self.pre = 0
        self.links: list[tuple[str, int]] = []

    def text(self, raw: str) -> None:
        s = unescape(raw) if "&" in raw else raw
        if not s.isascii():
            s = _INVISIBLE.sub("", s)
        if self.pre:
            s = s.translate(_PRE_KEEP)
        self.out.append(s)
        self.size += len(s)

    def start(self, name: str, attrs_text: str) -> None:
        if name in _PARAGRAPH:
            self.out.append(_PARA)
            if name == "pre":
                self.pre += 1
        elif name == "li":
            self.out.append(_SOFT + "- ")
        elif name in _LINE:
            self.out.append(_SOFT)
        elif name == "br":
            self.out.append(_NL)
        elif name in _CELL:
            self.out.append(" ")
        elif name == "a":
            href = _attrs(attrs_text).get("href", "").strip()
            if not attrs_text.rstrip().endswith("/") and len(self.links) < 64:
                self.links.append((href, len(self.out)))
        elif name == "img":
            alt = _attrs(attrs_text).get("alt", "").strip()
            if alt:
                self.text(f" {alt} ")

    def end(self, name: str) -> None:
        if name in _PARAGRAPH:
            self.out.append(_PARA)
            if name == "pre" and self.pre:
                self.pre -= 1
        elif name in _LINE:
            self.out.append(_SOFT)
        elif name == "a" and self.links:
            href, at = self.links.pop()
            if not href:
                return
            low = href.lower()
            if not low.startswith(_LINK_SCHEMES):
                return
            if len(self.out) - at > 256:  # a huge or unclosed link: no annotation
                return
            label = " ".join("".join(self.out[at:]).split())
            target = href[7:] if low.startswith("mailto:") else href
            if label and label not in (href, target) and target not in label:
                self.out.append(f" <{href}>")
            elif not label:
                self.out.append(target)

    def result(self, limit: int | None) -> str:
        # Every step is one C-level pass (split/join, replace, or a regex that
        # can only start on a marker or newline): no per-line Python work.
        text = " ".join("".join(self.out).split())  # markers are not whitespace
        text = _PARA_RUN.sub("\n\n", text)
        text = _SOFT_RUN.sub("\n", text)
        text = text.replace(_SP, " ").replace(_NL, "\n").replace(" \n", "\n")
        if "  \n" in text:  # trailing spaces of <pre> lines
            text = _TRAILING_SPACES.sub("\n", text)
        text = _LEADING_SPACE.sub("\n", text)
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        text = text.strip()
        if limit is not None and len(text) > limit:
            text = text[:limit].rstrip()
        return text


def html_to_text(html: str, limit: int | None = None) -> str:
    """Readable text of ``html``; at most ``limit`` characters. Never raises."""
    r = _Renderer(limit)
    try:
        if isinstance(html, bytes | bytearray):
            html = bytes(html).decode("utf-8", "replace")
        elif not isinstance(html, str):
            html = str(html or "")
        _render(html, r)
    except Exception:  # noqa: BLE001 - return what was rendered so far
        pass
    try:
        return r.result(limit)
    except Exception:  # noqa: BLE001
        return ""


def _render(html: str, r: _Renderer) -> None:
    pos, n = 0, len(html)
    in_head = False
    match = _TOKEN.match
    budget = r.budget
    while pos < n:
        if budget is not None and r.size > budget:
            break
        m = match(html, pos)
        if m is None:  # cannot happen (the last alternative matches "<"); be safe
            r.text(html[pos:])
            return
        pos = m.end()
        kind = m.lastgroup
        if kind == "text":
            if in_head:
                if m.group().strip():
                    in_head = False
                else:
                    continue
            r.text(m.group())
        elif kind == "tag":
            name = m.group("name").lower()
            if m.group("end"):
                if name == "head":
                    in_head = False
                elif not in_head:
                    r.end(name)
                continue
            if name in _SKIP_CONTENT:
                close = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(html, pos)
                pos = close.end() if close else n
                continue
            if name == "head":
                in_head = True
                continue
            if in_head:
                if name in _HEAD_ONLY:
                    continue
                in_head = False
            r.start(name, m.group("attrs") or "")
        elif kind == "cdata":
            if not in_head:
                r.text(m.group()[9:].removesuffix("]]>"))
        elif kind == "lt" and not in_head:
            r.text("<")
        # comments and declarations are dropped
