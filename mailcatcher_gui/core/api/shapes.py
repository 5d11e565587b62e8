"""Mailpit's JSON shapes, built from our value objects.

Clients written for Mailpit (its web UI's contract, test libraries, CI
scripts) parse these bodies by field name, so the names, nesting and types
here follow Mailpit's ``swagger.json`` (``MessageSummary``, ``Message``,
``Attachment``, ``ListUnsubscribe``, the ``messages_count`` list keys)
exactly; what we know that Mailpit does not lives in separate extension
endpoints, never in an extra or re-typed Mailpit field.

Where our model and Mailpit's differ, the mapping is:

* ``ID`` is our integer id as a decimal string (Mailpit's are opaque strings).
* ``Created`` is the time the sink received the message (RFC 3339, UTC,
  milliseconds as Mailpit stores them); ``Date`` is the ``Date:`` header,
  else the received time, as Mailpit does.
* ``Attachments`` is a *count* in a summary (every attachment our ingest
  summary found, inline images included) and a *list* in a ``Message``;
  there the parts we mark inline go to ``Inline`` and the rest to
  ``Attachments``. ``PartID`` is our MIME part id, which
  ``/api/v1/message/{ID}/part/{PartID}`` accepts.
* A summary's ``Bcc`` and ``ReplyTo`` are empty lists: the store keeps only
  From/To/Cc per row (reading every listed message's headers would cost the
  list its speed); the full ``Message`` has them from the headers.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from ..mime.addresses import parse_header_values
from ..models import Address, Attachment, MessageSummary, OpenedMessage, ParsedMessage

__all__ = [
    "address_json",
    "addresses_json",
    "attachment_json",
    "headers_json",
    "json_ids",
    "list_unsubscribe_json",
    "message_id_string",
    "message_json",
    "messages_summary_json",
    "rfc3339",
    "summary_json",
]

JSON = dict[str, Any]


def message_id_string(message_id: int) -> str:
    """Our integer id as the string clients see."""
    return str(message_id)


def rfc3339(when: datetime) -> str:
    """``when`` in UTC as Go's RFC3339Nano writes it (trailing zeros of the fraction dropped).

    Mailpit keeps milliseconds, so at most three fraction digits.
    """
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    when = when.astimezone(UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    millis = when.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    return text + "Z"


def address_json(addr: Address | None) -> JSON:
    """Go's ``mail.Address``: ``{"Name": ..., "Address": ...}`` (both "" when absent)."""
    if addr is None:
        return {"Name": "", "Address": ""}
    return {"Name": addr.name, "Address": addr.addr}


def addresses_json(addrs: Iterable[Address]) -> list[JSON]:
    return [address_json(a) for a in addrs]


def summary_json(summary: MessageSummary) -> JSON:
    """Mailpit's ``MessageSummary`` for one list row (and the WebSocket ``new`` event)."""
    return {
        "ID": message_id_string(summary.id),
        "MessageID": _bare_message_id(summary.message_id),
        "Read": summary.read,
        "From": address_json(summary.from_addrs[0] if summary.from_addrs else None),
        "To": addresses_json(summary.to_addrs),
        "Cc": addresses_json(summary.cc_addrs),
        "Bcc": [],
        "ReplyTo": [],
        "Subject": summary.subject,
        "Created": rfc3339(summary.received_at),
        "Tags": list(summary.tags),
        "Size": summary.size,
        "Attachments": summary.attachments,
        "Snippet": summary.snippet,
    }


def messages_summary_json(
    summaries: Sequence[MessageSummary],
    *,
    total: int,
    unread: int,
    matched: int,
    matched_unread: int,
    start: int,
    tags: Sequence[str],
) -> JSON:
    """Mailpit's ``MessagesSummary``: one page plus the counters.

    ``total``/``unread`` count the whole mailbox; ``messages_count`` /
    ``messages_unread`` the messages the list or search matched; ``count``
    (legacy, still sent by Mailpit) the rows on this page.
    """
    return {
        "total": total,
        "unread": unread,
        "count": len(summaries),
        "messages_count": matched,
        "messages_unread": matched_unread,
        "start": start,
        "tags": list(tags),
        "messages": [summary_json(s) for s in summaries],
    }


