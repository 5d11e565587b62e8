"""The catcher behind the pytest plugin: the real sink on its own loop thread, and per-test views.

``CatcherServer`` is one per test session (one per xdist worker, since each
worker is its own process): the core's ``Mailbox`` over a real SQLite store
and the core's SMTP sink on ``127.0.0.1:0``, served by an asyncio loop on a
background thread. A background loop is what lets every kind of test use it
the same way: a synchronous test blocks in ``smtplib`` while the sink answers
on the other thread; an asyncio test's loop and a pytest-qt test's Qt loop are
never asked to run the sink.

``MailCatcher`` is what one test sees: only the messages that arrived after
it started (ids grow, so "newer than the highest id at the start" is exact),
in arrival order.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from .message import CaughtMessage

__all__ = ["CatcherServer", "MailCatcher", "WaitTimeout"]


class WaitTimeout(AssertionError):
    """``wait_for`` gave up; the message lists what did arrive."""


class CatcherServer:
    """The session's sink and store (see the module docstring)."""

    def __init__(self, store_path: Path, **sink_options: Any) -> None:
        from mailcatcher_gui.core.mailbox import Mailbox
        from mailcatcher_gui.core.smtp import SinkConfig, start_sink
        from mailcatcher_gui.core.store import Store

        self.store_path = Path(store_path)
        self.mailbox = Mailbox(Store(self.store_path))
        config = replace(SinkConfig(smtp=("127.0.0.1", 0)), **sink_options)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="mailcatcher-pytest-sink", daemon=True
        )
        self._thread.start()
        try:
            future = asyncio.run_coroutine_threadsafe(start_sink(config, self.mailbox), self._loop)
            self._sink = future.result(30)
        except BaseException:
            self._stop_loop()
            self.mailbox.close()
            raise
        self.host = "127.0.0.1"
        self.port = self._sink.port("smtp")
        self.rules = self._sink.rules  # core.rules.RuleSet: safe to change from any thread

    def close(self) -> None:
        try:
            asyncio.run_coroutine_threadsafe(self._sink.stop(), self._loop).result(30)
        finally:
            self._stop_loop()
            self.mailbox.close()

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        if not self._thread.is_alive():
            self._loop.close()

    def newest_id(self) -> int:
        ids = self.mailbox.ids()
        return max(ids) if ids else 0


