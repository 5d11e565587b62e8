"""Python's cycle collector runs on the GUI thread only, from a Qt timer.

Why: CPython starts an automatic collection on whichever thread happens to
allocate past the generation-0 threshold. The mailbox writer thread allocates
a lot (parsing, summaries, SQLite rows), so it is often that thread. A
collection destroys *every* unreachable cycle, including ones that hold Qt
objects of the GUI thread (a widget's lambda closing over the widget, a
model and its window, a finished job). Destroying a QObject on another
thread is undefined: "QObject::killTimer: Timers cannot be stopped from
another thread", and a segfault inside ``Mailbox._write_loop`` was
reproduced that way. Breaking every cycle by hand is not something a code
base can keep up, so the app decides *where* collections run instead.

How: ``MainThreadCollector.start()`` turns automatic collection off
(``gc.disable()``) and a timer on the GUI thread does what the automatic
trigger would have done: when generation 0 has grown past its threshold it
collects the oldest generation whose count is over its threshold, exactly
CPython's rule (minus the "long-lived pending" heuristic for full
collections, which the timer's period bounds instead: at most one
collection per tick, so a full one at most every ~100 ticks). Reference
counting, which frees everything not in a cycle, is untouched, so memory
behaves as before; cyclic garbage only waits up to one tick.

The check is three integer reads per tick (``INTERVAL_MS``); the event loop's
hot path (one zero-delay timer per round, ``event_loop.QtAsyncLoop``) is not
touched. ``gc.freeze()`` was not used: objects frozen at startup that later
became cyclic garbage would never be collected.

The tests' qasync loop (``tests/gui_helpers.qasync_loop``) starts the same
collector, so the tests run the way the app does.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

#: how often the GUI thread looks at the collector's counts
INTERVAL_MS = 200


def collect_due(
    counts: tuple[int, int, int] | None = None, thresholds: tuple[int, int, int] | None = None
) -> int | None:
    """The generation CPython would collect now, or None when nothing is due.

    A collection is due when generation 0 has more objects than its
    threshold; it takes the oldest generation whose own count is over its
    threshold (generations 1 and 2 count the collections of the one below).
    """
    c0, c1, c2 = counts if counts is not None else gc.get_count()
    t0, t1, t2 = thresholds if thresholds is not None else gc.get_threshold()
    if t0 <= 0 or c0 <= t0:
        return None
    if c2 > t2:
        return 2
    if c1 > t1:
        return 1
    return 0


class MainThreadCollector(QObject):
    """Runs the cycle collector on the thread that owns it (the GUI thread).

    ``start()`` disables automatic collection; ``stop()`` restores what was
    there before. Create and start it on the GUI thread, with a Qt event loop
    about to run (``run_gui``, the tests' ``qasync_loop``).
    """

    def __init__(self, interval_ms: int = INTERVAL_MS, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.step)
        self._was_enabled: bool | None = None
        #: collections this collector ran, per generation (for tests and curiosity)
        self.collections = [0, 0, 0]

    def start(self) -> None:
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Stop the timer and give automatic collection back (if it was on)."""
        self._timer.stop()
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None

    @property
    def active(self) -> bool:
        return self._timer.isActive()

    def step(self) -> int | None:
        """Collect what is due (see ``collect_due``); the generation collected."""
        generation = collect_due()
        if generation is not None:
            gc.collect(generation)
            self.collections[generation] += 1
        return generation
