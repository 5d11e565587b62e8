"""QtAsyncLoop: qasync's loop with one Qt timer per round of ready callbacks.

It must keep asyncio's contract: FIFO order, cancelled handles never run, a
failing callback reaches the loop's exception handler and does not stop the
others, callbacks scheduled while a round runs wait for the next round (so Qt
events get their turn in between), threadsafe scheduling works, and a real
socket round trip runs on it. Socket notifiers run their callbacks directly;
removing or replacing one (even from its own callback) must be safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading

import pytest
from gui_helpers import qasync_loop
from PySide6.QtCore import QTimer

from mailcatcher_gui.ui.event_loop import QtAsyncLoop

pytestmark = pytest.mark.gui


@pytest.fixture
def pair():
    """A connected, non-blocking socket pair, closed afterwards."""
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def next_round(loop) -> None:
    """Run until a callback scheduled now has run: a FIFO barrier, not a pause."""
    done = loop.create_future()
    loop.call_soon(done.set_result, None)
    loop.run_until_complete(asyncio.wait_for(done, 10))


def control_reader_fires(loop) -> None:
    """Positive control instead of a pause: make a fresh socket readable and
    run until its reader has fired. A reader still attached to a socket that
    was made readable before this one would have fired by then too. The round
    after frees the control's own retired notifier."""
    c, d = socket.socketpair()
    c.setblocking(False)
    try:
        fired = loop.create_future()

        def on_ready() -> None:
            c.recv(100)
            loop.remove_reader(c.fileno())
            fired.set_result(None)

        loop.add_reader(c.fileno(), on_ready)
        d.send(b"control")
        loop.run_until_complete(asyncio.wait_for(fired, 10))
        next_round(loop)
    finally:
        c.close()
        d.close()


def test_the_test_helper_runs_our_loop(qapp):
    with qasync_loop(qapp) as loop:
        assert isinstance(loop, QtAsyncLoop)


def test_callbacks_run_in_fifo_order_and_cancelled_ones_never(qapp):
    with qasync_loop(qapp) as loop:
        seen: list[int] = []
        handles = [loop.call_soon(seen.append, i) for i in range(50)]
        handles[7].cancel()
        handles[30].cancel()
        next_round(loop)
        assert seen == [i for i in range(50) if i not in (7, 30)]


def test_a_failing_callback_is_reported_and_the_round_goes_on(qapp):
    with qasync_loop(qapp) as loop:
        reported: list[BaseException] = []
        loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["exception"]))
        seen: list[str] = []

        def boom() -> None:
            raise ValueError("boom")

        loop.call_soon(seen.append, "before")
        loop.call_soon(boom)
        loop.call_soon(seen.append, "after")
        next_round(loop)
        assert seen == ["before", "after"]
        assert [type(e) for e in reported] == [ValueError]


def test_callbacks_scheduled_during_a_round_run_after_qt_events(qapp):
    """A callback that keeps rescheduling itself must not starve Qt timers."""
    with qasync_loop(qapp) as loop:
        spins = 0
        qt_ticks: list[int] = []

        def spin() -> None:
            nonlocal spins
            spins += 1
            if not qt_ticks:  # reschedule until a Qt timer got through
                loop.call_soon(spin)

        fired = loop.create_future()

        def tick() -> None:
            qt_ticks.append(spins)
            fired.set_result(None)

        timer = QTimer()
        timer.setSingleShot(True)
        timer.timeout.connect(tick)
        timer.start(0)
        loop.call_soon(spin)
        loop.run_until_complete(asyncio.wait_for(fired, 10))
        assert qt_ticks, "the Qt timer never fired while callbacks kept coming"
        assert spins >= 1


def test_call_soon_threadsafe_from_another_thread(qapp):
    with qasync_loop(qapp) as loop:
        fut = loop.create_future()

        def worker() -> None:
            loop.call_soon_threadsafe(fut.set_result, threading.get_ident())

        t = threading.Thread(target=worker)
        t.start()
        ident = loop.run_until_complete(asyncio.wait_for(fut, 5))
        t.join()
        assert ident != threading.get_ident()


def test_a_tcp_echo_round_trip_runs_on_it(qapp):
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    async def main() -> bytes:
        server = await asyncio.start_server(echo, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"ping\r\n")
        line = await reader.readline()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return line

    with qasync_loop(qapp) as loop:
        assert loop.run_until_complete(asyncio.wait_for(main(), 10)) == b"ping\r\n"


def test_reader_removed_from_its_own_callback_is_freed_next_round(qapp, pair):
    with qasync_loop(qapp) as loop:
        a, b = pair
        got: list[bytes] = []

        first = loop.create_future()

        def on_readable() -> None:
            got.append(a.recv(100))
            loop.remove_reader(a.fileno())  # from inside its own signal
            if not first.done():
                first.set_result(None)

        loop.add_reader(a.fileno(), on_readable)
        b.send(b"one")
        loop.run_until_complete(asyncio.wait_for(first, 10))
        b.send(b"two")  # nobody listens any more
        control_reader_fires(loop)
        assert got == [b"one"]
        assert loop._retired == []  # noqa: SLF001 - freed by a later round


def test_replacing_a_reader_runs_only_the_new_callback(qapp, pair):
    with qasync_loop(qapp) as loop:
        a, b = pair
        seen: list[str] = []

        def old() -> None:
            seen.append("old")

        ran = loop.create_future()

        def new() -> None:
            seen.append("new")
            a.recv(100)
            loop.remove_reader(a.fileno())
            ran.set_result(None)

        loop.add_reader(a.fileno(), old)
        loop.add_reader(a.fileno(), new)
        b.send(b"x")
        loop.run_until_complete(asyncio.wait_for(ran, 10))
        control_reader_fires(loop)
        assert seen == ["new"]


def test_a_failing_reader_is_reported_and_the_loop_goes_on(qapp, pair):
    with qasync_loop(qapp) as loop:
        reported: list[BaseException] = []
        loop.set_exception_handler(lambda _loop, ctx: reported.append(ctx["exception"]))
        a, b = pair

        def on_readable() -> None:
            a.recv(100)
            loop.remove_reader(a.fileno())
            raise ValueError("reader failed")

        loop.add_reader(a.fileno(), on_readable)
        b.send(b"x")

        async def goes_on_after_the_failure() -> str:
            while not reported:  # a condition, polled while the loop runs
                await asyncio.sleep(0.01)
            return "alive"

        assert loop.run_until_complete(asyncio.wait_for(goes_on_after_the_failure(), 10)) == (
            "alive"
        )
        assert [type(e) for e in reported] == [ValueError]


def test_a_writer_fires_once_a_full_socket_drains(qapp, pair):
    with qasync_loop(qapp) as loop:
        a, b = pair
        with contextlib.suppress(BlockingIOError):
            while True:
                a.send(b"x" * 65536)
        writable = loop.create_future()

        def on_writable() -> None:
            loop.remove_writer(a.fileno())
            writable.set_result(True)

        loop.add_writer(a.fileno(), on_writable)

        async def drain() -> None:
            while not writable.done():
                with contextlib.suppress(BlockingIOError):
                    while b.recv(1 << 20):
                        pass
                await asyncio.sleep(0.01)

        loop.run_until_complete(asyncio.wait_for(asyncio.gather(drain(), writable), 10))
        assert writable.result() is True
