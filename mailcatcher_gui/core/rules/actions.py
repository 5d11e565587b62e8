"""What the rules decided at one stage (``Verdict``) and the greylisting book.

Deciding is synchronous and separate from doing: ``engine`` fills a
``Verdict`` (the reply to send, a drop, a delay, a throttle, after-capture
actions, and one transcript line per rule that fired) and the sink's hooks
(``core/smtp/rule_hooks.py``) carry it out. So a stage's outcome depends only
on the rules, their state and the facts of the session, never on timing.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field

from .model import AfterCaptureAction, Greylist

__all__ = ["GreylistBook", "Verdict"]


@dataclass(slots=True)
class Verdict:
    reply: str | None = None  # "451 4.7.1 ..." to send instead of the sink's reply
    drop: bool = False
    delay_s: float = 0.0
    throttle: int | None = None  # bytes/s from now on
    after: list[tuple[str, AfterCaptureAction]] = field(default_factory=list)  # (rule, action)
    notes: list[str] = field(default_factory=list)  # transcript lines, without "R: "

    @property
    def final(self) -> bool:
        return self.reply is not None or self.drop


class GreylistBook:
    """Attempts per (sender, recipient, client) triple for one greylist rule.

    An attempt is refused while it is among the first ``attempts`` of its
    triple or comes sooner than ``window`` seconds after the first one; once
    a triple got through it always does (as a real greylisting server
    remembers a sender that retried). Bounded: the oldest triples go first.
    """

    MAX_TRIPLES = 10_000

    def __init__(self) -> None:
        self._seen: collections.OrderedDict[tuple[str, str, str], list[float]] = (
            collections.OrderedDict()
        )

    def reset(self) -> None:
        self._seen.clear()

    def attempt(self, key: tuple[str, str, str], now: float, action: Greylist) -> str | None:
        """The refusal line for this attempt, or None when it gets through."""
        entry = self._seen.get(key)
        if entry is None:
            entry = self._seen[key] = [now, 0.0, 0.0]  # first seen, attempts, passed
            if len(self._seen) > self.MAX_TRIPLES:
                self._seen.popitem(last=False)
        if entry[2]:
            return None
        entry[1] += 1
        elapsed = now - entry[0]
        if entry[1] > action.attempts and elapsed >= action.window:
            entry[2] = 1.0
            return None
        wait = max(0, math.ceil(action.window - elapsed))
        text = action.text or (
            f"4.7.1 Greylisted: try again in {wait} s "
            f"(window {action.window:g} s, attempt {int(entry[1])}; "
            f"the first {action.attempts} are refused)"
        )
        return f"{action.code} {text}"
