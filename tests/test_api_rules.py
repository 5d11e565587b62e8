"""The rules endpoints over real HTTP, in front of a real sink sharing the RuleSet:
Mailpit's chaos triggers seen by smtplib, and our whole-list GET/PUT."""

from __future__ import annotations

import smtplib

import pytest
from api_helpers import running_api
from smtp_helpers import HOST, make_message, running_sink

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.rules import Reply, Rule, RuleSet, Tag
from mailcatcher_gui.core.smtp import AuthMode
from mailcatcher_gui.core.store.database import Store

HOOK = "http://127.0.0.1:9/h"
DEFAULTS = {
    "Sender": {"ErrorCode": 451, "Probability": 0},
    "Recipient": {"ErrorCode": 451, "Probability": 0},
    "Authentication": {"ErrorCode": 535, "Probability": 0},
}


@pytest.fixture
def both(tmp_path):
    """(api, sink) over one mailbox; the API's extras["rules"] is the sink's RuleSet."""
    mailbox = Mailbox(Store(tmp_path / "mail.sqlite3"))
    try:
        with running_sink(mailbox, auth=AuthMode("any")) as sink:
            rules = sink.sink.rules
            with running_api(tmp_path, mailbox=mailbox, extras={"rules": rules}) as api:
                yield api, sink
    finally:
        mailbox.close()


def mail_code(sink) -> int:
    with smtplib.SMTP(HOST, sink.port, timeout=10) as client:
        client.ehlo()
        return client.mail("alice@example.com")[0]


def test_chaos_sender_100_fails_mail_and_0_disables(both):
    api, sink = both
    assert api.get("/api/v1/chaos").json() == DEFAULTS
    assert api.get("/api/v1/webui").json()["ChaosEnabled"] is True
    reply = api.request(
        "PUT", "/api/v1/chaos", json={"Sender": {"ErrorCode": 452, "Probability": 100}}
    )
    assert reply.status == 200
    assert reply.json() == {**DEFAULTS, "Sender": {"ErrorCode": 452, "Probability": 100}}
    assert mail_code(sink) == 452
    with (
        pytest.raises(smtplib.SMTPSenderRefused) as info,
        smtplib.SMTP(HOST, sink.port, timeout=10) as client,
    ):
        client.sendmail("a@x.org", ["b@x.org"], make_message())
    assert info.value.smtp_code == 452
    # 0 % keeps the code but turns the trigger off
    reply = api.request(
        "PUT", "/api/v1/chaos", json={"Sender": {"ErrorCode": 452, "Probability": 0}}
    )
    assert reply.json()["Sender"] == {"ErrorCode": 452, "Probability": 0}
    assert mail_code(sink) == 250
    assert sink.sink.rules.snapshot.mail is None  # a disabled rule costs the stage nothing


def test_chaos_recipient_and_authentication_and_reset(both):
    api, sink = both
    api.request(
        "PUT",
        "/api/v1/chaos",
        json={
            "Recipient": {"ErrorCode": 550, "Probability": 100},
            "Authentication": {"Probability": 100},
        },
    )
    with smtplib.SMTP(HOST, sink.port, timeout=10) as client:
        client.ehlo()
        with pytest.raises(smtplib.SMTPAuthenticationError) as auth:
            client.login("u", "p")
        assert auth.value.smtp_code == 535
        assert client.mail("a@x.org")[0] == 250
        assert client.rcpt("b@x.org")[0] == 550
    # a partial probability is a share of the attempts
    api.request("PUT", "/api/v1/chaos", json={"Sender": {"Probability": 50}})
    codes = [mail_code(sink) for _ in range(20)]
    assert 0 < codes.count(451) < 20 and set(codes) == {250, 451}
    # {} resets every trigger; other rules are untouched
    sink.sink.rules.add(Rule.make("mine", "stored", Tag(("x",))))
    assert api.request("PUT", "/api/v1/chaos", json={}).json() == DEFAULTS
    assert mail_code(sink) == 250
    assert "mine" in [s.rule.name for s in sink.sink.rules.status()]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"Sender": {"ErrorCode": 399, "Probability": 5}}, "between 400 and 599"),
        ({"Recipient": {"ErrorCode": 451, "Probability": 101}}, "between 0 and 100"),
        ({"Sender": {"ErrorCode": "451"}}, "Sender.ErrorCode must be a whole number"),
        ({"Sender": 5}, "Sender must be an object"),
    ],
)
def test_chaos_bad_input_is_a_400_and_changes_nothing(both, body, message):
    api, sink = both
    api.request("PUT", "/api/v1/chaos", json={"Sender": {"ErrorCode": 421, "Probability": 100}})
    reply = api.request("PUT", "/api/v1/chaos", json=body)
    assert reply.status == 400 and message in reply.json()["Error"]
    assert api.get("/api/v1/chaos").json()["Sender"] == {"ErrorCode": 421, "Probability": 100}


