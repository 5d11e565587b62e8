"""``build_application``: the aiohttp application with every route of the API.

Each ``routes_*`` module registers its own endpoints through ``add_routes(app)``
and reads the ``ApiContext`` from ``app[CONTEXT]``; the order here only
matters for the middlewares (errors outermost, so an auth or size refusal is
JSON too).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from aiohttp import web

from .context import CONTEXT, ApiContext
from .errors import error_middleware

__all__ = ["ROUTE_MODULES", "build_application"]

# The families of endpoints, one module each (``add_routes(app)``). A module
# listed here that does not exist yet is a bug, not something to skip.
ROUTE_MODULES: tuple[str, ...] = (
    "routes_app",
    "routes_events",
    "routes_messages",
    "routes_message",
    "routes_send",
    "routes_tags",
    "routes_openapi",
    "routes_checks",
)


def build_application(
    ctx: ApiContext,
    *,
    middlewares: Iterable[object] = (),
    route_modules: Iterable[str] | None = None,
) -> web.Application:
    """The app for ``ctx``; ``middlewares`` (auth, CORS) run inside the error middleware."""
    app = web.Application(
        middlewares=[error_middleware, *middlewares],  # type: ignore[list-item]
        # 0 (``--max-size 0``) means unlimited, as aiohttp's 0 does.
        client_max_size=max(1024, ctx.max_body) if ctx.max_body else 0,
    )
    app[CONTEXT] = ctx
    for name in ROUTE_MODULES if route_modules is None else route_modules:
        module = importlib.import_module(f"{__package__}.{name}")
        module.add_routes(app)
    return app
