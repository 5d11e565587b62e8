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
from collections.abc import Callable
from dataclasses import dataclass

from .model import Conditions, RuleError

__all__ = ["CompiledConditions", "RuleContext", "compile_pattern"]


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


def compile_pattern(pattern: str, what: str) -> Matcher:
    """A glob (case-insensitive, whole value) or ``/regex/`` (searched, as written)."""
    text = str(pattern)
    if len(text) >= 2 and text.startswith("/") and text.endswith("/"):
        try:
            rx = re.compile(text[1:-1])
        except re.error as exc:
            raise RuleError(f"{what}: invalid regular expression {text!r}: {exc}") from None
        return lambda value: rx.search(value) is not None
    if not any(ch in text for ch in "*?["):
        wanted = text.casefold()
        return lambda value: value.casefold() == wanted
    glob = re.compile(fnmatch.translate(text), re.IGNORECASE | re.DOTALL)
    return lambda value: glob.match(value) is not None


def _client_matcher(pattern: str) -> Matcher:
    if "/" in pattern and not pattern.startswith("/"):
        try:
            net = ipaddress.ip_network(pattern, strict=False)
        except ValueError as exc:
            raise RuleError(f"client: invalid network {pattern!r}: {exc}") from None

        def in_net(value: str) -> bool:
            try:
                return ipaddress.ip_address(value.strip("[]")) in net
            except ValueError:
                return False

        return in_net
    return compile_pattern(pattern, "client")


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
            client = _client_matcher(when.client)
            tests.append(lambda ctx: client(ctx.client))
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
