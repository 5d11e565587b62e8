"""Accessibility basics a screen-reader user or a low-vision reader hits first.

One finding per kind (code), with every occurrence counted and the first
20 listed with their source lines (``data["occurrences"]``):

- ``img-no-alt``: an image without ``alt`` (screen readers read the file
  name or URL); ``img-decorative-alt``: an image that looks decorative (at
  most 2 px wide or high: spacers and tracking pixels; or
  ``role="presentation"``/``"none"``, ``aria-hidden="true"``) without
  ``alt=""`` (empty), so it is announced;
- ``html-no-lang``: no ``lang`` on ``<html>`` (wrong voice and pronunciation);
- ``layout-table-no-role``: a table with no ``th``/``caption``/``thead``
  (used for layout) without ``role="presentation"``: screen readers announce
  rows and columns of a layout grid;
- ``link-text-vague``: link text such as "click here", "here", "read more"
  (links are read out of context); ``link-no-text``: a link with no text, no
  ``alt`` on its image and no ``aria-label``;
- ``font-too-small``: an inline ``font-size`` under ``MIN_FONT_PX`` = 12 px
  (pt converted at 4/3; ``xx-small``/``x-small`` as 9/10 px; relative units
  not judged; 0 px and ``display:none`` are hiding, e.g. preheader text, not
  small text). 12 px is the floor commonly advised for email body text;
  under ``TINY_FONT_PX`` = 10 px it is a warning, else a note;
- ``low-contrast``: text colour and background both given inline (the
  element's ``color``/``<font color>`` and its own or nearest ancestor's
  ``background-color``/``background``/``bgcolor``) with a WCAG contrast
  ratio under 4.5:1 (AA for body text); under 3:1 an error. Only elements
  with text of their own are judged (a ``<font color>`` whose only text is
  in a recoloured ``<span>`` is not).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from selectolax.lexbor import LexborNode

from .contrast import contrast_ratio, parse_color
from .cssscan import style_values
from .htmlscan import Element, HtmlDoc
from .inputs import CheckInput
from .model import FamilyResult, Finding, Severity
from .results import family_result

__all__ = ["MIN_FONT_PX", "TINY_FONT_PX", "check_accessibility"]

FAMILY = "accessibility"
MIN_FONT_PX = 12.0
TINY_FONT_PX = 10.0
AA_RATIO = 4.5
FAIL_RATIO = 3.0
MAX_OCCURRENCES = 20
MAX_ANCESTORS = 60
VAGUE_LINK_TEXTS = frozenset(
    {
        "click here",
        "here",
        "read more",
        "more",
        "learn more",
        "click",
        "this link",
        "link",
        "go",
        "details",
        "more info",
    }
)
_SIZE = re.compile(r"([0-9]*\.?[0-9]+)\s*(px|pt)\b", re.I)
_KEYWORD_SIZES = {"xx-small": 9.0, "x-small": 10.0}


@dataclass
class _Kind:
    severity: Severity
    count: int = 0
    occurrences: list[dict[str, object]] = field(default_factory=list)
    worst: float | None = None


class _Collector:
    def __init__(self) -> None:
        self.kinds: dict[str, _Kind] = {}
        self.backgrounds: dict[int, str | None] = {}  # node -> nearest inline background

    def add(self, code: str, sev: Severity, el: Element, note: str = "") -> None:
        kind = self.kinds.setdefault(code, _Kind(sev))
        if sev.rank > kind.severity.rank:
            kind.severity = sev
        kind.count += 1
        if len(kind.occurrences) < MAX_OCCURRENCES:
            kind.occurrences.append({"where": el.describe(), "line": el.line, "note": note})


def _px(value: str) -> float | None:
    v = value.strip().lower().removesuffix("!important").strip()
    if v in _KEYWORD_SIZES:
        return _KEYWORD_SIZES[v]
    m = _SIZE.fullmatch(v)
    if m is None:
        return None
    n = float(m.group(1))
    return n * 4 / 3 if m.group(2).lower() == "pt" else n


def _style_value(attrs: dict[str, str | None], prop: str) -> str | None:
    style = attrs.get("style")
    return style_values(style).get(prop) if style else None


def _background(attrs: dict[str, str | None]) -> str | None:
    bg = _style_value(attrs, "background-color")
    if bg is None:
        shorthand = _style_value(attrs, "background")
        if shorthand is not None and parse_color(shorthand) is not None:
            bg = shorthand
    return bg if bg is not None else attrs.get("bgcolor")


def _inherited_background(node: LexborNode, memo: dict[int, str | None]) -> str | None:
    """The nearest ancestor's inline background; ``memo`` (by node) keeps it linear."""
    seen: list[int] = []
    found: str | None = None
    cur = node.parent
    for _ in range(MAX_ANCESTORS):
        if cur is None:
            break
        key = cur.mem_id
        if key in memo:
            found = memo[key]
            break
        seen.append(key)
        attrs = cur.attributes
        bg = _background(attrs) if attrs else None
        if bg is not None:
            found = bg
            break
        cur = cur.parent
    for key in seen:
        memo[key] = found
    return found


def _has_own_text(node: LexborNode) -> bool:
    """Whether the element itself holds visible text (not only children that recolour it)."""
    for child in node.iter(include_text=True):
        if child.is_text_node and (child.text_content or "").strip():
            return True
    return False


