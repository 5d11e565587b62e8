"""Mailpit's single-message endpoints, the ``/view`` pages and our ``/session`` extension.

* ``GET /api/v1/message/{ID}``: Mailpit's ``Message``; reading it marks the
  message read, as Mailpit does. No other endpoint here changes anything.
* ``GET /api/v1/message/{ID}/headers``: ``{"Name": ["value", ...]}``.
* ``GET /api/v1/message/{ID}/raw``: the bytes exactly as received
  (``text/plain``; ``?dl=1`` adds an attachment disposition, as Mailpit).
* ``GET /api/v1/message/{ID}/part/{PartID}``: a part's decoded bytes with its
  Content-Type and ``filename`` (attachments, inline images, and any other
  leaf part by its MIME part id).
* ``GET /api/v1/message/{ID}/part/{PartID}/thumb``: a 180x120 JPEG
  (``core.api.thumbnail``).
* ``GET /view/{ID}.html`` / ``GET /view/{ID}.txt``: the HTML body (inline
  images linked, under a Content-Security-Policy: ``core.api.view``) and the
  text body. An HTML-less message is a 404 for ``.html``, as in Mailpit.
* ``GET /api/v1/message/{ID}/session`` (our extension, not in Mailpit): what
  the SMTP session recorded: envelope, peer, HELO, TLS, AUTH user and the
  transcript.

``{ID}`` is our decimal id or ``latest`` (the newest message; with
``?query=`` the newest match, as Mailpit's ``LatestID``). Anything else, or
an id that is gone, is a 404. Parsing, hashing and thumbnailing run in a
worker thread so a 25 MB message does not stall the loop; marking read runs
on the loop so the mailbox's event reaches listeners there.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any
from urllib.parse import quote

from aiohttp import web

from ..mailbox_protocol import MailboxProtocol
from ..mime.decode import decode_payload
from ..mime.parse import headers_of, parse_message
from ..mime.tree import MULTIPART, build_tree
from ..models import OpenedMessage, ParsedMessage, StoredMessage
from ..store import MessageNotFound
from . import workers
from .context import CONTEXT, ApiContext
from .errors import ApiError
from .routes_messages import apply_timezone
from .shapes import headers_json, message_json, rfc3339
from .thumbnail import make_thumbnail
from .view import content_security_policy, link_inline_images

__all__ = ["add_routes", "resolve_id", "session_json"]

_ID_RE = re.compile(r"\d{1,18}", re.ASCII)
_NOT_FOUND = "Message not found"


def add_routes(app: web.Application) -> None:
    workers.install(app)
    r = app.router
    # No HEAD: reading marks the message read, and a HEAD (a link checker,
    # a preview) must not (Mailpit answers it 405 too).
    r.add_get("/api/v1/message/{id}", get_message, allow_head=False)
    r.add_get("/api/v1/message/{id}/headers", get_headers)
    r.add_get("/api/v1/message/{id}/raw", get_raw)
    r.add_get("/api/v1/message/{id}/session", get_session)
    r.add_get("/api/v1/message/{id}/part/{part}", get_part)
    r.add_get("/api/v1/message/{id}/part/{part}/thumb", get_thumbnail)
    r.add_get(r"/view/{id}.html", view_html)
    r.add_get(r"/view/{id}.txt", view_text)


def _context(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]


def _latest(mailbox: MailboxProtocol, query: str | None) -> int:
    rows = mailbox.list(query=query or None, offset=0, limit=1)
    if not rows:
        raise ApiError(404, _NOT_FOUND)
    return rows[0].id


async def resolve_id(request: web.Request) -> int:
    """The message id the path names (``latest`` resolved); ``ApiError(404)`` if none."""
    text = request.match_info["id"]
    if text == "latest":
        query = (request.query.get("query") or "").strip()
        if query:
            query = apply_timezone(query, request.query.get("tz"))
        return await workers.run(request, _latest, _context(request).mailbox, query)
    if _ID_RE.fullmatch(text) is None:
        raise ApiError(404, _NOT_FOUND)
    return int(text)


def _not_found(exc: MessageNotFound) -> ApiError:
    return ApiError(404, _NOT_FOUND)


async def _opened(request: web.Request) -> tuple[int, OpenedMessage]:
    message_id = await resolve_id(request)
    try:
        opened = await workers.run(request, _context(request).mailbox.get, message_id)
    except MessageNotFound as exc:
        raise _not_found(exc) from None
    return message_id, opened


async def _stored(request: web.Request) -> StoredMessage:
    message_id = await resolve_id(request)
    try:
        return await workers.run(request, _context(request).mailbox.get_stored, message_id)
    except MessageNotFound as exc:
        raise _not_found(exc) from None


# ---- JSON ----------------------------------------------------------------------


async def get_message(request: web.Request) -> web.Response:
    ctx = _context(request)
    message_id, opened = await _opened(request)
    body = await workers.run(request, message_json, opened)
    if not opened.stored.summary.read and not ctx.read_only:
        # deleted meanwhile: the reader still gets what it read
        with contextlib.suppress(MessageNotFound):
            ctx.mailbox.mark_read([message_id], True)
    return web.json_response(body)


def _headers(raw: bytes) -> dict[str, list[str]]:
    tree = build_tree(raw)
    return headers_json(ParsedMessage(headers_of(tree.root), None, None, (), (), ()))


async def get_headers(request: web.Request) -> web.Response:
    stored = await _stored(request)
    return web.json_response(await workers.run(request, _headers, stored.raw))


def session_json(stored: StoredMessage) -> dict[str, Any]:
    """Our ``/session`` extension body: the SMTP session facts of one message."""
    summary = stored.summary
    tls = stored.tls
    return {
        "ID": str(summary.id),
        "Received": rfc3339(summary.received_at),
        "Source": stored.source,
        "EnvelopeFrom": summary.envelope_from,
        "EnvelopeTo": list(summary.envelope_to),
        "Peer": stored.peer,
        "Helo": stored.helo,
        "TLS": None
        if tls is None
        else {
            "Version": tls.version,
            "Cipher": tls.cipher,
            "Bits": tls.bits,
            "Implicit": tls.implicit,
        },
        "AuthUser": stored.auth_user,
        "Transcript": list(stored.transcript),
    }


async def get_session(request: web.Request) -> web.Response:
    return web.json_response(session_json(await _stored(request)))


# ---- raw and parts ---------------------------------------------------------------


async def get_raw(request: web.Request) -> web.Response:
    stored = await _stored(request)
    headers = {}
    if request.query.get("dl") == "1":
        headers["Content-Disposition"] = f'attachment; filename="{stored.id}.eml"'
    return web.Response(
        body=stored.raw,
        content_type="text/plain",
        charset="utf-8",
        headers=headers,
    )


class _PartFound:
    __slots__ = ("data", "content_type", "filename")

    def __init__(self, data: bytes, content_type: str, filename: str) -> None:
        self.data = data
        self.content_type = content_type
        self.filename = filename


def _find_part(raw: bytes, part_id: str) -> _PartFound | None:
    """The decoded part ``part_id``: an attachment with its name, or any other leaf part."""
    parsed = parse_message(raw)
    for att in parsed.attachments:
        if att.part_id == part_id:
            return _PartFound(att.data, att.content_type, att.filename or att.content_id or "")
    tree = build_tree(raw)
    entity = tree.find(part_id)
    if entity is None or entity.kind == MULTIPART:
        return None
    data, _note = decode_payload(entity.payload(), entity.cte)
    return _PartFound(data, entity.ctype, entity.filename() or entity.content_id or "")


async def _part(request: web.Request) -> _PartFound:
    stored = await _stored(request)
    part_id = request.match_info["part"]
    found = await workers.run(request, _find_part, stored.raw, part_id)
    if found is None:
        raise ApiError(404, "Part not found")
    return found


def _disposition(filename: str) -> str:
    """Mailpit's ``filename="..."``, kept ASCII; the real name in ``filename*`` (RFC 6266)."""
    safe = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    value = f'filename="{safe}"'
    if safe != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe='')}"
    return value


