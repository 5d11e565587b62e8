"""What the Rules editor stands on, without Qt: writing the rules file back
(``dump_rules``), testing a rule against a stored message (``explain_rule``)
and the "Faults off" switch (``RuleSet.suspend``) on the real sink."""

from __future__ import annotations

import smtplib
import tomllib

import pytest
from smtp_helpers import HOST, catching_server, make_message

from mailcatcher_gui.core.rules import (
    Delay,
    Drop,
    Forward,
    Greylist,
    MarkRead,
    Reply,
    Retry,
    Route,
    Rule,
    RuleError,
    RuleSet,
    Tag,
    Throttle,
    Webhook,
    dump_rules,
    explain_rule,
    parse_rules,
)
from mailcatcher_gui.core.smtp import AuthMode

EVERY_KIND = [
    Rule.make("bob is unknown", "rcpt", Reply(550, "5.1.1 no such user"), rcpt="bob@*"),
    Rule.make("plain", "rcpt", Reply(451), rcpt="/^x\\d+@/"),
    Rule.make("grey", "rcpt", Greylist(attempts=2, window=60.5, code=450, text='say "hi"')),
    Rule.make("grey default", "mail", Greylist()),
    Rule.make("slow banner", "connect", Delay(2000), client="127.0.0.0/8", listener="smtp"),
    Rule.make("flaky", "data", Drop(), header="X-Test: drop-me", size_above=10, size_below=10**6),
    Rule.make("slow link", "mail", Throttle(2000), mail_from="bulk@*", auth_user="al\\ice"),
    Rule.make("third", "data", Reply(451, "4.3.0 try again"), every=3, first=9),
    Rule.make("dice", "data", Delay(5), probability=0.25, seed=7),
    Rule.make("qa", "stored", Tag(("qa", "two words")), MarkRead(), rcpt="*@qa.example"),
    Rule.make("off", "ehlo", Reply(421, "tab\there\nnewline? no: one line"), enabled=False),
]


def test_dump_rules_round_trips_every_condition_and_action():
    rules = [r for r in EVERY_KIND if r.name != "off"]
    text = dump_rules(rules, header="written by a test\nsecond line")
    assert text.startswith("# written by a test\n# second line\n")
    assert parse_rules(text) == rules
    tomllib.loads(text)  # and it is plain TOML


def test_dump_rules_round_trips_the_delivery_actions():
    rules = [
        Rule.make("orders", "stored", Route("Orders"), rcpt="*@shop.example"),
        Rule.make("back", "stored", Route("Inbox")),
        Rule.make(
            "relay",
            "stored",
            Forward(host="127.0.0.1", port=2525, to=("qa@x.org",), retry=Retry(5, 0.5)),
        ),
        Rule.make("by profile", "stored", Forward(profile="My relay", timeout=12.5)),
        Rule.make("hook", "stored", Webhook("https://hooks.example/mail")),
        Rule.make("slow hook", "stored", Webhook("http://h.example/x", Retry(2), timeout=3.0)),
    ]
    text = dump_rules(rules)
    assert 'mailbox = "Orders"' in text
    assert "attempts = 5" in text and "backoff = 0.5" in text
    assert parse_rules(text) == rules


def test_dump_rules_writes_what_the_reader_rejects_only_as_the_reader_would():
    # the reply text with a newline is refused when read back: same rule, same problem
    text = dump_rules([EVERY_KIND[-1]])
    assert "enabled = false" in text and "\\t" in text and "\\n" in text
    with pytest.raises(Exception, match="one line"):
        parse_rules(text)


def test_dump_rules_shorthand_forms():
    text = dump_rules(
        [Rule.make("g", "rcpt", Greylist()), Rule.make("d", "data", Drop(), Delay(10))]
    )
    assert "greylist = true" in text
    assert "drop = true" in text and "delay_ms = 10" in text
    assert "seed" not in text  # only written with a probability


def test_dump_rules_refuses_a_python_predicate():
    rule = Rule.make("py", "mail", Delay(1), predicate=lambda ctx: True)
    with pytest.raises(RuleError, match="predicate"):
        dump_rules([rule])


# ---------------------------------------------------------------- explain_rule


@pytest.fixture
def stored(tmp_path):
    with catching_server(tmp_path, auth=AuthMode("any")) as srv:
        msg = make_message("Order 7", **{"X-Test": "fail-please"})
        with smtplib.SMTP(HOST, srv.port, timeout=10) as client:
            client.login("alice", "pw")
            client.sendmail("shop@example.com", ["ann@x.org", "bob@y.org"], msg)
        yield srv.mailbox.get_stored(max(srv.mailbox.ids()))


def test_explain_rule_matches_condition_by_condition(stored):
    rule = Rule.make(
        "t",
        "data",
        Reply(550),
        mail_from="*@example.com",
        header="X-Test: fail*",
        client="127.0.0.0/8",
        auth_user="alice",
        size_above=10,
    )
    result = explain_rule(rule, stored)
    assert result.matches is True
    assert [c.name for c in result.checks] == [
        "mail_from",
        "header",
        "auth_user",
        "client",
        "size_above",
    ]
    assert all(c.matched for c in result.checks)
    header = next(c for c in result.checks if c.name == "header")
    assert header.value == "fail-please"
    assert result.summary() == 'rule "t" matches this message'


