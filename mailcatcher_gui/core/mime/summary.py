"""The cheap facts extracted from every message at ingest time.

``summarize`` runs on the mailbox writer thread for each received message
before the SMTP ``250`` is sent, so its cost is paid on every message of a
burst. It therefore does only this:

- one structure scan (``mimetree``: header lines plus ``bytes.find`` for
  boundaries; attachment bodies are skipped over, never decoded, so a 25 MB
  attachment costs a few memory scans, not a base64 decode);
- the same body/attachment rule as the full parse (``mimeselect``), so the
  attachment count and names match what the viewer will show;
- decoding of only the chosen text and HTML parts, and only their first
  ``DECODE_LIMIT`` bytes; the text kept for the search index is capped at
  ``TEXT_LIMIT`` characters; the HTML is rendered to text with the linear
  ``htmltext`` renderer;
- the few headers the list and the index need, decoded leniently (and
  ``X-Tags``, Mailpit's way of tagging a message as it is sent).

It never raises: each step is guarded, and whatever was extracted before a
failure (at least subject and sender, which come first) is returned.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from ..models import Address, Summary, format_addresses
from ..tag_names import tags_from_header
from .addresses import parse_addresses
from .bodies import attachment_filename, select_bodies
from .charset import decode_text, meta_charset
from .decode import IDENTITY, decode_prefix
from .htmltext import html_to_text
from .tree import Entity, build_tree
from .words import decode_words, header_bytes_to_str, unfold

log = logging.getLogger(__name__)

TEXT_LIMIT = 64 * 1024  # characters of body text / HTML text kept for the search index
DECODE_LIMIT = 256 * 1024  # decoded bytes read from a text or HTML part
SNIPPET_LIMIT = 200
NESTED_DECODE_LIMIT = 1 << 20  # encoded embedded messages larger than this are not expanded
HEADER_LIMIT = 16 * 1024  # bytes of Subject/From/Message-ID/Date read (To/Cc: 256 KB)
LIST_LIMIT = 256 * 1024

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]+")
# "Tue, 4 Mar 2025 10:15:00 +0000": what nearly every mailer writes. Parsed
# directly (email.utils costs several times more); anything else goes the
# slow, lenient way.
_DATE = re.compile(
    r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4}) "
    r"(\d\d):(\d\d)(?::(\d\d))? ([+-])(\d\d)(\d\d)(?:\s*(?:\([^()]*\))?\s*)$"
)
_MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}


def summarize(raw: bytes) -> Summary:
    """Extract a :class:`Summary` from ``raw``. Never raises."""
    out: dict[str, Any] = {}  # Summary keyword arguments, filled step by step
    try:
        _fill(raw, out)
    except Exception:  # noqa: BLE001 - partial facts beat a lost message
        log.exception("summary extraction failed; keeping the fields found so far")
    try:
        return Summary(**out)
    except Exception:  # noqa: BLE001
        return Summary()


def _fill(raw: bytes, out: dict[str, Any]) -> None:
    tree = build_tree(raw, nested_decode_limit=NESTED_DECODE_LIMIT)
    root = tree.root
    fields: dict[str, list[bytes]] = {}
    for i, (_name, lname, _a, _b) in enumerate(root.fields):
        fields.setdefault(lname, []).append(root.raw_value(i))

    def text_of(name: str) -> str | None:
        vals = fields.get(name)
        if not vals:
            return None
        raw = vals[0]
        if len(raw) > HEADER_LIMIT:  # cut between words, so no encoded word is split
            cut = raw.rfind(b" ", 0, HEADER_LIMIT)
            raw = raw[: cut if cut > 0 else HEADER_LIMIT]
        return unfold(header_bytes_to_str(raw))

    subject = text_of("subject")
    if subject is not None:
        out["subject"] = decode_words(subject).strip()
    sender = text_of("from")
    if sender is not None:
        addrs = parse_addresses(sender)
        if not addrs:  # e.g. only a comment: show the decoded text as it is
            text = decode_words(sender).strip()
            addrs = [Address("", text)] if text else []
        out["from_addrs"] = tuple(addrs)
        out["from_"] = format_addresses(addrs)
    for key in ("to", "cc"):
        vals = fields.get(key)
        if vals:
            joined = ", ".join(unfold(header_bytes_to_str(v[:LIST_LIMIT])) for v in vals)
            pairs = tuple(parse_addresses(joined))
            out[f"{key}_addrs"] = pairs
            out[key] = tuple(a.formatted() for a in pairs)
    reply_to = fields.get("reply-to")
    if reply_to:
        out["reply_to_addrs"] = tuple(
            parse_addresses(unfold(header_bytes_to_str(reply_to[0][:LIST_LIMIT])))
        )
    x_tags = fields.get("x-tags")
    if x_tags:  # every X-Tags header counts, as Mailpit joins them
        out["tags"] = tags_from_header(
            decode_words(",".join(unfold(header_bytes_to_str(v[:HEADER_LIMIT])) for v in x_tags))
        )
    mid = text_of("message-id")
    if mid is not None:
        out["message_id"] = mid.strip()
    date = text_of("date")
    if date is not None:
        out["date"] = _parse_date(date)

    sel = select_bodies(tree)
    out["has_text"] = sel.text is not None
    out["has_html"] = sel.html is not None
    out["attachments"] = len(sel.attachments)
    out["inline"] = sum(1 for i in sel.attachments if _is_inline(tree.entities[i]))
    out["attachment_names"] = tuple(attachment_filename(tree, i) for i in sel.attachments)

    body_text = html_text = ""
    if sel.text is not None:
        body_text = _decoded_text(tree.entities[sel.text])[:TEXT_LIMIT]
        out["body_text"] = body_text
    if sel.html is not None:
        html = _decoded_text(tree.entities[sel.html], html=True)
        html_text = html_to_text(html, limit=TEXT_LIMIT)
        out["html_text"] = html_text
    source = body_text if body_text.strip() else html_text
    out["snippet"] = _snippet(source)


def _is_inline(e: Entity) -> bool:
    """The full parse's rule (``Attachment.inline``): inline, or no disposition and a CID."""
    return e.disposition == "inline" or (e.disposition is None and e.content_id is not None)


