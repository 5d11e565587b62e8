"""The one interface every way of sending implements.

Compose, the CLI ``send`` command and "release" all go through
``api.send``/``api.send_batch``, which hand prepared ``OutgoingMessage``
objects to a ``Transport``. A transport delivers a batch (so SMTP can reuse
one connection for several messages) and returns one ``SendReport`` per
message, in order, reporting every problem in the report instead of raising:
the caller always gets a transcript to show. Only cancellation
(``task.cancel()``) propagates, as asyncio code expects.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from typing import ClassVar

from .draft import OutgoingMessage
from .report import Failure, FailureStage, RecipientResult, SendReport, Stage
from .transcript import Recorder, ReportBuilder


class Transport(abc.ABC):
    """Delivers prepared messages somewhere and reports how it went."""

    kind: ClassVar[str]  # "smtp" | "local" | "file" | "console" | "memory"

    @property
    @abc.abstractmethod
    def target(self) -> str:
        """Where messages go, for reports and the UI ("host:port", a folder...)."""

    @abc.abstractmethod
    async def deliver(
        self, messages: Sequence[OutgoingMessage], recorder: Recorder
    ) -> list[SendReport]:
        """Send ``messages`` in order; one report each. Never raises for delivery problems."""


class PerMessageTransport(Transport):
    """A transport without sessions: each message is delivered on its own."""

    async def deliver(
        self, messages: Sequence[OutgoingMessage], recorder: Recorder
    ) -> list[SendReport]:
        reports: list[SendReport] = []
        for out in messages:
            builder = recorder.begin(ReportBuilder(self.kind, self.target, out))
            recorder.stage = Stage.DELIVER
            try:
                await self.deliver_one(out, builder, recorder)
            except Exception as exc:  # noqa: BLE001 - disk full, closed stream, StoreError...
                self._failed(recorder, builder, exc)
            else:
                builder.recipients = [
                    RecipientResult(addr, True, None, f"delivered by the {self.kind} transport")
                    for addr in out.envelope_to
                ]
            reports.append(recorder.finish())
        return reports

    def _failed(self, recorder: Recorder, builder: ReportBuilder, exc: Exception) -> None:
        message = f"{self.kind} delivery to {self.target} failed: {exc}"
        recorder.error(message)
        builder.fail(Failure(FailureStage.DELIVERY, message, during=Stage.DELIVER))
        out = builder.outgoing
        envelope_to = out.envelope_to if out else ()
        builder.recipients = [RecipientResult(addr, False, None, str(exc)) for addr in envelope_to]

    @abc.abstractmethod
    async def deliver_one(
        self, out: OutgoingMessage, builder: ReportBuilder, recorder: Recorder
    ) -> None:
        """Deliver one message; raise on failure (turned into a DELIVERY failure)."""
