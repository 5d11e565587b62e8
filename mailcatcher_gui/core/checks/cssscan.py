"""CSS (``style`` attributes and ``<style>`` blocks) -> the caniemail features it uses.

tinycss2 does the tokenising and the rule structure (at-rules, qualified
rules, nested rules, ``!important``, comments); this module walks the result
once and looks every property, value token, at-rule, media feature and
selector token up in ``features``.

A ``style`` attribute's features are cached by its text: newsletters repeat
the same few dozen style strings on thousands of cells, so the CSS parser
runs once per distinct string, keeping a 2 MB message linear and fast.
"""

from __future__ import annotations

import contextlib
from functools import lru_cache
from typing import Any

import tinycss2  # type: ignore[import-untyped]

from .features import (
    AT_RULE_SLUGS,
    FUNCTION_SLUGS,
    KEYWORD_SLUGS,
    MEDIA_FEATURE_SLUGS,
    PSEUDO_SLUGS,
    UNIT_SLUGS,
    VALUE_SLUGS,
    property_slugs,
)

__all__ = ["SheetHit", "scan_inline", "scan_stylesheet", "style_values"]

# (slug, where) for inline styles; (slug, where, 1-based line inside the CSS) for sheets.
InlineHit = tuple[str, str]
SheetHit = tuple[str, str, int]

MAX_DEPTH = 16  # nesting of rules, blocks and functions followed (deeper is hostile)
_NESTING_AT_RULES = frozenset({"media", "supports", "document", "-moz-document", "layer"})


@lru_cache(maxsize=8192)
def _inline(style: str) -> tuple[tuple[InlineHit, ...], dict[str, str]]:
    """One tinycss2 parse of a ``style`` value: its features and its declarations."""
    hits: list[InlineHit] = []
    values: dict[str, str] = {}
    try:
        nodes = tinycss2.parse_blocks_contents(style, skip_whitespace=True, skip_comments=False)
    except Exception:  # noqa: BLE001 - tinycss2 does not raise on CSS, but never trust
        return (), {}
    try:
        for node in nodes:
            if node.type == "declaration":
                hits.extend(_declaration(node))
                values[node.lower_name] = _serialize(node.value)
            elif node.type == "comment":
                hits.append(("css-comments", "/* comment */"))
    except Exception:  # noqa: BLE001 - keep what was read before the surprise
        pass
    return tuple(hits), values


def scan_inline(style: str) -> tuple[InlineHit, ...]:
    """Features used by one ``style`` attribute value."""
    return _inline(style)[0]


def style_values(style: str) -> dict[str, str]:
    """Property -> value (the last declaration wins) of one ``style`` attribute.

    Shared with ``scan_inline``'s cache: the CSS parser runs once per distinct
    style string for both the compatibility and the accessibility checks.
    Do not mutate the returned dict.
    """
    return _inline(style)[1]


def scan_stylesheet(css: str) -> list[SheetHit]:
    """Features used by one ``<style>`` block, with the line inside the block."""
    out: list[SheetHit] = []
    try:
        rules = tinycss2.parse_stylesheet(css, skip_comments=False, skip_whitespace=True)
    except Exception:  # noqa: BLE001
        return out
    # keep what was read before any surprise
    with contextlib.suppress(Exception):
        _rules(rules, out, keyframes=False, depth=0)
    return out


