"""The HTML body, parsed once with a real HTML5 parser and walked once.

selectolax (lexbor) builds the tree a browser would; the checks then read a
flat list of ``Element`` values in document order (tag, attributes, the
node for text look-ups, the raw source line) and the ``<style>`` blocks.

Source lines: lexbor keeps no source positions, so start tags are found by
a separate linear scan of the HTML text (skipping comments, which hold
Outlook's conditional ``<!--[if mso]>`` markup, and the raw text of
``script``/``style``/``textarea``/``title``). The k-th parsed element of a
tag name is given the position of the k-th start tag of that name only when
the two counts agree; when they do not (elements the parser inserts, such
as an implied ``tbody``, ``html`` or ``body``, or formatting elements it
re-opens around misnested markup, such as ``<font>``) that tag name gets no
line rather than a wrong one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from selectolax.lexbor import LexborHTMLParser, LexborNode

if TYPE_CHECKING:
    from .inputs import HtmlLocator

__all__ = ["MAX_NESTING", "Element", "HtmlDoc", "StyleBlock", "scan_html"]

_TAG = re.compile(r"<!--.*?(?:-->|\Z)|<(/?)([a-zA-Z][a-zA-Z0-9:_-]*)", re.S)
# Start tags for which an HTML5 parser walks the stack of open elements (the
# "p in button scope" check): nesting thousands of them is quadratic work.
_SCOPED = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "center",
        "details",
        "dialog",
        "dir",
        "div",
        "dl",
        "fieldset",
        "figcaption",
        "figure",
        "footer",
        "header",
        "hgroup",
        "main",
        "menu",
        "nav",
        "ol",
        "search",
        "section",
        "summary",
        "ul",
    ]
)
MAX_NESTING = 2000
_RAWTEXT = frozenset({"script", "style", "textarea", "title", "xmp"})
_DOCTYPE = re.compile(r"\s*<!doctype\s+html\s*>", re.I)
_BODY_TAG = re.compile(r"<body[\s>/]|</body\s*>", re.I)
_END_TAGS: dict[str, re.Pattern[str]] = {}


@dataclass(slots=True)
class Element:
    """One element of the parsed HTML, in document order."""

    tag: str
    attrs: dict[str, str | None]
    node: LexborNode = field(repr=False)
    line: int | None = None
    offset: int | None = None  # in the decoded HTML text, when known

    def attr(self, name: str) -> str | None:
        return self.attrs.get(name)

    def describe(self) -> str:
        """``<img src="logo.png">``-like short label for ``Finding.where``."""
        keys = ("id", "class", "src", "href", "name", "type")
        bits = [f'{k}="{_short(self.attrs[k] or "")}"' for k in keys if self.attrs.get(k)]
        return f"<{self.tag}{' ' if bits else ''}{' '.join(bits[:2])}>"


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(slots=True)
class StyleBlock:
    css: str
    line: int | None


@dataclass
class HtmlDoc:
    """The HTML body: elements, ``<style>`` blocks and a few whole-document facts."""

    html: str
    elements: list[Element]
    styles: list[StyleBlock]
    comments: int
    has_doctype: bool
    has_body_tag: bool
    nodes: int  # elements that count for the score (Mailpit's "Nodes")
    locator: HtmlLocator | None = None
    too_deep: int = 0  # the nesting depth when it was too deep to parse, else 0
    _text: str | None = None

    def by_tag(self, *tags: str) -> Iterator[Element]:
        wanted = set(tags)
        return (e for e in self.elements if e.tag in wanted)

    def visible_text(self) -> str:
        """The body's text, whitespace collapsed (lexbor's C text extraction: fast)."""
        cached = self._text
        if cached is None:
            body = next(self.by_tag("body"), None)
            node = body.node if body is not None else None
            raw = node.text(deep=True, separator=" ") if node is not None else ""
            cached = self._text = " ".join(raw.split())
        return cached

    def root_lang(self) -> str | None:
        for e in self.elements:
            if e.tag == "html":
                return e.attrs.get("lang") or e.attrs.get("xml:lang")
        return None


def _source_tags(html: str) -> tuple[dict[str, list[int]], int]:
    """Offsets of every start tag in ``html`` per lower-case tag name, and the deepest
    nesting of ``_SCOPED`` elements (one linear scan)."""
    out: dict[str, list[int]] = {}
    pos = 0
    search = _TAG.search
    n = len(html)
    depth = deepest = 0
    while pos < n:
        m = search(html, pos)
        if m is None:
            break
        pos = m.end()
        name = m.group(2)
        if name is None:
            continue
        lname = name.lower()
        if m.group(1):
            if lname in _SCOPED and depth:
                depth -= 1
            continue
        if lname in _SCOPED:
            depth += 1
            deepest = max(deepest, depth)
        out.setdefault(lname, []).append(m.start())
        if lname in _RAWTEXT:
            pat = _END_TAGS.get(lname)
            if pat is None:
                pat = _END_TAGS[lname] = re.compile(f"</{lname}", re.I)
            end = pat.search(html, pos)
            pos = end.start() if end is not None else n
    return out, deepest


def scan_html(html: str, locator: HtmlLocator | None = None) -> HtmlDoc:
    """Parse ``html`` and list its elements. Never raises on any text.

    HTML nested deeper than ``MAX_NESTING`` block elements is not parsed
    (``HtmlDoc.too_deep``): an HTML5 parser spends time quadratic in the
    depth on it (seconds for a few hundred KB), and no real message needs it.
    """
    source, deepest = _source_tags(html)
    nodes: list[LexborNode] = []
    if deepest <= MAX_NESTING:
        try:
            root = LexborHTMLParser(html).root
            nodes = list(root.traverse(include_text=False)) if root is not None else []
        except Exception:  # noqa: BLE001 - a parser failure leaves an empty document
            nodes = []
    elements: list[Element] = []
    comments = 0
    for node in nodes:
        tag = node.tag or ""
        if tag.startswith("-") or tag.startswith("#"):
            if tag == "-comment":
                comments += 1
            continue
        elements.append(Element(tag.lower(), dict(node.attributes), node))
    _assign_positions(source, elements, locator)
    styles = [
        StyleBlock(e.node.text(deep=True), e.line)
        for e in elements
        if e.tag == "style" and (e.attrs.get("type") or "text/css").strip().lower() == "text/css"
    ]
    has_body_tag = _BODY_TAG.search(html) is not None
    skip = {"html", "head", "meta", "title", "base", "link"} if has_body_tag else set()
    counted = sum(1 for e in elements if e.tag not in skip)
    if not has_body_tag:
        counted = sum(1 for e in elements if e.tag not in ("html", "head", "body"))
    return HtmlDoc(
        html=html,
        elements=elements,
        styles=styles,
        comments=comments,
        has_doctype=_DOCTYPE.match(html) is not None,
        has_body_tag=has_body_tag,
        nodes=max(counted, 1),
        locator=locator,
        too_deep=deepest if deepest > MAX_NESTING else 0,
    )


def _assign_positions(
    source: dict[str, list[int]], elements: list[Element], locator: HtmlLocator | None
) -> None:
    parsed = Counter(e.tag for e in elements)
    taken: Counter[str] = Counter()
    for e in elements:
        offsets = source.get(e.tag)
        if not offsets or len(offsets) != parsed[e.tag]:
            continue
        k = taken[e.tag]
        taken[e.tag] = k + 1
        e.offset = offsets[k]
        if locator is not None:
            e.line = locator.line(e.offset)
