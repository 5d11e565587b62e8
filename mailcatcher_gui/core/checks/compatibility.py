"""Client compatibility: which HTML/CSS features the body uses, and who supports them.

Like Mailpit's html-check, from caniemail's data, but computed differently
where Mailpit's numbers are hard to read (see ``caniemail`` for "latest
version per client"):

- every feature found is one ``Finding`` (code = the caniemail slug), with
  its support per client family (yes / partial with the notes / no), how
  often and where it is used (``data["occurrences"]``, the first 20, with
  raw source lines);
- a feature's severity: ERROR when no client supports it, WARNING when a
  current Gmail, Outlook, Apple Mail or Yahoo client does not, INFO when
  some client supports it only partly or not at all, else OK;
- the scores count (client, feature) pairs over the features found:
  supported %, partial %, unsupported %; ``score`` = supported + partial/2,
  overall and per family (``data["families"]``) and platform;
- ``data["mailpit"]`` is Mailpit's HTMLCheckResponse shape (Warnings with
  Results and Score, Platforms, Total{Nodes, Tests, Supported, Partial,
  Unsupported}), with the Warnings limited to features not fully supported
  and notes/descriptions kept as caniemail's Markdown.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from .caniemail import MAJOR_FAMILIES, Feature, SupportData, load
from .cssscan import scan_inline, scan_stylesheet
from .features import (
    ATTRIBUTE_SLUGS,
    BUTTON_TYPE_SLUGS,
    ELEMENT_SLUGS,
    IMAGE_EXTENSIONS,
    IMAGE_TYPES,
    INPUT_TYPE_SLUGS,
)
from .htmlscan import MAX_NESTING, HtmlDoc
from .inputs import CheckInput
from .model import FamilyResult, Finding, Severity, worst

__all__ = ["FeatureHits", "check_compatibility", "find_features"]

FAMILY = "compatibility"
MAX_OCCURRENCES = 20
# <style> text analysed per message: tinycss2 reads about 1 MB/s, and real
# mail has a few KB; beyond this a finding says the rest was not read.
MAX_STYLESHEET_CHARS = 768 * 1024
_AMP_TYPES = frozenset({"text/x-amp-html"})


class FeatureHits:
    """slug -> (count, first occurrences [(where, line)])."""

    def __init__(self) -> None:
        self.count: dict[str, int] = {}
        self.where: dict[str, list[tuple[str, int | None]]] = {}
        self.css_chars = 0  # characters of <style> blocks in the message
        self.css_skipped = 0  # of which not analysed (over MAX_STYLESHEET_CHARS)

    def add(self, slug: str, where: str, line: int | None) -> None:
        n = self.count.get(slug, 0)
        self.count[slug] = n + 1
        if n < MAX_OCCURRENCES:
            self.where.setdefault(slug, []).append((where, line))


def find_features(doc: HtmlDoc, inp: CheckInput | None = None) -> FeatureHits:
    """Every caniemail feature the document uses (one pass over the elements)."""
    load()  # the property table needs the data's slugs
    hits = FeatureHits()
    cid_types: dict[str, str] = {}
    if inp is not None:
        for a in inp.opened.parsed.attachments:
            if a.content_id:
                cid_types[a.content_id.lower()] = a.content_type
    for el in doc.elements:
        tag, attrs, line = el.tag, el.attrs, el.line
        slug = ELEMENT_SLUGS.get(tag)
        if slug is not None:
            hits.add(slug, f"<{tag}>", line)
        elif tag == "body" and doc.has_body_tag:
            hits.add("html-body", "<body>", line)
        if tag == "input":
            slug = INPUT_TYPE_SLUGS.get((attrs.get("type") or "text").lower())
            if slug is not None:
                hits.add(slug, el.describe(), line)
        elif tag == "button":
            slug = BUTTON_TYPE_SLUGS.get((attrs.get("type") or "submit").lower())
            if slug is not None:
                hits.add(slug, el.describe(), line)
        elif tag == "a":
            href = (attrs.get("href") or "").strip()
            if href.startswith("#") and len(href) > 1:
                hits.add("html-anchor-links", el.describe(), line)
            elif href.lower().startswith("mailto:"):
                hits.add("html-mailto-links", el.describe(), line)
        elif tag == "meta":
            if (attrs.get("name") or "").lower() in ("color-scheme", "supported-color-schemes"):
                hits.add("html-meta-color-scheme", el.describe(), line)
        elif tag == "img":
            slug = _image_slug(attrs.get("src") or "", cid_types)
            if slug is not None:
                hits.add(slug, el.describe(), line)
        elif tag == "html" and ("amp4email" in attrs or "⚡4email" in attrs):
            hits.add("amp", "<html amp4email>", line)
        for name in attrs:
            aslug = ATTRIBUTE_SLUGS.get(name)
            if aslug is not None:
                hits.add(aslug, f"<{tag} {name}>", line)
        style = attrs.get("style")
        if style:
            for sslug, where in scan_inline(style):
                hits.add(sslug, f"<{tag} style> {where}", line)
    budget = MAX_STYLESHEET_CHARS
    for block in doc.styles:
        css = block.css
        hits.css_chars += len(css)
        if len(css) > budget:
            hits.css_skipped += len(css) - budget
            css = css[:budget]
        budget -= len(css)
        for sslug, where, rel in scan_stylesheet(css):
            hits.add(
                sslug, f"<style> {where}", None if block.line is None else block.line + rel - 1
            )
    if doc.comments:
        hits.count["html-comments"] = doc.comments
        hits.where["html-comments"] = [("<!-- -->", None)]
    if doc.has_doctype:
        hits.add("html-doctype", "<!DOCTYPE html>", doc.locator.line(0) if doc.locator else None)
    if inp is not None:
        for part in inp.opened.parsed.parts:
            if part.content_type in _AMP_TYPES:
                hits.add("amp", f"part {part.part_id} ({part.content_type})", None)
    return hits


def _image_slug(src: str, cid_types: dict[str, str]) -> str | None:
    src = src.strip()
    low = src[:12].lower()
    if low.startswith("data:image/"):
        return "image-base64"
    if low.startswith("cid:"):
        ctype = cid_types.get(src[4:].strip("<> ").lower())
        return IMAGE_TYPES.get(ctype or "")
    try:
        path = urlsplit(src).path
    except ValueError:
        return None
    ext = path.rsplit(".", 1)[-1].lower() if "." in path.rsplit("/", 1)[-1] else ""
    return IMAGE_EXTENSIONS.get(ext)


def _pct(y: int, p: int, n: int) -> tuple[float, float, float]:
    total = y + p + n
    if not total:
        return 100.0, 0.0, 0.0
    return (round(100 * y / total, 2), round(100 * p / total, 2), round(100 * n / total, 2))


def _score(y: int, p: int, n: int) -> float:
    s, part, _u = _pct(y, p, n)
    return round(s + part / 2, 1)


def _severity(feature: Feature) -> Severity:
    clients = feature.clients
    if clients and all(c.support == "no" for c in clients):
        return Severity.ERROR
    if any(c.support == "no" and c.family in MAJOR_FAMILIES for c in clients):
        return Severity.WARNING
    if any(c.support != "yes" for c in clients):
        return Severity.INFO
    return Severity.OK


def _support_text(data: SupportData, feature: Feature) -> tuple[str, str]:
    """(one-line title part, detail with the notes) for one feature."""
    by_word: dict[str, dict[str, list[str]]] = {"no": {}, "partial": {}}
    notes: set[str] = set()
    for c in feature.clients:
        if c.support in by_word:
            by_word[c.support].setdefault(data.family_name(c.family), []).append(
                data.platform_name(c.platform)
            )
            notes.update(c.notes)
    bits = []
    for word, label in (("no", "not supported in"), ("partial", "partly supported in")):
        fams = by_word[word]
        if fams:
            names = ", ".join(f"{f} ({', '.join(p)})" for f, p in list(fams.items())[:4])
            more = f" and {len(fams) - 4} more" if len(fams) > 4 else ""
            bits.append(f"{label} {names}{more}")
    title = "; ".join(bits) if bits else "supported by every tested client"
    detail = "\n".join(
        f"#{k}: {feature.notes_by_num[k]}"
        for k in sorted(notes, key=int)
        if k in feature.notes_by_num
    )
    return title, detail


def _mailpit_warning(data: SupportData, feature: Feature, found: int) -> dict[str, Any]:
    y, p, n = feature.counts()
    sup, part, uns = _pct(y, p, n)
    return {
        "Slug": feature.slug,
        "Title": feature.title,
        "Description": feature.description,
        "URL": feature.url,
        "Category": feature.category,
        "Tags": list(feature.tags),
        "Keywords": feature.keywords,
        "NotesByNumber": dict(feature.notes_by_num),
        "Results": [
            {
                "Name": f"{data.family_name(c.family)} {data.platform_name(c.platform)}"
                f" ({c.version})",
                "Platform": c.platform,
                "Family": c.family,
                "Version": c.version,
                "Support": c.support,
                "NoteNumber": c.notes[-1] if c.notes else "",
            }
            for c in feature.clients
        ],
        "Score": {"Found": found, "Supported": sup, "Partial": part, "Unsupported": uns},
    }


def _family_scores(data: SupportData, features: Iterable[Feature]) -> list[dict[str, Any]]:
    tally: dict[str, dict[str, list[int]]] = {}
    for f in features:
        for c in f.clients:
            slot = tally.setdefault(c.family, {}).setdefault(c.platform, [0, 0, 0])
            slot[{"yes": 0, "partial": 1, "no": 2}[c.support]] += 1
    order = {fam: i for i, fam in enumerate(MAJOR_FAMILIES)}
    out = []
    for fam in sorted(tally, key=lambda f: (order.get(f, len(order)), data.family_name(f))):
        plats = tally[fam]
        y = sum(v[0] for v in plats.values())
        p = sum(v[1] for v in plats.values())
        n = sum(v[2] for v in plats.values())
        sup, part, uns = _pct(y, p, n)
        out.append(
            {
                "family": fam,
                "name": data.family_name(fam),
                "score": _score(y, p, n),
                "supported": sup,
                "partial": part,
                "unsupported": uns,
                "platforms": {
                    plat: {"name": data.platform_name(plat), "score": _score(*v)}
                    for plat, v in sorted(plats.items())
                },
            }
        )
    return out


def check_compatibility(inp: CheckInput) -> FamilyResult:
    doc = inp.doc
    if doc is None:
        return FamilyResult(FAMILY, Severity.OK, "no HTML body: nothing to check", score=None)
    data = load()
    hits = find_features(doc, inp)
    findings: list[Finding] = []
    if hits.css_skipped:
        findings.append(
            Finding(
                FAMILY,
                "css-not-fully-analysed",
                Severity.INFO,
                f"Only the first {MAX_STYLESHEET_CHARS // 1024} KB of {hits.css_chars // 1024} KB "
                "of <style> CSS was analysed",
                where="<style>",
            )
        )
    if doc.too_deep:
        findings.append(
            Finding(
                FAMILY,
                "html-too-deep",
                Severity.WARNING,
                f"HTML nested {doc.too_deep} block elements deep: not analysed "
                f"(over {MAX_NESTING})",
                where="text/html",
                line=None if inp.html_entity is None else inp.entity_line(inp.html_entity),
                advice="Clients cut or flatten such nesting (Chromium at 512 levels).",
            )
        )
    warnings: list[dict[str, Any]] = []
    used: list[Feature] = []
    y = p = n = 0
    for slug, count in hits.count.items():
        feature = data.features.get(slug)
        if feature is None:
            continue
        used.append(feature)
        fy, fp, fn = feature.counts()
        y, p, n = y + fy, p + fp, n + fn
        title, detail = _support_text(data, feature)
        occurrences = hits.where.get(slug, [])
        first_where, first_line = occurrences[0] if occurrences else ("", None)
        findings.append(
            Finding(
                family=FAMILY,
                code=slug,
                severity=_severity(feature),
                title=f"{feature.title}: {title}",
                detail=detail,
                where=first_where,
                line=first_line,
                advice="" if fn == 0 else "Provide a fallback, or avoid it for the clients listed.",
                data={
                    "slug": slug,
                    "count": count,
                    "url": feature.url,
                    "occurrences": [{"where": w, "line": ln} for w, ln in occurrences],
                    "support": [
                        {
                            "family": c.family,
                            "platform": c.platform,
                            "version": c.version,
                            "support": c.support,
                            "notes": [feature.notes_by_num.get(k, "") for k in c.notes],
                        }
                        for c in feature.clients
                    ],
                },
            )
        )
        if fp or fn:
            warnings.append(_mailpit_warning(data, feature, count))
    findings.sort(key=lambda f: (-f.severity.rank, f.code))
    warnings.sort(
        key=lambda w: -(w["Score"]["Unsupported"] + w["Score"]["Partial"]) * w["Score"]["Found"]
    )
    sup, part, uns = _pct(y, p, n)
    families = _family_scores(data, used)
    score = _score(y, p, n)
    major = ", ".join(f"{f['name']} {f['score']:g}%" for f in families[: len(MAJOR_FAMILIES)])
    counts = sum(1 for f in findings if f.severity.rank >= Severity.WARNING.rank)
    summary = f"{score:g}% supported ({major})"
    if counts:
        summary += f"; {counts} feature{'s' if counts != 1 else ''} unsupported in major clients"
    mailpit = {
        "Warnings": warnings,
        "Platforms": data.platforms,
        "Total": {
            "Nodes": doc.nodes,
            "Tests": len(data.features),
            "Supported": sup,
            "Partial": part,
            "Unsupported": uns,
        },
    }
    return FamilyResult(
        family=FAMILY,
        verdict=worst(findings),
        summary=summary,
        findings=tuple(findings),
        score=score,
        data={
            "mailpit": mailpit,
            "families": families,
            "supported": sup,
            "partial": part,
            "unsupported": uns,
            "caniemail": {"version": data.version, "updated": data.updated},
        },
    )
