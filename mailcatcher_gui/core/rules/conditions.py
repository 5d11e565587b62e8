"""Conditions compiled once: patterns to regexes, CIDRs to networks, counters with state.

``RuleContext`` is what a stage knows about the session and message; the
sink builds one only when the stage has rules. Matching is cheap and
allocation-free for the common case (a few precompiled ``fullmatch`` calls);
the header block is located in the raw bytes only when a header condition
is tested, and never parsed as a whole.
"""

from __future__ import annotations

import fnmatch
import ipaddress
import random
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .model import Conditions, RuleError

__all__ = ["CompiledConditions", "RuleContext", "StageGates", "compile_pattern"]


@dataclass(slots=True)
class RuleContext:
    """What the sink knows at a stage (empty strings / None when not yet known)."""

    listener: str = "smtp"
    client: str = ""  # the client's IP address
    helo: str = ""
    auth_user: str | None = None
    mail_from: str = ""
    rcpt: str | None = None  # RCPT stage: the recipient being answered
    rcpts: tuple[str, ...] = ()  # recipients accepted so far (all of them at data/stored)
    raw: bytes | None = None  # data/stored: the message as received
    _header_block: bytes | None = None
    _ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None | bool = False  # False: not parsed

    def ip(self) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        if self._ip is False:
            try:
                self._ip = ipaddress.ip_address(self.client.strip("[]"))
            except ValueError:
                self._ip = None
        return self._ip if not isinstance(self._ip, bool) else None

    @property
    def size(self) -> int:
        return len(self.raw) if self.raw is not None else 0

    def header_block(self) -> bytes:
        if self._header_block is None:
            raw = self.raw or b""
            end = raw.find(b"\r\n\r\n")
            if end < 0:
                end = raw.find(b"\n\n")
            self._header_block = b"\n" + (raw if end < 0 else raw[:end])
        return self._header_block


Matcher = Callable[[str], bool]


def pattern_source(pattern: str, what: str) -> str:
    """The regex (for ``re.search``) a pattern means: a glob is anchored at both
    ends and case-insensitive; ``/regex/`` is the regex as written."""
    text = str(pattern)
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        source = text[1:-1]
    else:
        source = r"\A(?i:" + fnmatch.translate(text) + ")"
    try:
        re.compile(source)
    except re.error as exc:
        raise RuleError(f"{what}: invalid regular expression {text!r}: {exc}") from None
    return source


def compile_pattern(pattern: str, what: str) -> Matcher:
    """A glob (case-insensitive, whole value) or ``/regex/`` (searched, as written)."""
    rx = re.compile(pattern_source(pattern, what))
    return lambda value: rx.search(value) is not None


def _client_matcher(pattern: str) -> Callable[[RuleContext], bool]:
    if "/" in pattern and not pattern.startswith("/"):
        try:
            net = ipaddress.ip_network(pattern, strict=False)
        except ValueError as exc:
            raise RuleError(f"client: invalid network {pattern!r}: {exc}") from None

        def in_net(ctx: RuleContext) -> bool:
            ip = ctx.ip()
            return ip is not None and ip in net

        return in_net
    client = compile_pattern(pattern, "client")
    return lambda ctx: client(ctx.client)


def _header_matcher(spec: str) -> Callable[[RuleContext], bool]:
    name, sep, pattern = str(spec).partition(":")
    name = name.strip()
    if not sep or not name or not re.fullmatch(r"[!-9;-~]+", name):
        raise RuleError(f"header: use 'Name: pattern', e.g. 'X-Test: *fail*', not {spec!r}")
    value_matches = compile_pattern(pattern.strip(), "header")
    line = re.compile(
        rb"\n" + re.escape(name.encode("ascii")) + rb"[ \t]*:[ \t]*(.*(?:\r?\n[ \t].*)*)",
        re.IGNORECASE,
    )

    def matches(ctx: RuleContext) -> bool:
        for m in line.finditer(ctx.header_block()):
            value = re.sub(rb"\r?\n[ \t]+", b" ", m.group(1)).rstrip(b"\r")
            if value_matches(value.decode("utf-8", "replace")):
                return True
        return False

    return matches


#: The fields a stage can pre-test for all its rules at once, most selective first.
GATE_FIELDS = (
    "rcpt",
    "mail_from",
    "header",
    "auth_user",
    "client",
    "listener",
    "size_above",
    "size_below",
)


def _gate(when: Conditions) -> tuple[str, str] | None:
    """(field, regex source) that must match for this rule to have any chance.

    ``StageGates`` ORs the sources of all rules of a stage per field into one
    regex, so a stage whose rules all fail on the same field (the usual
    case: none matches this mail) costs one regex search per field, not one
    per rule. The source means exactly what the rule's own test means (no
    false "cannot match"); a group that does not compile together is simply
    not pre-tested.
    """
    for name in GATE_FIELDS:
        value = getattr(when, name)
        if value is None:
            continue
        if name == "header":
            header = str(value).partition(":")[0].strip()
            return name, r"\n" + re.escape(header) + r"[ \t]*:"
        if name in ("size_above", "size_below"):
            return name, str(int(value))
        if name == "client" and "/" in value and not value.startswith("/"):
            continue  # a network: tested per rule (the address is parsed once)
        return name, pattern_source(value, name)
    return None


