"""Turning what the user wrote into bytes on the wire, or refusing to.

Every transport takes an ``OutgoingMessage``: final bytes plus the envelope.
There are two ways to get one:

* ``build_message(Draft)`` composes a new message with the standard library's
  ``EmailMessage``: text and/or HTML (``multipart/alternative`` when both),
  inline images referenced by Content-ID from the HTML
  (``multipart/related``), attachments (``multipart/mixed``), custom headers,
  and the Date and Message-ID every real client adds.
* ``prepare_raw(RawMessage)`` wraps bytes that must go out *unchanged*
  ("release" of a captured message, ``send --eml``): nothing is parsed or
  re-serialised, only the envelope is checked.

Rules worth knowing, and why:

* **Header injection** (Django's ``BadHeaderError`` rule): a CR or LF in any
  header value, address, file name or Content-ID raises
  ``HeaderInjectionError`` naming the field, before any I/O, so nothing is
  ever sent with a smuggled header.
* **Bcc is envelope-only.** Bcc addresses become RCPT TO recipients and never
  appear in the headers; a custom ``Bcc`` header is refused.
* **Internationalisation.** Non-ASCII display names and subjects are encoded
  with RFC 2047, which every server accepts. Only a non-ASCII *address*
  needs SMTPUTF8 (RFC 6531); then the headers are written as raw UTF-8 and
  the SMTP transport asks the server for SMTPUTF8 (and says so when the
  server does not offer it).
* **7-bit bodies.** Bodies are quoted-printable/base64 so a message goes
  through servers without 8BITMIME too.
* **Attachments keep their bytes.** The MIME type is guessed from the file
  name (``mimetypes``); a ``text/*`` file that is not valid UTF-8 is sent as
  ``application/octet-stream`` (as Django does), and text files are base64
  encoded so their bytes -- line endings included -- arrive exactly as read.
"""

from __future__ import annotations

import email.policy
import email.utils
import mimetypes
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path


class DraftError(ValueError):
    """The message or envelope cannot be sent as given. ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class HeaderInjectionError(DraftError):
    """A CR or LF in a header value or address (would smuggle extra headers)."""


# ---- inputs -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DraftAttachment:
    """A file to attach, or (with ``content_id``) an inline part for the HTML."""

    filename: str
    data: bytes = field(repr=False)
    content_type: str | None = None  # guessed from ``filename`` when None
    content_id: str | None = None  # inline parts: the HTML refers to "cid:<content_id>"

    @classmethod
    def from_path(
        cls,
        path: str | os.PathLike[str],
        *,
        content_type: str | None = None,
        content_id: str | None = None,
        filename: str | None = None,
    ) -> DraftAttachment:
        """Read a file. ``OSError`` propagates (the caller knows which file)."""
        p = Path(path)
        return cls(
            filename=filename or p.name,
            data=p.read_bytes(),
            content_type=content_type,
            content_id=content_id,
        )

    @classmethod
    def inline_from_path(
        cls, path: str | os.PathLike[str], *, content_id: str | None = None
    ) -> DraftAttachment:
        """An inline part whose Content-ID defaults to the file name (``cid:logo.png``)."""
        p = Path(path)
        return cls.from_path(p, content_id=content_id or p.name)


@dataclass(frozen=True, slots=True)
class Draft:
    """A message to compose. Address fields take "Name <addr>" or "addr" entries;
    an entry may also hold several comma-separated addresses."""

    from_: str
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: tuple[str, ...] = ()
    subject: str = ""
    text: str | None = None
    html: str | None = None
    attachments: tuple[DraftAttachment, ...] = ()
    inline: tuple[DraftAttachment, ...] = ()  # each needs a content_id; requires ``html``
    headers: tuple[tuple[str, str], ...] = ()  # custom headers, in order
    envelope_from: str | None = None  # MAIL FROM; defaults to the From address


@dataclass(frozen=True, slots=True)
class RawMessage:
    """Bytes to send unchanged to an explicit envelope (release, ``--eml``)."""

    data: bytes = field(repr=False)
    envelope_from: str  # "" sends the null sender "<>"
    envelope_to: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """What every transport sends: final bytes and the envelope."""

    raw: bytes = field(repr=False)
    envelope_from: str
    envelope_to: tuple[str, ...]
    message_id: str | None
    smtputf8: bool  # an envelope address is non-ASCII (RFC 6531)

    @property
    def eight_bit(self) -> bool:
        """The bytes are not pure ASCII (BODY=8BITMIME is asked for when offered)."""
        return not self.raw.isascii()


# ---- validation helpers -------------------------------------------------

_FIELD_LABELS = {
    "from": "From",
    "to": "To",
    "cc": "Cc",
    "bcc": "Bcc",
    "reply_to": "Reply-To",
    "subject": "Subject",
    "envelope_from": "the envelope sender",
    "envelope_to": "the envelope recipients",
}

_HEADER_NAME = re.compile(r"[!-9;-~]+")  # RFC 5322 ftext: printable ASCII except ":"
_ADDR_SPEC = re.compile(r'[^\s@<>()\[\]\\,;:"]+@[^\s@<>()\[\]\\,;:"]+')
_NEEDS_QUOTES = re.compile(r'[()<>\[\]:;@\\,."]')
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")

# Custom headers the builder owns, with the reason given to the user.
_RESERVED_HEADERS = {
    "bcc": "Bcc is envelope-only and never written to the headers; use the Bcc field",
    "from": "use the From field",
    "to": "use the To field",
    "cc": "use the Cc field",
    "reply-to": "use the Reply-To field",
    "subject": "use the Subject field",
    "content-type": "the MIME structure is built from the bodies and attachments",
    "content-transfer-encoding": "the MIME structure is built from the bodies and attachments",
    "mime-version": "the MIME structure is built from the bodies and attachments",
}


def check_no_line_breaks(field_name: str, value: str, label: str | None = None) -> None:
    """Django's rule: CR or LF in a header value is an injection attempt."""
    if "\r" in value or "\n" in value or "\x00" in value:
        what = label or _FIELD_LABELS.get(field_name, field_name)
        raise HeaderInjectionError(
            field_name,
            f"{what} contains a line break (CR or LF): refused to prevent header "
            f"injection; nothing was sent",
        )