def _images(el: Element, out: _Collector) -> None:
    a = el.attrs
    role = (a.get("role") or "").lower()
    width, height = _px((a.get("width") or "") + "px"), _px((a.get("height") or "") + "px")
    decorative = (
        role in ("presentation", "none")
        or (a.get("aria-hidden") or "").lower() == "true"
        or (width is not None and width <= 2)
        or (height is not None and height <= 2)
    )
    if "alt" not in a:
        if decorative:
            out.add("img-decorative-alt", Severity.WARNING, el, "no alt")
        else:
            out.add("img-no-alt", Severity.WARNING, el)
    elif decorative and (a.get("alt") or "").strip():
        out.add("img-decorative-alt", Severity.INFO, el, f"alt={a.get('alt')!r}")


def _link(el: Element, out: _Collector) -> None:
    if not el.attrs.get("href") or el.attrs.get("aria-label"):
        return
    text = " ".join((el.node.text(deep=True) or "").split()).lower().strip(" .:!>»→…")
    if text in VAGUE_LINK_TEXTS:
        out.add("link-text-vague", Severity.WARNING, el, text)
    elif not text:
        alts = [(img.attributes.get("alt") or "").strip() for img in el.node.css("img")]
        if not any(alts):
            out.add("link-no-text", Severity.WARNING, el)


def _styles(el: Element, out: _Collector) -> None:
    size = _style_value(el.attrs, "font-size")
    if size is not None:
        px = _px(size)
        hidden = (_style_value(el.attrs, "display") or "").lower().startswith("none")
        if px is not None and 0 < px < MIN_FONT_PX and not hidden:
            sev = Severity.WARNING if px < TINY_FONT_PX else Severity.INFO
            out.add("font-too-small", sev, el, f"font-size: {size} ({px:.3g} px)")
    color = _style_value(el.attrs, "color")
    if color is None and el.tag == "font":
        color = el.attrs.get("color")
    fg = parse_color(color)
    if fg is None or not _has_own_text(el.node):
        return
    bg_text = _background(el.attrs)
    if bg_text is None:
        bg_text = _inherited_background(el.node, out.backgrounds)
    bg = parse_color(bg_text)
    if bg is None:
        return
    ratio = contrast_ratio(fg, bg)
    if ratio < AA_RATIO:
        sev = Severity.ERROR if ratio < FAIL_RATIO else Severity.WARNING
        out.add("low-contrast", sev, el, f"{color} on {bg_text}: {ratio:.2f}:1")
        kind = out.kinds["low-contrast"]
        kind.worst = ratio if kind.worst is None else min(kind.worst, ratio)


def _layout_tables(doc: HtmlDoc, out: _Collector) -> None:
    data_tables: set[int] = set()
    for el in doc.by_tag("th", "caption", "thead"):
        cur = el.node.parent
        for _ in range(MAX_ANCESTORS):
            if cur is None:
                break
            if cur.tag == "table":
                data_tables.add(cur.mem_id)
                break
            cur = cur.parent
    for el in doc.by_tag("table"):
        role = (el.attrs.get("role") or "").lower()
        if role in ("presentation", "none") or el.node.mem_id in data_tables:
            continue
        out.add("layout-table-no-role", Severity.WARNING, el)


_TITLES = {
    "img-no-alt": ("{n} image{s} without alt text", "Add alt text saying what the image shows."),
    "img-decorative-alt": (
        '{n} decorative image{s} (spacer, pixel or presentation) without alt=""',
        'Give decorative images alt="" so screen readers skip them.',
    ),
    "layout-table-no-role": (
        '{n} layout table{s} without role="presentation"',
        'Add role="presentation" to tables used for layout.',
    ),
    "link-text-vague": (
        '{n} link{s} with vague text ("click here", "read more")',
        "Say where the link goes: links are often read out of context.",
    ),
    "link-no-text": (
        "{n} link{s} with no text (and no alt on the image inside)",
        "Give the link text, an image alt or aria-label.",
    ),
    "font-too-small": (
        "{n} element{s} with a font size under 12 px",
        "Use at least 12 px (14 px or more for body text).",
    ),
    "low-contrast": (
        "{n} element{s} with text/background contrast under 4.5:1",
        "Raise the contrast to at least 4.5:1 (WCAG AA).",
    ),
}


def check_accessibility(inp: CheckInput) -> FamilyResult:
    doc = inp.doc
    if doc is None:
        return family_result(FAMILY, [], "no HTML body: nothing to check")
    out = _Collector()
    findings: list[Finding] = []
    html_el = next(doc.by_tag("html"), None)
    if not doc.root_lang():
        findings.append(
            Finding(
                FAMILY,
                "html-no-lang",
                Severity.WARNING,
                "No lang attribute on <html>",
                where="<html>",
                line=html_el.line if html_el is not None else None,
                advice='Add lang="en" (or the language of the text): screen readers pick '
                "their voice from it.",
            )
        )
    for el in doc.elements:
        if el.tag == "img":
            _images(el, out)
        elif el.tag == "a":
            _link(el, out)
        if "style" in el.attrs or el.tag == "font":
            _styles(el, out)
    _layout_tables(doc, out)
    for code, kind in out.kinds.items():
        title, advice = _TITLES[code]
        first = kind.occurrences[0] if kind.occurrences else {}
        line = first.get("line")
        detail = ""
        if kind.worst is not None:
            detail = f"Lowest contrast ratio: {kind.worst:.2f}:1"
        findings.append(
            Finding(
                FAMILY,
                code,
                kind.severity,
                title.format(n=kind.count, s="" if kind.count == 1 else "s"),
                detail=detail,
                where=str(first.get("where", "")),
                line=line if isinstance(line, int) else None,
                advice=advice,
                data={"count": kind.count, "occurrences": kind.occurrences},
            )
        )
    return family_result(FAMILY, findings, "no accessibility problems found")