class MailCatcher:
    """One test's window on the catcher: the mail sent since it started."""

    def __init__(self, server: CatcherServer) -> None:
        self._server = server
        self._after = server.newest_id()
        self._cache: dict[int, CaughtMessage] = {}
        self._rules: list[Any] = []  # handles of the faults this test added

    # ---- faults (the rules engine, core.rules) ---------------------------------

    def fail(self, stage: str, code: int, text: str = "", **conditions: Any) -> Any:
        """Answer ``code`` at ``stage`` while this test runs: ``fail("RCPT", 550, rcpt="bob@x")``.

        ``stage`` is connect, ehlo, auth, mail, rcpt or data; ``conditions`` are
        the rules' (``mail_from``, ``rcpt``, ``header``, ``first``, ``every``,
        ``probability``...; patterns use ``*``). The fault is removed when the
        test ends. Returns its handle for ``remove_fault``.
        """
        handle = self._server.rules.fail(stage, code, text, **conditions)
        self._rules.append(handle)
        return handle

    def add_rule(self, rule: Any) -> Any:
        """Add any ``core.rules.Rule`` (greylisting, delays, drops...) for this test."""
        handle = self._server.rules.add(rule)
        self._rules.append(handle)
        return handle

    def remove_fault(self, handle: Any) -> bool:
        if handle in self._rules:
            self._rules.remove(handle)
        return bool(self._server.rules.remove(handle))

    def reset_faults(self) -> None:
        """Remove every fault this test added (done for you when the test ends)."""
        for handle in self._rules:
            self._server.rules.remove(handle)
        self._rules.clear()

    # ---- where to send ------------------------------------------------------

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def smtp_url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def store_path(self) -> Path:
        return self._server.store_path

    # ---- what arrived -------------------------------------------------------

    @property
    def messages(self) -> list[CaughtMessage]:
        """This test's messages, oldest first."""
        ids = sorted(i for i in self._server.mailbox.ids() if i > self._after)
        out = []
        for message_id in ids:
            caught = self._cache.get(message_id)
            if caught is None:
                stored = self._server.mailbox.get_stored(message_id)
                caught = CaughtMessage(stored, self._server.mailbox.get)
                self._cache[message_id] = caught
            out.append(caught)
        return out

    @property
    def latest(self) -> CaughtMessage | None:
        messages = self.messages
        return messages[-1] if messages else None

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[CaughtMessage]:
        return iter(self.messages)

    def clear(self) -> None:
        """Forget what arrived so far: later calls see only newer mail."""
        self._after = max(self._after, self._server.newest_id())
        self._cache.clear()

    def tag(self, ids: list[int], tags: list[str]) -> None:
        """Add ``tags`` to those messages in the store (``--mailcatcher-store``)."""
        self._server.mailbox.add_tags(ids, tags)

    def ids(self) -> list[int]:
        return [m.id for m in self.messages]

    def wait_for(
        self,
        count: int = 1,
        timeout: float = 5.0,
        **match: str | re.Pattern[str] | Callable[[Any], bool],
    ) -> list[CaughtMessage]:
        """Wait until ``count`` messages matching ``match`` have arrived; return them.

        ``match`` keys are message attributes (``subject``, ``to``, ``from_``
        or ``from``, ``cc``, ``bcc``, ``envelope_to``, ``text``, ``html``...); a
        string must be equal (addresses case-insensitively, and a list such as
        ``to`` matches when one entry does), a compiled regex must search, a
        callable must return true. On timeout the test fails with a list of
        what did arrive.

        If a Qt application is running on this thread (pytest-qt), its events
        are processed while waiting, so a send started by a slot can finish;
        otherwise this sleeps in short steps.
        """
        deadline = time.monotonic() + timeout
        pump = _qt_event_pump()
        while True:
            found = [m for m in self.messages if m.matches(**match)]
            if len(found) >= count:
                return found
            if time.monotonic() >= deadline:
                raise WaitTimeout(self._describe_timeout(count, timeout, match, found))
            if pump is not None:
                pump(20)
            else:
                time.sleep(0.02)

    def _describe_timeout(
        self, count: int, timeout: float, match: dict[str, Any], found: list[CaughtMessage]
    ) -> str:
        wanted = ", ".join(f"{k}={v!r}" for k, v in match.items()) or "any message"
        lines = [
            f"mail_catcher: expected {count} message(s) matching {wanted} within {timeout:g} s, "
            f"got {len(found)} matching.",
        ]
        arrived = self.messages
        if not arrived:
            lines.append(f"No mail arrived at {self.host}:{self.port} during this test.")
        else:
            lines.append(f"{len(arrived)} message(s) arrived during this test:")
            lines += [
                f"  #{m.id} {m.subject!r} from {m.from_} to {', '.join(m.envelope_to)}"
                for m in arrived
            ]
        return "\n".join(lines)


def _qt_event_pump() -> Callable[[int], None] | None:
    """Process Qt events for up to N ms, if a Qt app runs on this thread; never imports Qt."""
    for name in ("PySide6.QtCore", "PyQt6.QtCore", "PyQt5.QtCore", "PySide2.QtCore"):
        module = sys.modules.get(name)
        if module is None:
            continue
        app = module.QCoreApplication.instance()
        if app is None or app.thread() != module.QThread.currentThread():
            continue
        process = module.QCoreApplication.processEvents
        flags = module.QEventLoop.ProcessEventsFlag.AllEvents

        def pump(ms: int, process: Any = process, flags: Any = flags) -> None:
            process(flags, ms)
            time.sleep(0.005)  # processEvents returns at once when idle

        return pump
    return None
