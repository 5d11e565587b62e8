"""The HTTP API: Mailpit's REST API (``/api/v1/...``), its WebSocket events and our extensions.

It runs on the same asyncio loop as the SMTP sink (plain asyncio in
``serve``, the qasync loop in the window); there is no thread. Import the
public names from here; the modules behind them may move:

* ``context``: ``ApiContext``, what the handlers may use (mailbox, sending, settings)
* ``application``: ``build_application``, the aiohttp app with every route
* ``errors``: the JSON error body every 4xx/5xx has, and the middleware that
  turns any exception into one (never a traceback)
* one ``routes_*`` module per family of endpoints, each with ``add_routes``
* ``server``: ``HttpConfig``, ``start_http`` -> ``RunningHttp`` (listeners, TLS,
  the loopback-by-default rule, body limits); ``security``: Basic auth from an
  htpasswd file, origin/Host checks, CORS; ``service``: ``ApiService``, the
  start/stop/move lifecycle the window uses
"""

from .application import build_application
from .context import ApiContext
from .errors import ApiError, json_error

__all__ = ["ApiContext", "ApiError", "build_application", "json_error"]
