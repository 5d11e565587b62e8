"""Plain value objects shared by the core, the CLI and the UI.

They are frozen dataclasses so a value handed from the writer thread to the
event loop (or from the core to a Qt model) can never be mutated behind the
receiver's back. Nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class Address(NamedTuple):
    """One mailbox of an address header: the decoded display name and the address.

    The one address model of the app. ``core.mime.addresses`` makes these from
    the raw header, once, at ingest; the store keeps them as ``[name, addr]``
    pairs; every consumer reads the two parts from here instead of re-parsing
    a ``"Name <addr>"`` string (which is ambiguous: an unquoted display string
    cannot say whether ``Smith, John <j@x>`` is one mailbox or two).

    ``addr`` is what stood between the angle brackets, or the bare address.
    Junk is kept rather than dropped, so ``addr`` may lack an ``@`` (a bare
    word, an empty group such as ``undisclosed-recipients:;``); consumers that
    need a deliverable address check for the ``@``. ``name`` is ``""`` when
    the header had none.
    """

    name: str
    addr: str

    @property
    def label(self) -> str:
        """What a list shows: the display name, else the address."""
        return self.name or self.addr

    def formatted(self) -> str:
        """``"Name <addr>"`` (unquoted, for reading) or just the one part there is.

        This is the text of the JSON CLI contract (``from``, ``to``, ``cc``)
        and of tooltips; it is never parsed again (see ``address_from_display``
        for the one exception, rows stored before the pairs were).
        """
        if self.name and self.addr and self.name != self.addr:
            return f"{self.name} <{self.addr}>"
        return self.addr or self.name


def format_addresses(addrs: Iterable[Address]) -> str:
    """``Address.formatted`` of each, joined with ``", "`` (the ``from`` text)."""
    return ", ".join(a.formatted() for a in addrs)


def address_labels(addrs: Iterable[Address]) -> str:
    """The display names (or addresses) joined with ``", "``: what the list shows."""
    return ", ".join(label for label in (a.label for a in addrs) if label)


def address_from_display(text: str) -> Address:
    """Undo ``Address.formatted`` for one entry that was stored as text only.

    Only for values written before the pairs were kept (older stores, or a
    value object built from strings, as tests do). It splits at the *last*
    ``" <"`` of a string ending in ``">"``, the exact inverse of
    ``formatted``, so a name such as ``John <Admin>`` or ``Smith, John`` comes
    back whole. It is not a header parser: a joined multi-address ``from``
    string comes back as one entry.
    """
    if text.endswith(">"):
        name, sep, addr = text[:-1].rpartition(" <")
        if sep and name:
            return Address(name, addr)
        if text.startswith("<"):
            return Address("", text[1:-1])
    return Address("", text)


def _addresses_from_display(values: Iterable[str]) -> tuple[Address, ...]:
    return tuple(address_from_display(v) for v in values if v)


@dataclass(frozen=True, slots=True)
class TlsInfo:
    """What the SMTP session negotiated; recorded per captured message."""

    version: str  # e.g. "TLSv1.3"
    cipher: str  # e.g. "TLS_AES_256_GCM_SHA384"
    bits: int | None = None
    implicit: bool = False  # True for SMTPS (TLS from the first byte), False for STARTTLS

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "cipher": self.cipher,
            "bits": self.bits,
            "implicit": self.implicit,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> TlsInfo | None:
        if not data:
            return None
        return cls(
            version=str(data.get("version", "")),
            cipher=str(data.get("cipher", "")),
            bits=data.get("bits"),
            implicit=bool(data.get("implicit", False)),
        )


@dataclass(frozen=True, slots=True)
class Capture:
    """One message as it arrived, before it is stored.

    ``raw`` is exactly the bytes received after SMTP dot-unstuffing: nothing
    rewritten, no Received/Return-Path header added. ``transcript`` holds the
    session's command and reply lines (``"C: ..."`` / ``"S: ..."``) without
    the DATA payload and with AUTH secrets redacted.
    """

    raw: bytes
    envelope_from: str
    envelope_to: tuple[str, ...]
    received_at: datetime  # timezone-aware UTC
    peer: str = ""  # "127.0.0.1:54321"
    helo: str = ""
    tls: TlsInfo | None = None
    auth_user: str | None = None
    transcript: tuple[str, ...] = ()
    source: str = "smtp"  # smtp | local | import
    #: the mailbox a rule routed it to, stored with it ("" = the default mailbox)
    mailbox: str = ""
    #: rule log lines stored in the same transaction (the rules that fired on it)
    rule_events: tuple[RuleEvent, ...] = ()


@dataclass(frozen=True, slots=True)
class Summary:
    """The cheap facts extracted at ingest time (see ``core.mime.summary``).

    Only what the list, the counters and the search index need; the full
    parse waits until a message is opened.
    """

    from_: str = ""  # decoded, "Name <addr>" or "addr" (``format_addresses(from_addrs)``)
    to: tuple[str, ...] = ()  # ``Address.formatted`` of each of ``to_addrs``
    cc: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None  # the Date: header, if it parses
    message_id: str = ""
    has_html: bool = False
    has_text: bool = False
    attachments: int = 0
    attachment_names: tuple[str, ...] = ()
    snippet: str = ""  # first ~200 chars of the text (or HTML-as-text) body, whitespace folded
    body_text: str = ""  # text body for the FTS index, capped
    html_text: str = ""  # HTML stripped to text for the FTS index, capped
    from_addrs: tuple[Address, ...] = ()  # the structured From (see ``Address``)
    to_addrs: tuple[Address, ...] = ()
    cc_addrs: tuple[Address, ...] = ()
    #: from the ``X-Tags`` header, cleaned and sorted (``core.tag_names``)
    tags: tuple[str, ...] = ()
    #: the structured Reply-To (searched by ``reply-to:`` and ``addressed:``)
    reply_to_addrs: tuple[Address, ...] = ()
    #: how many of the attachments are inline parts (``has:inline``)
    inline: int = 0

    def __post_init__(self) -> None:
        _complete_addresses(self)


def _complete_addresses(obj: Summary | MessageSummary) -> None:
    """Fill whichever side of (text, pairs) the caller left out.

    The ingest summary and the store give both; a value built by hand (tests,
    a file opened from disk by an older caller) may give only the text, or
    only the pairs. Either way the two sides agree afterwards. (Spelled out
    per field: this runs for every row the list reads.)
    """
    if obj.from_addrs:
        if not obj.from_:
            object.__setattr__(obj, "from_", format_addresses(obj.from_addrs))
    elif obj.from_:
        object.__setattr__(obj, "from_addrs", (address_from_display(obj.from_),))
    if obj.to_addrs:
        if not obj.to:
            object.__setattr__(obj, "to", tuple(a.formatted() for a in obj.to_addrs))
    elif obj.to:
        object.__setattr__(obj, "to_addrs", _addresses_from_display(obj.to))
    if obj.cc_addrs:
        if not obj.cc:
            object.__setattr__(obj, "cc", tuple(a.formatted() for a in obj.cc_addrs))
    elif obj.cc:
        object.__setattr__(obj, "cc_addrs", _addresses_from_display(obj.cc))


@dataclass(frozen=True, slots=True)
class MessageSummary:
    """One row of the message list. ``to_json`` is the public CLI contract."""

    id: int
    received_at: datetime
    envelope_from: str
    envelope_to: tuple[str, ...]
    from_: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    subject: str
    message_id: str
    size: int
    has_html: bool
    has_text: bool
    attachments: int
    read: bool
    snippet: str = ""
    #: the structured addresses; ``from_``/``to``/``cc`` are their formatted text
    from_addrs: tuple[Address, ...] = ()
    to_addrs: tuple[Address, ...] = ()
    cc_addrs: tuple[Address, ...] = ()
    #: the message's tags, sorted case-insensitively (``core.tag_names``)
    tags: tuple[str, ...] = ()
    #: the mailbox it was routed to ("" = the default mailbox, "Inbox")
    mailbox: str = ""

    @classmethod
    def from_facts(
        cls, facts: Summary, *, id: int, received_at: datetime, size: int, read: bool
    ) -> MessageSummary:
        """The row of a message that is not in a store (a file, an attachment, a remote
        catcher's unlisted one): ``facts`` from ``core.mime.summary``, no envelope."""
        return cls(
            id=id,
            received_at=received_at,
            envelope_from="",
            envelope_to=(),
            from_=facts.from_,
            to=facts.to,
            cc=facts.cc,
            subject=facts.subject,
            message_id=facts.message_id,
            size=size,
            has_html=facts.has_html,
            has_text=facts.has_text,
            attachments=facts.attachments,
            read=read,
            snippet=facts.snippet,
            from_addrs=facts.from_addrs,
            to_addrs=facts.to_addrs,
            cc_addrs=facts.cc_addrs,
            tags=facts.tags,
        )

    def __post_init__(self) -> None:
        _complete_addresses(self)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "received_at": self.received_at.isoformat().replace("+00:00", "Z"),
            "envelope_from": self.envelope_from,
            "envelope_to": list(self.envelope_to),
            "from": self.from_,
            "to": list(self.to),
            "cc": list(self.cc),
            "subject": self.subject,
            "message_id": self.message_id,
            "size": self.size,
            "has_html": self.has_html,
            "has_text": self.has_text,
            "attachments": self.attachments,
            "read": self.read,
            "tags": list(self.tags),
            "mailbox": self.mailbox,
        }


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A summary row plus the raw bytes and the SMTP session facts."""

    summary: MessageSummary
    raw: bytes
    peer: str
    helo: str
    tls: TlsInfo | None
    auth_user: str | None
    transcript: tuple[str, ...]
    source: str
    #: which rule did what to it, oldest first (filled by ``Mailbox.get``)
    rule_log: tuple[RuleEvent, ...] = ()

    @property
    def id(self) -> int:
        return self.summary.id


@dataclass(frozen=True, slots=True)
class Header:
    name: str
    value: str  # decoded (RFC 2047), unfolded
    raw: str  # as in the message (surrogateescape-decoded bytes), folding kept


@dataclass(frozen=True, slots=True)
class Part:
    """One node of the MIME tree, flattened in document order.

    ``part_id`` is IMAP-style ("1", "1.2", "1.2.1"); the root is "0" for a
    single-part message and its children are "1", "2", ...; ``depth`` lets a
    view indent without rebuilding a tree.
    """

    part_id: str
    depth: int
    content_type: str
    charset: str | None
    transfer_encoding: str | None
    size: int  # decoded payload size in bytes (0 for multiparts)
    filename: str | None = None
    content_id: str | None = None
    disposition: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "part_id": self.part_id,
            "depth": self.depth,
            "content_type": self.content_type,
            "charset": self.charset,
            "transfer_encoding": self.transfer_encoding,
            "size": self.size,
            "filename": self.filename,
            "content_id": self.content_id,
            "disposition": self.disposition,
        }


@dataclass(frozen=True, slots=True)
class Attachment:
    index: int  # 0-based, stable for a given raw message
    filename: str  # decoded (RFC 2047/2231); a generated name if the part had none
    content_type: str
    size: int
    sha256: str
    content_id: str | None  # without the angle brackets
    inline: bool
    part_id: str
    data: bytes = field(repr=False, default=b"")

    def to_json(self) -> dict[str, Any]:
        return {
            "index": self.index,
            "filename": self.filename,
            "content_type": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
            "content_id": self.content_id,
            "inline": self.inline,
        }


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """The full parse of a raw message, built when a message is opened."""

    headers: tuple[Header, ...]
    text: str | None
    html: str | None
    attachments: tuple[Attachment, ...]
    parts: tuple[Part, ...]
    defects: tuple[str, ...]

    def header(self, name: str) -> str | None:
        """The first decoded value of header ``name`` (case-insensitive)."""
        lname = name.lower()
        for h in self.headers:
            if h.name.lower() == lname:
                return h.value
        return None

    def attachment_by_cid(self, content_id: str) -> Attachment | None:
        cid = content_id.strip().strip("<>")
        for a in self.attachments:
            if a.content_id and a.content_id == cid:
                return a
        return None


@dataclass(frozen=True, slots=True)
class OpenedMessage:
    """What the viewer and ``messages show`` get: storage facts + full parse."""

    stored: StoredMessage
    parsed: ParsedMessage

    @property
    def id(self) -> int:
        return self.stored.summary.id


# ---- events emitted by the Mailbox (plain Python; the Qt bridge re-emits them) ----


@dataclass(frozen=True, slots=True)
class MessagesAdded:
    """New messages, in commit order. Empty: the mailbox changed in ways it
    cannot itemise (a remote catcher's events were missed while it was out of
    reach, or it pruned without naming what): listeners re-read."""

    summaries: tuple[MessageSummary, ...]


@dataclass(frozen=True, slots=True)
class MessagesDeleted:
    """These ids are gone; ``pruned``: removed by retention, not by a user's delete."""

    ids: tuple[int, ...]
    pruned: bool = False


