"""The live rule set: compiled once, indexed by stage, changed from any thread.

``RuleSet`` is what the sink holds (``RunningSink.rules``) and what callers
change: the rules file's watcher, the pytest plugin, later the window's
editor and the HTTP API. Every change compiles the new rules and swaps ONE
immutable ``Snapshot`` reference under a lock; the sink's loop only reads
``ruleset.snapshot.<stage>`` (a tuple, empty for a stage without rules), so
a stage without rules costs an attribute read and changes need no
restart. Counters and greylisting state live in the compiled rules, which
are touched only on the sink's loop; a rule that is kept across a change
(``add``/``remove`` of another rule) keeps its state, ``replace_all``
starts every rule afresh.

A rule that raises while it is evaluated is disabled at once: the error is
logged, kept in ``RuleSet.errors`` and written to the session transcript,
and the session goes on as if the rule did not exist (the message is still
stored).
"""

from __future__ import annotations

import collections
import itertools
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .actions import GreylistBook, Verdict
from .conditions import CompiledConditions, RuleContext, StageGates
from .model import (
    AfterCaptureAction,
    Delay,
    Drop,
    Greylist,
    Reply,
    Rule,
    RuleError,
    Stage,
    Throttle,
)

__all__ = ["FiredRule", "RuleHandle", "RuleSet", "RuleStatus", "Snapshot", "StagePlan"]

log = logging.getLogger(__name__)

_handles = itertools.count(1)


@dataclass(frozen=True, order=True)
class RuleHandle:
    """Names one rule added to a ``RuleSet`` (for ``remove``)."""

    id: int


@dataclass(frozen=True)
class RuleStatus:
    handle: RuleHandle
    rule: Rule
    fired: int  # how many times it fired since it was (re)compiled
    error: str | None  # why it was disabled at run time


@dataclass(frozen=True)
class FiredRule:
    """One firing, as kept in ``RuleSet.history`` (newest last)."""

    rule: str
    stage: Stage
    what: str  # the transcript line without "R: "


class CompiledRule:
    __slots__ = ("conditions", "error", "fired", "greylist", "handle", "rule")

    def __init__(self, rule: Rule, handle: RuleHandle) -> None:
        problems = rule.problems()
        if problems:
            raise RuleError("; ".join(problems), rule=rule.name)
        try:
            self.conditions = CompiledConditions(rule.when)
        except RuleError as exc:
            raise RuleError(exc.message, rule=rule.name) from None
        self.rule = rule
        self.handle = handle
        self.fired = 0
        self.error: str | None = None
        self.greylist = (
            GreylistBook() if any(isinstance(a, Greylist) for a in rule.actions) else None
        )


class StagePlan:
    """The enabled rules of one stage, in order, and their combined pre-tests."""

    __slots__ = ("entries", "gates", "rules")

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.rules = tuple(rules)
        self.gates = StageGates(c.conditions.gate for c in rules if c.conditions.gate is not None)
        bits = self.gates.bits
        #: (rule, the bit of its pre-test; 0 = always tested)
        self.entries = tuple(
            (c, bits.get(c.conditions.gate[0], 0) if c.conditions.gate else 0) for c in rules
        )


class Snapshot:
    """Each stage's ``StagePlan``, or None for a stage without rules (immutable;
    swapped whole, so the sink's ``if snapshot.rcpt:`` is the whole cost of a
    stage without rules)."""

    __slots__ = ("auth", "connect", "data", "ehlo", "mail", "rcpt", "stored")

    def __init__(self, rules: Iterable[CompiledRule] = ()) -> None:
        by_stage: dict[Stage, list[CompiledRule]] = {s: [] for s in Stage}
        for compiled in rules:
            if compiled.rule.enabled and compiled.error is None:
                by_stage[compiled.rule.stage].append(compiled)

        def plan(stage: Stage) -> StagePlan | None:
            return StagePlan(by_stage[stage]) if by_stage[stage] else None

        self.connect = plan(Stage.CONNECT)
        self.ehlo = plan(Stage.EHLO)
        self.auth = plan(Stage.AUTH)
        self.mail = plan(Stage.MAIL)
        self.rcpt = plan(Stage.RCPT)
        self.data = plan(Stage.DATA)
        self.stored = plan(Stage.STORED)