class StageGates:
    """One combined regex per gated field of a stage (see ``_gate``)."""

    __slots__ = ("_above", "_below", "_gates", "bits")

    def __init__(self, gates: Iterable[tuple[str, str]]) -> None:
        groups: dict[str, list[str]] = {}
        for name, source in gates:
            groups.setdefault(name, []).append(source)
        # size: no rule can match at or below the smallest size_above (and the
        # other way round for size_below)
        above, below = groups.pop("size_above", None), groups.pop("size_below", None)
        self._above = min(int(v) for v in above) if above else None
        self._below = max(int(v) for v in below) if below else None
        #: field -> its bit in ``closed()``; a field without a bit is never pre-tested
        self.bits: dict[str, int] = {}
        if above:
            self.bits["size_above"] = 1
        if below:
            self.bits["size_below"] = 2
        compiled: list[tuple[str, int, re.Pattern[str] | re.Pattern[bytes]]] = []
        for name, sources in groups.items():
            joined = "|".join(f"(?:{source})" for source in sources)
            try:
                if name == "header":
                    rx: re.Pattern[Any] = re.compile(joined.encode("ascii"), re.IGNORECASE)
                else:
                    rx = re.compile(joined)
            except (re.error, UnicodeEncodeError):
                continue  # e.g. two user regexes with the same group name
            bit = self.bits[name] = 4 << len(compiled)
            compiled.append((name, bit, rx))
        self._gates = tuple(compiled)

    def closed(self, ctx: RuleContext) -> int:
        """The bits of the fields on which no rule of the stage can match ``ctx``
        (an int, so the common path allocates nothing)."""
        shut = 0
        if self._above is not None and ctx.size <= self._above:
            shut |= 1
        if self._below is not None and ctx.size >= self._below:
            shut |= 2
        for name, bit, rx in self._gates:
            if not _gate_open(name, rx, ctx):
                shut |= bit
        return shut


def _gate_open(name: str, rx: re.Pattern[Any], ctx: RuleContext) -> bool:
    if name == "header":
        return rx.search(ctx.header_block()) is not None
    if name == "rcpt":
        if ctx.rcpt is not None:
            return rx.search(ctx.rcpt) is not None
        return any(rx.search(r) is not None for r in ctx.rcpts)
    value = getattr(ctx, name)
    return value is not None and rx.search(value) is not None


class CompiledConditions:
    """The conditions of one rule, ready to test, with the counters' state.

    ``matches`` runs the plain tests first (cheapest first) and only then
    advances the counters, so ``first``/``every``/``probability`` count the
    matches of the other conditions. State lives here and is only touched
    on the sink's loop; a fresh compile (``RuleSet.replace_all``) resets it,
    so the same rules over the same mail give the same outcomes.
    """

    def __init__(self, when: Conditions) -> None:
        tests: list[Callable[[RuleContext], bool]] = []
        if when.listener is not None:
            listener = compile_pattern(when.listener, "listener")
            tests.append(lambda ctx: listener(ctx.listener))
        if when.client is not None:
            tests.append(_client_matcher(when.client))
        if when.mail_from is not None:
            sender = compile_pattern(when.mail_from, "mail_from")
            tests.append(lambda ctx: sender(ctx.mail_from))
        if when.auth_user is not None:
            user = compile_pattern(when.auth_user, "auth_user")
            tests.append(lambda ctx: ctx.auth_user is not None and user(ctx.auth_user))
        if when.rcpt is not None:
            rcpt = compile_pattern(when.rcpt, "rcpt")

            def rcpt_test(ctx: RuleContext) -> bool:
                if ctx.rcpt is not None:
                    return rcpt(ctx.rcpt)
                return any(rcpt(r) for r in ctx.rcpts)

            tests.append(rcpt_test)
        if when.size_above is not None:
            above = when.size_above
            tests.append(lambda ctx: ctx.size > above)
        if when.size_below is not None:
            below = when.size_below
            tests.append(lambda ctx: ctx.size < below)
        if when.header is not None:
            tests.append(_header_matcher(when.header))
        if when.predicate is not None:
            predicate = when.predicate
            tests.append(lambda ctx: bool(predicate(ctx)))
        self._tests = tuple(tests)
        self.gate = _gate(when)
        self._first = when.first
        self._every = when.every
        self._probability = when.probability
        self._seed = when.seed
        self._counted = when.first is not None or when.every is not None
        self.matches_seen = 0
        self._rng = random.Random(when.seed) if when.probability is not None else None

    def reset(self) -> None:
        self.matches_seen = 0
        if self._rng is not None:
            self._rng.seed(self._seed)

    def matches(self, ctx: RuleContext) -> bool:
        for test in self._tests:
            if not test(ctx):
                return False
        self.matches_seen += 1
        if self._counted:
            n = self.matches_seen
            if self._first is not None and n > self._first:
                return False
            if self._every is not None and n % self._every:
                return False
        if self._rng is not None and self._probability is not None:
            return self._rng.random() < self._probability
        return True
