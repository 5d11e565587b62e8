"""The HTTP API's lifecycle for a long-running composition root (the window).

``serve`` starts the API once and exits on failure; the window instead keeps
running without it (a busy port is a warning, not a reason to quit) and lets
the user move it in Settings. ``ApiService`` holds that state: what runs,
why the last start failed, and a ``restart`` that falls back to the previous
address when the new one cannot be used, as the SMTP listener does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from .context import ApiContext
from .server import HttpConfig, HttpStartError, RunningHttp, start_http

__all__ = ["ApiService"]

log = logging.getLogger(__name__)


class ApiService:
    """Start, stop and move the HTTP API; ``make_context`` builds a fresh ``ApiContext``."""

    def __init__(self, make_context: Callable[[], ApiContext]) -> None:
        self._make_context = make_context
        self.running: RunningHttp | None = None
        self.config: HttpConfig | None = None  # what runs (or last ran)
        self.error: HttpStartError | None = None  # why the last start failed
        self._lock = asyncio.Lock()

    async def start(self, config: HttpConfig) -> bool:
        """Start on ``config``; False (and ``error`` set) when it cannot."""
        try:
            self.running = await start_http(config, self._make_context())
        except HttpStartError as exc:
            self.running = None
            self.error = exc
            log.warning("HTTP API not started: %s", exc)
            return False
        self.config = config
        self.error = None
        return True

    async def stop(self) -> None:
        running, self.running = self.running, None
        if running is not None:
            await running.stop()

    async def restart(self, config: HttpConfig | None) -> bool:
        """Switch to ``config`` (None: off). If it cannot start, the previous one runs again."""
        async with self._lock:
            previous = self.config if self.running is not None else None
            await self.stop()
            if config is None:
                self.error = None
                return True
            if await self.start(config):
                return True
            failure = self.error
            if previous is not None and previous != config and await self.start(previous):
                self.error = failure  # the new address failed; the old one runs again
            return False