def test_rules_get_put_round_trip(both):
    api, sink = both
    sink.sink.rules.add(Rule.make("bob", "rcpt", Reply(550, "5.1.1 no"), rcpt="bob@*"))
    body = api.get("/api/v1/rules").json()
    assert body["Rules"] == [
        {
            "name": "bob",
            "stage": "rcpt",
            "rcpt": "bob@*",
            "reply": {"code": 550, "text": "5.1.1 no"},
        }
    ]
    assert body["Status"] == [{"Name": "bob", "Fired": 0, "Error": None}] and body["Source"] is None
    new = [
        {"name": "busy", "stage": "mail", "reply": 451, "mail_from": "busy@*"},
        {"name": "route", "stage": "stored", "mailbox": "Orders", "rcpt": "orders@*"},
        {
            "name": "hook",
            "stage": "stored",
            "webhook": {"url": "http://127.0.0.1:9/h", "attempts": 2},
        },
    ]
    reply = api.request("PUT", "/api/v1/rules", json={"Rules": new})
    assert reply.status == 200, reply.text
    got = reply.json()["Rules"]
    assert [r["name"] for r in got] == ["busy", "route", "hook"]
    assert got[0]["reply"] == {"code": 451} and got[1]["mailbox"] == "Orders"
    assert got[2]["webhook"] == {"url": HOOK, "attempts": 2}
    assert api.request("PUT", "/api/v1/rules", json={"Rules": got}).json()["Rules"] == got
    # the sink uses them at once
    with smtplib.SMTP(HOST, sink.port, timeout=10) as client:
        client.ehlo()
        assert client.mail("busy@x.org")[0] == 451
        client.rset()
        assert client.mail("ok@x.org")[0] == 250


def test_rules_put_bad_input_lists_every_problem_and_changes_nothing(both):
    api, sink = both
    sink.sink.rules.add(Rule.make("keep", "rcpt", Reply(550), rcpt="bob@*"))
    bad = [
        {"name": "a", "stage": "rcpt"},
        {"name": "b", "stage": "sometime", "reply": 550},
        {"name": "c", "stage": "stored", "webhook": "ftp://x"},
        {"name": "d", "stage": "mail", "reply": 250},
        {"name": "e", "stage": "data", "predicate": "python", "drop": True},
    ]
    reply = api.request("PUT", "/api/v1/rules", json={"Rules": bad})
    assert reply.status == 400
    problems = reply.json()["Problems"]
    assert len(problems) == 5, problems
    text = "\n".join(problems)
    assert 'rule "a": no action' in text
    assert "unknown stage 'sometime'" in text
    assert "webhook must be an http:// or https:// URL" in text
    assert "reply code 250 is not 4xx/5xx" in text
    assert "unknown key 'predicate'" in text
    assert reply.json()["Error"].startswith("5 problems: ")
    assert [s.rule.name for s in sink.sink.rules.status()] == ["keep"]
    for body, message in (
        ({}, '{"Rules": [...]}'),
        ({"Rules": {"name": "x"}}, "rules must be a list"),
        ({"Rules": [5]}, "must be a table"),
    ):
        reply = api.request("PUT", "/api/v1/rules", json=body)
        assert reply.status == 400 and message in reply.json()["Error"], reply.text
    assert api.request("PUT", "/api/v1/rules", json={"Rules": []}).status == 200
    assert len(sink.sink.rules) == 0


def test_without_sink_rules_the_endpoints_say_so(tmp_path):
    with running_api(tmp_path) as api:
        for method, path in (("GET", "/api/v1/chaos"), ("PUT", "/api/v1/rules")):
            reply = api.request(method, path, json={"Rules": []})
            assert reply.status == 400 and "not enabled" in reply.json()["Error"]
        assert api.get("/api/v1/webui").json()["ChaosEnabled"] is False
    with running_api(tmp_path / "b", extras={"rules": RuleSet()}) as api:
        assert api.get("/api/v1/chaos").status == 200