async def get_part(request: web.Request) -> web.Response:
    found = await _part(request)
    return web.Response(
        body=found.data,
        headers={
            "Content-Type": found.content_type or "application/octet-stream",
            "Content-Disposition": _disposition(found.filename),
        },
    )


async def get_thumbnail(request: web.Request) -> web.Response:
    found = await _part(request)
    jpeg = await workers.run(request, make_thumbnail, found.data, found.content_type)
    return web.Response(
        body=jpeg,
        headers={"Content-Type": "image/jpeg", "Content-Disposition": _disposition(found.filename)},
    )


# ---- /view ---------------------------------------------------------------------


def _allow_remote(request: web.Request) -> bool:
    value = request.query.get("remote")
    if value is None:
        return _context(request).allow_remote_content
    return value.strip().lower() in ("1", "true", "yes")


async def view_html(request: web.Request) -> web.Response:
    message_id, opened = await _opened(request)
    if not opened.parsed.html:
        raise ApiError(404, "This message does not contain a HTML part")
    html = await workers.run(request, link_inline_images, opened.parsed, message_id)
    return web.Response(
        body=html.encode("utf-8", errors="replace"),
        content_type="text/html",
        charset="utf-8",
        headers={
            "Content-Security-Policy": content_security_policy(allow_remote=_allow_remote(request)),
            "Referrer-Policy": "no-referrer",
            "X-Content-Type-Options": "nosniff",
        },
    )


async def view_text(request: web.Request) -> web.Response:
    _message_id, opened = await _opened(request)
    return web.Response(
        body=(opened.parsed.text or "").encode("utf-8", errors="replace"),
        content_type="text/plain",
        charset="utf-8",
    )
