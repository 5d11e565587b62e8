"""Rows of the store: a ``(Capture, Summary)`` as column values, and a row back as a summary.

Pure functions, no connection: the ``Store`` computes these outside its
write lock so the transaction that gates a ``250`` only executes statements.
Text is repaired for SQLite here (``clean``: lone surrogates from
``surrogateescape`` header decoding would make SQLite reject the whole row).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from ..models import Address, Capture, MessageSummary, Summary
from ..tag_names import sort_tags, unique_tags
from .search import index_text

__all__ = ["Prepared", "clean", "summary_from_row", "unique_ids"]

_SORT_KEY_CHARS = 200  # sort keys are prefixes: keeps the indexes small
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One (Capture, Summary) turned into column values, computed outside the lock.

    ``listed`` is the list row the store will announce, complete except for
    the id, which is only known inside the transaction.
    """

    message_row: tuple[object, ...]
    raw: bytes
    fts_row: tuple[str, ...]
    listed: MessageSummary

    @classmethod
    def build(cls, capture: Capture, summary: Summary) -> Prepared:
        received_at = _utc(capture.received_at)
        envelope_from = clean(capture.envelope_from)
        envelope_to = tuple(clean(a) for a in capture.envelope_to)
        from_addrs = _clean_addresses(summary.from_addrs)
        to_addrs = _clean_addresses(summary.to_addrs)
        cc_addrs = _clean_addresses(summary.cc_addrs)
        from_ = ", ".join(a.formatted() for a in from_addrs)
        to = tuple(a.formatted() for a in to_addrs)
        cc = tuple(a.formatted() for a in cc_addrs)
        subject = clean(summary.subject)
        message_id = clean(summary.message_id)
        snippet = clean(summary.snippet)
        raw = bytes(capture.raw)
        size = len(raw)
        attachments = int(summary.attachments)
        message_row = (
            _to_micros(received_at),
            envelope_from,
            _json_list(envelope_to),
            _addresses_json(from_addrs) if from_addrs else "",
            _addresses_json(to_addrs),
            _addresses_json(cc_addrs),
            subject,
            summary.date.isoformat() if summary.date is not None else None,
            message_id,
            size,
            int(bool(summary.has_html)),
            int(bool(summary.has_text)),
            attachments,
            snippet,
            clean(capture.peer),
            clean(capture.helo),
            _encode_json(capture.tls.to_json()) if capture.tls else None,
            clean(capture.auth_user) if capture.auth_user is not None else None,
            clean_json_list(capture.transcript),
            clean(capture.source),
            _sort_key(from_ or envelope_from),
            _sort_key(", ".join(to or cc or envelope_to)),
            _sort_key(subject),
            _addresses_json(_clean_addresses(summary.reply_to_addrs))
            if summary.reply_to_addrs
            else "[]",
            _bcc_json(envelope_to, to_addrs, cc_addrs),
            int(summary.inline),
        )
        fts_row = (
            index_text(subject),
            index_text("\n".join((from_, envelope_from))),
            index_text("\n".join((*to, *cc, *envelope_to))),
            index_text(clean(summary.body_text)),
            index_text(clean(summary.html_text)),
            index_text("\n".join(clean(n) for n in summary.attachment_names)),
        )
        listed = MessageSummary(
            id=0,
            received_at=received_at,
            envelope_from=envelope_from,
            envelope_to=envelope_to,
            from_=from_,
            to=to,
            cc=cc,
            subject=subject,
            message_id=message_id,
            size=size,
            has_html=bool(summary.has_html),
            has_text=bool(summary.has_text),
            attachments=attachments,
            read=False,
            snippet=snippet,
            from_addrs=from_addrs,
            to_addrs=to_addrs,
            cc_addrs=cc_addrs,
            tags=unique_tags(summary.tags) if summary.tags else (),
        )
        return cls(message_row=message_row, raw=raw, fts_row=fts_row, listed=listed)

    def summary(self, message_id: int, tags: tuple[str, ...] | None = None) -> MessageSummary:
        """The list row with its id (and the tags as stored, when the store respelled them)."""
        if tags is None or tags == self.listed.tags:
            return replace(self.listed, id=message_id)
        return replace(self.listed, id=message_id, tags=tags)


