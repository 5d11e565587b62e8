"""Writing messages to files: mboxrd, one .eml per message, Maildir delivery.

The writers take anything with a ``summary`` (``MessageSummary``) and the
``raw`` bytes, such as a ``StoredMessage``.
"""

from __future__ import annotations

import os
import re
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from ..models import MessageSummary
from .filenames import export_filename, write_new_file


class ExportItem(Protocol):
    """What a writer needs of a message (``StoredMessage`` has it)."""

    @property
    def summary(self) -> MessageSummary: ...

    @property
    def raw(self) -> bytes: ...


def mboxrd_escape(raw: bytes) -> bytes:
    """Add one ``>`` to every line that matches ``>*From ``."""
    return re.sub(rb"(?m)^(>*From )", rb">\1", raw)


def mbox_from_line(envelope_from: str, received_at: datetime) -> bytes:
    """``From sender Sat Nov 21 04:59:00 2026\\n`` (UTC, asctime format)."""
    sender = re.sub(r"[\s\x00-\x1f\x7f]+", "", envelope_from or "") or "MAILER-DAEMON"
    when = received_at.astimezone(UTC) if received_at.tzinfo else received_at
    return f"From {sender} {when.strftime('%a %b %d %H:%M:%S %Y')}\n".encode(
        "utf-8", errors="replace"
    )


def write_mbox_message(fh: BinaryIO, message: ExportItem) -> None:
    """Append one message to an open mbox file in mboxrd form."""
    summary = message.summary
    raw = message.raw
    fh.write(mbox_from_line(summary.envelope_from, summary.received_at))
    fh.write(mboxrd_escape(raw))
    if raw and not raw.endswith(b"\n"):
        fh.write(b"\r\n" if b"\r\n" in raw else b"\n")
    fh.write(b"\n")


def write_mbox(fh: BinaryIO, messages: Iterable[ExportItem]) -> int:
    """Write ``messages`` to ``fh`` as mboxrd; returns how many were written."""
    n = 0
    for message in messages:
        write_mbox_message(fh, message)
        n += 1
    return n


def export_eml(directory: str | os.PathLike[str], message: ExportItem) -> Path:
    """Save the raw bytes as ``directory/0042-subject.eml`` (never overwriting)."""
    name = export_filename(message.summary.id, message.summary.subject)
    return write_new_file(directory, name, message.raw)


def export_maildir_message(directory: str | os.PathLike[str], message: ExportItem) -> Path:
    """Deliver one message into the Maildir ``directory`` (``new/``)."""
    root = Path(directory)
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    while True:
        now = time.time()
        name = f"{int(now)}.M{int((now % 1) * 1e6):06d}P{os.getpid()}Q{message.summary.id}.{host}"
        tmp = root / "tmp" / name
        final = root / "new" / name
        try:
            with open(tmp, "xb") as fh:
                fh.write(message.raw)
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError:
            continue
        try:
            os.link(tmp, final)
        except FileExistsError:
            tmp.unlink()
            continue
        except OSError:  # no hard links on this file system: rename is fine for unique names
            if os.path.lexists(final):
                tmp.unlink()
                continue
            os.rename(tmp, final)
            return final
        tmp.unlink()
        return final
