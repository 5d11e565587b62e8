"""What a rule IS: plain, immutable data that the TOML file, the Python API and
(later) the window's Rules editor all build, and that ``engine`` compiles.

A rule has a name, an on/off switch, ONE stage, conditions (all that are
given must hold) and actions. One stage per rule keeps the counters
meaningful ("the first 3 matches" of what?) and lets the engine index rules
by stage, so a stage without rules costs nothing.

Stages, in session order::

    connect  the greeting (client address and listener known)
    ehlo     EHLO / HELO
    auth     the AUTH command, before the exchange (the user is not known yet)
    mail     MAIL FROM (sender and AUTH user known)
    rcpt     each RCPT TO (a rule answers for the matching recipients only)
    data     the end of DATA, before the message is stored (headers, size)
    stored   after the message is committed: after-capture actions only

Actions at an SMTP stage: ``reply`` (a 4xx/5xx code and text), ``greylist``,
``delay_ms``, ``drop``, ``throttle`` (bytes/s). After capture: ``tag``,
``mark_read`` and (``delivery_actions``) ``mailbox``, ``forward``,
``webhook``. Replies are 4xx/5xx only: a rule can refuse or delay mail but
never answer 2xx for something the sink did not do, so a message the sink
answered 250 for is always stored.

Extension point: new after-capture actions (route into a mailbox, forward,
webhook) are new ``AfterCaptureAction`` subclasses; ``loading.ACTION_KEYS``
names the TOML key of each, and ``engine`` hands them the stored message id.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .conditions import RuleContext

__all__ = [
    "AfterCaptureAction",
    "CapturedMessages",
    "Conditions",
    "Delay",
    "Drop",
    "Greylist",
    "MarkRead",
    "Reply",
    "Rule",
    "RuleError",
    "SmtpAction",
    "Stage",
    "Tag",
    "Throttle",
]


class Stage(enum.Enum):
    CONNECT = "connect"
    EHLO = "ehlo"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    STORED = "stored"

    @classmethod
    def parse(cls, text: str) -> Stage:
        try:
            return cls(str(text).strip().lower())
        except ValueError:
            names = ", ".join(s.value for s in cls)
            raise RuleError(f"unknown stage {text!r}; use one of {names}") from None


#: Which conditions each stage can evaluate (what is known at that point).
_ALWAYS = frozenset({"client", "listener", "first", "every", "probability", "predicate"})
STAGE_CONDITIONS: dict[Stage, frozenset[str]] = {
    Stage.CONNECT: _ALWAYS,
    Stage.EHLO: _ALWAYS,
    Stage.AUTH: _ALWAYS,
    Stage.MAIL: _ALWAYS | {"mail_from", "auth_user"},
    Stage.RCPT: _ALWAYS | {"mail_from", "auth_user", "rcpt"},
    Stage.DATA: _ALWAYS | {"mail_from", "auth_user", "rcpt", "header", "size_above", "size_below"},
    Stage.STORED: _ALWAYS
    | {"mail_from", "auth_user", "rcpt", "header", "size_above", "size_below"},
}


class RuleError(ValueError):
    """A rule (or rules file) that cannot be used; ``line`` when it is known."""

    def __init__(self, message: str, line: int | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.rule = rule

    def __str__(self) -> str:
        where = f'rule "{self.rule}": ' if self.rule else ""
        return where + self.message


@dataclass(frozen=True)
class Conditions:
    """All given conditions must hold; ``None`` = not given.

    Patterns are case-insensitive globs matched against the whole value
    (``*@example.com``, ``bob@*``); ``/regex/`` is a regular expression
    searched as written. ``client`` is also a CIDR network (``10.0.0.0/8``).
    ``header`` is ``"Name: pattern"`` (the raw, unfolded header value).
    Counters count the matches of the other conditions: ``first`` = the first
    N, ``every`` = every Nth, ``probability`` with ``seed`` = a repeatable
    pseudo-random share.
    """

    mail_from: str | None = None
    rcpt: str | None = None
    header: str | None = None
    auth_user: str | None = None
    listener: str | None = None
    client: str | None = None
    size_above: int | None = None
    size_below: int | None = None
    first: int | None = None
    every: int | None = None
    probability: float | None = None
    seed: int = 0
    #: Python API only: any test on the stage's facts (a raising one disables the rule).
    predicate: Callable[[RuleContext], bool] | None = None

    def given(self) -> list[str]:
        names = [
            name
            for name in (
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
                "predicate",
            )
            if getattr(self, name) is not None
        ]
        return names


class SmtpAction:
    """An action taken at an SMTP stage (before anything is stored)."""

    terminal = False  # answers or ends the session: later rules at the stage are not run
    key = ""  # its key in the rules file

    def describe(self) -> str:
        raise NotImplementedError


class CapturedMessages(Protocol):
    """What after-capture actions may do to the mailbox (``Mailbox`` has it)."""

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None: ...

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None: ...

    def set_mailbox(self, ids: Sequence[int], name: str) -> None: ...


class AfterCaptureAction:
    """An action on a stored message (the extension point for route/forward/webhook).

    ``run`` is awaited on the sink's loop after the message was committed
    and before the 250 is sent; a forward or webhook action hands its work
    to the sink's ``Outbox`` (``core.rules.outbox``) and returns at once, so
    the network work happens after the 250.
    """

    key = ""  # its key in the rules file (loading.ACTION_KEYS)

    def describe(self) -> str:
        raise NotImplementedError

    def problems(self) -> list[str]:
        """Why this action cannot be used (empty = fine)."""
        return []

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        raise NotImplementedError


@dataclass(frozen=True)
class Reply(SmtpAction):
    """Answer ``code text`` instead of the sink's reply (4xx/5xx only)."""

    key = "reply"

    code: int
    text: str = ""
    terminal = True

    def line(self) -> str:
        text = self.text or _DEFAULT_TEXT.get(self.code // 100, "")
        return f"{self.code} {text}".rstrip()

    def describe(self) -> str:
        return f"reply {self.line()}"


@dataclass(frozen=True)
class Greylist(SmtpAction):
    """Refuse the first ``attempts`` tries of a (sender, recipient, client) triple,
    and any try sooner than ``window`` seconds after the first; then accept."""

    key = "greylist"

    attempts: int = 1
    window: float = 0.0
    code: int = 451
    text: str = ""
    terminal = True

    def describe(self) -> str:
        return f"greylist (first {self.attempts} attempt(s), window {self.window:g} s)"


@dataclass(frozen=True)
class Delay(SmtpAction):
    key = "delay_ms"
    ms: int

    def describe(self) -> str:
        return f"delay the reply by {self.ms} ms"


@dataclass(frozen=True)
class Drop(SmtpAction):
    key = "drop"
    terminal = True

    def describe(self) -> str:
        return "drop the connection"


@dataclass(frozen=True)
class Throttle(SmtpAction):
    """Read from the client at most ``bytes_per_s`` from this stage on."""

    key = "throttle"

    bytes_per_s: int

    def describe(self) -> str:
        return f"throttle reading to {self.bytes_per_s} bytes/s"


@dataclass(frozen=True)
class Tag(AfterCaptureAction):
    key = "tag"
    tags: tuple[str, ...]

    def describe(self) -> str:
        return "tag the message " + ", ".join(self.tags)

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        mailbox.add_tags([message_id], [t for t in self.tags if t.strip()])


@dataclass(frozen=True)
class MarkRead(AfterCaptureAction):
    key = "mark_read"

    def describe(self) -> str:
        return "mark the message read"

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        mailbox.mark_read([message_id])


_DEFAULT_TEXT = {
    4: "4.0.0 Temporary failure (mail catcher rule)",
    5: "5.0.0 Refused (mail catcher rule)",
}


@dataclass(frozen=True)
class Rule:
    """One rule: name, on/off, stage, conditions, actions (see the module docstring)."""

    name: str
    stage: Stage
    actions: tuple[SmtpAction | AfterCaptureAction, ...]
    when: Conditions = field(default_factory=Conditions)
    enabled: bool = True

    @classmethod
    def make(
        cls,
        name: str,
        stage: Stage | str,
        *actions: SmtpAction | AfterCaptureAction,
        enabled: bool = True,
        **conditions: Any,
    ) -> Rule:
        """For Python callers: ``Rule.make("bob", "rcpt", Reply(550), rcpt="bob@*")``."""
        stage = stage if isinstance(stage, Stage) else Stage.parse(stage)
        return cls(name, stage, tuple(actions), Conditions(**conditions), enabled)

    def problems(self) -> list[str]:
        """Why this rule cannot be used (empty = fine)."""
        return [message for _key, message in self.problems_by_key()]

    def problems_by_key(self) -> list[tuple[str | None, str]]:
        """The problems, each with the rules-file key it is about (None = the whole rule)."""
        errs: list[tuple[str | None, str]] = []
        if not self.name.strip():
            errs.append(("name", "a rule needs a non-empty name"))
        if not self.actions:
            errs.append((None, "no action: give " + ", ".join(_ACTION_NAMES)))
        allowed = STAGE_CONDITIONS[self.stage]
        for name in self.when.given():
            if name not in allowed:
                errs.append((name, _condition_hint(name, self.stage)))
        c = self.when
        for label, value in (("first", c.first), ("every", c.every)):
            if value is not None and value < 1:
                errs.append((label, f"{label} must be a whole number >= 1, not {value}"))
        if c.probability is not None and not 0.0 <= c.probability <= 1.0:
            errs.append(("probability", f"probability must be 0..1, not {c.probability}"))
        for label, size in (("size_above", c.size_above), ("size_below", c.size_below)):
            if size is not None and size < 0:
                errs.append((label, f"{label} must be >= 0 bytes, not {size}"))
        terminal = [a for a in self.actions if isinstance(a, SmtpAction) and a.terminal]
        if len(terminal) > 1:
            errs.append((None, "give at most one of reply, greylist and drop"))
        for action in self.actions:
            errs.extend((action.key, p) for p in _action_problems(action, self.stage))
        return errs


_ACTION_NAMES = (
    "reply",
    "greylist",
    "delay_ms",
    "drop",
    "throttle",
    "tag",
    "mark_read",
    "mailbox",
    "forward",
    "webhook",
)


def _condition_hint(name: str, stage: Stage) -> str:
    where = {
        "mail_from": "mail, rcpt, data or stored",
        "auth_user": "mail, rcpt, data or stored (at auth the user is not known yet)",
        "rcpt": "rcpt, data or stored",
        "header": "data or stored",
        "size_above": "data or stored",
        "size_below": "data or stored",
    }.get(name, "")
    return f"{name} is not known at stage {stage.value}; use it at {where}"


def _action_problems(action: SmtpAction | AfterCaptureAction, stage: Stage) -> list[str]:
    errs: list[str] = []
    if stage is Stage.STORED and isinstance(action, SmtpAction):
        errs.append(
            f"{action.describe()} is an SMTP action; stage stored takes "
            "tag, mark_read, mailbox, forward or webhook"
        )
    if stage is not Stage.STORED and isinstance(action, AfterCaptureAction):
        errs.append(f'{action.describe()} acts on a stored message: use stage = "stored"')
    if isinstance(action, Reply | Greylist):
        if not 400 <= action.code <= 599:
            errs.append(
                f"reply code {action.code} is not 4xx/5xx: rules refuse or delay, "
                "they never answer success for the sink"
            )
        if "\r" in action.text or "\n" in action.text:
            errs.append("reply text must be one line")
    if isinstance(action, Greylist):
        if stage not in (Stage.MAIL, Stage.RCPT, Stage.DATA):
            errs.append("greylist works at stage mail, rcpt or data (it needs the sender)")
        if action.attempts < 0 or action.window < 0:
            errs.append("greylist attempts and window must be >= 0")
    if isinstance(action, Delay) and not 0 <= action.ms <= 600_000:
        errs.append(f"delay_ms must be 0..600000, not {action.ms}")
    if isinstance(action, Throttle):
        if action.bytes_per_s < 1:
            errs.append(f"throttle must be >= 1 byte/s, not {action.bytes_per_s}")
        if stage is Stage.DATA:
            errs.append(
                "throttle at stage data comes after the message was read; "
                "use it at connect, ehlo, mail or rcpt to slow the payload"
            )
    if isinstance(action, Tag) and not [t for t in action.tags if t.strip()]:
        errs.append("tag needs at least one non-empty tag")
    if isinstance(action, AfterCaptureAction):
        errs.extend(action.problems())
    return errs