def summary_from_row(row: Sequence[Any]) -> MessageSummary:
    """A ``MessageSummary`` from the columns of ``statements.SUMMARY_COLUMNS`` (SQLite values)."""
    (
        id_,
        received_at,
        envelope_from,
        envelope_to,
        from_,
        to,
        cc,
        subject,
        message_id,
        size,
        has_html,
        has_text,
        attachments,
        read,
        snippet,
        tags,
    ) = row
    from_text, from_addrs = _from_column(str(from_))
    to_text, to_addrs = _list_column(str(to))
    cc_text, cc_addrs = _list_column(str(cc))
    return MessageSummary(
        id=int(id_),
        received_at=_from_micros(int(received_at)),
        envelope_from=str(envelope_from),
        envelope_to=tuple(json.loads(envelope_to)),
        from_=from_text,
        to=to_text,
        cc=cc_text,
        from_addrs=from_addrs,
        to_addrs=to_addrs,
        cc_addrs=cc_addrs,
        subject=str(subject),
        message_id=str(message_id),
        size=int(size),
        has_html=bool(has_html),
        has_text=bool(has_text),
        attachments=int(attachments),
        read=bool(read),
        snippet=str(snippet),
        tags=sort_tags(str(tags).split(",")) if tags else (),
    )


def _utc(value: datetime) -> datetime:
    """Aware UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _to_micros(value: datetime) -> int:
    return (value - _EPOCH) // timedelta(microseconds=1)


def _from_micros(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def clean(text: str) -> str:
    """``text`` as valid UTF-8 for SQLite.

    Header values decoded with ``surrogateescape`` carry lone surrogates that
    SQLite cannot store; their bytes are decoded again (invalid sequences
    become U+FFFD) rather than failing the whole capture.
    """
    if text.isascii():  # O(1) in CPython: nothing to repair
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        data = text.encode("utf-8", "surrogatepass")
    return data.decode("utf-8", "replace")


# One encoder for every row: json.dumps(..., ensure_ascii=False) builds a new
# JSONEncoder per call, a few microseconds each, several times per message.
_encode_json = json.JSONEncoder(ensure_ascii=False).encode


def _json_list(values: tuple[str, ...]) -> str:
    return _encode_json(list(values))


def clean_json_list(values: tuple[str, ...]) -> str:
    """``_json_list`` of the ``_clean``-ed values; one check in the usual all-valid case."""
    text = _json_list(values)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return _json_list(tuple(clean(v) for v in values))


# ---- addresses: [name, addr] pairs in the header_from/header_to/header_cc columns
#
# header_to and header_cc are JSON lists: an element is a ``[name, addr]``
# pair, or (rows stored before the pairs were) the ``"Name <addr>"`` text.
# header_from is "" (no From) or, since the pairs, the JSON list of pairs;
# before, it held the text itself. New rows always start with ``[[``; text
# that happens to be such a JSON list is read as pairs (harmless: it would
# show the same way). No migration: old rows are read as they are.


def _clean_addresses(addrs: tuple[Address, ...]) -> tuple[Address, ...]:
    return tuple(Address(clean(a.name), clean(a.addr)) for a in addrs)


def _addresses_json(addrs: tuple[Address, ...]) -> str:
    return _encode_json(addrs)  # an Address is a (name, addr) tuple: [[name, addr], ...]


def _pair(item: object) -> Address | None:
    if (
        isinstance(item, list)
        and len(item) == 2
        and isinstance(item[0], str)
        and isinstance(item[1], str)
    ):
        return Address(item[0], item[1])
    return None


def _from_column(value: str) -> tuple[str, tuple[Address, ...]]:
    """header_from -> (text, pairs); old text-only rows give no pairs (the
    summary derives them from the text, see ``models._complete_addresses``)."""
    if value.startswith("[["):
        try:
            items = json.loads(value)
        except ValueError:
            items = None
        if isinstance(items, list):
            pairs = [_pair(i) for i in items]
            if all(p is not None for p in pairs):
                addrs = tuple(p for p in pairs if p is not None)
                return ", ".join(a.formatted() for a in addrs), addrs
    return value, ()


def _list_column(value: str) -> tuple[tuple[str, ...], tuple[Address, ...]]:
    """header_to/header_cc -> (texts, pairs); () pairs for old text-only rows."""
    items = json.loads(value)
    pairs = [_pair(i) for i in items]
    if pairs and all(p is not None for p in pairs):
        addrs = tuple(p for p in pairs if p is not None)
        return tuple(a.formatted() for a in addrs), addrs
    return tuple(str(i) for i in items), ()


def _bcc_json(
    envelope_to: tuple[str, ...], to_addrs: tuple[Address, ...], cc_addrs: tuple[Address, ...]
) -> str:
    """The envelope recipients that no To or Cc header names (blind copies), as JSON."""
    if not envelope_to:
        return "[]"
    named = {a.addr.casefold() for a in to_addrs} | {a.addr.casefold() for a in cc_addrs}
    return _json_list(tuple(r for r in envelope_to if r.casefold() not in named))


def _sort_key(text: str) -> str:
    return text.strip().lstrip("\"'<").casefold()[:_SORT_KEY_CHARS]


def unique_ids(ids: Sequence[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))
