"""Helpers for the GUI tests (``test_gui_*.py``).

* ``fill_store`` writes many messages through ``Store.add`` in large
  batches (what a long-running catcher accumulates), fast enough for 100k.
* ``qasync_loop`` is a qasync loop over pytest-qt's QApplication, set as
  the current loop for the test and closed afterwards. Scenarios run inside
  ``loop.run_until_complete``: the Qt event loop and asyncio (the real SMTP
  sink, aiosmtplib clients) then turn together, exactly as in the app.
  Like ``run_gui``, it runs Python's cycle collector on the GUI thread only
  (``ui.main_thread_gc``), so the tests run the way the app does.
* ``wait_for`` polls a condition from inside such a scenario.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from mailcatcher_gui.core.models import Capture, Summary
from mailcatcher_gui.core.store.database import Store


def fill_store(
    store: Store, n: int, *, batch: int = 5000, start: datetime | None = None, first: int = 0
) -> None:
    """``n`` small messages, one second apart, oldest first; every 7th has an attachment."""
    base = start or datetime(2024, 1, 1, tzinfo=UTC)
    for b in range(first, first + n, batch):
        rows = []
        for i in range(b, min(first + n, b + batch)):
            raw = (
                f"From: Sender {i} <s{i}@example.com>\r\nTo: rcpt@example.com\r\n"
                f"Subject: Message {i:06d}\r\n\r\nBody {i}\r\n"
            ).encode()
            rows.append(
                (
                    Capture(
                        raw=raw,
                        envelope_from=f"s{i}@example.com",
                        envelope_to=("rcpt@example.com",),
                        received_at=base + timedelta(seconds=i),
                    ),
                    Summary(
                        from_=f"Sender {i} <s{i}@example.com>",
                        to=("rcpt@example.com",),
                        subject=f"Message {i:06d}",
                        has_text=True,
                        attachments=int(i % 7 == 0),
                        snippet=f"Body {i}",
                        body_text=f"Body {i}",
                    ),
                )
            )
        store.add(rows)


def simple_message(i: int, subject: str | None = None) -> bytes:
    return (
        f"From: Burst Sender <burst{i}@example.com>\r\n"
        f"To: dev@example.com\r\n"
        f"Subject: {subject or f'Burst {i}'}\r\n"
        f"Message-ID: <burst-{i}@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"Hello number {i}\r\n"
    ).encode()


def capture(i: int, subject: str | None = None) -> Capture:
    return Capture(
        raw=simple_message(i, subject),
        envelope_from=f"burst{i}@example.com",
        envelope_to=("dev@example.com",),
        received_at=datetime.now(UTC),
    )


@contextmanager
def qasync_loop(qapp) -> Iterator[asyncio.AbstractEventLoop]:
    from mailcatcher_gui.ui.event_loop import QtAsyncLoop
    from mailcatcher_gui.ui.main_thread_gc import MainThreadCollector

    loop = QtAsyncLoop(qapp)
    asyncio.set_event_loop(loop)
    collector = MainThreadCollector()
    collector.start()
    try:
        yield loop
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            asyncio.set_event_loop(None)
            # Collect while automatic collection is still off, as run_gui does:
            # an automatic collection set off by an allocation inside a QObject
            # destructor (the collector's own timer, once it is stopped) that
            # frees another QObject deadlocks on Qt's mutex (seen once, here).
            gc.collect()
            collector.stop()


async def wait_for(
    predicate: Callable[[], object], timeout: float = 10.0, interval: float = 0.01
) -> None:
    """Poll ``predicate`` while the loop (and Qt) keep running; fail on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {predicate}")
        await asyncio.sleep(interval)


def run_app(qapp, gui, scenario: Callable, *, require_sink: bool = False):
    """Run ``gui`` on a qasync loop, play ``await scenario()``, quit through the normal path.

    ``require_sink`` fails the test at once if the SMTP sink did not start.
    The app must then exit with 0.
    """

    async def main():
        app_task = asyncio.ensure_future(gui.run())
        try:
            await wait_for(lambda: gui.sink is not None or gui.sink_error is not None)
            if require_sink:
                assert gui.sink is not None, gui.sink_error
            return await scenario()
        finally:
            gui.request_quit()
            assert await app_task == 0

    try:
        with qasync_loop(qapp) as loop:
            return loop.run_until_complete(main())
    finally:
        gc.collect()  # the closed loop's Qt objects go here, on the GUI thread
