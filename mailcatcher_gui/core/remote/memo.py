"""A few answers of a remote catcher remembered for a moment.

The window asks for the same counters several times in a row (the status
bar's total and unread, the sidebar's tag counts, after every burst of
events); each is an HTTP request, and a tag count is a search per tag. A
``Memo`` keeps such an answer for ``ttl`` seconds, and every mailbox event
clears it (``RemoteMailbox._emit``), so a change this client hears about is
never hidden; the short ttl bounds how stale an answer can be when the live
events are down.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ["Memo"]

T = TypeVar("T")


class Memo:
    """``get(key, ttl, compute)``: the remembered value, or ``compute()`` remembered."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[str, tuple[float, object]] = {}
        self._generation = 0

    def get(self, key: str, ttl: float, compute: Callable[[], T]) -> T:
        now = self._clock()
        with self._lock:
            found = self._values.get(key)
            generation = self._generation
        if found is not None and now - found[0] < ttl:
            return found[1]  # type: ignore[return-value]
        value = compute()
        with self._lock:
            if generation == self._generation:  # not cleared while computing
                self._values[key] = (now, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._values.clear()
            self._generation += 1
