"""``Listeners``: the one registry of callbacks behind every mailbox's ``subscribe``.

The local mailbox, the remote one (and its connection-state watchers) and the
window's mailbox switch all hand events to whoever subscribed, from whatever
thread the event happened on. They share the same rules, kept here: adding
and removing is safe from any thread, an event goes to the listeners
registered when it is emitted, and a listener that raises is logged while the
others still get the event (a broken listener must never lose a message or
starve the rest).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Listeners"]

T = TypeVar("T")


class Listeners(Generic[T]):
    """Thread-safe ``add``/``emit`` of callbacks taking one ``T``."""

    def __init__(self, log: logging.Logger, what: str = "listener") -> None:
        self._log = log
        self._what = what
        self._lock = threading.Lock()
        self._items: list[Callable[[T], None]] = []

    def add(self, listener: Callable[[T], None]) -> Callable[[], None]:
        """Register ``listener``; returns the function that unregisters it."""
        with self._lock:
            self._items.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._items:
                    self._items.remove(listener)

        return remove

    def emit(self, item: T) -> None:
        with self._lock:
            listeners = list(self._items)
        for listener in listeners:
            try:
                listener(item)
            except Exception:  # noqa: BLE001 - one bad listener must not starve the rest
                self._log.exception("%s failed on %r", self._what, type(item).__name__)

    def __bool__(self) -> bool:
        return bool(self._items)
