"""The transports that do not speak SMTP: local mailbox, files, console, memory.

They exist so compose and scripts have the same send path whatever the
destination (the Django e-mail backend idea):

* ``LocalTransport`` drops the message straight into this app's ``Mailbox``
  (``Capture`` with ``source="local"``): "send to myself" without a network
  round trip, and without the sink having to be running.
* ``FileTransport`` writes one ``.eml`` per message into a folder.
* ``ConsoleTransport`` prints the message to a text stream.
* ``MemoryTransport`` keeps an ``outbox`` list, for tests of code that sends.

Each still produces a ``SendReport`` with a (short) transcript saying what
happened, so the UI shows every transport the same way.
"""

from __future__ import annotations

import os
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..models import Capture
from .base import PerMessageTransport
from .draft import OutgoingMessage
from .transcript import Recorder, ReportBuilder

if TYPE_CHECKING:
    from ..mailbox_protocol import MailboxProtocol


class LocalTransport(PerMessageTransport):
    """Deliver into this app's own mailbox, bypassing SMTP."""

    kind = "local"

    def __init__(self, mailbox: MailboxProtocol) -> None:
        self._mailbox = mailbox

    @property
    def target(self) -> str:
        return "this app's mailbox"

    async def deliver_one(
        self, out: OutgoingMessage, builder: ReportBuilder, recorder: Recorder
    ) -> None:
        recorder.info("Delivering into this app's mailbox (local transport, no SMTP session)")
        capture = Capture(
            raw=out.raw,
            envelope_from=out.envelope_from,
            envelope_to=out.envelope_to,
            received_at=datetime.now(UTC),
            peer="local",
            transcript=("I: delivered by the local transport of mailcatcher-gui (no SMTP)",),
            source="local",
        )
        stored_id = await self._mailbox.accept(capture)
        builder.stored_id = stored_id
        recorder.info(f"Stored as message #{stored_id} ({len(out.raw):,} bytes)")


class FileTransport(PerMessageTransport):
    """Write each message as ``<UTC timestamp>-<random>.eml`` into a folder."""

    kind = "file"

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    @property
    def target(self) -> str:
        return str(self.directory)

    async def deliver_one(
        self, out: OutgoingMessage, builder: ReportBuilder, recorder: Recorder
    ) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        final = self.directory / name
        partial = final.with_suffix(".eml.part")
        # Write then rename, so a folder watcher never sees half a message.
        try:
            partial.write_bytes(out.raw)
            os.replace(partial, final)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        builder.path = str(final)
        recorder.info(f"Wrote {len(out.raw):,} bytes to {final}")


class ConsoleTransport(PerMessageTransport):
    """Print each message to a text stream (``sys.stdout`` by default)."""

    kind = "console"
    SEPARATOR = "-" * 79

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    @property
    def target(self) -> str:
        return "stdout" if self._stream is None else "stream"

    async def deliver_one(
        self, out: OutgoingMessage, builder: ReportBuilder, recorder: Recorder
    ) -> None:
        stream = self._stream if self._stream is not None else sys.stdout
        text = out.raw.decode("utf-8", "replace").replace("\r\n", "\n")
        stream.write(text if text.endswith("\n") else text + "\n")
        stream.write(self.SEPARATOR + "\n")
        stream.flush()
        recorder.info(f"Printed {len(out.raw):,} bytes to the {self.target}")


@dataclass(frozen=True, slots=True)
class SentMessage:
    """One message kept by ``MemoryTransport``."""

    raw: bytes = field(repr=False)
    envelope_from: str
    envelope_to: tuple[str, ...]
    message_id: str | None


class MemoryTransport(PerMessageTransport):
    """Append each message to ``outbox`` (tests of code that sends mail)."""

    kind = "memory"

    def __init__(self) -> None:
        self.outbox: list[SentMessage] = []

    @property
    def target(self) -> str:
        return "memory outbox"

    async def deliver_one(
        self, out: OutgoingMessage, builder: ReportBuilder, recorder: Recorder
    ) -> None:
        self.outbox.append(SentMessage(out.raw, out.envelope_from, out.envelope_to, out.message_id))
        recorder.info(f"Kept in the memory outbox as item {len(self.outbox) - 1}")
