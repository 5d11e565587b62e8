"""Import files into a ``Mailbox``: the one implementation the CLI and the window share.

Both front ends used to have their own loop and they disagreed (the window
stored empty messages the command line skipped). The rules now, for both:

* every path is read with ``reading.iter_messages`` (format auto-detected
  unless ``fmt`` is given), so .eml files, mbox files, Maildirs and folders
  of .eml files all work from either front end;
* a message that is empty or only whitespace is skipped and counted
  (``ImportReport.skipped``): there is nothing to show, and storing it
  would make a blank row;
* a path that cannot be read is reported (``PathResult.error``) and the
  other paths are still imported; what was read before the error is kept;
* captures go through ``Mailbox.accept_many_sync`` in batches, the same
  group-commit path as SMTP, so the list and counters update while an
  import of a 50,000-message mbox runs;
* ``cancel()`` is checked after every message; messages already read are
  still committed, so a cancelled import keeps what it reported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from ..models import Capture
from .envelope import capture_for_import
from .reading import SourceMessage, detect_format, iter_mbox, iter_messages

#: Messages per ``accept_many_sync`` call: big enough to share transactions,
#: small enough that progress (and the list) moves often.
IMPORT_BATCH = 200

#: ``progress(messages stored so far, origin of the last message)``
Progress = Callable[[int, str], None]
#: Returns True once the user asked to stop.
Cancel = Callable[[], bool]


class ImportTarget(Protocol):
    """What an import needs of the mailbox (``Mailbox`` has it)."""

    def accept_many_sync(self, captures: Iterable[Capture]) -> Sequence[int]: ...


@dataclass(frozen=True)
class ImportSource:
    """Messages that do not come from a path (``-`` on the command line)."""

    label: str
    kind: str
    messages: Iterable[SourceMessage]


def bytes_source(data: bytes, label: str = "stdin", fmt: str | None = None) -> ImportSource:
    """One message, or an mbox if ``fmt == "mbox"`` or the data starts with ``From ``."""
    if fmt == "mbox" or (fmt is None and data.startswith(b"From ")):
        return ImportSource(label, "mbox", iter_mbox(data.splitlines(keepends=True), label))
    return ImportSource(label, "eml", [SourceMessage(data, label)])


@dataclass
class PathResult:
    """What happened to one path (or ``ImportSource``)."""

    path: str
    kind: str = ""
    ids: list[int] = field(default_factory=list)
    skipped: int = 0  # empty messages
    error: str | None = None  # why (part of) this path could not be read


@dataclass
class ImportReport:
    """The outcome of ``import_sources``: per path, and totals."""

    results: list[PathResult] = field(default_factory=list)
    cancelled: bool = False

    @property
    def ids(self) -> list[int]:
        return [i for r in self.results for i in r.ids]

    @property
    def imported(self) -> int:
        return sum(len(r.ids) for r in self.results)

    @property
    def skipped(self) -> int:
        return sum(r.skipped for r in self.results)

    @property
    def errors(self) -> list[str]:
        """``"path: reason"`` for every path that failed."""
        return [f"{r.path}: {r.error}" for r in self.results if r.error is not None]


def import_sources(
    mailbox: ImportTarget,
    sources: Sequence[str | Path | ImportSource],
    *,
    fmt: str | None = None,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
    batch: int = IMPORT_BATCH,
) -> ImportReport:
    """Store every message found in ``sources``; see the module docstring for the rules.

    Errors from the store (``StoreError``: disk full, read-only file) are not
    per-path problems: they propagate, after nothing more can be stored.
    """
    report = ImportReport()
    stored = 0
    pending: list[Capture] = []
    last_origin = ""

    def commit(result: PathResult) -> None:
        nonlocal stored
        if pending:
            ids = mailbox.accept_many_sync(pending)
            pending.clear()
            result.ids.extend(ids)
            stored += len(ids)
            if progress is not None:
                progress(stored, last_origin)

    for item in sources:
        if isinstance(item, ImportSource):
            result = PathResult(item.label, item.kind)
            messages: Iterable[SourceMessage] = item.messages
        else:
            result = PathResult(str(item))
            try:
                result.kind = fmt or detect_format(item)
                messages = iter_messages(item, result.kind)
            except (OSError, ValueError) as exc:
                result.error = _reason(exc, result.path)
                report.results.append(result)
                continue
        report.results.append(result)
        try:
            for source in messages:
                last_origin = source.origin
                if not source.raw.strip():
                    result.skipped += 1
                else:
                    pending.append(capture_for_import(source))
                    if len(pending) >= batch:
                        commit(result)
                if cancel is not None and cancel():
                    report.cancelled = True
                    break
        except (OSError, ValueError) as exc:
            result.error = _reason(exc, result.path)
        commit(result)
        if report.cancelled:
            break
    return report


def _reason(exc: BaseException, path: str) -> str:
    """``No such file or directory`` rather than ``[Errno 2] ...``; names the file
    only when it is not ``path`` itself (one message inside a Maildir)."""
    if isinstance(exc, OSError) and exc.strerror:
        name = str(exc.filename) if exc.filename else ""
        where = f": {name}" if name and name != path else ""
        return f"{exc.strerror}{where}"
    return str(exc) or type(exc).__name__
