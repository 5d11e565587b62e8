"""The window's file jobs: import and export off the GUI thread (and open a local .eml).

Import and export themselves are ``core.mailio.import_sources`` and
``core.mailio.export_messages``, the code the command line runs too, so the
two front ends behave the same (empty messages skipped and counted; an
existing mbox is replaced only after the save dialog's confirmation). This
module only adapts them: ``JobResult`` for the status bar and the problems
dialog, and ``BackgroundJob``, which runs one on a worker thread and reports
progress through queued Qt signals so a 50,000-message import never freezes
the window. ``open_local_message`` is ``core.mailio``'s, re-exported here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ...core import mailio
from ...core.mailbox_protocol import MailboxProtocol
from ...core.mailio import open_local_message

__all__ = [
    "BackgroundJob",
    "Cancelled",
    "JobResult",
    "Report",
    "export_eml_folder",
    "export_mbox",
    "import_paths",
    "open_local_message",
]

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
Cancelled = Callable[[], bool]

IMPORT_BATCH = mailio.IMPORT_BATCH


@dataclass
class JobResult:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False
    detail: str = ""
    skipped: int = 0  # empty messages an import did not store


# ---- the work (adapters over core.mailio) ------------------------------------------


def import_paths(
    mailbox: MailboxProtocol,
    paths: Sequence[str | Path],
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
    *,
    batch: int = IMPORT_BATCH,
) -> JobResult:
    """Store every message in ``paths`` (.eml files, mbox files, Maildirs, folders)."""
    outcome = mailio.import_sources(
        mailbox, list(paths), progress=report, cancel=cancelled, batch=batch
    )
    return JobResult(
        done=outcome.imported,
        errors=outcome.errors,
        cancelled=outcome.cancelled,
        skipped=outcome.skipped,
    )


def _export(
    mailbox: MailboxProtocol,
    ids: Sequence[int],
    kind: str,
    target: str | Path,
    report: Report,
    cancelled: Cancelled,
    mode: mailio.ExportMode = mailio.ExportMode.NEW,
) -> JobResult:
    try:
        outcome = mailio.export_messages(
            mailbox, ids, kind, target, mode=mode, progress=report, cancel=cancelled
        )
    except mailio.TargetExists as exc:
        return JobResult(errors=[f"{exc.path} already exists; it was not replaced"])
    return JobResult(done=outcome.exported, cancelled=outcome.cancelled, detail=outcome.target)


def export_mbox(
    mailbox: MailboxProtocol,
    ids: Sequence[int],
    target: str | Path,
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
    *,
    overwrite: bool = False,
) -> JobResult:
    """Write ``ids`` to one mboxrd file.

    An existing file is replaced only with ``overwrite=True``: pass it when
    the user confirmed in the save dialog, never by default.
    """
    mode = mailio.ExportMode.OVERWRITE if overwrite else mailio.ExportMode.NEW
    return _export(mailbox, ids, "mbox", target, report, cancelled, mode)


def export_eml_folder(
    mailbox: MailboxProtocol,
    ids: Sequence[int],
    directory: str | Path,
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
) -> JobResult:
    """One ``NNNN-subject.eml`` per message in ``directory`` (never overwriting)."""
    return _export(mailbox, ids, "eml", directory, report, cancelled)


# ---- running it off the GUI thread ---------------------------------------------------


class BackgroundJob(QObject):
    """Runs ``work(report, cancelled)`` on a thread; signals arrive on the GUI thread."""

    progress = Signal(int, str)
    finished = Signal(object)  # JobResult (errors hold the exception text on failure)

    def __init__(
        self,
        work: Callable[[Report, Cancelled], JobResult],
        parent: QObject | None = None,
        *,
        name: str = "job",
    ) -> None:
        super().__init__(parent)
        self._work = work
        self._cancel = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"mailcatcher-{name}", daemon=True)
        self.result: JobResult | None = None

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            result = self._work(self.progress.emit, self._cancel.is_set)
        except Exception as exc:  # noqa: BLE001 - reported to the user, not lost
            log.exception("background job failed")
            result = JobResult(errors=[str(exc) or type(exc).__name__])
        self.result = result
        self.finished.emit(result)
