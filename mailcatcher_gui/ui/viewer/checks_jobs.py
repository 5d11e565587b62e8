"""The inspection checks, run off the GUI thread, cached per message.

The checks (``core/checks``) are plain Python; some of them parse a few MB
of HTML and CSS, and the link and spam checks wait on the network. None of
that may run on the GUI thread, which also runs the SMTP sink: a worker
pool runs them and a queued Qt signal brings each result back.

* They run in child processes (``checks_process``: in a thread they would
  hold the GIL the GUI thread needs), driven by one worker thread per kind
  (network-free, networked) that only waits for the child's answer.
* The network-free checks (``run_local_checks``) run for every message the
  viewer opens; the networked families (links, spam) run only when asked
  for (the tab's buttons) or when Settings turned them on (``CheckSettings``).
* Results are cached per message (``message_key``: its id and a fingerprint
  of its bytes) and merged:
  a links result stays when the network-free report arrives later.
* Flicking through the list queues nothing stale: a network-free run still
  waiting for a worker is cancelled when another message is opened. A result
  for a message no longer shown is cached, never shown (the view compares
  keys), and a result computed with options that have since changed is
  dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import queue
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QSocketNotifier, Signal

from ...core.checks.model import CheckOptions, ChecksReport, FamilyResult
from ...core.models import OpenedMessage
from . import checks_process
from .checks_process import ChecksProcess

log = logging.getLogger(__name__)

#: the families that need the network; each has a button in the Checks tab
NETWORK_FAMILIES = ("links", "spam")

LocalCheck = Callable[[OpenedMessage, CheckOptions], ChecksReport]
NetworkCheck = Callable[[OpenedMessage, CheckOptions], Awaitable[FamilyResult]]


@dataclass(frozen=True)
class CheckSettings:
    """What Settings say about the checks (built by the app from ``Preferences``)."""

    options: CheckOptions = field(default_factory=CheckOptions)
    auto_links: bool = False
    auto_spam: bool = False

    def automatic(self, family: str) -> bool:
        return {"links": self.auto_links, "spam": self.auto_spam}.get(family, False)


@dataclass(frozen=True)
class CheckFunctions:
    """The checks themselves: ``core/checks``' entry points (``real_check_functions``)."""

    local: LocalCheck
    network: dict[str, NetworkCheck]


def real_check_functions() -> CheckFunctions:
    """``core/checks``: ``run_local_checks``, ``check_links`` and ``check_spam``
    (module-level adapters, so a checks process can be handed them by name)."""
    return CheckFunctions(
        local=checks_process.local_checks,
        network={"links": checks_process.links_check, "spam": checks_process.spam_check},
    )


def message_key(opened: OpenedMessage) -> Hashable:
    """What results are cached and shown under: the message's id and a fingerprint
    of its bytes (length, first and last 4 KB), so a store emptied and refilled
    (ids reused) never shows another message's report, and the same file opened
    twice (id 0) finds its report again."""
    raw = opened.stored.raw
    digest = hashlib.blake2b(digest_size=12)
    digest.update(len(raw).to_bytes(8, "little"))
    digest.update(raw[:4096])
    digest.update(raw[-4096:])
    return (opened.id, digest.hexdigest())


class _Job:
    """One queued check: cancellable until a worker starts it."""

    def __init__(self, work: Callable[[], None]) -> None:
        self.work = work
        self._state = "pending"
        self._lock = threading.Lock()

    def cancel(self) -> bool:
        with self._lock:
            if self._state != "pending":
                return False
            self._state = "cancelled"
            return True

    def start(self) -> bool:
        with self._lock:
            if self._state != "pending":
                return False
            self._state = "running"
            return True

    def finish(self) -> None:
        self._state = "done"

    def done(self) -> bool:
        return self._state in ("done", "cancelled")


class _WorkerPool:
    """A few daemon threads taking jobs from a queue.

    Daemon threads, unlike ``concurrent.futures``' workers (joined at
    interpreter exit), never hold up quitting the app while a link check
    waits out its timeouts: the result would be dropped anyway.
    """

    def __init__(self, workers: int, name: str) -> None:
        self._queue: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        #: the child process the (single) worker runs checks in, when isolated
        self.process = ChecksProcess()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True)
            for i in range(workers)
        ]
        self._started = False

    @property
    def started(self) -> bool:
        return self._started

    def submit(self, work: Callable[[], None]) -> _Job:
        if not self._started:
            self._started = True
            for thread in self._threads:
                thread.start()
        job = _Job(work)
        self._queue.put(job)
        return job

    def shutdown(self) -> None:
        if self._started:
            for _ in self._threads:
                self._queue.put(None)
        self.process.shutdown()

    def _run(self) -> None:
        while (job := self._queue.get()) is not None:
            if job.start():
                try:
                    job.work()
                finally:
                    job.finish()


