"""``POST /api/v1/send`` and ``POST /api/v1/message/{ID}/release``, as Mailpit has them.

Both go through the one sending backend (``core.sending.send``), so the API
gets the same checks as compose and the CLI: header injection, address
syntax, reserved headers, inline parts that need HTML. A request the backend
refuses answers 400 with the backend's sentence and nothing is stored or
sent.

* **send** builds a ``Draft`` from Mailpit's JSON (``From{Email,Name}``,
  ``To``/``Cc``/``ReplyTo`` lists of those, ``Bcc`` a list of addresses,
  ``Subject``, ``Text``, ``HTML``, ``Attachments`` with base64 ``Content``
  and ``ContentID`` for inline parts, ``Headers``, ``Tags``) and delivers it
  into this app's mailbox with ``LocalTransport``, so the answer is the new
  message's ``{"ID": "..."}``, as Mailpit's is. Tags are cleaned by
  Mailpit's rule (``core.tag_names``), travel as an ``X-Tags`` header
  (Mailpit does the same, so a released copy keeps them), which the mailbox
  reads at ingest, and are then applied with ``add_tags`` as well, so a
  mailbox that does not read ``X-Tags`` (a remote one) gets them too.
* **release** sends the stored bytes *unchanged* (``RawMessage``) to the
  addresses in ``To`` through ``ctx.relay_transport()``; 400 when no relay
  is configured, as Mailpit does. Unlike Mailpit we do not rewrite Date and
  Message-ID or strip Bcc: "release" in this app means the exact bytes, the
  same as the window's Release To... dialog.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any

from aiohttp import web

from ..sending.api import SendRequest, send
from ..sending.draft import (
    Draft,
    DraftAttachment,
    DraftError,
    RawMessage,
    check_no_line_breaks,
    parse_addresses,
)
from ..sending.report import FailureStage, SendReport
from ..sending.transports import LocalTransport
from ..store import MessageNotFound
from ..tag_names import unique_tags
from . import workers
from .context import CONTEXT, ApiContext
from .errors import ApiError
from .request_body import json_object, optional_object, optional_str, str_list
from .routes_message import resolve_id

__all__ = ["add_routes", "draft_from_json"]

log = logging.getLogger(__name__)

_LABELS = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc", "reply_to": "ReplyTo"}


def add_routes(app: web.Application) -> None:
    workers.install(app)
    app.router.add_post("/api/v1/send", send_message)
    app.router.add_post("/api/v1/message/{id}/release", release_message)


# ---- send -------------------------------------------------------------------


def _quoted_name(name: str) -> str:
    if any(c in name for c in '()<>[]:;@\\,."'):
        return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return name


def _one_address(field: str, email: str, name: str = "") -> str:
    """``Email`` (+ ``Name``) -> one "Name <addr>" entry; ``DraftError`` unless exactly one."""
    label = _LABELS[field]
    if not email.strip():
        raise DraftError(field, f"{label}: an address is required (Email is empty)")
    pairs = parse_addresses(field, [email])
    if len(pairs) != 1:
        raise DraftError(field, f"{label}: {email!r} must be exactly one email address")
    parsed_name, addr = pairs[0]
    display = name or parsed_name
    check_no_line_breaks(field, display, f"{label} Name")
    return f"{_quoted_name(display)} <{addr}>" if display else addr


def _address_object(field: str, value: Any) -> str:
    label = _LABELS[field]
    if not isinstance(value, dict):
        raise ApiError(400, f"{label} entries must be objects with Email and an optional Name")
    email = optional_str(value, "Email")
    name = optional_str(value, "Name")
    return _one_address(field, email, name)


def _address_objects(body: dict[str, Any], key: str, field: str) -> tuple[str, ...]:
    value = body.get(key)
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ApiError(400, f"{key} must be an array of objects with Email and an optional Name")
    return tuple(_address_object(field, item) for item in value)


def _attachment(index: int, value: Any) -> DraftAttachment:
    if not isinstance(value, dict):
        raise ApiError(400, f"Attachments[{index}] must be an object with Content and Filename")
    filename = optional_str(value, "Filename")
    content = optional_str(value, "Content")
    content_type = optional_str(value, "ContentType") or None
    content_id = optional_str(value, "ContentID") or None
    if not filename.strip():
        raise ApiError(400, f"Attachments[{index}]: Filename is required")
    # Mailpit's rule: a data URL ("data:image/png;base64,....") keeps only its payload.
    payload = content.rpartition(",")[2].strip()
    try:
        data = base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(
            400, f"error decoding base64 attachment {filename!r}: {exc}; nothing was stored"
        ) from None
    return DraftAttachment(
        filename=filename, data=data, content_type=content_type, content_id=content_id
    )


def _headers(body: dict[str, Any], tags: list[str]) -> tuple[tuple[str, str], ...]:
    value = optional_object(body, "Headers") or {}
    out: list[tuple[str, str]] = []
    for name, header_value in value.items():
        if not isinstance(header_value, str):
            raise ApiError(400, f"Headers: the value of {name!r} must be a string")
        if tags and name.strip().lower() == "x-tags":
            raise ApiError(400, 'cannot overwrite header: "X-Tags" (the Tags field sets it)')
        out.append((name, header_value))
    if tags:
        out.append(("X-Tags", ", ".join(tags)))
    return tuple(out)


def draft_from_json(body: dict[str, Any]) -> tuple[Draft, list[str]]:
    """Mailpit's send request -> our ``Draft`` and the tags to apply.

    Raises ``ApiError`` (wrong types, bad base64) or ``DraftError`` (bad
    addresses, header injection); both mean 400 and nothing stored.
    """
    sender = optional_object(body, "From")
    if sender is None:
        raise ApiError(400, "From is required: an object with Email and an optional Name")
    from_ = _address_object("from", sender)
    to = _address_objects(body, "To", "to")
    cc = _address_objects(body, "Cc", "cc")
    reply_to = _address_objects(body, "ReplyTo", "reply_to")
    bcc = tuple(_one_address("bcc", addr) for addr in str_list(body, "Bcc"))
    # Cleaned first (Mailpit's rule), so the X-Tags header and ``add_tags`` agree.
    tags = list(unique_tags(str_list(body, "Tags")))
    text = optional_str(body, "Text")
    html = optional_str(body, "HTML")
    raw_attachments = body.get("Attachments")
    if raw_attachments is not None and not isinstance(raw_attachments, list):
        raise ApiError(400, "Attachments must be an array of objects")
    files = [_attachment(i, a) for i, a in enumerate(raw_attachments or [])]
    draft = Draft(
        from_=from_,
        to=to,
        cc=cc,
        bcc=bcc,
        reply_to=reply_to,
        subject=optional_str(body, "Subject"),
        text=text if (text or not html) else None,
        html=html or None,
        attachments=tuple(a for a in files if a.content_id is None),
        inline=tuple(a for a in files if a.content_id is not None),
        headers=_headers(body, tags),
    )
    return draft, tags


def _refuse_read_only(ctx: ApiContext) -> None:
    if ctx.read_only:
        raise ApiError(403, "this mailbox is read-only: nothing can be stored or changed")


def _input_failure(report: SendReport) -> ApiError | None:
    failure = report.failure
    if failure is not None and failure.stage is FailureStage.INPUT:
        return ApiError(400, f"{failure.message}; nothing was stored")
    return None


async def send_message(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    _refuse_read_only(ctx)
    body = await json_object(request)
    try:
        draft, tags = draft_from_json(body)
    except DraftError as exc:
        raise ApiError(400, f"{exc}; nothing was stored") from None
    report = await send(SendRequest(draft, LocalTransport(ctx.mailbox)))
    refused = _input_failure(report)
    if refused is not None:
        raise refused
    if report.failure is not None or report.stored_id is None:
        reason = report.failure.message if report.failure else "no message id came back"
        log.error("HTTP API send: storing failed: %s", reason)
        raise ApiError(500, f"the message could not be stored: {reason}")
    if tags:
        ctx.mailbox.add_tags([report.stored_id], tags)
    return web.json_response({"ID": str(report.stored_id)})


# ---- release ----------------------------------------------------------------


async def release_message(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    message_id = await resolve_id(request)  # ``latest`` too, as every message endpoint
    try:
        # 404 before anything else, as Mailpit; the read runs on the API's workers
        stored = await workers.run(request, ctx.mailbox.get_stored, message_id)
    except MessageNotFound:
        raise ApiError(404, "Message not found") from None
    body = await json_object(request)
    recipients = str_list(body, "To")
    for address in recipients:
        try:
            if len(parse_addresses("envelope_to", [address])) != 1:
                raise DraftError("envelope_to", "not one address")
        except DraftError:
            raise ApiError(400, f"Invalid email address: {address}") from None
    if not recipients:
        raise ApiError(400, "No valid addresses found")
    transport = ctx.relay_transport()
    if transport is None:
        raise ApiError(400, "message relaying is not configured (no relay to release through)")
    raw = RawMessage(stored.raw, stored.summary.envelope_from, tuple(recipients))
    report = await send(SendRequest(raw, transport))
    if report.failure is not None:
        raise ApiError(400, f"SMTP error: {report.failure.message}")
    return web.Response(text="ok", content_type="text/plain")
