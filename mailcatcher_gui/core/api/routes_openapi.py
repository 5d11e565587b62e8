"""``GET /api/v1/swagger.json``: our own OpenAPI 3 document of this API.

Mailpit serves its (Swagger 2) document at the same path; ours is OpenAPI 3
and describes what *this* server returns, Mailpit's paths plus our
extensions (marked ``x-mailcatcher-extension: true``). The document is
package data (``openapi.json`` beside this module), read once per app; the
contract test (``tests/test_api_contract.py``) runs schemathesis against a
live server with it, so the document and the handlers cannot drift apart
unnoticed.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from aiohttp import web

__all__ = ["add_routes", "openapi_document"]

_DOCUMENT: web.AppKey[bytes] = web.AppKey("mailcatcher_openapi_document", bytes)


def openapi_document() -> dict[str, Any]:
    """The document as a dict (a fresh copy each call)."""
    text = resources.files(__package__).joinpath("openapi.json").read_text("utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


def add_routes(app: web.Application) -> None:
    app[_DOCUMENT] = json.dumps(openapi_document(), indent=1).encode("utf-8")
    app.router.add_get("/api/v1/swagger.json", swagger_json)


async def swagger_json(request: web.Request) -> web.Response:
    return web.Response(body=request.app[_DOCUMENT], content_type="application/json")