@dataclass(frozen=True, slots=True)
class MessagesChanged:
    """Flags changed (read/unread) for these ids."""

    ids: tuple[int, ...]
    read: bool


@dataclass(frozen=True, slots=True)
class MailboxCleared:
    pass


@dataclass(frozen=True, slots=True)
class TagsChanged:
    """Tags changed: each affected id with its full new tag list (sorted, maybe empty)."""

    updates: tuple[tuple[int, tuple[str, ...]], ...]


@dataclass(frozen=True, slots=True)
class MailboxesChanged:
    """Messages moved between mailboxes: each affected id with its new mailbox ("" = default)."""

    updates: tuple[tuple[int, str], ...]


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One line of a message's rule log: which rule did what (``core.store.routing``).

    ``action`` names what happened (``fired``, ``mailbox``, ``forward``,
    ``webhook``, ...); ``detail`` is a sentence for people (a send report, an
    HTTP status, an error). ``at`` is filled in by the store when left None.
    """

    rule: str
    action: str
    detail: str = ""
    at: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "action": self.action,
            "detail": self.detail,
            "at": self.at.isoformat().replace("+00:00", "Z") if self.at else None,
        }


@dataclass(frozen=True, slots=True)
class RuleLogAdded:
    """Rule log lines were stored for ``message_id`` (the Session view refreshes)."""

    message_id: int
    events: tuple[RuleEvent, ...]


MailboxEvent = (
    MessagesAdded
    | MessagesDeleted
    | MessagesChanged
    | MailboxCleared
    | TagsChanged
    | MailboxesChanged
    | RuleLogAdded
)