def _parse_date(value: str) -> datetime | None:
    m = _DATE.match(value)
    if m is not None:
        month = _MONTHS.get(m.group(2).lower())
        if month is not None:
            try:
                minutes = int(m.group(8)) * 60 + int(m.group(9))
                tz = (
                    UTC
                    if minutes == 0
                    else timezone(timedelta(minutes=-minutes if m.group(7) == "-" else minutes))
                )
                return datetime(
                    int(m.group(3)),
                    month,
                    int(m.group(1)),
                    int(m.group(4)),
                    int(m.group(5)),
                    int(m.group(6) or 0),
                    tzinfo=tz,
                )
            except (ValueError, OverflowError):
                pass  # e.g. 31 Feb or a +9999 offset: let email.utils decide
    try:
        dt = parsedate_to_datetime(value.strip())
    except Exception:  # noqa: BLE001 - TypeError/ValueError/IndexError/OverflowError on junk
        return None
    if dt is None:
        return None
    if dt.tzinfo is None:  # "-0000": UTC with no local zone information
        dt = dt.replace(tzinfo=UTC)
    return dt


def _decoded_text(e: Entity, html: bool = False) -> str:
    """The first ``DECODE_LIMIT`` decoded bytes of a text part, as text."""
    end = e.body_end if e.body_end is not None else len(e.buf)
    cap = DECODE_LIMIT if e.cte == IDENTITY else DECODE_LIMIT * 3 + 4096
    stop = min(end, e.body_start + cap)
    data = decode_prefix(e.buf[e.body_start : stop], e.cte, DECODE_LIMIT)
    truncated = stop < end or len(data) >= DECODE_LIMIT
    if truncated:
        # Cut after an ASCII space/newline so no multi-byte character is split
        # (which would make a strict UTF-8 decode of the whole prefix fail).
        cut = max(data.rfind(b"\n", len(data) - 1024), data.rfind(b" ", len(data) - 1024))
        if cut > 0:
            data = data[: cut + 1]
    charset = e.charset
    if charset is None and html:
        charset = meta_charset(data)
    text, _note = decode_text(data, charset)
    if truncated:
        text = text.rstrip("\ufffd")
    return text


def _snippet(text: str) -> str:
    # Fold a growing prefix only: a long body costs no more than a short one.
    size = SNIPPET_LIMIT * 2
    while True:
        folded = " ".join(_CONTROL.sub(" ", text[:size]).split())
        if len(folded) >= SNIPPET_LIMIT or size >= len(text) or size >= TEXT_LIMIT:
            return folded[:SNIPPET_LIMIT].rstrip()
        size *= 4
