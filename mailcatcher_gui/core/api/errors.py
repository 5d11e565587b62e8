"""One error shape for every failure: ``{"Error": "sentence for a person"}`` with a 4xx/5xx.

Mailpit answers errors as plain text; clients only look at the status, and a
JSON body lets ours carry the same sentence in a form scripts can read. The
middleware turns every exception a handler lets out into such a body: an
``ApiError`` or an aiohttp ``HTTPException`` keeps its status, a
``MessageNotFound`` is a 404, a ``QueryError`` a 400, anything else a 500
whose body says only "internal error" (the traceback goes to the log, never
to the client).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..store import MessageNotFound, QueryError

__all__ = ["ApiError", "error_middleware", "json_error"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ApiError(Exception):
    """Raise from a handler to answer ``status`` with ``message`` as the JSON error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_error(status: int, message: str, *, headers: dict[str, str] | None = None) -> web.Response:
    """The error response every endpoint uses."""
    return web.Response(
        status=status,
        text=json.dumps({"Error": message}),
        content_type="application/json",
        headers=headers,
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.message)
    except MessageNotFound as exc:
        return json_error(404, str(exc) or "message not found")
    except QueryError as exc:
        return json_error(400, str(exc))
    except web.HTTPException as exc:
        if exc.status < 400:  # redirects and such pass through untouched
            raise
        kept = ("allow", "www-authenticate")
        headers = {k: v for k, v in exc.headers.items() if k.lower() in kept}
        return json_error(exc.status, exc.reason, headers=headers or None)
    except ConnectionResetError:  # the client went away: nobody to answer
        raise
    except Exception:
        log.exception("HTTP API: %s %s failed", request.method, request.path)
        return json_error(500, "internal error")
