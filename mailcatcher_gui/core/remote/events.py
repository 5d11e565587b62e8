"""The catcher's live events (``/api/events`` WebSocket) on a thread of their own.

Mailpit pushes ``{"Type": ..., "Data": ...}`` objects: ``new`` (a message
summary), ``update`` (``{"ID", "Read"}`` or ``{"ID", "Tags"}``), ``delete``
(``{"ID"}``), ``prune`` (many deleted: re-read), ``truncate`` (all deleted),
``stats`` (totals). Older Mailpit releases put several objects in one frame,
one per line, so every frame is split at newlines.

The stream is read by aiohttp on a private event loop in a daemon thread:
the window's own loop (qasync) must not depend on a remote socket, and the
``serve`` process or a test has no Qt loop at all. ``on_event(type, data)``
and ``on_state(state)`` are called on that thread; ``RemoteMailbox`` turns
them into ``MailboxEvent``\\ s, which the Qt bridge moves to the GUI thread.

A lost connection is retried with exponential backoff (``min_backoff``
doubling up to ``max_backoff``) until ``stop``. Every change of the
connection is reported through ``on_state``: the window shows a banner while
``connected`` is False, and a reconnect tells the mailbox that events may
have been missed (``ConnectionState.resumed``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .client import CatcherEndpoint

if TYPE_CHECKING:
    import aiohttp

__all__ = ["ConnectionState", "EventStream"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConnectionState:
    """Whether the live events flow, and if not, why and when the next try is."""

    connected: bool
    detail: str = ""  # why not (for the banner), empty when connected
    retry_in: float = 0.0  # seconds until the next attempt
    resumed: bool = False  # connected again after a loss: events may have been missed


EventHandler = Callable[[str, Any], None]
StateHandler = Callable[[ConnectionState], None]


def split_frame(text: str) -> list[tuple[str, Any]]:
    """The ``(Type, Data)`` pairs of one WebSocket text frame; junk lines are skipped."""
    out: list[tuple[str, Any]] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            log.debug("ignoring a non-JSON event line: %.80r", line)
            continue
        if isinstance(obj, dict) and isinstance(obj.get("Type"), str):
            out.append((obj["Type"], obj.get("Data")))
    return out


class EventStream:
    """Reads ``endpoint``'s events until ``stop``; reconnects on its own."""

    def __init__(
        self,
        endpoint: CatcherEndpoint,
        on_event: EventHandler,
        on_state: StateHandler,
        *,
        min_backoff: float = 0.25,
        max_backoff: float = 10.0,
        heartbeat: float = 20.0,
        first_frame_grace: float = 0.5,
    ) -> None:
        self.endpoint = endpoint
        self._on_event = on_event
        self._on_state = on_state
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.heartbeat = heartbeat
        self.first_frame_grace = first_frame_grace
        self._up = False
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = threading.Event()
        self._stopping = False
        self.state = ConnectionState(False, "connecting…")
        #: set once the first connection is up (tests, and the window's first sync)
        self.connected_once = threading.Event()

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(
            target=self._run, name="mailcatcher-remote-events", daemon=True
        )
        self._thread.start()
        self._started.wait(5.0)

    def stop(self, timeout: float = 5.0) -> None:
        """Close the socket and end the thread (idempotent)."""
        self._stopping = True
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop finished meanwhile
                loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    # ---- the thread -------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._task = loop.create_task(self._main())
            self._started.set()
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            self._started.set()
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _set_state(self, state: ConnectionState) -> None:
        self.state = state
        try:
            self._on_state(state)
        except Exception:  # noqa: BLE001 - a listener's bug must not end the stream
            log.exception("connection state listener failed")

    async def _main(self) -> None:
        # Imported here, on the events thread: the window starts without
        # paying for aiohttp until a catcher is actually shown.
        import aiohttp

        headers = {"User-Agent": "mailcatcher-gui"}
        auth = self.endpoint.auth_header()
        if auth:
            headers["Authorization"] = auth
        ssl_arg = self.endpoint.verify_tls
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=self.endpoint.connect_timeout)
        delay = self.min_backoff
        async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
            while not self._stopping:
                try:
                    async with session.ws_connect(
                        self.endpoint.websocket_url,
                        heartbeat=self.heartbeat,
                        ssl=ssl_arg,
                        autoping=True,
                    ) as ws:
                        delay = self.min_backoff
                        self._up = False
                        # Up at the first frame (a server may register the
                        # socket just after its handshake reply; ours sends
                        # ``stats`` at once), or after a grace period for one
                        # that says nothing until there is news.
                        grace = asyncio.get_running_loop().call_later(
                            self.first_frame_grace, self._announce_up
                        )
                        try:
                            reason = await self._read(ws)
                        finally:
                            grace.cancel()
                except aiohttp.WSServerHandshakeError as exc:
                    reason = (
                        "the catcher refused the login"
                        if exc.status in (401, 403)
                        else f"the catcher has no live events ({exc.status})"
                    )
                except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                    reason = _describe(exc)
                if self._stopping:
                    break
                self._set_state(ConnectionState(False, reason, retry_in=delay))
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_backoff)

    def _announce_up(self) -> None:
        if self._up:
            return
        self._up = True
        self._set_state(ConnectionState(True, resumed=self.connected_once.is_set()))
        self.connected_once.set()

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        import aiohttp

        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self._announce_up()
                for kind, data in split_frame(msg.data):
                    try:
                        self._on_event(kind, data)
                    except Exception:  # noqa: BLE001 - keep reading
                        log.exception("handling the %r event failed", kind)
            elif msg.type == aiohttp.WSMsgType.ERROR:
                return f"the live connection failed ({ws.exception() or 'error'})"
        return "the catcher closed the live connection"


def _describe(exc: BaseException) -> str:
    import aiohttp

    if isinstance(exc, TimeoutError):
        return "the catcher did not answer in time"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"cannot connect ({exc.os_error.strerror or exc.os_error})"
    return str(exc) or type(exc).__name__
