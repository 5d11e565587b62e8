"""The one entry point for sending: compose, CLI ``send`` and release use it.

``await send(SendRequest(message, transport), on_line=...)`` builds the
message (or takes raw bytes as they are), hands it to the transport and
returns a ``SendReport``. Problems are *reported*, not raised: bad input
(header injection, no recipients) comes back as a report whose failure stage
is ``input`` and nothing is sent; network and server problems come back
classified by stage. Only cancellation propagates: ``task.cancel()`` on the
task running ``send`` closes the connection and raises ``CancelledError``
(the lines recorded so far have already reached ``on_line``).

``on_line`` is called on the event loop's thread with each
``TranscriptLine`` as it happens, so a window can show the transcript live.

``send_sync``/``send_batch_sync``/``test_connection_sync`` run their own
event loop for scripts and the CLI; do not call them from a running loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from .base import Transport
from .draft import Draft, DraftError, OutgoingMessage, RawMessage, prepare
from .profiles import RelayProfile
from .report import Failure, FailureStage, SendReport, Stage
from .smtp import SmtpTransport
from .transcript import LineCallback, Recorder, ReportBuilder

Message = Draft | RawMessage | OutgoingMessage


@dataclass(frozen=True, slots=True)
class SendRequest:
    """What to send and how."""

    message: Message
    transport: Transport


async def send(request: SendRequest, *, on_line: LineCallback | None = None) -> SendReport:
    """Send one message; see the module docstring."""
    reports = await send_batch([request.message], request.transport, on_line=on_line)
    return reports[0]


async def send_batch(
    messages: Sequence[Message],
    transport: Transport,
    *,
    on_line: LineCallback | None = None,
) -> list[SendReport]:
    """Send several messages through one transport (SMTP: one connection for
    up to ``max_per_connection`` of them). One report per message, in order.

    Messages that fail to build get an ``input`` report and are skipped; the
    others are sent.
    """
    recorder = Recorder(on_line)
    slots: list[SendReport | None] = []
    ready: list[OutgoingMessage] = []
    for message in messages:
        recorder.stage = Stage.BUILD
        try:
            out = prepare(message)
        except DraftError as exc:
            builder = recorder.begin(ReportBuilder(transport.kind, transport.target, None))
            recorder.error(str(exc))
            builder.fail(Failure(FailureStage.INPUT, str(exc), field=exc.field))
            slots.append(recorder.finish())
        else:
            ready.append(out)
            slots.append(None)
    delivered = iter(await transport.deliver(ready, recorder) if ready else [])
    return [slot if slot is not None else next(delivered) for slot in slots]


async def test_connection(
    profile: RelayProfile,
    password: str | None = None,
    *,
    on_line: LineCallback | None = None,
) -> SendReport:
    """Connect, negotiate TLS, EHLO, AUTH and QUIT, sending no message."""
    return await SmtpTransport(profile, password).test(Recorder(on_line))


def send_sync(request: SendRequest, *, on_line: LineCallback | None = None) -> SendReport:
    """Blocking ``send`` for scripts and the CLI."""
    return asyncio.run(send(request, on_line=on_line))


def send_batch_sync(
    messages: Sequence[Message], transport: Transport, *, on_line: LineCallback | None = None
) -> list[SendReport]:
    return asyncio.run(send_batch(messages, transport, on_line=on_line))


def test_connection_sync(
    profile: RelayProfile, password: str | None = None, *, on_line: LineCallback | None = None
) -> SendReport:
    return asyncio.run(test_connection(profile, password, on_line=on_line))
