"""Reply, reply-all, forward and edit-as-new: a captured message -> editable fields.

These were inside the compose window; they need no Qt, so the window, the
CLI and a future HTTP API can share them. Each function takes an
``OpenedMessage`` (storage facts + full parse) and returns ``ComposeFields``:
the text an editor shows, which ``draft_from_fields`` turns into the
``Draft`` the one sending backend validates and builds.

Addresses follow the one address model: ``(display name, address)`` pairs
from ``core.mime.addresses.header_addresses``, the parser every reader of
received mail uses. It reads the *raw* header values (every occurrence,
folding and RFC 2047 words still in place) and decodes names afterwards, so
an encoded ``"Müller, Hans"`` stays one mailbox. Decoded display strings are
never parsed again. (What the user *types* into an address field is parsed
by ``draft.parse_addresses``: that is input validation, strict on purpose.)

Everything taken from a captured (possibly hostile) message is put on one
line first: a prefilled field must never trip the header-injection guard by
itself.
"""

from __future__ import annotations

import email.utils
import html as html_lib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..mime.addresses import header_addresses
from ..mime.htmltext import html_to_text
from ..models import Address, OpenedMessage, ParsedMessage
from .draft import Draft, DraftAttachment

#: What a new message starts with when nothing else is configured.
DEFAULT_FROM_NAME = "Test Sender"
DEFAULT_FROM_ADDR = "sender@example.com"
#: A quoted body is cut here (a 25 MB text part must not freeze an editor).
MAX_QUOTE_CHARS = 200_000


@dataclass
class ComposeFields:
    """What an editor shows. Address fields hold the text the user edits
    (``"Name <a@x>, b@y"``): it is passed to the backend as typed, which
    parses and validates it like any header value."""

    from_name: str = ""
    from_addr: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    reply_to: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    attachments: list[DraftAttachment] = field(default_factory=list)
    inline: list[DraftAttachment] = field(default_factory=list)  # each has a content_id
    headers: list[tuple[str, str]] = field(default_factory=list)


def new_fields(
    from_name: str = DEFAULT_FROM_NAME, from_addr: str = DEFAULT_FROM_ADDR
) -> ComposeFields:
    """A blank message from the configured sender: nothing else prefilled."""
    return ComposeFields(from_name=from_name, from_addr=from_addr)


# ---- addresses ---------------------------------------------------------------------------

_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def one_line(value: str | None) -> str:
    """A value from a captured message on one line: folded or encoded line
    breaks become single spaces."""
    return _LINE_BREAKS.sub(" ", value or "").strip()


def format_mailbox(name: str, addr: str) -> str:
    """``"Name <addr>"`` (quoted when needed) or ``addr``. Line breaks are kept
    on purpose: the backend refuses them, naming the field."""
    if not name:
        return addr
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def format_addresses(pairs: Iterable[Address]) -> str:
    """Pairs as the comma-separated text an address field shows."""
    return ", ".join(format_mailbox(n, a) for n, a in pairs)


# ---- subjects and quoting ------------------------------------------------------------------


def _prefixed(subject: str, prefix: str, pattern: str) -> str:
    subject = one_line(subject)
    if re.match(pattern, subject, re.IGNORECASE):
        return subject
    return f"{prefix} {subject}".rstrip()


def re_subject(subject: str) -> str:
    return _prefixed(subject, "Re:", r"\s*re\s*:")


def fwd_subject(subject: str) -> str:
    return _prefixed(subject, "Fwd:", r"\s*(fwd?|fw)\s*:")


