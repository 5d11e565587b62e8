"""Export stored messages to files: the one implementation the CLI and the window share.

The rules, for both front ends:

* ``mbox``: one mboxrd file. An existing file is never replaced silently:
  ``ExportMode.NEW`` (the default) raises ``TargetExists`` before anything
  is written; ``OVERWRITE`` is what the user asked for explicitly (``--force``
  on the command line, the save dialog's own "replace?" confirmation in the
  window) and replaces the file atomically, so a failed export leaves the old
  file as it was; ``APPEND`` adds to the end.
* ``eml``: one ``0042-subject.eml`` per message in a folder (created if
  missing); a name that is taken gets `` (1)``, nothing is ever replaced.
* ``maildir``: one file per message in ``new/``, the usual Maildir delivery.
* Messages are written oldest first in the order of ``ids``; an id deleted
  meanwhile is skipped and counted (``ExportReport.missing``).
* ``cancel()`` is checked before every message; what was written stays and
  the report says how much.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO, Protocol

from ..models import MessageSummary
from .writing import export_eml, export_maildir_message, write_mbox_message

#: ``progress(messages written so far, target)``
Progress = Callable[[int, str], None]
Cancel = Callable[[], bool]

#: The formats ``export_messages`` writes.
EXPORT_KINDS = ("mbox", "eml", "maildir")

_PROGRESS_EVERY = 50


class ExportMode(StrEnum):
    NEW = "new"  # refuse an existing mbox file
    OVERWRITE = "overwrite"  # replace it (the user said so)
    APPEND = "append"  # add to it


class MessageSource(Protocol):
    """What an export reads (``Mailbox`` has it; the CLI adapts a ``Store``)."""

    def summary(self, message_id: int) -> MessageSummary: ...

    def raw(self, message_id: int) -> bytes: ...


class TargetExists(FileExistsError):
    """The mbox file exists and the caller did not say to replace or append."""

    def __init__(self, path: Path) -> None:
        super().__init__(17, "already exists", str(path))
        self.path = path

    def __str__(self) -> str:
        return f"{self.path} already exists"


@dataclass
class ExportReport:
    target: str
    exported: int = 0
    missing: int = 0  # ids deleted before they could be written
    cancelled: bool = False


@dataclass(frozen=True)
class _Item:
    summary: MessageSummary
    raw: bytes


def export_messages(
    source: MessageSource,
    ids: Sequence[int],
    kind: str,
    target: str | os.PathLike[str],
    *,
    mode: ExportMode = ExportMode.NEW,
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ExportReport:
    """Write ``ids`` to ``target`` as ``kind`` (one of ``EXPORT_KINDS``).

    Raises ``TargetExists`` (mbox, ``NEW`` mode), ``OSError`` when the
    target cannot be written, ``ValueError`` for an unknown ``kind``.
    """
    path = Path(target)
    if kind == "mbox":
        return _export_mbox_file(source, ids, path, mode, progress, cancel)
    if kind == "eml":
        path.mkdir(parents=True, exist_ok=True)
        return _each(source, ids, str(path), lambda m: export_eml(path, m), progress, cancel)
    if kind == "maildir":
        return _each(
            source, ids, str(path), lambda m: export_maildir_message(path, m), progress, cancel
        )
    raise ValueError(f"unknown export format {kind!r} (expected one of {', '.join(EXPORT_KINDS)})")


def export_mbox_stream(
    source: MessageSource,
    ids: Sequence[int],
    fh: BinaryIO,
    *,
    label: str = "stream",
    progress: Progress | None = None,
    cancel: Cancel | None = None,
) -> ExportReport:
    """mboxrd to an open binary stream (``-`` on the command line: stdout)."""
    return _each(source, ids, label, lambda m: write_mbox_message(fh, m), progress, cancel)


def _export_mbox_file(
    source: MessageSource,
    ids: Sequence[int],
    path: Path,
    mode: ExportMode,
    progress: Progress | None,
    cancel: Cancel | None,
) -> ExportReport:
    opened: contextlib.AbstractContextManager[BinaryIO]
    if mode is ExportMode.APPEND:
        opened = open(path, "ab")  # noqa: SIM115 - entered below
    elif mode is ExportMode.NEW or not os.path.lexists(path):
        try:
            opened = open(path, "xb")  # noqa: SIM115 - entered below
        except FileExistsError:
            raise TargetExists(path) from None
    else:  # OVERWRITE: write beside it, then replace in one step
        opened = _replacing(path)
    with opened as fh:
        return export_mbox_stream(
            source, ids, fh, label=str(path), progress=progress, cancel=cancel
        )


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[BinaryIO]:
    """A temporary file next to ``path`` that replaces it on success only."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent or ".")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
        # Keep the replaced file's permissions (mkstemp made it 0600).
        os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _each(
    source: MessageSource,
    ids: Sequence[int],
    target: str,
    write: Callable[[_Item], object],
    progress: Progress | None,
    cancel: Cancel | None,
) -> ExportReport:
    report = ExportReport(target)
    for message_id in ids:
        if cancel is not None and cancel():
            report.cancelled = True
            break
        try:
            item = _Item(source.summary(message_id), source.raw(message_id))
        except KeyError:  # MessageNotFound: deleted since it was selected
            report.missing += 1
            continue
        write(item)
        report.exported += 1
        if progress is not None and report.exported % _PROGRESS_EVERY == 0:
            progress(report.exported, target)
    if progress is not None:
        progress(report.exported, target)
    return report
