"""Collecting transcript lines and the facts for a report while a send runs.

Transports do not build ``SendReport`` objects themselves: they tell a
``Recorder`` what happens (a line, a stage change) and fill in the facts on a
``ReportBuilder``. The recorder stamps each line, forwards it at once to the
caller's ``on_line`` callback (the GUI shows the transcript while the send
is still running) and charges elapsed time to the current stage.

In a batch one connection carries several messages; the recorder routes lines
to the message being handled, so each report holds the lines that concern it
(the first message on a connection also holds the connect/TLS/EHLO/AUTH
lines, the last one the QUIT).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .draft import OutgoingMessage
from .report import (
    Direction,
    Failure,
    RecipientResult,
    Reply,
    SendReport,
    Stage,
    TlsReport,
    TranscriptLine,
)

log = logging.getLogger(__name__)

LineCallback = Callable[[TranscriptLine], None]


class ReportBuilder:
    """The mutable accumulator behind one ``SendReport``."""

    def __init__(
        self,
        transport: str,
        target: str,
        outgoing: OutgoingMessage | None,
        *,
        connection: int = 0,
    ) -> None:
        self.transport = transport
        self.target = target
        self.outgoing = outgoing
        self.connection = connection
        self.started_at = datetime.now(UTC)
        self._t_start = time.monotonic()
        self.lines: list[TranscriptLine] = []
        self.stage_times: dict[Stage, float] = {}
        self.recipients: list[RecipientResult] = []
        self.tls: TlsReport | None = None
        self.capabilities: tuple[str, ...] = ()
        self.auth_mechanism: str | None = None
        self.final_reply: Reply | None = None
        self.queue_id: str | None = None
        self.failure: Failure | None = None
        self.stored_id: int | None = None
        self.path: str | None = None

    def fail(self, failure: Failure) -> None:
        """Record the first failure; later ones are consequences of it."""
        if self.failure is None:
            self.failure = failure

    def build(self) -> SendReport:
        out = self.outgoing
        return SendReport(
            transport=self.transport,
            target=self.target,
            envelope_from=out.envelope_from if out else "",
            envelope_to=out.envelope_to if out else (),
            message_id=out.message_id if out else None,
            size=len(out.raw) if out else 0,
            started_at=self.started_at,
            duration=time.monotonic() - self._t_start,
            transcript=tuple(self.lines),
            recipients=tuple(self.recipients),
            tls=self.tls,
            capabilities=self.capabilities,
            auth_mechanism=self.auth_mechanism,
            final_reply=self.final_reply,
            queue_id=self.queue_id,
            stage_times=dict(self.stage_times),
            failure=self.failure,
            connection=self.connection,
            stored_id=self.stored_id,
            path=self.path,
        )


class Recorder:
    """Stamps lines, streams them to ``on_line`` and times the stages."""

    def __init__(self, on_line: LineCallback | None = None) -> None:
        self._on_line = on_line
        self._t0 = time.monotonic()
        self._builder: ReportBuilder | None = None
        self._stage = Stage.BUILD
        self._stage_started = self._t0
        self.encrypted = False  # set by the SMTP session once TLS is up

    # ---- routing -------------------------------------------------------

    @property
    def builder(self) -> ReportBuilder:
        if self._builder is None:
            raise RuntimeError("Recorder.begin() was not called")
        return self._builder

    def begin(self, builder: ReportBuilder) -> ReportBuilder:
        """Send the following lines and timings to ``builder``."""
        self._charge_stage()
        self._builder = builder
        return builder

    def finish(self) -> SendReport:
        """Close the current report and return it."""
        self._charge_stage()
        return self.builder.build()

    # ---- stages --------------------------------------------------------

    @property
    def stage(self) -> Stage:
        return self._stage

    @stage.setter
    def stage(self, stage: Stage) -> None:
        self._charge_stage()
        self._stage = stage

    def _charge_stage(self) -> None:
        now = time.monotonic()
        if self._builder is not None:
            times = self._builder.stage_times
            times[self._stage] = times.get(self._stage, 0.0) + (now - self._stage_started)
        self._stage_started = now

    # ---- lines ---------------------------------------------------------

    def line(self, direction: Direction, text: str, *, code: int | None = None) -> None:
        entry = TranscriptLine(
            direction=direction,
            text=text,
            at=datetime.now(UTC),
            elapsed=time.monotonic() - self._t0,
            stage=self._stage,
            encrypted=self.encrypted and direction in (Direction.CLIENT, Direction.SERVER),
            code=code,
        )
        if self._builder is not None:
            self._builder.lines.append(entry)
        if self._on_line is not None:
            try:
                self._on_line(entry)
            except Exception:  # a broken viewer must not break the send
                log.exception("transcript callback failed")

    def info(self, text: str) -> None:
        self.line(Direction.INFO, text)

    def error(self, text: str) -> None:
        self.line(Direction.ERROR, text)

    def client(self, text: str) -> None:
        self.line(Direction.CLIENT, text)

    def server(self, code: int, message: str) -> None:
        """One transcript line per line of a (multi-line) reply, as on the wire."""
        parts = message.split("\n") if message else [""]
        for i, part in enumerate(parts):
            sep = "-" if i < len(parts) - 1 else " "
            self.line(Direction.SERVER, f"{code}{sep}{part}".rstrip(), code=code)
