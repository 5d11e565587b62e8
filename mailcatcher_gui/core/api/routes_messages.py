"""Mailpit's list endpoints: list, search, mark read/unread, delete.

``/api/v1/messages`` and ``/api/v1/search``.

Everything goes through ``MailboxProtocol`` (``list``/``count``/``ids``/
``mark_read``/``delete``/``clear``), so the same routes serve a local store
and anything else that keeps the protocol. Store reads run in a worker
thread (``core.api.workers``): a search over 100,000 messages must not hold
up the SMTP sessions sharing this loop.

Behaviour follows Mailpit's handlers (``server/apiv1/messages.go``):

* ``start`` defaults to 0, ``limit`` to 50; a negative ``start`` counts as 0
  and a ``limit`` below 1 as 50. Unlike Mailpit, which silently falls back to
  the default, a value that is not an integer is a 400 with a sentence.
* ``PUT /api/v1/messages`` takes ``{"Read": bool, "IDs": [...], "Search":
  "..."}``: the given ids, or the messages matching the search, or (neither)
  every message; both together is a 400. Answers ``ok`` (text/plain).
* ``DELETE /api/v1/messages`` takes ``{"IDs": [...]}``; no body or no ids
  deletes every message (as Mailpit). A body that is not JSON is a 400 here
  (Mailpit deletes everything then: a typo must not empty a mailbox).
* ``tz`` (an IANA zone name) makes ``before:``/``after:`` days start at
  midnight in that zone, as Mailpit's ``tz``; without it days are UTC days.
  An unknown zone is a 400 (Mailpit ignores it).
* Unknown ids in ``IDs`` are ignored, as Mailpit does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web

from ..mailbox_protocol import MailboxProtocol
from . import workers
from .context import CONTEXT, ApiContext
from .errors import ApiError
from .shapes import json_ids, messages_summary_json

__all__ = ["add_routes", "apply_timezone", "read_start_limit"]

DEFAULT_LIMIT = 50


def add_routes(app: web.Application) -> None:
    workers.install(app)
    app.router.add_get("/api/v1/messages", list_messages)
    app.router.add_put("/api/v1/messages", set_read_status)
    app.router.add_delete("/api/v1/messages", delete_messages)
    app.router.add_get("/api/v1/search", search_messages)
    app.router.add_delete("/api/v1/search", delete_search)


# ---- query parameters ----------------------------------------------------------


def _integer(request: web.Request, name: str) -> int | None:
    text = request.query.get(name)
    if text is None or text.strip() == "":
        return None
    text = text.strip()
    if not re.fullmatch(r"[+-]?\d{1,18}", text, re.ASCII):
        raise ApiError(400, f"'{name}' must be a whole number, not {text[:40]!r}.")
    return int(text)


def read_start_limit(request: web.Request) -> tuple[int, int]:
    """``start`` and ``limit`` as Mailpit reads them (defaults 0 and 50)."""
    start = _integer(request, "start")
    limit = _integer(request, "limit")
    start = start if start is not None and start > 0 else 0
    limit = limit if limit is not None and limit > 0 else DEFAULT_LIMIT
    return start, limit


_TERM_RE = re.compile(r'(?:[^\s"]|"[^"]*"?)+')
_DAY_TERM_RE = re.compile(
    r"(?P<neg>[-!]?)(?P<op>before|after):(?P<day>\d{4}-\d{2}-\d{2})", re.ASCII | re.IGNORECASE
)


def apply_timezone(query: str, tz: str | None) -> str:
    """``query`` with each ``before:DAY``/``after:DAY`` made midnight of DAY in zone ``tz``.

    Our search language reads a bare day as a UTC day; Mailpit reads it in the
    ``tz`` the client sends (its browser's zone). The day becomes an instant
    with that zone's offset on that day (``after:2024-05-01T00:00:00+12:00``),
    which the search language takes as is. Raises ``ApiError`` (400) for an
    unknown zone.
    """
    tz = (tz or "").strip()
    if not tz:
        return query
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ApiError(
            400, f"Unknown time zone {tz[:60]!r} (use a name such as Europe/Berlin)."
        ) from None

    def convert(match: re.Match[str]) -> str:
        m = _DAY_TERM_RE.fullmatch(match.group(0))
        if m is None:
            return match.group(0)
        try:
            day = date.fromisoformat(m.group("day"))
        except ValueError:
            return match.group(0)  # the search language explains a bad date
        midnight = datetime.combine(day, time(0, 0), tzinfo=zone)
        return f"{m.group('neg')}{m.group('op')}:{midnight.isoformat(timespec='seconds')}"

    return _TERM_RE.sub(convert, query)


def _search_query(request: web.Request) -> str:
    query = (request.query.get("query") or "").strip()
    if not query:
        raise ApiError(400, "Error: no search query")
    return apply_timezone(query, request.query.get("tz"))


def _context(request: web.Request) -> ApiContext:
    return request.app[CONTEXT]


def _writable(ctx: ApiContext) -> MailboxProtocol:
    if ctx.read_only:
        raise ApiError(403, "The mailbox is read-only.")
    return ctx.mailbox


def _tag_names(mailbox: MailboxProtocol) -> list[str]:
    return list(mailbox.tags())


def _ok() -> web.Response:
    return web.Response(text="ok", content_type="text/plain")


async def _json_body(request: web.Request, *, empty: Any) -> Any:
    """The request's JSON body (``empty`` when there is none); a 400 when it is not JSON."""
    raw = await request.read()
    if not raw.strip():
        return empty
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ApiError(400, "The request body is not valid JSON.") from None


def _ids_field(body: Any, name: str = "IDs") -> list[int]:
    if not isinstance(body, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    ids = json_ids(body.get(name))
    if ids is None:
        raise ApiError(400, f"'{name}' must be a list of message IDs (strings).")
    return ids


# ---- handlers ------------------------------------------------------------------


def _page(mailbox: MailboxProtocol, query: str | None, start: int, limit: int) -> dict[str, Any]:
    """One page and every counter, read in one worker-thread hop."""
    rows = mailbox.list(query=query, offset=start, limit=limit)
    total = mailbox.count()
    unread = mailbox.unread_count()
    if query is None:
        matched, matched_unread = total, unread
    else:
        matched = mailbox.count(query)
        # The unread matches need a second count; skip it when the mailbox
        # answers it already (nothing unread, or everything).
        if not matched or not unread:
            matched_unread = 0
        elif unread == total:
            matched_unread = matched
        else:
            matched_unread = mailbox.count(f"{query} is:unread")
    return messages_summary_json(
        rows,
        total=total,
        unread=unread,
        matched=matched,
        matched_unread=matched_unread,
        start=start,
        tags=_tag_names(mailbox),
    )


async def list_messages(request: web.Request) -> web.Response:
    start, limit = read_start_limit(request)
    mailbox = _context(request).mailbox
    body = await workers.run(request, _page, mailbox, None, start, limit)
    return web.json_response(body)


async def search_messages(request: web.Request) -> web.Response:
    query = _search_query(request)
    start, limit = read_start_limit(request)
    mailbox = _context(request).mailbox
    body = await workers.run(request, _page, mailbox, query, start, limit)
    return web.json_response(body)


async def _mark(
    request: web.Request,
    mailbox: MailboxProtocol,
    ids: Sequence[int] | None,
    query: str | None,
    read: bool,
) -> None:
    # Which ids is a read (worker thread); the write itself runs on the loop,
    # so the mailbox's events reach their listeners (the WebSocket, the
    # window's bridge) on the loop thread, as every other write's do.
    if ids is None:
        ids = await workers.run(request, mailbox.ids, query)
    if ids:
        mailbox.mark_read(ids, read)


async def set_read_status(request: web.Request) -> web.Response:
    mailbox = _writable(_context(request))
    body = await _json_body(request, empty={})
    ids = _ids_field(body)
    read = body.get("Read", False)
    if not isinstance(read, bool):
        raise ApiError(400, "'Read' must be true or false.")
    search = body.get("Search")
    search = "" if search is None else search  # {} or 0 is a wrong type, not "no search"
    if not isinstance(search, str):
        raise ApiError(400, "'Search' must be a string.")
    search = search.strip()
    if ids and search:
        raise ApiError(400, "You may specify either IDs or a search query, not both")
    if search:
        query = apply_timezone(search, request.query.get("tz"))
        await _mark(request, mailbox, None, query, read)
    elif "IDs" in body and body.get("IDs"):
        await _mark(request, mailbox, ids, None, read)
    else:
        await _mark(request, mailbox, None, None, read)
    return _ok()


async def delete_messages(request: web.Request) -> web.Response:
    mailbox = _writable(_context(request))
    body = await _json_body(request, empty={})
    ids = _ids_field(body)
    if body.get("IDs"):
        if ids:
            mailbox.delete(ids)
    else:
        mailbox.clear()
    return _ok()


async def delete_search(request: web.Request) -> web.Response:
    mailbox = _writable(_context(request))
    query = _search_query(request)
    ids = await workers.run(request, mailbox.ids, query)
    if ids:
        mailbox.delete(ids)
    return _ok()
