"""Rules as tables (the HTTP API's JSON): every action and condition survives
rule -> table -> rule, and a Python-only predicate is shown but refused back."""

from __future__ import annotations

import pytest

from mailcatcher_gui.core.rules import Reply, Rule, RulesFileError, parse_rules
from mailcatcher_gui.core.rules.loading import rules_from_tables
from mailcatcher_gui.core.rules.tables import chaos_rules, chaos_triggers, rule_to_table

EVERYTHING = """
[[rule]]
name = "rcpt"
stage = "rcpt"
enabled = false
rcpt = "bob@*"
mail_from = "/^a/"
auth_user = "u"
listener = "smtp"
client = "127.0.0.0/8"
first = 2
every = 3
probability = 0.5
seed = 7
reply = { code = 550, text = "5.1.1 no" }
delay_ms = 5
throttle = 100

[[rule]]
name = "grey"
stage = "mail"
greylist = { attempts = 2, window = 5 }

[[rule]]
name = "grey default"
stage = "rcpt"
greylist = true

[[rule]]
name = "drop"
stage = "data"
header = "X-A: b*"
size_above = 10
size_below = 1000
drop = true

[[rule]]
name = "after"
stage = "stored"
tag = ["a", "b"]
mark_read = true
mailbox = "Orders"
forward = { profile = "p", to = ["x@y.org"], attempts = 4, backoff = 0.5, timeout = 9 }
webhook = { url = "https://h.example/x", attempts = 1, timeout = 2 }

[[rule]]
name = "short forms"
stage = "stored"
forward = "relay"
webhook = "http://127.0.0.1:1/h"
"""


def test_every_key_round_trips_through_tables():
    rules = parse_rules(EVERYTHING)
    tables = [rule_to_table(r) for r in rules]
    assert rules_from_tables(tables) == rules
    assert tables[0]["enabled"] is False and tables[0]["seed"] == 7
    assert tables[2]["greylist"] is True
    assert tables[5] == {
        "name": "short forms",
        "stage": "stored",
        "forward": "relay",
        "webhook": "http://127.0.0.1:1/h",
    }


def test_a_predicate_is_shown_and_refused_back():
    rule = Rule.make("code", "mail", Reply(451), predicate=lambda ctx: True)
    table = rule_to_table(rule)
    assert table["predicate"] == "python"
    with pytest.raises(RulesFileError, match="unknown key 'predicate'"):
        rules_from_tables([table])


def test_chaos_triggers_map_to_rules_and_back():
    rules = chaos_rules({"Sender": (452, 100), "Recipient": (451, 0), "Authentication": (535, 25)})
    assert [(r.name, r.stage.value, r.enabled) for r in rules] == [
        ("chaos sender", "mail", True),
        ("chaos recipient", "rcpt", False),
        ("chaos authentication", "auth", True),
    ]
    assert rules[0].when.probability is None and rules[2].when.probability == 0.25
    assert chaos_triggers(rules) == {
        "Sender": {"ErrorCode": 452, "Probability": 100},
        "Recipient": {"ErrorCode": 451, "Probability": 0},
        "Authentication": {"ErrorCode": 535, "Probability": 25},
    }
    assert chaos_triggers([])["Authentication"] == {"ErrorCode": 535, "Probability": 0}