def quote(text: str) -> str:
    """Plain-text quoting: ``> `` before every line."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def _cut(text: str) -> str:
    if len(text) > MAX_QUOTE_CHARS:
        return text[:MAX_QUOTE_CHARS] + "\n[… truncated]"
    return text


def body_text(parsed: ParsedMessage) -> str:
    """The text to quote or forward: the text part, else the HTML as text."""
    if parsed.text is not None:
        text = parsed.text
    elif parsed.html is not None:
        text = html_to_text(parsed.html)
    else:
        text = ""
    return _cut(text.replace("\r\n", "\n").replace("\r", "\n"))


_BODY_OPEN = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_BODY_CLOSE = re.compile(r"</body\s*>", re.IGNORECASE)


def embed_html(original: str, before: str, *, wrap: tuple[str, str] = ("", "")) -> str:
    """``original`` with ``before`` inserted at the start of its body, and its
    body content (not its ``<head>``: styles keep working) between ``wrap``.

    Forward and reply treat the original HTML the same way: it is kept as
    written, after the block with the original's facts; a reply also wraps
    it in a ``<blockquote>``.
    """
    opening, closing = wrap
    start = _BODY_OPEN.search(original)
    if start is None:
        return before + opening + original + closing
    end = _BODY_CLOSE.search(original, start.end())
    stop = end.start() if end else len(original)
    return (
        original[: start.end()]
        + before
        + opening
        + original[start.end() : stop]
        + closing
        + original[stop:]
    )


# ---- facts about the original -----------------------------------------------------------------


def me(opened: OpenedMessage) -> Address:
    """Who "we" are when answering: the original's first recipient."""
    found = header_addresses(opened.parsed, "To", "Cc")
    if found:
        return found[0]
    if opened.stored.summary.envelope_to:
        return Address("", opened.stored.summary.envelope_to[0])
    return Address(DEFAULT_FROM_NAME, DEFAULT_FROM_ADDR)


def date_text(opened: OpenedMessage) -> str:
    value = one_line(opened.parsed.header("Date"))
    if value:
        return value
    return email.utils.format_datetime(opened.stored.summary.received_at)


def sender_text(opened: OpenedMessage) -> str:
    found = header_addresses(opened.parsed, "From")
    if found:
        return format_addresses(found[:1])
    return (
        one_line(opened.parsed.header("From"))
        or opened.stored.summary.envelope_from
        or "(unknown sender)"
    )


def subject_of(opened: OpenedMessage) -> str:
    return one_line(opened.parsed.header("Subject") or opened.stored.summary.subject)


_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")


def _safe_content_type(value: str) -> str | None:
    return value if value and _CONTENT_TYPE.fullmatch(value) else None


def split_attachments(
    parsed: ParsedMessage, html: str | None
) -> tuple[list[DraftAttachment], list[DraftAttachment]]:
    """Original parts as (attachments, inline images ``html`` refers to by cid:)."""
    attachments: list[DraftAttachment] = []
    inline: list[DraftAttachment] = []
    lowered = (html or "").lower()
    for att in parsed.attachments:
        name = one_line(att.filename) or f"part-{att.index + 1}"
        ctype = _safe_content_type(att.content_type)
        cid = one_line(att.content_id) if att.content_id else ""
        if cid and html is not None and f"cid:{cid.lower()}" in lowered:
            inline.append(DraftAttachment(name, att.data, ctype, cid))
        else:
            attachments.append(DraftAttachment(name, att.data, ctype))
    return attachments, inline


# ---- the four ways to start from a captured message ---------------------------------------------

_QUOTE_STYLE = "margin:0 0 0 .8ex;border-left:2px solid #ccc;padding-left:1ex"


def reply_draft(opened: OpenedMessage, *, reply_all: bool = False) -> ComposeFields:
    """Reply: Re: subject, the original quoted (text, and HTML when it has
    one), In-Reply-To/References, to the Reply-To or the sender."""
    p = opened.parsed
    me_name, me_addr = me(opened)
    target = header_addresses(p, "Reply-To") or header_addresses(p, "From")
    if not target and opened.stored.summary.envelope_from:
        target = [Address("", opened.stored.summary.envelope_from)]
    cc = ""
    if reply_all:
        skip = {me_addr.lower(), *(a.lower() for _, a in target)}
        others: list[Address] = []
        for n, a in header_addresses(p, "To", "Cc"):
            if a.lower() not in skip:
                skip.add(a.lower())
                others.append(Address(n, a))
        cc = format_addresses(others)
    headers: list[tuple[str, str]] = []
    message_id = one_line(p.header("Message-ID"))
    if message_id:
        references = one_line(p.header("References")).split()
        references = [r for r in references if r != message_id][-19:] + [message_id]
        headers = [("In-Reply-To", message_id), ("References", " ".join(references))]
    intro = f"On {date_text(opened)}, {sender_text(opened)} wrote:"
    text = f"\n\n{intro}\n{quote(body_text(p))}\n"
    html = ""
    inline: list[DraftAttachment] = []
    if p.html is not None:
        html = embed_html(
            _cut(p.html),
            f"<p><br></p><div>{html_lib.escape(intro)}</div>",
            wrap=(f'<blockquote type="cite" style="{_QUOTE_STYLE}">', "</blockquote>"),
        )
        _attachments, inline = split_attachments(p, html)  # images the quote shows
    return ComposeFields(
        from_name=me_name,
        from_addr=me_addr,
        to=format_addresses(target),
        cc=cc,
        subject=re_subject(subject_of(opened)),
        text=text,
        html=html,
        inline=inline,
        headers=headers,
    )


