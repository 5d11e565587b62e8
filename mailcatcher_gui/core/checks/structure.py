"""Body structure (part of the headers family): alternatives, charsets, attachment types.

- An HTML body needs a text alternative (spam filters score HTML-only mail,
  text-only clients and previews show nothing); a text part that is empty,
  or far shorter than the HTML's text (under ``SHORT_RATIO`` of it once the
  HTML has ``SHORT_MIN_CHARS`` characters of text), is flagged too.
- A text part with 8-bit bytes and no charset, or a charset no decoder
  knows, is shown differently by every client.
- An attachment whose first bytes are another format than its declared
  type (``sniff``) is rejected by scanners or opened by the wrong program.
- The parser's repairs (MIME defects) are listed as notes.
"""

from __future__ import annotations

from ..mime.charset import resolve
from ..mime.decode import decode_payload
from ..mime.entity import LEAF
from .inputs import CheckInput
from .model import Finding, Severity
from .sniff import contradicts, sniff

__all__ = ["SHORT_MIN_CHARS", "SHORT_RATIO", "structure_findings"]

FAMILY = "headers"
SHORT_RATIO = 0.2
SHORT_MIN_CHARS = 400
MAX_DEFECTS = 20


def structure_findings(inp: CheckInput) -> list[Finding]:
    out: list[Finding] = []
    _alternative(inp, out)
    _charsets(inp, out)
    _attachments(inp, out)
    for defect in inp.opened.parsed.defects[:MAX_DEFECTS]:
        part_id, _, text = defect.partition(": ")
        out.append(
            Finding(
                FAMILY,
                "mime-defect",
                Severity.INFO,
                f"MIME repair: {text or defect}",
                where=f"part {part_id}",
                line=inp.part_line(part_id),
            )
        )
    return out


def _alternative(inp: CheckInput, out: list[Finding]) -> None:
    parsed = inp.opened.parsed
    if parsed.html is None:
        return
    html_line = None if inp.html_entity is None else inp.entity_line(inp.html_entity)
    if parsed.text is None:
        out.append(
            Finding(
                FAMILY,
                "html-without-text",
                Severity.WARNING,
                "HTML body without a text/plain alternative",
                where="text/html",
                line=html_line,
                advice="Send multipart/alternative with a text part: spam filters score "
                "HTML-only mail, and text-only clients show nothing.",
            )
        )
        return
    text_index = inp.text_index
    text_line = None if text_index is None else inp.entity_line(inp.tree.entities[text_index])
    text_len = len(parsed.text.strip())
    if text_len == 0:
        out.append(
            Finding(
                FAMILY,
                "text-alternative-empty",
                Severity.WARNING,
                "The text/plain alternative is empty",
                where="text/plain",
                line=text_line,
                advice="Put the message's text in it (generate it from the HTML if need be).",
            )
        )
        return
    html_len = len(inp.doc.visible_text()) if inp.doc is not None else 0
    if html_len >= SHORT_MIN_CHARS and text_len < SHORT_RATIO * html_len:
        out.append(
            Finding(
                FAMILY,
                "text-alternative-short",
                Severity.WARNING,
                f"The text alternative is far shorter than the HTML ({text_len} vs "
                f"{html_len} characters of text)",
                where="text/plain",
                line=text_line,
                advice="Keep both alternatives saying the same thing.",
                data={"text_chars": text_len, "html_chars": html_len},
            )
        )


def _charsets(inp: CheckInput, out: list[Finding]) -> None:
    root_buf = inp.tree.root.buf
    for _idx, e in inp.tree.iter_order():
        if e.kind != LEAF or not e.ctype.startswith("text/") or e.disposition == "attachment":
            continue
        label = e.params.get("charset")
        line = inp.entity_line(e) if e.buf is root_buf else None
        where = f"part {e.part_id} ({e.ctype})"
        if label is None:
            data, _ = decode_payload(e.payload(), e.cte)
            if not data.isascii():
                out.append(
                    Finding(
                        FAMILY,
                        "charset-missing",
                        Severity.WARNING,
                        "8-bit text without a declared charset",
                        where=where,
                        line=line,
                        advice="Add charset=utf-8 to the Content-Type.",
                    )
                )
        elif resolve(label) is None:
            out.append(
                Finding(
                    FAMILY,
                    "charset-unknown",
                    Severity.WARNING,
                    f"Unknown charset {label.strip()[:40]!r}",
                    where=where,
                    line=line,
                    advice="Use utf-8.",
                )
            )


def _attachments(inp: CheckInput, out: list[Finding]) -> None:
    for a in inp.opened.parsed.attachments:
        kind = sniff(a.data[:4096])
        if contradicts(a.content_type, kind):
            out.append(
                Finding(
                    FAMILY,
                    "attachment-type-mismatch",
                    Severity.WARNING,
                    f"{a.filename} is declared {a.content_type} but its bytes are {kind}",
                    where=f"part {a.part_id} ({a.filename})",
                    line=inp.part_line(a.part_id),
                    advice="Declare the real type: scanners reject, and clients mis-open, "
                    "attachments whose type lies.",
                    data={"declared": a.content_type, "sniffed": kind},
                )
            )
