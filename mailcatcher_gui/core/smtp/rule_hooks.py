"""Where the sink asks the rules (``core/rules``) and carries out what they decide.

``RuleHooks`` sits between aiosmtpd's ``SMTP`` and ``SinkSMTP`` and hooks the
stages the handler does not see: the greeting (``_handle_client``), EHLO/HELO
and the AUTH command. MAIL, RCPT and DATA are asked in ``handler.py``'s
``handle_*`` hooks, after aiosmtpd has parsed the addresses. Each hook reads
``self.rules.snapshot.<stage>``: an empty tuple when the stage has no rules,
so a sink without rules (or with rules for other stages only) does no work
there. When rules fire, ``carry_out`` writes one ``R:`` line per rule to the
transcript, sleeps for a delay, throttles further reading, drops the
connection or returns the reply to send.

A rule can only refuse (4xx/5xx), delay or drop before the message is
stored, and after-capture actions run only after the commit, so a rule
never makes the sink lose a message it answered 250 for; an after-capture
action that fails disables its rule and the message stays stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

from aiosmtpd.smtp import SMTP, syntax

from ..models import RuleEvent
from ..rules import AfterCaptureAction, Outbox, RuleContext, RuleSet
from ..rules.actions import Verdict
from ..rules.delivery_actions import Route
from ..rules.engine import StagePlan
from ..rules.outbox import ActionHost
from .auth import auth_user

if TYPE_CHECKING:
    from .transcript import Transcript

__all__ = [
    "DROPPED",
    "RuleHooks",
    "ThrottledReader",
    "plan_after_capture",
    "rule_events_from_transcript",
    "run_after_capture",
]

log = logging.getLogger(__name__)

#: What a hook returns after a drop (never reaches the client: the connection is gone).
DROPPED = "421 4.4.2 Connection dropped by a mail catcher rule"


class ThrottledReader:
    """A StreamReader stand-in that reads at most ``rate`` bytes per second.

    Each read waits ``len(data) / rate`` seconds after the data arrived, so
    the reply to a command (or to the DATA payload) comes as late as a slow
    link would make it; the kernel's buffers fill and TCP slows the client.
    """

    __slots__ = ("_inner", "rate")
    _inner: asyncio.StreamReader
    rate: int

    def __init__(self, inner: asyncio.StreamReader, rate: int) -> None:
        object.__setattr__(self, "_inner", inner)
        object.__setattr__(self, "rate", rate)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "rate":
            object.__setattr__(self, name, value)
        else:
            setattr(self._inner, name, value)

    async def _pace(self, data: bytes) -> bytes:
        if data:
            await asyncio.sleep(len(data) / self.rate)
        return data

    async def readuntil(self, separator: bytes = b"\n") -> bytes:
        return await self._pace(await self._inner.readuntil(separator))

    async def readline(self) -> bytes:
        return await self._pace(await self._inner.readline())

    async def read(self, n: int = -1) -> bytes:
        return await self._pace(await self._inner.read(n))

    async def readexactly(self, n: int) -> bytes:
        return await self._pace(await self._inner.readexactly(n))


class RuleHooks(SMTP):
    """The rule stages of one connection that aiosmtpd's handler hooks do not cover."""

    rules: RuleSet  # set by start_sink's protocol factory
    listener_name = "smtp"  # matched by the ``listener`` condition
    default_mailbox: str | None = None  # where this listener's mail is stored (``--smtp ...=NAME``)
    transcript: Transcript
    implicit_tls: bool
    _stream: asyncio.StreamReader  # the real reader (SinkSMTP reads DATA from it)

    def rule_context(
        self,
        *,
        mail_from: str | None = None,
        rcpt: str | None = None,
        raw: bytes | None = None,
        helo: str | None = None,
    ) -> RuleContext:
        """What is known now; the arguments add what the current command brings.

        Values are matched as aiosmtpd decoded them (``clean_text`` is for
        storing, not needed to match); this runs for every message at every
        stage that has rules, so it stays lean.
        """
        session = self.session
        envelope = self.envelope
        peer = session.peer if session is not None else None
        return RuleContext(
            self.listener_name,
            str(peer[0]) if isinstance(peer, tuple) and peer else "",
            helo if helo is not None else (session.host_name or "" if session else ""),
            auth_user(session.auth_data) if session and session.authenticated else None,
            mail_from if mail_from is not None else (envelope.mail_from or "" if envelope else ""),
            rcpt,
            tuple(envelope.rcpt_tos) if envelope is not None else (),
            raw,
        )

    async def carry_out(self, verdict: Verdict) -> str | None:
        """Do what the rules decided; the reply to send (``DROPPED`` after a drop) or None."""
        for note in verdict.notes:
            self.transcript.rule(note)
        if verdict.delay_s > 0:
            await asyncio.sleep(verdict.delay_s)
        if verdict.throttle is not None:
            self.throttle(verdict.throttle)
        if verdict.drop:
            self.drop()
            return DROPPED
        return verdict.reply

    async def ask_rules(
        self,
        stage_rules: StagePlan,
        *,
        mail_from: str | None = None,
        rcpt: str | None = None,
        helo: str | None = None,
    ) -> str | None:
        ctx = self.rule_context(mail_from=mail_from, rcpt=rcpt, helo=helo)
        verdict = self.rules.evaluate(stage_rules, ctx)
        if verdict is None:  # nothing fired (the usual case): nothing to do
            return None
        return await self.carry_out(verdict)

    def throttle(self, rate: int) -> None:
        stream = getattr(self, "_stream", None)
        if isinstance(stream, ThrottledReader):
            stream.rate = rate
            return
        if stream is None:
            return
        throttled = ThrottledReader(stream, rate)
        self._stream = cast(asyncio.StreamReader, throttled)  # duck-typed
        object.__setattr__(self._reader, "_inner", throttled)  # the TranscribingReader

    def drop(self) -> None:
        for transport in (self.transport, self._original_transport):
            if transport is not None:
                cast(asyncio.Transport, transport).abort()

    # -- the stages aiosmtpd's handler hooks do not reach --

    async def _handle_client(self) -> None:
        stage_rules = self.rules.snapshot.connect
        if stage_rules:
            answer = await self.ask_rules(stage_rules)
            if answer is DROPPED:
                return
            if answer is not None:  # a refused greeting: say why, then hang up
                await self.push(answer)
                if self.transport is not None:
                    self.transport.close()
                return
        await super()._handle_client()

    async def _ehlo_rules(self, hostname: str) -> bool:
        """True when a rule answered (or dropped) instead of the HELO/EHLO reply."""
        stage_rules = self.rules.snapshot.ehlo
        if not stage_rules or not hostname:
            return False
        answer = await self.ask_rules(stage_rules, helo=hostname)
        if answer is None:
            return False
        if answer is not DROPPED:
            await self.push(answer)
        return True

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        if not await self._ehlo_rules(hostname):
            await super().smtp_HELO(hostname)

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        if not await self._ehlo_rules(hostname):
            await super().smtp_EHLO(hostname)

    @syntax("AUTH <mechanism>")
    async def smtp_AUTH(self, arg: str) -> None:
        stage_rules = self.rules.snapshot.auth
        if stage_rules and arg:
            answer = await self.ask_rules(stage_rules)
            if answer is not None:
                if answer is not DROPPED:
                    await self.push(answer)
                return
        await super().smtp_AUTH(arg)