FORWARD_INTRO = "---------- Forwarded message ---------"


def forward_draft(opened: OpenedMessage) -> ComposeFields:
    """Forward: Fwd: subject, the original inline after a block of its facts,
    its attachments (inline images stay inline)."""
    p = opened.parsed
    me_name, me_addr = me(opened)
    subject = subject_of(opened)
    facts = [
        ("From", sender_text(opened)),
        ("Date", date_text(opened)),
        ("Subject", subject),
        ("To", format_addresses(header_addresses(p, "To"))),
        ("Cc", format_addresses(header_addresses(p, "Cc"))),
    ]
    facts = [(k, v) for k, v in facts if v]
    text = "\n\n" + FORWARD_INTRO + "\n" + "".join(f"{k}: {v}\n" for k, v in facts)
    text += "\n" + body_text(p)
    html = ""
    if p.html is not None:
        block = (
            '<div style="font-family:sans-serif;color:#555;margin:0 0 12px 0">'
            + html_lib.escape(FORWARD_INTRO)
            + "<br>"
            + "<br>".join(f"<b>{html_lib.escape(k)}:</b> {html_lib.escape(v)}" for k, v in facts)
            + "</div>"
        )
        html = embed_html(p.html, block)
    attachments, inline = split_attachments(p, html or None)
    return ComposeFields(
        from_name=me_name,
        from_addr=me_addr,
        subject=fwd_subject(subject),
        text=text,
        html=html,
        attachments=attachments,
        inline=inline,
    )


# Headers the builder writes itself, or that only make sense on the original hop.
_NOT_COPIED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "received",
        "return-path",
        "delivered-to",
        "dkim-signature",
        "domainkey-signature",
        "authentication-results",
        "received-spf",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "x-original-to",
    }
)


def edit_as_new_draft(opened: OpenedMessage) -> ComposeFields:
    """The captured message back in the editor, to change and send again."""
    p = opened.parsed
    found = header_addresses(p, "From")
    from_name, from_addr = found[0] if found else ("", opened.stored.summary.envelope_from)
    attachments, inline = split_attachments(p, p.html)
    headers = [
        (h.name, one_line(h.value))
        for h in p.headers
        if h.name.lower() not in _NOT_COPIED and not h.name.lower().startswith("content-")
    ]
    return ComposeFields(
        from_name=from_name,
        from_addr=from_addr,
        to=format_addresses(header_addresses(p, "To")),
        cc=format_addresses(header_addresses(p, "Cc")),
        reply_to=format_addresses(header_addresses(p, "Reply-To")),
        subject=subject_of(opened),
        text=(p.text or "").replace("\r\n", "\n"),
        html=p.html or "",
        attachments=attachments,
        inline=inline,
        headers=headers,
    )


# ---- fields -> Draft ----------------------------------------------------------------------------


def draft_from_fields(f: ComposeFields) -> Draft:
    """The ``Draft`` the backend builds and validates (nothing is checked here)."""

    def entries(value: str) -> tuple[str, ...]:
        return (value,) if value.strip() else ()

    text: str | None = f.text
    if not f.text and f.html:
        text = None  # HTML only
    return Draft(
        from_=format_mailbox(f.from_name.strip(), f.from_addr.strip()),
        to=entries(f.to),
        cc=entries(f.cc),
        bcc=entries(f.bcc),
        reply_to=entries(f.reply_to),
        subject=f.subject,
        text=text,
        html=f.html or None,
        attachments=tuple(f.attachments),
        inline=tuple(f.inline),
        headers=tuple(f.headers),
    )
