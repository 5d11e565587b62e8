"""The rules engine without a network: pattern semantics, the stage pre-tests
(never skipping a rule that matches), the zero-work empty stage, thread safety."""

from __future__ import annotations

import itertools
import threading

import pytest

from mailcatcher_gui.core.rules import Delay, Reply, Rule, RuleContext, RuleSet, Stage
from mailcatcher_gui.core.rules.conditions import CompiledConditions


def _fired(rules: RuleSet, stage: str, ctx: RuleContext) -> list[str]:
    plan = getattr(rules.snapshot, stage)
    if plan is None:
        return []
    verdict = rules.evaluate(plan, ctx)
    return [] if verdict is None else [n.split('"')[1] for n in verdict.notes]


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("bob@example.com", "BOB@Example.COM", True),  # literal: whole value, any case
        ("bob@example.com", "xbob@example.com", False),
        ("bob@*", "bob@anywhere.org", True),
        ("bob@*", "rebob@anywhere.org", False),
        ("*@EXAMPLE.com", "alice@example.COM", True),
        ("b?b@x", "bib@x", True),
        ("[ab]*@x", "carl@x", False),
        ("/^bob@/", "bob@x", True),  # regex: searched, as written (case-sensitive)
        ("/^bob@/", "BOB@x", False),
        ("/example/", "a@example.org", True),
        ("/(?i)EXAMPLE/", "a@example.org", True),
    ],
)
def test_pattern_semantics(pattern, value, matches):
    rules = RuleSet([Rule.make("p", "mail", Delay(1), mail_from=pattern)])
    assert _fired(rules, "mail", RuleContext(mail_from=value)) == (["p"] if matches else [])


PATTERNS = [
    "bob@*",
    "*@example.com",
    "/^al/",
    "/(?P<x>a)(?P=x)/",  # a back-reference: fine alone
    "/(?P<x>b)/",  # ...and the same group name again: the group cannot be combined
    "ann@example.com",
    "/\\d{3}/",
    "*ß*",
    "carl@[xy].org",
]
VALUES = [
    "bob@example.com",
    "alice@example.com",
    "aa@x.org",
    "ANN@EXAMPLE.COM",
    "user123@x.org",
    "carl@y.org",
    "straße@x",
    "",
]


def test_stage_pretests_never_skip_a_rule_that_matches():
    """The combined per-field regexes agree with every rule tested on its own."""
    for field in ("mail_from", "rcpt", "client", "auth_user", "listener"):
        stage = "rcpt" if field == "rcpt" else "mail"
        rules = [Rule.make(f"r{i}", stage, Delay(1), **{field: p}) for i, p in enumerate(PATTERNS)]
        ruleset = RuleSet(rules)
        for value in VALUES:
            ctx = RuleContext(**{field: value})
            expected = [
                r.name
                for r in rules
                if CompiledConditions(r.when).matches(RuleContext(**{field: value}))
            ]
            assert _fired(ruleset, stage, ctx) == expected, (field, value)


def test_header_and_size_pretests():
    rules = RuleSet(
        [
            Rule.make("h", "data", Reply(550), header="X-Fault: yes"),
            Rule.make("folded", "data", Delay(1), header="X-Long: *two*"),
            Rule.make("big", "data", Delay(1), size_above=100),
            Rule.make("small", "data", Delay(1), size_below=50),
        ]
    )
    msg = b"Subject: x\r\nx-fault:   yes\r\nX-Long: one\r\n two\r\n\r\nbody X-Fault: yes\r\n"
    # order is the rules' order; "h" answers, so the later ones are not run
    assert _fired(rules, "data", RuleContext(raw=msg)) == ["h"]
    no_fault = b"Subject: x\r\nX-Long: one\r\n two\r\n\r\nX-Fault: yes\r\n"  # only in the body
    assert _fired(rules, "data", RuleContext(raw=no_fault)) == ["folded", "small"]
    big = no_fault + b"y" * 200
    assert _fired(rules, "data", RuleContext(raw=big)) == ["folded", "big"]
    assert _fired(rules, "data", RuleContext(raw=b"Subject: x\r\n\r\n" + b"z" * 60)) == []


def test_a_stage_without_rules_is_none():
    rules = RuleSet([Rule.make("r", "rcpt", Reply(550))])
    snap = rules.snapshot
    assert snap.rcpt is not None
    assert (snap.connect, snap.ehlo, snap.auth, snap.mail, snap.data, snap.stored) == (None,) * 6
    rules.replace_all([Rule.make("off", "rcpt", Reply(550), enabled=False)])
    assert rules.snapshot.rcpt is None  # a disabled rule costs nothing either
    assert [s.rule.name for s in rules.status()] == ["off"]


def test_counters_count_matches_of_the_other_conditions():
    rules = RuleSet([Rule.make("c", "rcpt", Reply(550), rcpt="bob@*", first=1, every=1)])
    outcomes = [
        _fired(rules, "rcpt", RuleContext(rcpt=r)) for r in ("ann@x", "bob@x", "ann@x", "bob@x")
    ]
    assert outcomes == [[], ["c"], [], []]


def test_changes_from_many_threads_while_the_loop_evaluates():
    rules = RuleSet()
    errors: list[BaseException] = []
    stop = threading.Event()

    def evaluate() -> None:
        ctx = RuleContext(mail_from="a@x", rcpt="bob@x")
        while not stop.is_set():
            try:
                for stage in ("mail", "rcpt"):
                    plan = getattr(rules.snapshot, stage)
                    if plan is not None:
                        rules.evaluate(plan, ctx)
            except BaseException as exc:  # pragma: no cover - the failure we look for
                errors.append(exc)
                return

    def churn(n: int) -> None:
        for i in range(200):
            handle = rules.add(Rule.make(f"t{n}-{i}", "rcpt", Delay(0), rcpt="bob@*"))
            rules.remove(handle)
        rules.add(Rule.make(f"keep{n}", "mail", Delay(0)))

    reader = threading.Thread(target=evaluate)
    reader.start()
    writers = [threading.Thread(target=churn, args=(n,)) for n in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert errors == []
    assert sorted(s.rule.name for s in rules.status()) == [f"keep{n}" for n in range(4)]
    assert rules.snapshot.rcpt is None and len(rules.snapshot.mail.rules) == 4


def test_handles_are_unique_and_removal_keeps_other_rules_state():
    rules = RuleSet()
    a = rules.add(Rule.make("a", "mail", Reply(451), first=2))
    b = rules.add(Rule.make("b", "mail", Delay(1)))
    assert a != b
    ctx = RuleContext(mail_from="x@y")
    assert _fired(rules, "mail", ctx) == ["a"]
    rules.remove(b)
    assert _fired(rules, "mail", ctx) == ["a"]  # a's count went on: 2nd match
    assert _fired(rules, "mail", ctx) == []
    assert Stage.parse(" RCPT ") is Stage.RCPT
    assert [f.rule for f in itertools.islice(rules.history, 3)] == ["a", "a"]