def test_explain_rule_names_the_conditions_that_fail(stored):
    rule = Rule.make(
        "t", "data", Reply(550), mail_from="*@other.org", header="X-Test: ok", size_below=10
    )
    result = explain_rule(rule, stored)
    assert result.matches is False
    assert [c.name for c in result.checks if c.matched is False] == [
        "mail_from",
        "header",
        "size_below",
    ]
    assert "does not match" in result.summary() and "mail_from" in result.summary()


def test_explain_rule_at_rcpt_names_the_recipients_it_answers_for(stored):
    hit = explain_rule(Rule.make("b", "rcpt", Reply(550), rcpt="bob@*"), stored)
    assert hit.matches is True and hit.recipients == ("bob@y.org",)
    assert "for bob@y.org" in hit.summary()
    miss = explain_rule(Rule.make("c", "rcpt", Reply(550), rcpt="carl@*"), stored)
    assert miss.matches is False and miss.recipients == ()


def test_explain_rule_does_not_guess_counters_or_an_unknown_listener(stored):
    rule = Rule.make("n", "data", Reply(451), every=3, listener="projectB", mail_from="shop@*")
    result = explain_rule(rule, stored)
    assert result.matches is None
    undecided = {c.name for c in result.checks if c.matched is None}
    assert undecided == {"every", "listener"}
    assert "unless" in result.summary()
    # told the listener, it is judged
    assert explain_rule(rule, stored, listener="projectA").matches is False
    assert explain_rule(
        Rule.make("l", "data", Reply(451), listener="project*"), stored, listener="projectB"
    ).matches


# ---------------------------------------------------------------- Faults on/off


def _send(port, rcpts):
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        return client.sendmail("alice@example.com", rcpts, make_message())


def test_suspend_turns_every_smtp_rule_off_and_back_on(tmp_path):
    with catching_server(tmp_path) as srv:
        rules = srv.sink.rules
        rules.add(Rule.make("bob", "rcpt", Reply(550, "5.1.1 gone"), rcpt="bob@*"))
        rules.add(Rule.make("tag", "stored", Tag(("seen",))))
        assert set(_send(srv.port, ["ann@x", "bob@x"])) == {"bob@x"}  # on: bob refused

        rules.suspend(True)
        assert rules.suspended and len(rules) == 2  # the rules stay
        assert _send(srv.port, ["ann@x", "bob@x"]) == {}  # off: nobody refused
        newest = srv.mailbox.get_stored(max(srv.mailbox.ids()))
        assert newest.summary.envelope_to == ("ann@x", "bob@x")
        assert newest.summary.tags == ("seen",)  # after-capture actions go on

        rules.suspend(False)
        assert set(_send(srv.port, ["bob@x"] * 1 + ["ann@x"])) == {"bob@x"}


def test_suspended_set_stays_suspended_across_changes():
    rules = RuleSet([Rule.make("a", "mail", Delay(1))])
    rules.suspend()
    rules.add(Rule.make("b", "rcpt", Reply(550)))
    rules.replace_all([Rule.make("c", "data", Reply(451)), Rule.make("s", "stored", MarkRead())])
    snap = rules.snapshot
    assert snap.mail is None and snap.rcpt is None and snap.data is None
    assert snap.stored is not None
    rules.suspend(False)
    assert rules.snapshot.data is not None


# ---------------------------------------------------------------- the editor's drafts


def test_drafts_keep_python_rules_out_of_the_file_and_catch_duplicate_names(tmp_path):
    from mailcatcher_gui.ui.window.rules_model import (
        RuleDraft,
        drafts_from,
        rule_query,
        rules_from,
        save_drafts,
    )

    py_rule = Rule.make("py", "mail", Delay(1), predicate=lambda ctx: True)
    rules = RuleSet([Rule.make("bob", "rcpt", Reply(550), rcpt="bob@*"), py_rule])
    drafts = drafts_from(rules)
    assert drafts[0].text.startswith("[[rule]]") and drafts[0].fixed is None
    assert drafts[1].fixed is py_rule and "Python" in drafts[1].label()

    dup = [*drafts, RuleDraft(drafts[0].text)]
    _rules, problems = rules_from(dup)
    assert problems == [(2, "the name 'bob' is used by rule 1")]
    with pytest.raises(RuleError, match="rule 3"):
        save_drafts(dup, rules, tmp_path / "r.toml")
    assert not (tmp_path / "r.toml").exists()

    drafts[0].enabled = False
    save_drafts(drafts, rules, tmp_path / "r.toml")
    assert [(s.rule.name, s.rule.enabled) for s in rules.status()] == [
        ("bob", False),
        ("py", True),
    ]
    written = parse_rules((tmp_path / "r.toml").read_text())
    assert [(r.name, r.enabled) for r in written] == [("bob", False)]  # no Python rule
    assert rules.source == str(tmp_path / "r.toml")
    assert rule_query("bob") == "rule:bob" and rule_query("a b") == 'rule:"a b"'