@dataclass(frozen=True)
class _Ticket:
    """Which run a result belongs to."""

    key: Hashable
    family: str  # "local" or a network family
    generation: int
    message_id: int


@dataclass(frozen=True)
class _Delivery:
    """A worker's result: the child's answer (bytes, decoded on the GUI thread)
    or, checks run on threads, the value itself; or an error."""

    ticket: _Ticket
    answer: object
    error: str
    elapsed_s: float


class ChecksJobs(QObject):
    """Runs checks on a worker pool; results come back as signals on the GUI thread."""

    #: (key, ChecksReport): the merged report of that message changed
    reportChanged = Signal(object, object)
    #: (key, family or "local", message): a check raised instead of reporting
    failed = Signal(object, str, str)

    #: how many messages' reports stay cached
    CACHE_SIZE = 64

    #: how long a check may take before its process is ended (seconds)
    LOCAL_TIMEOUT = 120.0
    NETWORK_TIMEOUT = 600.0

    def __init__(
        self,
        functions: CheckFunctions | None = None,
        settings: CheckSettings | None = None,
        parent: QObject | None = None,
        *,
        isolate: bool | None = None,
    ) -> None:
        """``isolate``: run the checks in child processes (the functions must
        then be module-level) or, False, on threads of this process (tests
        that hand in closures). By default: isolated unless ``functions`` are
        given."""
        super().__init__(parent)
        self._functions = functions
        self._settings = settings or CheckSettings()
        self._isolate = functions is None if isolate is None else isolate
        # One worker each: the network-free checks of the message on screen
        # never wait behind a slow link check, and at most two children run.
        self._local_pool = _WorkerPool(1, "mailcatcher-checks")
        self._network_pool = _WorkerPool(1, "mailcatcher-netchecks")
        self._cache: OrderedDict[Hashable, ChecksReport] = OrderedDict()
        self._network: dict[Hashable, dict[str, FamilyResult]] = {}
        self._running: dict[Hashable, dict[str, _Job]] = {}
        self._elapsed: dict[Hashable, float] = {}
        self._generation = 0
        self._closed = False
        # Workers hand results over through a queue and wake the GUI thread
        # with a byte on a socket: they never touch a Qt object (one deleted
        # while a worker emits its signal is a crash).
        self._outbox: queue.SimpleQueue[_Delivery] = queue.SimpleQueue()
        self._wake_read, self._wake_write = socket.socketpair()
        for sock in (self._wake_read, self._wake_write):
            sock.setblocking(False)
        self._notifier = QSocketNotifier(self._wake_read.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._drain)
        # Deleted with its view without shutdown(): end the children anyway
        # (the partial holds the pools and sockets, not this object).
        self.destroyed.connect(
            functools.partial(
                _release,
                (self._local_pool, self._network_pool),
                (self._wake_read, self._wake_write),
            )
        )

    # ---- settings -------------------------------------------------------------------

    @property
    def settings(self) -> CheckSettings:
        return self._settings

    @property
    def functions(self) -> CheckFunctions:
        if self._functions is None:
            self._functions = real_check_functions()
        return self._functions

    def set_settings(self, settings: CheckSettings) -> bool:
        """Use ``settings`` from now on; True when cached reports were dropped
        (the options changed, so every report must be made again)."""
        changed = settings.options != self._settings.options
        self._settings = settings
        if changed:
            self._generation += 1
            self._cache.clear()
            self._network.clear()
            self._elapsed.clear()
            self._running.clear()
        return changed

    # ---- asking ---------------------------------------------------------------------

    def report(self, key: Hashable) -> ChecksReport | None:
        """The cached report of ``key``, if any."""
        return self._cache.get(key)

    def elapsed_s(self, key: Hashable) -> float | None:
        """How long the network-free checks of ``key`` took (None: not run yet)."""
        return self._elapsed.get(key)

    def running(self, key: Hashable) -> set[str]:
        """What is being checked for ``key`` right now ("local", "links", "spam")."""
        return {name for name, job in self._running.get(key, {}).items() if not job.done()}

    def run_local(self, opened: OpenedMessage) -> bool:
        """Start the network-free checks of ``opened`` unless cached or running.

        Network-free runs of other messages that have not started yet are
        cancelled: the user moved on. True when a run was started.
        """
        key = message_key(opened)
        for other, jobs in list(self._running.items()):
            job = jobs.get("local")
            if other != key and job is not None and job.cancel():
                del jobs["local"]
        if self._closed or key in self._elapsed or "local" in self.running(key):
            return False
        self._submit(opened, key, "local")
        return True

    def run_network(self, opened: OpenedMessage, family: str) -> bool:
        """Start the networked ``family`` ("links" or "spam") for ``opened`` (again)."""
        if family not in NETWORK_FAMILIES:
            raise ValueError(f"not a networked check family: {family!r}")
        key = message_key(opened)
        if self._closed or family in self.running(key):
            return False
        self._submit(opened, key, family)
        return True

    def prestart(self) -> bool:
        """Start the network-free checks' process now, so the first message's
        checks do not wait for Python to start and import them. True if started."""
        if self._closed or not self._isolate or self._local_pool.started:
            return False
        process = self._local_pool.process
        request = checks_process.encode_request("warm-up", checks_process.warm_up, None, None)

        def work() -> None:
            # A failure shows with the first real check: nothing to report here.
            with contextlib.suppress(checks_process.ChecksProcessError):
                process.run(request, 60.0)

        self._local_pool.submit(work)
        return True

    def has_network_result(self, key: Hashable, family: str) -> bool:
        return family in self._network.get(key, {})

    def shutdown(self) -> None:
        """No more results: pending runs are cancelled, running ones finish unseen."""
        self._closed = True
        for jobs in self._running.values():
            for job in jobs.values():
                job.cancel()
        self._notifier.setEnabled(False)
        _release((self._local_pool, self._network_pool), (self._wake_read, self._wake_write))

    # ---- worker side --------------------------------------------------------------

    def _submit(self, opened: OpenedMessage, key: Hashable, family: str) -> None:
        options = self._settings.options
        functions = self.functions
        local = family == "local"
        pool = self._local_pool if local else self._network_pool
        function: Any = functions.local if local else functions.network[family]
        timeout = self.LOCAL_TIMEOUT if local else self.NETWORK_TIMEOUT
        ticket = _Ticket(key, family, self._generation, opened.id)
        outbox, wake = self._outbox, self._wake_write
        request = (
            checks_process.encode_request(family, function, opened, options)
            if self._isolate
            else None
        )

        def work() -> None:
            # No Qt and no ``self`` here (see __init__).
            t0 = time.perf_counter()
            answer: object = None
            error = ""
            try:
                if request is not None:
                    answer = pool.process.run(request, timeout)
                elif local:
                    answer = function(opened, options)
                else:
                    answer = asyncio.run(_awaited(function(opened, options)))
            except Exception as exc:  # noqa: BLE001 - shown in the tab, never a crash
                error = f"{type(exc).__name__}: {exc}"
            outbox.put(_Delivery(ticket, answer, error, time.perf_counter() - t0))
            with contextlib.suppress(OSError):
                wake.send(b"\0")

        self._running.setdefault(key, {})[family] = pool.submit(work)

    # ---- GUI side -----------------------------------------------------------------

    def _drain(self) -> None:
        with contextlib.suppress(OSError):
            while self._wake_read.recv(4096):
                pass
        while True:
            try:
                delivery = self._outbox.get_nowait()
            except queue.Empty:
                return
            self._deliver(delivery)

    def _deliver(self, delivery: _Delivery) -> None:
        ticket = delivery.ticket
        if self._closed or ticket.generation != self._generation:
            return  # made with options that no longer apply
        jobs = self._running.get(ticket.key, {})
        jobs.pop(ticket.family, None)
        if not jobs:
            self._running.pop(ticket.key, None)
        error, value = delivery.error, delivery.answer
        if not error and self._isolate:
            try:
                value = checks_process.decode_answer(value)  # type: ignore[arg-type]
            except checks_process.ChecksProcessError as exc:
                error = str(exc)
        if error:
            log.warning("%s checks failed: %s", ticket.family, error)
            self.failed.emit(ticket.key, ticket.family, error)
            return
        if ticket.family == "local":
            assert isinstance(value, ChecksReport)
            self._elapsed[ticket.key] = delivery.elapsed_s
            report = value
        else:
            assert isinstance(value, FamilyResult)
            self._network.setdefault(ticket.key, {})[ticket.family] = value
            base = self._cache.get(ticket.key)
            report = base if base is not None else _pending_report(ticket.message_id)
        for result in self._network.get(ticket.key, {}).values():
            report = report.with_family(result)
        self._cache[ticket.key] = report
        self._cache.move_to_end(ticket.key)
        while len(self._cache) > self.CACHE_SIZE:
            old, _ = self._cache.popitem(last=False)
            self._network.pop(old, None)
            self._elapsed.pop(old, None)
        self.reportChanged.emit(ticket.key, report)


def _release(
    pools: tuple[_WorkerPool, ...], sockets: tuple[socket.socket, ...], *_: object
) -> None:
    """End the pools' children and close the wake-up sockets (idempotent)."""
    for pool in pools:
        pool.shutdown()
    for sock in sockets:
        sock.close()


async def _awaited(value: Awaitable[FamilyResult]) -> FamilyResult:
    return await value


def _pending_report(message_id: int) -> ChecksReport:
    """A report with nothing but the networked results yet (local checks still running)."""
    return ChecksReport(message_id, ())


__all__ = [
    "NETWORK_FAMILIES",
    "CheckFunctions",
    "CheckSettings",
    "ChecksJobs",
    "message_key",
    "real_check_functions",
]
