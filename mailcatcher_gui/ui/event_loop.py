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

Socket readiness: qasync disables a socket's ``QSocketNotifier`` when it
fires, schedules the callback with ``call_soon`` and re-enables the notifier
afterwards (two C++ calls and a detour through the ready queue for every
read). Here the notifier's signal runs the callback directly, as a selector
loop does when ``select`` returns; it stays enabled (level-triggered, like
epoll without EPOLLET). A notifier that is removed or replaced, possibly from
inside its own callback, is disabled and disconnected at once but kept alive
until the next round, so Qt never deletes it while it is emitting.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QSocketNotifier


class QtAsyncLoop(qasync.QEventLoop):  # type: ignore[misc]  # qasync ships no type hints (Any)
    """qasync's QEventLoop whose ready callbacks share one Qt timer per round."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready_callbacks: collections.deque[asyncio.Handle] = collections.deque()
        self._round_armed = False
        self._retired: list[QSocketNotifier] = []  # removed notifiers, freed next round
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
        if self._retired:  # no longer emitting: a round runs from a timer event
            self._retired.clear()
        ready = self._ready_callbacks
        for _ in range(len(ready)):
            if not ready:  # a nested Qt event loop (a modal dialog) ran them already
                break
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()  # reports its own exceptions to the loop's handler

    # ---- socket readiness ----------------------------------------------------------

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._watch(self._read_notifiers, QSocketNotifier.Type.Read, fd, callback, args)

    def _add_writer(self, fd: Any, callback: Callable[..., object], *args: Any) -> None:
        self._watch(self._write_notifiers, QSocketNotifier.Type.Write, fd, callback, args)

    def _remove_reader(self, fd: Any) -> bool:
        return self._unwatch(self._read_notifiers, fd)

    def _remove_writer(self, fd: Any) -> bool:
        return self._unwatch(self._write_notifiers, fd)

    def _watch(
        self,
        notifiers: dict[Any, QSocketNotifier],
        kind: QSocketNotifier.Type,
        fd: Any,
        callback: Callable[..., object],
        args: tuple[Any, ...],
    ) -> None:
        self._check_closed()
        old = notifiers.pop(fd, None)
        if old is not None:
            self._retire(old)
        notifier = QSocketNotifier(fd if isinstance(fd, int) else fd.fileno(), kind)
        handle = asyncio.Handle(callback, args, self)

        def ready(*_signal_args: object) -> None:
            if notifiers.get(fd) is notifier:  # not removed by an earlier callback
                handle._run()  # reports its own exceptions to the loop's handler

        # PySide6 stubs lack the overload subscript (runtime has it):
        notifier.activated["int"].connect(ready)  # type: ignore[index]
        notifier.setEnabled(True)
        notifiers[fd] = notifier

    def _unwatch(self, notifiers: dict[Any, QSocketNotifier] | None, fd: Any) -> bool:
        if self.is_closed() or notifiers is None:
            return False
        notifier = notifiers.pop(fd, None)
        if notifier is None:
            return False
        self._retire(notifier)
        return True

    def _retire(self, notifier: QSocketNotifier) -> None:
        notifier.setEnabled(False)
        notifier.activated["int"].disconnect()  # type: ignore[index]  # as in _watch
        self._retired.append(notifier)
        if not self._round_armed:  # make sure a round comes to free it
            self._round_armed = True
            self._add_callback(asyncio.Handle(self._run_ready_round, (), self), 0)

    def close(self) -> None:
        self._ready_callbacks.clear()
        super().close()
        self._retired.clear()
