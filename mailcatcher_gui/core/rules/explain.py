"""Testing one rule against a stored message: which conditions match, and why not.

The Rules editor's "Test against selected message" shows this, condition by
condition. Each condition is compiled and tested on its own with the very
code the sink runs (``CompiledConditions``), over a ``RuleContext`` rebuilt
from what the store kept of the session (envelope, client address, AUTH
user, raw bytes). Two kinds of condition cannot be judged afterwards and say
so instead of guessing: the counters (``first``/``every``/``probability``:
they depend on the order of the mail the sink saw) and ``listener`` when the
caller does not know which listener received the message.

At stage ``rcpt`` a rule answers per recipient, so ``rcpt`` (and the rule)
is tested for each envelope recipient and the explanation names the ones
that match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .conditions import CompiledConditions, RuleContext
from .model import Conditions, Rule, RuleError, Stage

if TYPE_CHECKING:
    from ..models import StoredMessage

__all__ = ["ConditionCheck", "RuleExplanation", "explain_rule", "context_for_message"]

_COUNTERS = ("first", "every", "probability")


@dataclass(frozen=True)
class ConditionCheck:
    name: str  # the rules-file key
    wanted: str  # the condition as written
    value: str  # what the message has for it ("" when not known)
    matched: bool | None  # None: cannot be judged for a stored message
    note: str = ""


@dataclass(frozen=True)
class RuleExplanation:
    rule: str
    checks: tuple[ConditionCheck, ...]
    recipients: tuple[str, ...] = ()  # stage rcpt: the recipients the rule answers for

    @property
    def matches(self) -> bool | None:
        """False if a condition fails; None if all others hold but one cannot be
        judged; True if every condition holds (a rule without conditions always)."""
        results = [c.matched for c in self.checks]
        if False in results:
            return False
        return None if None in results else True

    def summary(self) -> str:
        verdict = self.matches
        if verdict is False:
            failed = ", ".join(c.name for c in self.checks if c.matched is False)
            return f'rule "{self.rule}" does not match this message ({failed} differ)'
        unknown = ", ".join(c.name for c in self.checks if c.matched is None)
        who = f" for {', '.join(self.recipients)}" if self.recipients else ""
        if verdict is None:
            return f'rule "{self.rule}" matches this message{who} unless {unknown} decide otherwise'
        return f'rule "{self.rule}" matches this message{who}'


def context_for_message(stored: StoredMessage, listener: str | None = None) -> RuleContext:
    """What the sink knew at the end of DATA, rebuilt from the store."""
    s = stored.summary
    return RuleContext(
        listener=listener or "",
        client=_peer_ip(stored.peer),
        helo=stored.helo,
        auth_user=stored.auth_user,
        mail_from=s.envelope_from,
        rcpt=None,
        rcpts=tuple(s.envelope_to),
        raw=stored.raw,
    )


def _peer_ip(peer: str) -> str:
    peer = peer.strip()
    if peer.startswith("["):
        return peer[1 : peer.find("]")] if "]" in peer else peer.strip("[]")
    host, sep, port = peer.rpartition(":")
    return host if sep and port.isdigit() and ":" not in host else peer


def explain_rule(rule: Rule, stored: StoredMessage, listener: str | None = None) -> RuleExplanation:
    """Each condition of ``rule`` tested against ``stored`` (``RuleError`` for a bad pattern)."""
    ctx = context_for_message(stored, listener)
    when = rule.when
    checks: list[ConditionCheck] = []
    recipients: tuple[str, ...] = ()
    for name in when.given():
        value = getattr(when, name)
        if name in _COUNTERS:
            checks.append(
                ConditionCheck(
                    name,
                    _shown(value),
                    "",
                    None,
                    "counts the matching mail as it arrives; not judged afterwards",
                )
            )
            continue
        if name == "predicate":
            checks.append(ConditionCheck(name, "(Python)", "", _test(when, name, ctx)))
            continue
        if name == "listener" and not listener:
            checks.append(
                ConditionCheck(name, value, "", None, "the store does not keep the listener")
            )
            continue
        if name == "rcpt":
            hits = tuple(r for r in ctx.rcpts if _test(when, name, _with_rcpt(ctx, r)))
            if rule.stage is Stage.RCPT:
                recipients = hits
            checks.append(
                ConditionCheck(
                    name, value, ", ".join(ctx.rcpts) or "(none)", bool(hits), _hits(hits)
                )
            )
            continue
        checks.append(
            ConditionCheck(name, _shown(value), _value_of(name, value, ctx), _test(when, name, ctx))
        )
    if rule.stage is Stage.RCPT and when.rcpt is None:
        recipients = ctx.rcpts
    return RuleExplanation(rule.name, tuple(checks), recipients)


def _test(when: Conditions, name: str, ctx: RuleContext) -> bool:
    single = Conditions(**{name: getattr(when, name)})
    try:
        return CompiledConditions(single).matches(ctx)
    except RuleError:
        raise
    except Exception:  # a predicate that raises: the sink would disable the rule
        return False


def _with_rcpt(ctx: RuleContext, rcpt: str) -> RuleContext:
    return RuleContext(
        ctx.listener, ctx.client, ctx.helo, ctx.auth_user, ctx.mail_from, rcpt, ctx.rcpts, ctx.raw
    )


def _hits(hits: tuple[str, ...]) -> str:
    return f"matches {', '.join(hits)}" if hits else "no recipient matches"


def _shown(value: object) -> str:
    return str(value)


def _value_of(name: str, wanted: object, ctx: RuleContext) -> str:
    if name in ("size_above", "size_below"):
        return f"{ctx.size} bytes"
    if name == "header":
        header = str(wanted).partition(":")[0].strip().lower().encode("ascii", "replace")
        values = [
            line.partition(b":")[2].strip().decode("utf-8", "replace")
            for line in ctx.header_block().splitlines()
            if line.partition(b":")[0].strip().lower() == header
        ]
        return " | ".join(values) if values else "(no such header)"
    if name == "auth_user":
        return ctx.auth_user or "(no AUTH)"
    if name == "client":
        return ctx.client or "(unknown)"
    return str(getattr(ctx, name, "") or "")