class RuleSet:
    """An ordered, live list of rules; every method is safe from any thread.

    Python API (the pytest plugin's ``mail_catcher.fail(...)`` builds on it)::

        handle = sink.rules.add(Rule.make("bob", "rcpt", Reply(550), rcpt="bob@x"))
        handle = sink.rules.fail("RCPT", 550, rcpt="bob@x")     # the same, shorter
        ...
        sink.rules.remove(handle)        # or sink.rules.clear() after each test
        sink.rules.replace_all(load_rules_file(path))

    ``add``/``fail`` validate at once (``RuleError``); ``replace_all`` is all
    or nothing. ``status()`` lists the rules with how often each fired and
    why one was disabled; ``errors`` and ``history`` keep recent failures and
    firings.
    """

    HISTORY = 1000

    def __init__(self, rules: Iterable[Rule] = ()) -> None:
        self._lock = threading.Lock()
        self._compiled: list[CompiledRule] = []
        self.snapshot = Snapshot()
        self.errors: list[str] = []  # run-time failures, oldest first (bounded)
        self.history: collections.deque[FiredRule] = collections.deque(maxlen=self.HISTORY)
        self.source: str | None = None  # where the rules came from (a file path), for display
        #: "Faults off": the SMTP stages run no rule; after-capture actions still do
        self.suspended = False
        if rules:
            self.replace_all(rules)

    # -- changes (any thread) --

    def add(self, rule: Rule) -> RuleHandle:
        """Append ``rule`` (validated now: ``RuleError``); returns its handle."""
        compiled = CompiledRule(rule, RuleHandle(next(_handles)))
        with self._lock:
            self._compiled.append(compiled)
            self._publish()
        return compiled.handle

    def fail(
        self,
        stage: Stage | str,
        code: int,
        text: str = "",
        *,
        name: str | None = None,
        **conditions: Any,
    ) -> RuleHandle:
        """Shorthand for tests: ``rules.fail("RCPT", 550, rcpt="bob@x")`` answers
        550 at RCPT for bob only (the pytest plugin's ``mail_catcher.fail``)."""
        stage = stage if isinstance(stage, Stage) else Stage.parse(stage)
        rule = Rule.make(
            name or f"fail {stage.value} {code}", stage, Reply(code, text), **conditions
        )
        return self.add(rule)

    def remove(self, handle: RuleHandle) -> bool:
        with self._lock:
            before = len(self._compiled)
            self._compiled = [c for c in self._compiled if c.handle != handle]
            self._publish()
            return len(self._compiled) != before

    def replace_all(self, rules: Iterable[Rule]) -> list[RuleHandle]:
        """All or nothing: a bad rule raises ``RuleError`` and the old rules stay."""
        compiled = [CompiledRule(rule, RuleHandle(next(_handles))) for rule in rules]
        with self._lock:
            self._compiled = compiled
            self._publish()
        return [c.handle for c in compiled]

    def replace_named(self, names: Iterable[str], rules: Iterable[Rule]) -> list[RuleHandle]:
        """Swap the rules named ``names`` for ``rules`` (appended), in one step.

        The other rules keep their place and their state (counters,
        greylisting); all or nothing like ``replace_all``. The HTTP API's
        chaos triggers use it.
        """
        gone = set(names)
        compiled = [CompiledRule(rule, RuleHandle(next(_handles))) for rule in rules]
        with self._lock:
            self._compiled = [c for c in self._compiled if c.rule.name not in gone] + compiled
            self._publish()
        return [c.handle for c in compiled]

    def clear(self) -> None:
        self.replace_all(())

    def reset_state(self) -> None:
        """Counters and greylisting back to the start (same as reloading the same rules)."""
        with self._lock:
            for c in self._compiled:
                c.conditions.reset()
                c.fired = 0
                if c.greylist is not None:
                    c.greylist.reset()

    def suspend(self, on: bool = True) -> None:
        """Suspend (``on``) or resume every SMTP-stage rule at once, keeping the rules,
        their counters and greylisting state; after-capture actions (tag, mark
        read...) go on. The window's "Faults on/off" toggle."""
        with self._lock:
            self.suspended = bool(on)
            self._publish()

    def status(self) -> list[RuleStatus]:
        with self._lock:
            return [RuleStatus(c.handle, c.rule, c.fired, c.error) for c in self._compiled]

    def __len__(self) -> int:
        return len(self._compiled)

    def _publish(self) -> None:
        if self.suspended:
            self.snapshot = Snapshot(c for c in self._compiled if c.rule.stage is Stage.STORED)
        else:
            self.snapshot = Snapshot(self._compiled)

    # -- evaluation (the sink's loop only) --

    def evaluate(self, plan: StagePlan, ctx: RuleContext) -> Verdict | None:
        """Run the stage's rules over ``ctx`` in order until one answers.

        None when no rule fired (nothing to do, nothing allocated).
        """
        verdict: Verdict | None = None
        try:
            closed = plan.gates.closed(ctx)
        except Exception as exc:  # cannot happen with sound gates; never fail the session
            log.error("rule pre-tests failed, testing each rule: %r", exc)
            closed = 0
        for compiled, bit in plan.entries:
            if bit & closed or compiled.error is not None:
                continue
            try:
                if compiled.conditions.matches(ctx):
                    verdict = verdict or Verdict()
                    self._fire(compiled, ctx, verdict)
            except Exception as exc:
                verdict = verdict or Verdict()
                self._disable(compiled, exc, verdict)
                continue
            if verdict is not None and verdict.final:
                break
        return verdict

    def _fire(self, compiled: CompiledRule, ctx: RuleContext, verdict: Verdict) -> None:
        rule = compiled.rule
        name = rule.name
        notes: list[str] = []
        for action in rule.actions:
            if isinstance(action, Delay):
                verdict.delay_s += action.ms / 1000
                notes.append(f'rule "{name}" delayed the reply by {action.ms} ms')
            elif isinstance(action, Throttle):
                verdict.throttle = action.bytes_per_s
                notes.append(f'rule "{name}" throttled reading to {action.bytes_per_s} bytes/s')
            elif isinstance(action, Reply):
                verdict.reply = action.line()
                notes.append(f'rule "{name}" answered {verdict.reply}')
            elif isinstance(action, Drop):
                verdict.drop = True
                notes.append(f'rule "{name}" dropped the connection')
            elif isinstance(action, Greylist):
                assert compiled.greylist is not None
                rcpt = ctx.rcpt if ctx.rcpt is not None else ",".join(ctx.rcpts)
                key = (ctx.mail_from.casefold(), rcpt.casefold(), ctx.client)
                refusal = compiled.greylist.attempt(key, time.monotonic(), action)
                if refusal is None:
                    notes.append(f'rule "{name}" greylisting passed')
                else:
                    verdict.reply = refusal
                    notes.append(f'rule "{name}" answered {refusal}')
            elif isinstance(action, AfterCaptureAction):
                verdict.after.append((name, action))
                notes.append(f'rule "{name}" will {action.describe()}')
        compiled.fired += 1
        verdict.notes.extend(notes)
        for note in notes:
            self.history.append(FiredRule(name, rule.stage, note))

    def _disable(self, compiled: CompiledRule, exc: BaseException, verdict: Verdict) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        self.failed(compiled.rule.name, compiled.handle, reason, verdict)

    def failed(
        self, name: str, handle: RuleHandle | None, reason: str, verdict: Verdict | None = None
    ) -> str:
        """Disable a rule that failed at run time (visible: log, errors, transcript)."""
        line = f'rule "{name}" failed and was disabled: {reason}'
        log.error("%s", line)
        with self._lock:
            for c in self._compiled:
                if c.handle == handle or (handle is None and c.rule.name == name):
                    c.error = reason
            self.errors.append(line)
            del self.errors[:-100]
            self._publish()
        if verdict is not None:
            verdict.notes.append(line)
        return line