def _label(field_name: str) -> str:
    return _FIELD_LABELS.get(field_name, field_name)


def parse_addresses(field_name: str, entries: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """Split "Name <a@b>, c@d" entries into (display name, addr-spec) pairs.

    This is input validation for what a user typed (or a script passed), so
    it stays strict (``email.utils.getaddresses`` plus an addr-spec check)
    and refuses what it cannot read, naming the field. Received mail is read
    with the tolerant ``core.mime.addresses`` instead, which keeps whatever
    the sender wrote.
    """
    result: list[tuple[str, str]] = []
    for entry in entries:
        check_no_line_breaks(field_name, entry)
        if not entry.strip():
            continue
        pairs = email.utils.getaddresses([entry])
        if not pairs:
            raise DraftError(field_name, f"{_label(field_name)}: no address in {entry!r}")
        for name, addr in pairs:
            if not addr or not _ADDR_SPEC.fullmatch(addr):
                raise DraftError(
                    field_name, f"{_label(field_name)}: {entry!r} is not a valid email address"
                )
            result.append((name, addr))
    return result


def _format_mailbox(name: str, addr: str) -> str:
    if not name:
        return addr
    if _NEEDS_QUOTES.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def parse_header_line(line: str) -> tuple[str, str]:
    """``"X-Tag: value"`` -> ``("X-Tag", "value")`` (the CLI's ``--header``)."""
    name, sep, value = line.partition(":")
    if not sep:
        raise DraftError("headers", f"custom header {line!r} is not in 'Name: value' form")
    return name.strip(), value.strip()


def _check_header(name: str, value: str) -> str:
    if not _HEADER_NAME.fullmatch(name):
        raise DraftError(
            "headers", f"custom header name {name!r} is not valid (printable ASCII, no ':')"
        )
    check_no_line_breaks("headers", value, f"custom header {name!r}")
    reason = _RESERVED_HEADERS.get(name.lower())
    if reason:
        raise DraftError("headers", f"custom header {name!r} is not allowed: {reason}")
    return name.lower()


def _split_content_type(attachment: DraftAttachment, field_name: str) -> tuple[str, str]:
    ctype = attachment.content_type
    if ctype is None:
        ctype, _ = mimetypes.guess_type(attachment.filename, strict=False)
        ctype = ctype or "application/octet-stream"
    elif not _CONTENT_TYPE.fullmatch(ctype):
        raise DraftError(field_name, f"{attachment.filename!r}: {ctype!r} is not a MIME type")
    maintype, subtype = ctype.lower().split("/", 1)
    if maintype == "text":
        try:
            attachment.data.decode("utf-8")
        except UnicodeDecodeError:
            # Django's rule: undecodable text is shipped as opaque bytes.
            maintype, subtype = "application", "octet-stream"
    return maintype, subtype


def _check_attachment(attachment: DraftAttachment, field_name: str) -> None:
    what = "inline part" if field_name == "inline" else "attachment"
    check_no_line_breaks(field_name, attachment.filename, f"{what} file name")
    if attachment.content_type is not None:
        check_no_line_breaks(field_name, attachment.content_type, f"{what} content type")
    if attachment.content_id is not None:
        check_no_line_breaks(field_name, attachment.content_id, f"{what} Content-ID")


def _clean_cid(attachment: DraftAttachment) -> str:
    cid = (attachment.content_id or "").strip().removeprefix("<").removesuffix(">")
    if not cid or any(c.isspace() or c in '<>"' for c in cid):
        raise DraftError(
            "inline",
            f"inline part {attachment.filename!r} needs a Content-ID without spaces or "
            f"angle brackets (got {attachment.content_id!r})",
        )
    return cid


def _msgid_domain(addr: str) -> str:
    domain = addr.rpartition("@")[2]
    try:
        return domain.encode("idna").decode("ascii") if domain else "mailcatcher-gui.invalid"
    except UnicodeError:
        return "mailcatcher-gui.invalid"


def _dedupe(addrs: list[str]) -> tuple[str, ...]:
    seen: set[str] = set()
    out: list[str] = []
    for a in addrs:
        key = a.lower()
        if key not in seen:
            seen.add(key)
            out.append(a)
    return tuple(out)


# ---- building -----------------------------------------------------------


def build_message(draft: Draft, *, now: datetime | None = None) -> OutgoingMessage:
    """Compose ``draft`` into RFC 5322 bytes (CRLF) and its envelope.

    Raises ``HeaderInjectionError`` / ``DraftError`` (with ``field``) before
    doing anything else; there is no partial result.
    """
    # 1. Validate every header-bound string first (injection guard).
    check_no_line_breaks("subject", draft.subject)
    sender = parse_addresses("from", [draft.from_])
    if len(sender) != 1:
        raise DraftError("from", "From needs exactly one address")
    to = parse_addresses("to", draft.to)
    cc = parse_addresses("cc", draft.cc)
    bcc = parse_addresses("bcc", draft.bcc)
    reply_to = parse_addresses("reply_to", draft.reply_to)
    envelope_from = sender[0][1]
    if draft.envelope_from is not None:
        env = parse_addresses("envelope_from", [draft.envelope_from])
        envelope_from = env[0][1] if env else ""
    custom = [(name, value, _check_header(name, value)) for name, value in draft.headers]
    for a in draft.attachments:
        _check_attachment(a, "attachments")
    for a in draft.inline:
        _check_attachment(a, "inline")
    inline_cids = [_clean_cid(a) for a in draft.inline]
    if draft.inline and draft.html is None:
        raise DraftError("inline", "inline parts need an HTML body that refers to them (cid:...)")

    recipients = _dedupe([addr for _, addr in (*to, *cc, *bcc)])
    if not recipients:
        raise DraftError("to", "no recipients: give at least one To, Cc or Bcc address")

    all_addrs = [envelope_from, *recipients, *(addr for _, addr in reply_to)]
    smtputf8 = not all(a.isascii() for a in all_addrs)
    policy = email.policy.SMTP.clone(cte_type="7bit", utf8=smtputf8)

    # 2. Headers. Bcc is deliberately absent.
    msg = EmailMessage(policy=policy)
    msg["From"] = _format_mailbox(*sender[0])
    if to:
        msg["To"] = ", ".join(_format_mailbox(n, a) for n, a in to)
    if cc:
        msg["Cc"] = ", ".join(_format_mailbox(n, a) for n, a in cc)
    if reply_to:
        msg["Reply-To"] = ", ".join(_format_mailbox(n, a) for n, a in reply_to)
    if draft.subject:
        msg["Subject"] = draft.subject
    overridden = {lname for _, _, lname in custom}
    if "date" not in overridden:
        when = now or datetime.now().astimezone()
        msg["Date"] = email.utils.format_datetime(when)
    message_id: str | None = None
    if "message-id" not in overridden:
        message_id = email.utils.make_msgid(domain=_msgid_domain(envelope_from or sender[0][1]))
        msg["Message-ID"] = message_id
    for name, value, lname in custom:
        msg[name] = value
        if lname == "message-id":
            message_id = value

    # 3. Bodies: text, html, or both as alternatives.
    if draft.html is not None and draft.text is None:
        msg.set_content(draft.html, subtype="html")
    else:
        msg.set_content(draft.text or "")
        if draft.html is not None:
            msg.add_alternative(draft.html, subtype="html")

    # 4. Inline parts next to the HTML (multipart/related).
    if draft.inline:
        html_part = msg.get_body(("html",))
        assert html_part is not None  # html is set (checked above)
        for part, cid in zip(draft.inline, inline_cids, strict=True):
            maintype, subtype = _split_content_type(part, "inline")
            html_part.add_related(
                part.data,
                maintype=maintype,
                subtype=subtype,
                cid=f"<{cid}>",
                filename=part.filename,
                disposition="inline",
            )

    # 5. Attachments (multipart/mixed).
    for part in draft.attachments:
        maintype, subtype = _split_content_type(part, "attachments")
        params = {"charset": "utf-8"} if maintype == "text" else None
        msg.add_attachment(
            part.data, maintype=maintype, subtype=subtype, filename=part.filename, params=params
        )

    # EmailMessage stamps MIME-Version on every part it creates; only the
    # top level should carry it.
    for sub in msg.walk():
        if sub is not msg and "MIME-Version" in sub:
            del sub["MIME-Version"]

    raw = msg.as_bytes(policy=policy)
    return OutgoingMessage(
        raw=raw,
        envelope_from=envelope_from,
        envelope_to=recipients,
        message_id=message_id,
        smtputf8=smtputf8,
    )


_MESSAGE_ID = re.compile(rb"^message-id:[ \t]*(<[^>\r\n]*>)", re.IGNORECASE | re.MULTILINE)


def prepare_raw(message: RawMessage) -> OutgoingMessage:
    """Check the envelope of a raw message; the bytes are left untouched."""
    if not message.data:
        raise DraftError("data", "the message is empty")
    check_no_line_breaks("envelope_from", message.envelope_from)
    sender = parse_addresses("envelope_from", [message.envelope_from])
    if len(sender) > 1:
        raise DraftError("envelope_from", "the envelope sender must be one address")
    recipients = _dedupe([addr for _, addr in parse_addresses("envelope_to", message.envelope_to)])
    if not recipients:
        raise DraftError("envelope_to", "no envelope recipients given")
    envelope_from = sender[0][1] if sender else ""
    header_end = message.data.find(b"\r\n\r\n")
    head = message.data if header_end < 0 else message.data[:header_end]
    match = _MESSAGE_ID.search(head)
    return OutgoingMessage(
        raw=message.data,
        envelope_from=envelope_from,
        envelope_to=recipients,
        message_id=match.group(1).decode("ascii", "replace") if match else None,
        smtputf8=not all(a.isascii() for a in (envelope_from, *recipients)),
    )


def prepare(message: Draft | RawMessage | OutgoingMessage) -> OutgoingMessage:
    """Any accepted input -> ``OutgoingMessage`` (raises ``DraftError``)."""
    if isinstance(message, OutgoingMessage):
        return message
    if isinstance(message, RawMessage):
        return prepare_raw(message)
    return build_message(message)