def attachment_json(att: Attachment) -> JSON:
    """Mailpit's ``Attachment`` (no data); checksums of the decoded bytes."""
    data = att.data
    return {
        "PartID": att.part_id,
        "FileName": att.filename or (att.content_id or ""),
        "ContentType": att.content_type,
        "ContentID": att.content_id or "",
        "Size": att.size,
        "Checksums": {
            "MD5": hashlib.md5(data, usedforsecurity=False).hexdigest(),
            "SHA1": hashlib.sha1(data, usedforsecurity=False).hexdigest(),
            "SHA256": att.sha256 or hashlib.sha256(data).hexdigest(),
        },
    }


def message_json(opened: OpenedMessage) -> JSON:
    """Mailpit's ``Message``: the full message without attachment data."""
    stored = opened.stored
    summary = stored.summary
    parsed = opened.parsed
    from_list = _header_addresses(parsed, "From") or list(summary.from_addrs)
    sender = from_list[0] if from_list else None
    return_path = (parsed.header("Return-Path") or "").strip().strip("<>").strip()
    if not return_path and sender is not None:
        return_path = sender.addr
    date = summary.received_at
    header_date = _header_date(parsed)
    if header_date is not None:
        date = header_date
    inline = [a for a in parsed.attachments if a.inline]
    attached = [a for a in parsed.attachments if not a.inline]
    return {
        "ID": message_id_string(summary.id),
        "MessageID": _bare_message_id(parsed.header("Message-ID") or summary.message_id),
        "From": address_json(sender),
        "To": addresses_json(_header_addresses(parsed, "To")),
        "Cc": addresses_json(_header_addresses(parsed, "Cc")),
        "Bcc": addresses_json(_header_addresses(parsed, "Bcc")),
        "ReplyTo": addresses_json(_header_addresses(parsed, "Reply-To")),
        "ReturnPath": return_path,
        "Subject": summary.subject,
        "ListUnsubscribe": list_unsubscribe_json(parsed),
        "Date": _rfc3339_keep_offset(date),
        "Tags": list(summary.tags),
        "Username": stored.auth_user or "",
        "Text": parsed.text or "",
        "HTML": parsed.html or "",
        "Size": summary.size,
        "Inline": [attachment_json(a) for a in inline],
        "Attachments": [attachment_json(a) for a in attached],
    }


def headers_json(parsed: ParsedMessage) -> dict[str, list[str]]:
    """Mailpit's headers map: canonical header name -> every value, in order.

    Go's ``textproto`` canonicalises names (``content-type`` ->
    ``Content-Type``); values are decoded and unfolded as Go's ``mail``
    reader leaves them (it does not decode RFC 2047, but every client shows
    these to people, and ours decodes in one place).
    """
    out: dict[str, list[str]] = {}
    for h in parsed.headers:
        out.setdefault(_canonical_name(h.name), []).append(h.value)
    return out


# ---- List-Unsubscribe --------------------------------------------------------

_LINK_RE = re.compile(r"<(.*?)>")
_JOIN_RE = re.compile(r">(.*?)<", re.DOTALL)
_COMMENT_RE = re.compile(r"\(.*?\)", re.DOTALL)
_MAILTO_RE = re.compile(r"mailto:[a-zA-Z0-9]")
_HTTP_RE = re.compile(r"https?://[a-zA-Z0-9]", re.IGNORECASE)


def list_unsubscribe_json(parsed: ParsedMessage) -> JSON:
    """Mailpit's ``ListUnsubscribe``: the header, its links and what is wrong with them.

    The checks and their sentences follow Mailpit's
    ``tools.ListUnsubscribeParser``: comments dropped, every link in angle
    brackets, separated by commas, at most one ``mailto:`` and one
    ``http(s)`` link, no spaces inside; ``HeaderPost`` is
    ``List-Unsubscribe-Post``.
    """
    header = parsed.header("List-Unsubscribe") or ""
    result: JSON = {"Header": header, "Links": [], "Errors": "", "HeaderPost": ""}
    if not header:
        return result
    links, errors = _parse_list_unsubscribe(header)
    result["Links"] = links
    result["Errors"] = ", ".join(errors)
    result["HeaderPost"] = parsed.header("List-Unsubscribe-Post") or ""
    return result


