"""Mailpit's tag endpoints over the mailbox's tag methods.

* ``GET /api/v1/tags``: every tag in use, a JSON array of names.
* ``PUT /api/v1/tags`` ``{"IDs": [...], "Tags": [...]}``: REPLACE those
  messages' tags, as Mailpit does. A missing, null or empty ``Tags`` removes
  them all (Mailpit's Go decoding makes a missing list empty, and clients
  such as npm ``mailpit-api`` rely on it); no ``IDs`` changes nothing. An
  unknown ID is a 404 and then no message is changed, so a typo never
  half-applies a request.
* ``PUT /api/v1/tags/{Tag}`` ``{"Name": "new"}``: rename a tag everywhere.
* ``DELETE /api/v1/tags/{Tag}``: take a tag off every message (the messages stay);
  deleting a tag nobody has is not an error (DELETE is idempotent), renaming
  one is a 404.

Tag names are cleaned by the mailbox (Mailpit's rules); the mailbox emits
``TagsChanged``, which the events WebSocket passes on.
"""

from __future__ import annotations

from aiohttp import web

from ..store import InvalidTag
from .context import CONTEXT, ApiContext
from .errors import ApiError
from .request_body import json_object, optional_str, parse_message_id, str_list

__all__ = ["add_routes"]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/tags", list_tags)
    app.router.add_put("/api/v1/tags", set_tags)
    app.router.add_put("/api/v1/tags/{tag}", rename_tag)
    app.router.add_delete("/api/v1/tags/{tag}", delete_tag)


def _ok() -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


def _writable(ctx: ApiContext) -> None:
    if ctx.read_only:
        raise ApiError(403, "this mailbox is read-only: tags cannot be changed")


async def list_tags(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    return web.json_response(list(ctx.mailbox.tags()))


async def set_tags(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    _writable(ctx)
    body = await json_object(request)
    ids = [parse_message_id(text) for text in str_list(body, "IDs")]
    tags = str_list(body, "Tags")
    for message_id in ids:  # all or nothing: check every ID before changing any
        ctx.mailbox.summary(message_id)
    if ids:
        ctx.mailbox.set_tags(ids, tags)
    return _ok()


async def rename_tag(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    _writable(ctx)
    old = request.match_info["tag"]
    body = await json_object(request)
    new = optional_str(body, "Name").strip()
    if not new:
        raise ApiError(400, "Name is required: the tag's new name")
    try:
        renamed = ctx.mailbox.rename_tag(old, new)
    except InvalidTag as exc:
        raise ApiError(400, str(exc)) from None
    if renamed == 0:  # a tag in use is on at least one message
        raise ApiError(404, f"tag {old!r} not found")
    return _ok()


async def delete_tag(request: web.Request) -> web.Response:
    ctx = request.app[CONTEXT]
    _writable(ctx)
    ctx.mailbox.delete_tag(request.match_info["tag"])
    return _ok()
