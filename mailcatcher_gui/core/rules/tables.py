"""Rules as plain tables (dicts): the rules file's keys, for JSON and for writing TOML.

``rule_to_table`` is the inverse of ``loading.rules_from_tables``: the HTTP
API's ``GET /api/v1/rules`` answers with these tables and ``PUT`` takes
them back, and an editor can write them as ``[[rule]]`` tables. A value
equal to its default is left out, so a table says only what the rule says.

What a table cannot hold: a ``predicate`` (Python API only) is shown as
``"predicate": "python"`` and refused on the way back in, so a rule that
needs code is never silently turned into one that matches everything.

``chaos`` maps Mailpit's chaos triggers (``/api/v1/chaos``) onto rules:
each trigger is one rule named ``chaos <trigger>`` at its stage, answering
``ErrorCode`` with a ``probability`` (``Probability`` / 100). A trigger at
0 % stays as a *disabled* rule, so its ErrorCode is remembered (as
Mailpit's configuration keeps it) and costs nothing at the stage.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .delivery_actions import Forward, Retry, Route, Webhook
from .model import (
    AfterCaptureAction,
    Conditions,
    Delay,
    Drop,
    Greylist,
    MarkRead,
    Reply,
    Rule,
    SmtpAction,
    Stage,
    Tag,
    Throttle,
)

__all__ = [
    "CHAOS_TRIGGERS",
    "ChaosTrigger",
    "chaos_rules",
    "chaos_triggers",
    "is_chaos_rule",
    "rule_to_table",
]

_CONDITIONS = (
    "mail_from",
    "rcpt",
    "header",
    "auth_user",
    "listener",
    "client",
    "size_above",
    "size_below",
    "first",
    "every",
    "probability",
)


def rule_to_table(rule: Rule) -> dict[str, Any]:
    """The rule as the rules file's keys (see the module docstring)."""
    table: dict[str, Any] = {"name": rule.name, "stage": rule.stage.value}
    if not rule.enabled:
        table["enabled"] = False
    when = rule.when
    for key in _CONDITIONS:
        value = getattr(when, key)
        if value is not None:
            table[key] = value
    if when.seed:
        table["seed"] = when.seed
    if when.predicate is not None:
        table["predicate"] = "python"
    for action in rule.actions:
        key, value = _action_value(action)
        if key == "tag" and "tag" in table:
            value = [*table["tag"], *value]
        table[key] = value
    return table


def _retry(table: dict[str, Any], retry: Retry) -> dict[str, Any]:
    if retry.attempts != Retry().attempts:
        table["attempts"] = retry.attempts
    if retry.backoff != Retry().backoff:
        table["backoff"] = retry.backoff
    return table


def _action_value(action: SmtpAction | AfterCaptureAction) -> tuple[str, Any]:
    if isinstance(action, Reply):
        return "reply", {"code": action.code, **({"text": action.text} if action.text else {})}
    if isinstance(action, Greylist):
        default = Greylist()
        spec = {
            k: getattr(action, k)
            for k in ("attempts", "window", "code", "text")
            if getattr(action, k) != getattr(default, k)
        }
        return "greylist", spec or True
    if isinstance(action, Delay):
        return "delay_ms", action.ms
    if isinstance(action, Drop):
        return "drop", True
    if isinstance(action, Throttle):
        return "throttle", action.bytes_per_s
    if isinstance(action, Tag):
        return "tag", list(action.tags)
    if isinstance(action, MarkRead):
        return "mark_read", True
    if isinstance(action, Route):
        return "mailbox", action.name
    if isinstance(action, Forward):
        return "forward", _forward_value(action)
    if isinstance(action, Webhook):
        spec = {"url": action.url}
        if action.timeout != Webhook("x").timeout:
            spec["timeout"] = action.timeout
        _retry(spec, action.retry)
        return "webhook", spec if len(spec) > 1 else action.url
    return action.key or type(action).__name__, action.describe()


def _forward_value(action: Forward) -> Any:
    default = Forward()
    spec: dict[str, Any] = {}
    if action.profile:
        spec["profile"] = action.profile
    if action.host:
        spec["host"] = action.host
        spec["port"] = action.port
    if action.to:
        spec["to"] = list(action.to)
    if action.timeout != default.timeout:
        spec["timeout"] = action.timeout
    _retry(spec, action.retry)
    if list(spec) == ["profile"]:
        return action.profile
    return spec


# ---- Mailpit's chaos triggers ---------------------------------------------------


@dataclass(frozen=True)
class ChaosTrigger:
    """One of Mailpit's triggers: where it fails and its default code."""

    name: str  # "Sender" | "Recipient" | "Authentication"
    stage: Stage
    default_code: int

    @property
    def rule_name(self) -> str:
        return f"chaos {self.name.lower()}"


CHAOS_TRIGGERS = (
    ChaosTrigger("Sender", Stage.MAIL, 451),
    ChaosTrigger("Recipient", Stage.RCPT, 451),
    ChaosTrigger("Authentication", Stage.AUTH, 535),
)
_CHAOS_NAMES = frozenset(t.rule_name for t in CHAOS_TRIGGERS)


def is_chaos_rule(rule: Rule) -> bool:
    return rule.name in _CHAOS_NAMES


def chaos_triggers(rules: list[Rule]) -> dict[str, dict[str, int]]:
    """Mailpit's ``Triggers`` JSON read back from the chaos rules among ``rules``."""
    by_name = {r.name: r for r in rules if is_chaos_rule(r)}
    out: dict[str, dict[str, int]] = {}
    for trigger in CHAOS_TRIGGERS:
        rule = by_name.get(trigger.rule_name)
        code, probability = trigger.default_code, 0
        if rule is not None:
            reply = next((a for a in rule.actions if isinstance(a, Reply)), None)
            code = reply.code if reply is not None else code
            if rule.enabled:
                p = rule.when.probability
                probability = 100 if p is None else round(p * 100)
        out[trigger.name] = {"ErrorCode": code, "Probability": probability}
    return out


def chaos_rules(triggers: dict[str, tuple[int, int]]) -> list[Rule]:
    """The rules for ``{"Sender": (code, probability 0..100), ...}`` (all three given)."""
    out = []
    for trigger in CHAOS_TRIGGERS:
        code, probability = triggers[trigger.name]
        when = Conditions(probability=probability / 100) if 0 < probability < 100 else Conditions()
        text = "4.0.0 Chaos: temporary failure" if code < 500 else "5.0.0 Chaos: failure"
        out.append(
            Rule(
                trigger.rule_name,
                trigger.stage,
                (Reply(code, text),),
                when,
                enabled=probability > 0,
            )
        )
    return out