def _parse_list_unsubscribe(header: str) -> tuple[list[str], list[str]]:
    value = header.strip()
    value = _COMMENT_RE.sub("", value).strip()
    if not _LINK_RE.search(value):
        return [], [f'"{value}" no valid unsubscribe links found']
    if not (value.startswith("<") and value.endswith(">")):
        return [], [f'"{value}" should be enclosed in <>']
    found = _LINK_RE.findall(value)
    if len(found) > 2:
        return [], [f'"{value}" should include a maximum of one email and one HTTP link']
    for between in _JOIN_RE.findall(value):
        if between.strip() != ",":
            return [], [f'"{value}" <> should be split with a comma and optional spaces']
    links: list[str] = []
    errors: list[str] = []
    have_mailto = have_http = False
    for link in found:
        if any(c.isspace() for c in link):
            errors.append(f'"{link}" should not contain spaces')
        elif _MAILTO_RE.match(link):
            if have_mailto:
                errors.append(f'"{link}" should only contain one mailto:')
            else:
                have_mailto = True
                links.append(link)
        elif _HTTP_RE.match(link):
            if have_http:
                errors.append(f'"{link}" should only contain one HTTP link')
            else:
                have_http = True
                links.append(link)
        else:
            errors.append(f'"{link}" should start with either http(s):// or mailto:')
    return links, errors


# ---- helpers -------------------------------------------------------------------


def _bare_message_id(value: str) -> str:
    """Mailpit trims the angle brackets: ``<a@b>`` -> ``a@b``."""
    return value.strip().strip("<>")


def _header_addresses(parsed: ParsedMessage, name: str) -> list[Address]:
    """Every address of every ``name`` header, as our one address parser reads them."""
    lname = name.lower()
    values = [h.raw for h in parsed.headers if h.name.lower() == lname]
    if not values:
        return []
    return parse_header_values(values)


def _header_date(parsed: ParsedMessage) -> datetime | None:
    from email.utils import parsedate_to_datetime

    value = parsed.header("Date")
    if not value:
        return None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:  # "-0000": the time is UTC, its zone unknown
        when = when.replace(tzinfo=UTC)
    return when


def _rfc3339_keep_offset(when: datetime) -> str:
    """Like ``rfc3339`` but keeping the header's own offset (Go keeps it too)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    offset = when.utcoffset()
    if not offset:
        return rfc3339(when)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    millis = when.microsecond // 1000
    if millis:
        text += f".{millis:03d}".rstrip("0")
    total = int(offset.total_seconds()) // 60
    sign = "+" if total >= 0 else "-"
    total = abs(total)
    return f"{text}{sign}{total // 60:02d}:{total % 60:02d}"


def _canonical_name(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: ``x-mailer`` -> ``X-Mailer``."""
    if not name.isascii() or any(c in name for c in " :\t"):
        return name  # Go leaves names with invalid characters alone
    return "-".join(p[:1].upper() + p[1:].lower() for p in name.split("-"))


def json_ids(values: object) -> list[int] | None:
    """Ids given as a JSON list of strings (or numbers); None if it is not one.

    Strings that are not decimal numbers cannot name one of our messages;
    they are dropped (Mailpit ignores unknown ids).
    """
    if values is None:
        return []
    if not isinstance(values, list):
        return None
    out: list[int] = []
    for v in values:
        if isinstance(v, bool):
            return None
        if isinstance(v, int):
            out.append(v)
        elif isinstance(v, str):
            text = v.strip()
            if text.isascii() and text.isdigit() and len(text) < 19:
                out.append(int(text))
        else:
            return None
    return out
