"""File work behind the window's actions: import, export, open a local .eml.

The work itself is plain functions over the ``Mailbox`` and ``core.mailio``
(testable without dialogs); ``BackgroundJob`` runs one on a worker thread and
reports progress through queued Qt signals, so importing a 50,000-message
mbox never freezes the window. Imports go through
``Mailbox.accept_many_sync`` in batches: the same group-commit path as SMTP,
so the list, counters and search index update live while it runs.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from ..core import mailio
from ..core.mailbox import Mailbox
from ..core.mime.parse import parse_message
from ..core.mime.summary import summarize
from ..core.models import MessageSummary, OpenedMessage, StoredMessage
from ..core.store.database import MessageNotFound

log = logging.getLogger(__name__)

Report = Callable[[int, str], None]
Cancelled = Callable[[], bool]

IMPORT_BATCH = 200


@dataclass
class JobResult:
    done: int = 0
    errors: list[str] = field(default_factory=list)
    cancelled: bool = False
    detail: str = ""


# ---- the work ---------------------------------------------------------------------


def import_paths(
    mailbox: Mailbox,
    paths: Sequence[str | Path],
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
    *,
    batch: int = IMPORT_BATCH,
) -> JobResult:
    """Store every message in ``paths`` (.eml files, mbox files, Maildirs, folders)."""
    result = JobResult()
    pending = []

    def commit() -> None:
        if pending:
            result.done += len(mailbox.accept_many_sync(pending))
            pending.clear()
            report(result.done, origin)

    origin = ""
    for path in paths:
        try:
            for source in mailio.iter_messages(path):
                origin = source.origin
                pending.append(mailio.capture_for_import(source))
                if len(pending) >= batch:
                    commit()
                if cancelled():
                    break
        except (OSError, ValueError) as exc:
            result.errors.append(f"{path}: {exc}")
        if cancelled():
            result.cancelled = True
            break
    commit()
    return result


def _export_each(
    mailbox: Mailbox,
    ids: Sequence[int],
    detail: str,
    write: Callable[[StoredMessage], object],
    report: Report,
    cancelled: Cancelled,
) -> JobResult:
    """The export loop both formats share: skip vanished ids, report every 50."""
    result = JobResult(detail=detail)
    for message_id in ids:
        if cancelled():
            result.cancelled = True
            break
        try:
            stored = mailbox.get_stored(message_id)
        except MessageNotFound:
            continue  # deleted since it was selected
        write(stored)
        result.done += 1
        if result.done % 50 == 0:
            report(result.done, detail)
    return result


def export_mbox(
    mailbox: Mailbox,
    ids: Sequence[int],
    target: str | Path,
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
) -> JobResult:
    """Write ``ids`` to one mboxrd file (created or replaced)."""
    with open(target, "wb") as fh:
        return _export_each(
            mailbox,
            ids,
            str(target),
            lambda stored: mailio.write_mbox_message(fh, stored),
            report,
            cancelled,
        )


def export_eml_folder(
    mailbox: Mailbox,
    ids: Sequence[int],
    directory: str | Path,
    report: Report = lambda n, d: None,
    cancelled: Cancelled = lambda: False,
) -> JobResult:
    """One ``NNNN-subject.eml`` per message in ``directory`` (never overwriting)."""
    Path(directory).mkdir(parents=True, exist_ok=True)
    return _export_each(
        mailbox,
        ids,
        str(directory),
        lambda stored: mailio.export_eml(directory, stored),
        report,
        cancelled,
    )


def open_local_message(path: str | Path) -> OpenedMessage:
    """A message file shown in the viewer without storing it.

    It gets id 0 (never a stored id), the file's modification time as
    "received" and no SMTP facts, so the viewer's tabs all work while the
    mailbox stays untouched. ``OSError`` if the file cannot be read.
    """
    p = Path(path)
    raw = p.read_bytes()
    s = summarize(raw)
    summary = MessageSummary(
        id=0,
        received_at=datetime.fromtimestamp(p.stat().st_mtime, UTC),
        envelope_from="",
        envelope_to=(),
        from_=s.from_,
        to=s.to,
        cc=s.cc,
        subject=s.subject,
        message_id=s.message_id,
        size=len(raw),
        has_html=s.has_html,
        has_text=s.has_text,
        attachments=s.attachments,
        read=True,
        snippet=s.snippet,
    )
    stored = StoredMessage(
        summary=summary,
        raw=raw,
        peer="",
        helo="",
        tls=None,
        auth_user=None,
        transcript=(),
        source="file",
    )
    return OpenedMessage(stored=stored, parsed=parse_message(raw))


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