def rule_events_from_transcript(lines: Sequence[str]) -> tuple[RuleEvent, ...]:
    """The ``R: rule "NAME" ...`` lines of a stored transcript as rule log lines.

    The transcript is the message's (see ``transcript``), so these are the
    rules that fired on its session up to its commit: ``fired`` with what the
    rule did, or ``disabled`` for a rule that failed.
    """
    events: list[RuleEvent] = []
    for line in lines:
        if not line.startswith('R: rule "'):
            continue
        name, sep, what = line[9:].partition('" ')
        if not sep:
            continue
        action = "disabled" if what.startswith("failed and was disabled") else "fired"
        events.append(RuleEvent(name, action, what))
    return tuple(events)


def plan_after_capture(
    actions: Sequence[tuple[str, AfterCaptureAction]],
    outbox: Outbox | None,
    events: tuple[RuleEvent, ...],
) -> tuple[str | None, list[tuple[str, AfterCaptureAction]], tuple[RuleEvent, ...]]:
    """Before the commit: (the mailbox to store in, the actions to run after it,
    the rule log lines to store with the message).

    A ``mailbox`` action is applied by storing the message there (nothing
    left to run). A forward or webhook that would find the outbox full is
    skipped now: its "not sent" line takes the place of the rule's "will
    post ..." line in ``events`` and goes into the same commit, so a flood
    of mail to a dead receiver writes nothing beyond the messages' own rows.
    """
    routed: str | None = None
    run: list[tuple[str, AfterCaptureAction]] = []
    out = events
    for name, action in actions:
        if isinstance(action, Route):
            routed = action.stored_name
        elif outbox is not None and action.key in _NETWORK and not outbox.has_room():
            out = _replace_note(out, name, f"will {action.describe()}", outbox.skip(name, action))
        else:
            run.append((name, action))
    return routed, run, out


def _replace_note(
    events: tuple[RuleEvent, ...], rule: str, note: str, outcome: RuleEvent
) -> tuple[RuleEvent, ...]:
    for i, event in enumerate(events):
        if event.rule == rule and event.action == "fired" and event.detail == note:
            return (*events[:i], outcome, *events[i + 1 :])
    return (*events, outcome)


_NETWORK = frozenset({"forward", "webhook"})


async def run_after_capture(
    rules: RuleSet,
    actions: Sequence[tuple[str, AfterCaptureAction]],
    mailbox: Any,
    message_id: int,
    outbox: Outbox | None = None,
) -> None:
    """Run the after-capture actions on a stored message; a failure disables its rule.

    Each action sees the mailbox through an ``ActionHost`` that hands forward
    and webhook deliveries to ``outbox`` under the rule's name.
    """
    for name, action in actions:
        try:
            await action.run(ActionHost(mailbox, outbox, name), message_id)
        except Exception as exc:
            rules.failed(
                name, None, f"{type(exc).__name__}: {exc} (message {message_id} is stored)"
            )
