"""Size: Gmail's clipping of long HTML, and the message against providers' size limits.

Gmail shows "[Message clipped] View entire message" and hides the rest
(tracking pixel and unsubscribe footer included) when the HTML is over about
102 KB; the number is Gmail's observed behaviour, measured here as the UTF-8
bytes of the decoded HTML (``GMAIL_CLIP_BYTES`` = 102 × 1024). What takes the
space is reported: inline ``style`` attributes, ``<style>`` blocks,
``data:`` URIs (base64 images), link URLs, HTML comments, whitespace runs,
and the visible text.

Whole-message limits (the raw size as received, attachments in base64
included), as the providers document them:

- Gmail 25 MB (support.google.com/mail/answer/6584),
- Yahoo Mail 25 MB (help.yahoo.com, "Attachment size limits"),
- AOL Mail 25 MB (help.aol.com),
- Outlook.com 20 MB (support.microsoft.com, "Attachment size limits for
  Outlook.com"),
- iCloud Mail 20 MB (support.apple.com/HT202305; larger files via Mail Drop),
- Microsoft 365 / Exchange Online 35 MB by default (learn.microsoft.com,
  "Exchange Online limits", MaxSendSize; 25 MB in some tenants).
"""

from __future__ import annotations

import re

from ..units import format_size
from .htmlscan import HtmlDoc
from .inputs import CheckInput
from .model import FamilyResult, Finding, Severity
from .results import family_result

__all__ = ["GMAIL_CLIP_BYTES", "PROVIDER_LIMITS", "check_size", "html_breakdown"]

FAMILY = "size"
MB = 1024 * 1024
GMAIL_CLIP_BYTES = 102 * 1024
CLIP_WARN_RATIO = 0.9  # warn from 90% of the clipping size
PROVIDER_LIMITS: tuple[tuple[str, int], ...] = (
    ("Outlook.com", 20 * MB),
    ("iCloud Mail", 20 * MB),
    ("Gmail", 25 * MB),
    ("Yahoo Mail", 25 * MB),
    ("AOL Mail", 25 * MB),
    ("Microsoft 365 (default)", 35 * MB),
)
_COMMENTS = re.compile(r"<!--.*?(?:-->|\Z)", re.S)
_SPACE_RUNS = re.compile(r"\s{2,}")
_URL_ATTRS = ("src", "href", "background")


def html_breakdown(doc: HtmlDoc) -> dict[str, int]:
    """Bytes (UTF-8) of the HTML taken by each kind of content."""
    inline_css = block_css = data_uris = urls = 0
    for el in doc.elements:
        style = el.attrs.get("style")
        if style:
            inline_css += len(style.encode("utf-8", "replace"))
        for name in _URL_ATTRS:
            value = el.attrs.get(name)
            if value:
                n = len(value.encode("utf-8", "replace"))
                if value[:5].lower() == "data:":
                    data_uris += n
                else:
                    urls += n
    for block in doc.styles:
        block_css += len(block.css.encode("utf-8", "replace"))
    html = doc.html
    comments = sum(len(m.group()) for m in _COMMENTS.finditer(html))
    whitespace = sum(len(m.group()) - 1 for m in _SPACE_RUNS.finditer(html))
    body = next((e for e in doc.elements if e.tag == "body"), None)
    text = len(body.node.text(deep=True).encode("utf-8", "replace")) if body is not None else 0
    parts = {
        "inline_css": inline_css,
        "style_blocks": block_css,
        "data_uris": data_uris,
        "urls": urls,
        "comments": comments,
        "whitespace": whitespace,
        "text": text,
    }
    size = len(html.encode("utf-8", "replace"))
    parts["other"] = max(0, size - sum(parts.values()))
    return parts


_LABELS = {
    "inline_css": "inline style attributes",
    "style_blocks": "<style> blocks",
    "data_uris": "data: URIs (base64 images)",
    "urls": "link and image URLs",
    "comments": "HTML comments",
    "whitespace": "whitespace runs",
    "text": "visible text",
    "other": "tags, attributes and other markup",
}


def _clip(inp: CheckInput, out: list[Finding]) -> dict[str, object]:
    html = inp.html
    if not html:
        return {}
    size = len(html.encode("utf-8", "replace"))
    info: dict[str, object] = {"html_bytes": size, "gmail_clip_bytes": GMAIL_CLIP_BYTES}
    if size < CLIP_WARN_RATIO * GMAIL_CLIP_BYTES:
        return info
    breakdown = html_breakdown(inp.doc) if inp.doc is not None else {}
    info["breakdown"] = breakdown
    top = sorted(breakdown.items(), key=lambda kv: -kv[1])[:4]
    detail = "; ".join(
        f"{_LABELS[k]}: {format_size(v)} ({100 * v / size:.0f}%)" for k, v in top if v
    )
    line = None if inp.html_entity is None else inp.entity_line(inp.html_entity)
    if size > GMAIL_CLIP_BYTES:
        over = size - GMAIL_CLIP_BYTES
        out.append(
            Finding(
                FAMILY,
                "gmail-clipped",
                Severity.ERROR,
                f"HTML is {format_size(size)}: Gmail clips it ({format_size(over)} over "
                f"{format_size(GMAIL_CLIP_BYTES)})",
                detail=f"Taking the space: {detail}",
                where="text/html",
                line=line,
                advice="Move CSS out of repeated style attributes, host images instead of "
                "inlining them, drop comments and whitespace.",
                data={"html_bytes": size, "over_bytes": over, "breakdown": breakdown},
            )
        )
    else:
        out.append(
            Finding(
                FAMILY,
                "gmail-clip-near",
                Severity.WARNING,
                f"HTML is {format_size(size)}, close to Gmail's clipping at "
                f"{format_size(GMAIL_CLIP_BYTES)}",
                detail=f"Taking the space: {detail}",
                where="text/html",
                line=line,
                data={"html_bytes": size, "breakdown": breakdown},
            )
        )
    return info


def _total(inp: CheckInput, out: list[Finding]) -> dict[str, object]:
    size = len(inp.raw)
    refused = [name for name, limit in PROVIDER_LIMITS if size > limit]
    if refused:
        out.append(
            Finding(
                FAMILY,
                "message-too-large",
                Severity.ERROR,
                f"The message is {format_size(size)}: over the limit of {', '.join(refused)}",
                detail="; ".join(f"{n}: {format_size(v)}" for n, v in PROVIDER_LIMITS),
                advice="Link to large files instead of attaching them.",
                data={"bytes": size, "refused_by": refused},
            )
        )
    elif size > 0.8 * PROVIDER_LIMITS[0][1]:
        out.append(
            Finding(
                FAMILY,
                "message-near-limit",
                Severity.WARNING,
                f"The message is {format_size(size)}, close to Outlook.com's and iCloud's "
                f"{format_size(PROVIDER_LIMITS[0][1])}",
                data={"bytes": size},
            )
        )
    return {
        "message_bytes": size,
        "limits": [{"provider": n, "bytes": v} for n, v in PROVIDER_LIMITS],
    }


def check_size(inp: CheckInput) -> FamilyResult:
    findings: list[Finding] = []
    data = {**_clip(inp, findings), **_total(inp, findings)}
    html_bytes = data.get("html_bytes")
    ok = f"{format_size(len(inp.raw))} in all"
    if isinstance(html_bytes, int):
        ok += f", HTML {format_size(html_bytes)} (Gmail clips at {format_size(GMAIL_CLIP_BYTES)})"
    return family_result(FAMILY, findings, ok, data=data)