def _rules(rules: list[Any], out: list[SheetHit], keyframes: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for rule in rules:
        line = int(getattr(rule, "source_line", 1) or 1)
        kind = rule.type
        if kind == "comment":
            out.append(("css-comments", "/* comment */", line))
        elif kind == "at-rule":
            _at_rule(rule, out, line, depth + 1)
        elif kind == "qualified-rule":
            if not keyframes:
                _selectors(rule.prelude, out, line)
            _block(rule.content, out, line, depth + 1)


def _at_rule(rule: Any, out: list[SheetHit], line: int, depth: int) -> None:
    kw = rule.lower_at_keyword
    slug = AT_RULE_SLUGS.get(kw)
    prelude = _serialize(rule.prelude)
    if slug is not None:
        out.append((slug, f"@{kw} {_short(prelude)}".rstrip(), line))
    if kw == "media":
        for feature in _media_features(rule.prelude, 0):
            fslug = MEDIA_FEATURE_SLUGS.get(feature)
            if fslug is not None:
                out.append((fslug, f"@media ({feature})", line))
    if rule.content is None:
        return
    if kw in _NESTING_AT_RULES:
        inner = tinycss2.parse_rule_list(rule.content, skip_comments=False, skip_whitespace=True)
        _rules(inner, out, keyframes=False, depth=depth + 1)
    elif kw.endswith("keyframes"):
        inner = tinycss2.parse_rule_list(rule.content, skip_comments=True, skip_whitespace=True)
        _rules(inner, out, keyframes=True, depth=depth + 1)
    elif kw == "font-face":
        return  # its descriptors (src, font-family) are not properties
    else:
        _block(rule.content, out, line, depth + 1)


def _media_features(prelude: list[Any], depth: int) -> list[str]:
    found: list[str] = []
    if depth > MAX_DEPTH:
        return found
    for token in prelude:
        if token.type == "() block":
            for inner in token.content:
                if inner.type == "ident":
                    found.append(inner.lower_value)
                    break
            found.extend(_media_features(token.content, depth + 1))
    return found


def _block(content: list[Any] | None, out: list[SheetHit], line: int, depth: int) -> None:
    if content is None or depth > MAX_DEPTH:
        return
    for node in tinycss2.parse_blocks_contents(content, skip_whitespace=True, skip_comments=False):
        nline = int(getattr(node, "source_line", line) or line)
        if node.type == "declaration":
            for slug, where in _declaration(node):
                out.append((slug, where, nline))
        elif node.type == "comment":
            out.append(("css-comments", "/* comment */", nline))
        elif node.type == "qualified-rule":
            out.append(("css-nesting", _short(_serialize(node.prelude)), nline))
            _selectors(node.prelude, out, nline)
            _block(node.content, out, nline, depth + 1)
        elif node.type == "at-rule":
            _at_rule(node, out, nline, depth + 1)


def _declaration(node: Any) -> list[InlineHit]:
    name: str = node.lower_name
    hits: list[InlineHit] = [(slug, name) for slug in property_slugs(name)]
    value_text = _serialize(node.value)
    label = f"{name}: {_short(value_text, 40)}"
    if node.important:
        hits.append(("css-important", f"{label} !important"))
    first_ident = next((t for t in node.value if t.type == "ident"), None)
    if first_ident is not None:
        slug = VALUE_SLUGS.get((name.removeprefix("-webkit-"), first_ident.lower_value))
        if slug is not None:
            hits.append((slug, label))
    _values(node.value, hits, label, 0)
    return hits


def _values(tokens: list[Any], hits: list[InlineHit], label: str, depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for t in tokens:
        kind = t.type
        if kind == "dimension":
            slug = UNIT_SLUGS.get(t.lower_unit)
            if slug is not None:
                hits.append((slug, label))
        elif kind == "percentage":
            hits.append(("css-unit-percent", label))
        elif kind == "ident":
            slug = KEYWORD_SLUGS.get(t.lower_value)
            if slug is not None:
                hits.append((slug, label))
        elif kind == "function":
            slug = FUNCTION_SLUGS.get(t.lower_name)
            if slug is not None:
                hits.append((slug, label))
            _values(t.arguments, hits, label, depth + 1)


def _selectors(prelude: list[Any], out: list[SheetHit], line: int) -> None:
    text = _short(_serialize(prelude))
    found: set[str] = set()
    have_compound = False
    compound = 0
    pending_space = False
    i, n = 0, len(prelude)

    def simple() -> None:
        nonlocal compound, have_compound, pending_space
        if compound == 0 and pending_space and have_compound:
            found.add("css-selector-descendant")
        pending_space = False
        compound += 1
        have_compound = True
        if compound == 2:
            found.add("css-selector-chaining")

    while i < n:
        t = prelude[i]
        kind = t.type
        if kind == "whitespace":
            if compound:
                pending_space = True
                compound = 0
        elif kind == "literal" and t.value in (",", ">", "+", "~"):
            found.add(
                {
                    ",": "css-selector-grouping",
                    ">": "css-selector-child",
                    "+": "css-selector-adjacent-sibling",
                    "~": "css-selector-general-sibling",
                }[t.value]
            )
            compound = 0
            pending_space = False
            if t.value == ",":
                have_compound = False
        elif kind == "literal" and t.value == ":":
            if i + 1 < n and prelude[i + 1].type == "literal" and prelude[i + 1].value == ":":
                i += 1
            if i + 1 < n and prelude[i + 1].type in ("ident", "function"):
                i += 1
                nt = prelude[i]
                pname = nt.lower_value if nt.type == "ident" else nt.lower_name
                slug = PSEUDO_SLUGS.get(pname)
                if slug is not None:
                    found.add(slug)
            simple()
        elif kind == "hash":
            found.add("css-selector-id")
            simple()
        elif kind == "literal" and t.value == ".":
            found.add("css-selector-class")
            i += 1
            simple()
        elif kind == "[] block":
            found.add("css-selector-attribute")
            simple()
        elif kind == "literal" and t.value == "*":
            found.add("css-selector-universal")
            simple()
        elif kind == "ident":
            found.add("css-selector-type")
            simple()
        i += 1
    for slug in sorted(found):
        out.append((slug, text, line))


def _serialize(nodes: list[Any]) -> str:
    try:
        return str(tinycss2.serialize(nodes)).strip()
    except RecursionError:
        return ""


def _short(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"
