"""The asyncio loop on Qt: qasync's ``QEventLoop`` with a cheap ``call_soon``.

qasync turns every ``call_soon`` into a Qt timer of its own (``startTimer(0)``,
then a ``timerEvent``, then ``killTimer``). asyncio calls ``call_soon`` for
every task step, every future callback, every socket readiness (qasync's
notifier wrapper) and every ``call_soon_threadsafe``, so an SMTP burst into
the window registered and killed several Qt timers per message, which was
most of the window's extra cost per message over headless ``serve``.

``QtAsyncLoop`` keeps a FIFO of ready callbacks, as asyncio's own loop does,
and arms ONE zero-delay Qt timer whenever that FIFO becomes non-empty. The
timer runs the callbacks that were ready when it fired (those scheduled
meanwhile wait for the next round, so Qt input and paint events get their turn
between rounds, exactly as with one timer per callback). Timers with a delay
(``call_later``/``call_at``) are qasync's unchanged.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable
from typing import Any

import qasync


class QtAsyncLoop(qasync.QEventLoop):
    """qasync's QEventLoop whose ready callbacks share one Qt timer per round."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready_callbacks: collections.deque[asyncio.Handle] = collections.deque()
        self._round_armed = False
        super().__init__(*args, **kwargs)

    def call_soon(
        self,
        callback: Callable[..., object],
        *args: Any,
        context: contextvars.Context | None = None,
    ) -> asyncio.Handle:
        # No per-call checks of the callback: asyncio's own loop makes them only
        # in debug mode, and qasync's iscoroutinefunction() check alone cost
        # more than the rest of call_soon.
        handle = asyncio.Handle(callback, args, self, context=context)
        self._ready_callbacks.append(handle)
        if not self._round_armed:
            self._round_armed = True
            self._add_callback(asyncio.Handle(self._run_ready_round, (), self), 0)
        return handle

    def _run_ready_round(self) -> None:
        # Disarm first: callbacks scheduled from here on arm the next round.
        self._round_armed = False
        ready = self._ready_callbacks
        for _ in range(len(ready)):
            if not ready:  # a nested Qt event loop (a modal dialog) ran them already
                break
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()  # reports its own exceptions to the loop's handler

    def close(self) -> None:
        self._ready_callbacks.clear()
        super().close()
