"""What a request handler may use, handed over by the composition root.

Handlers reach the mailbox and the sending backend only through an
``ApiContext`` stored on the aiohttp application (``app[CONTEXT]``), never
through globals, so the window and ``serve`` (and a test) can each build an
API over their own mailbox.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from ..mailbox_protocol import MailboxProtocol
    from ..sending.base import Transport

__all__ = ["CONTEXT", "ApiContext"]


@dataclass
class ApiContext:
    """The API's view of the running app.

    ``relay_transport`` returns the transport that ``release`` and ``send``
    (with a relay) go through, or None when no relay is configured (then
    those endpoints answer 400 as Mailpit does). ``smtp_listeners`` are the
    sink's ``(kind, host, port)`` triples, for ``/api/v1/info`` and
    ``/api/v1/webui``. ``max_body`` bounds every request body (``--max-size``).
    ``allow_remote_content`` is the default of ``/view/{ID}.html``'s CSP.
    """

    mailbox: MailboxProtocol
    version: str = "0"
    relay_transport: Callable[[], Transport | None] = lambda: None
    smtp_listeners: tuple[tuple[str, str, int], ...] = ()
    max_body: int = 25 * 1024 * 1024
    allow_remote_content: bool = False
    read_only: bool = False
    extras: dict[str, object] = field(default_factory=dict)


CONTEXT: web.AppKey[ApiContext] = web.AppKey("mailcatcher_api_context", ApiContext)
