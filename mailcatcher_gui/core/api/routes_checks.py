"""The check endpoints: Mailpit's three, and our ``/checks`` with every family.

* ``GET /api/v1/message/{ID}/html-check``: Mailpit's ``HTMLCheckResponse``
  (the compatibility family's ``data["mailpit"]``); 400 "message does not
  contain HTML" for a message without HTML, as Mailpit.
* ``GET /api/v1/message/{ID}/link-check?follow=true``: Mailpit's
  ``LinkCheckResponse``; redirects are followed only with ``follow=true``
  or ``1`` (Mailpit's default is not to).
* ``GET /api/v1/message/{ID}/sa-check``: Mailpit's ``SpamAssassinResponse``;
  400 "no SpamAssassin service defined" when no spamd is configured, and a
  200 whose ``Error`` says why when spamd does not answer, as Mailpit.
* ``GET /api/v1/message/{ID}/checks`` (our extension): the whole report,
  the same JSON as ``messages check --json`` (``core.checks.report``);
  ``?links=1`` and ``?spam=1`` add the network families, ``?follow=0``
  stops link redirects being followed.

What the checks may do comes from ``ApiContext.extras["check_options"]``
(a ``CheckOptions``, set by the composition root: ``serve`` from its
``--dkim-key``/``--spamassassin``/``--allow-local-links``/``--no-dns``
options, the window from its settings); without one the defaults apply
(DNS allowed, no spamd, local link targets refused). CPU work (reading,
parsing, the local families) runs on the API's worker pool (``workers``),
network work (links, spamd) on the loop; checking never marks a message
read.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from ..checks.compatibility import check_compatibility
from ..checks.inputs import CheckInput
from ..checks.links import check_links
from ..checks.model import CheckOptions, FamilyResult
from ..checks.report import add_network_checks, report_json
from ..checks.runner import run_local_checks
from ..checks.spam import check_spam
from ..models import OpenedMessage
from ..store import MessageNotFound
from . import workers
from .context import CONTEXT
from .errors import ApiError
from .routes_message import resolve_id

__all__ = ["CHECK_OPTIONS_KEY", "add_routes", "check_options"]

CHECK_OPTIONS_KEY = "check_options"  # in ApiContext.extras
_FLAGS = {"1": True, "true": True, "0": False, "false": False}


def add_routes(app: web.Application) -> None:
    workers.install(app)
    r = app.router
    r.add_get("/api/v1/message/{id}/html-check", html_check)
    r.add_get("/api/v1/message/{id}/link-check", link_check)
    r.add_get("/api/v1/message/{id}/sa-check", sa_check)
    r.add_get("/api/v1/message/{id}/checks", all_checks)


def check_options(request: web.Request) -> CheckOptions:
    """The composition root's ``CheckOptions`` for this app, or the defaults."""
    found = request.app[CONTEXT].extras.get(CHECK_OPTIONS_KEY)
    return found if isinstance(found, CheckOptions) else CheckOptions()


def _flag(request: web.Request, name: str, default: bool) -> bool:
    """A yes/no query parameter: ``true``/``1`` or ``false``/``0`` (anything else is a 400)."""
    value = request.query.get(name)
    if value is None or value == "":
        return default
    if value not in _FLAGS:
        raise ApiError(400, f"{name} must be true, false, 1 or 0")
    return _FLAGS[value]


async def _opened(request: web.Request) -> OpenedMessage:
    message_id = await resolve_id(request)
    try:
        return await workers.run(request, request.app[CONTEXT].mailbox.get, message_id)
    except MessageNotFound:
        raise ApiError(404, "Message not found") from None


def _compatibility(opened: OpenedMessage) -> FamilyResult:
    """Only the compatibility family: html-check needs nothing else (no DKIM, no DNS)."""
    return check_compatibility(CheckInput.build(opened))


async def html_check(request: web.Request) -> web.Response:
    opened = await _opened(request)
    if not (opened.parsed.html or "").strip():
        raise ApiError(400, "message does not contain HTML")
    family = await workers.run(request, _compatibility, opened)
    shape = family.data.get("mailpit")
    if not isinstance(shape, dict):
        raise ApiError(500, "the HTML check produced no result")
    return web.json_response(shape)


async def link_check(request: web.Request) -> web.Response:
    opened = await _opened(request)
    follow = _flag(request, "follow", False)
    result = await check_links(opened, check_options(request), follow=follow)
    return web.json_response(result.data["mailpit"])


async def sa_check(request: web.Request) -> web.Response:
    opened = await _opened(request)
    options = check_options(request)
    if not options.spamassassin:
        raise ApiError(400, "no SpamAssassin service defined")
    result = await check_spam(opened.stored.raw, options)
    return web.json_response(result.data["mailpit"])


async def all_checks(request: web.Request) -> web.Response:
    links = _flag(request, "links", False)
    spam = _flag(request, "spam", False)
    follow = _flag(request, "follow", True)
    opened = await _opened(request)
    options = check_options(request)
    report = await workers.run(request, run_local_checks, opened, options)
    report = await add_network_checks(
        report, opened, options, links=links, spam=spam, follow=follow
    )
    body: dict[str, Any] = await workers.run(request, report_json, report)
    return web.json_response(body)
