"""Cyclic garbage holding Qt objects dies on the GUI thread (``ui.main_thread_gc``).

The mailbox writer thread allocates a lot; with CPython's automatic
collection it is often the thread that crosses the threshold, and the
collection then destroys QObjects of the GUI thread there. The app (and the
tests' qasync loop) collect on a GUI-thread timer instead.
"""

from __future__ import annotations

import gc
import threading
import weakref
from datetime import UTC, datetime

import aiosmtplib
import pytest
from gui_helpers import run_app, simple_message, wait_for
from PySide6.QtCore import QObject, QTimer
from smtp_helpers import HOST, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.main_thread_gc import MainThreadCollector, collect_due
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


class Holder:
    """A Python object in a reference cycle with a Qt object of the GUI thread."""

    def __init__(self) -> None:
        self.qobject = QObject()
        self.timer = QTimer(self.qobject)
        self.myself = self  # the cycle: only the collector can free this


def test_collect_due_follows_cpythons_rule():
    th = (700, 10, 10)
    assert collect_due((700, 0, 0), th) is None  # not over the threshold yet
    assert collect_due((701, 0, 0), th) == 0
    assert collect_due((701, 11, 0), th) == 1
    assert collect_due((701, 11, 11), th) == 2
    assert collect_due((5, 50, 50), th) is None  # older generations wait for generation 0
    assert collect_due((10**6, 0, 0), (0, 10, 10)) is None  # gc.set_threshold(0) means off


def test_collector_disables_automatic_gc_and_restores_it(qapp):
    assert gc.isenabled()
    collector = MainThreadCollector(interval_ms=10)
    collector.start()
    try:
        assert not gc.isenabled() and collector.active
    finally:
        collector.stop()
    assert gc.isenabled() and not collector.active


def many_parts(n: int) -> bytes:
    """A message whose parsing (on the writer thread) allocates thousands of objects."""
    parts = "".join(
        f"--b\r\nContent-Type: text/plain; name=p{i}.txt\r\n\r\npart {i}\r\n" for i in range(n)
    )
    return (
        "From: a@example.com\r\nTo: dev@example.com\r\nSubject: many parts\r\n"
        'MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        f"{parts}--b--\r\n"
    ).encode()


def test_a_qt_cycle_is_collected_on_the_gui_thread_while_the_writer_allocates(
    qapp, mailbox, tmp_path
):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    config = SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))
    gui = build_gui(qapp, mailbox, config, settings, view=MessageView(web_engine=False))
    gui_thread = threading.get_ident()
    died_on: list[int] = []
    collected_on: list[int] = []

    def on_gc(phase, _info):
        if phase == "start":
            collected_on.append(threading.get_ident())

    async def scenario():
        assert not gc.isenabled()  # the tests' loop collects as the app does
        # Real mail through the real sink first (the app's normal traffic).
        client = aiosmtplib.SMTP(hostname=HOST, port=gui.sink.port(), start_tls=False)
        await client.connect()
        try:
            for i in range(3):
                await client.sendmail("a@example.com", ["dev@example.com"], simple_message(i))
        finally:
            await client.quit()
        await wait_for(lambda: gui.window.model.rowCount() == 3)

        gc.collect()  # generation 0 starts empty: the next collection is the writer's
        holder = Holder()
        weakref.finalize(holder, lambda: died_on.append(threading.get_ident()))
        del holder
        before = gc.get_count()[0]
        gc.callbacks.append(on_gc)
        try:
            # The GUI thread blocks here while the writer parses and stores a
            # message of 3,000 parts: only the writer allocates meanwhile.
            mailbox.accept_sync(
                Capture(many_parts(3000), "a@example.com", ("dev@example.com",), datetime.now(UTC))
            )
            grown = gc.get_count()[0] - before
            await wait_for(lambda: died_on, timeout=10)
        finally:
            gc.callbacks.remove(on_gc)
        assert died_on == [gui_thread]
        assert collected_on and set(collected_on) == {gui_thread}
        # Positive control: the writer allocated far past the threshold (with
        # automatic collection it would have collected on its own thread).
        assert grown > 3 * gc.get_threshold()[0], grown

    try:
        run_app(qapp, gui, scenario, require_sink=True)
    finally:
        gui.close()
