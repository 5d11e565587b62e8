"""Rules against the real sink on port 0, seen by real clients (smtplib AND aiosmtplib).

Each SMTP action is checked at its stage as the exception or code each
client library reports, and each rule is also checked NOT firing (a
condition that does not hold leaves the session alone).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import time

import aiosmtplib
import pytest
from smtp_helpers import HOST, aiosmtplib_client, catching_server, make_message, queued_id

from mailcatcher_gui.core.rules import (
    Delay,
    Drop,
    Greylist,
    MarkRead,
    Reply,
    Rule,
    Tag,
    Throttle,
)
from mailcatcher_gui.core.smtp import AuthMode

CLIENTS = ("smtplib", "aiosmtplib")


@pytest.fixture
def srv(tmp_path):
    with catching_server(tmp_path, auth=AuthMode("any"), smtps=(HOST, 0)) as handle:
        yield handle


def _smtplib_send(port, rcpts, msg, sender, login):
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        if login:
            client.login(*login)
        refused = client.sendmail(sender, rcpts, msg)
        return refused, client.noop()


async def _aiosmtplib_send(port, rcpts, msg, sender, login):
    async with aiosmtplib_client(hostname=HOST, port=port, timeout=10, start_tls=False) as c:
        if login:
            await c.login(*login)
        errors, reply = await c.sendmail(sender, rcpts, msg)
        return errors, reply


def send(srv, client, rcpts=("bob@example.com",), msg=None, sender="alice@example.com", login=None):
    """Send one message; returns (refused recipients {addr: (code, text)}, stored id or None)."""
    msg = msg or make_message()
    if client == "smtplib":
        refused, _ = _smtplib_send(srv.port, list(rcpts), msg, sender, login)
        ids = srv.mailbox.ids()
        return {k: (v[0], v[1].decode()) for k, v in refused.items()}, max(ids) if ids else None
    errors, reply = asyncio.run(_aiosmtplib_send(srv.port, list(rcpts), msg, sender, login))
    return {k: (v.code, v.message) for k, v in errors.items()}, queued_id(reply)


def transcript(srv, message_id):
    return srv.mailbox.get_stored(message_id).transcript


# ---------------------------------------------------------------- RCPT: one of several


@pytest.mark.parametrize("client", CLIENTS)
def test_rcpt_rule_refuses_exactly_one_of_five_recipients(srv, client):
    srv.sink.rules.add(
        Rule.make("bob unknown", "rcpt", Reply(550, "5.1.1 no such user"), rcpt="bob@*")
    )
    rcpts = [f"{n}@example.com" for n in ("ann", "bob", "cid", "dan", "eve")]
    refused, mid = send(srv, client, rcpts)
    assert refused == {"bob@example.com": (550, "5.1.1 no such user")}
    summary = srv.mailbox.summary(mid)
    assert summary.envelope_to == (
        "ann@example.com",
        "cid@example.com",
        "dan@example.com",
        "eve@example.com",
    )
    lines = transcript(srv, mid)
    assert 'R: rule "bob unknown" answered 550 5.1.1 no such user' in lines
    i = lines.index('R: rule "bob unknown" answered 550 5.1.1 no such user')
    assert lines[i - 1].upper() == "C: RCPT TO:<BOB@EXAMPLE.COM>" and lines[i + 1].startswith(
        "S: 550"
    )
    # not firing: nobody named bob -> all delivered, no R: line
    refused, mid = send(srv, client, ["ann@example.com", "cid@example.com"])
    assert refused == {}
    assert not [ln for ln in transcript(srv, mid) if ln.startswith("R:")]


# ---------------------------------------------------------------- a reply at every stage


def _expect_smtplib(stage):
    return {
        "connect": smtplib.SMTPConnectError,
        "ehlo": smtplib.SMTPHeloError,
        "auth": smtplib.SMTPAuthenticationError,
        "mail": smtplib.SMTPSenderRefused,
        "rcpt": smtplib.SMTPRecipientsRefused,
        "data": smtplib.SMTPDataError,
    }[stage]


def _expect_aiosmtplib(stage):
    return {
        "connect": aiosmtplib.SMTPConnectResponseError,
        "ehlo": aiosmtplib.SMTPHeloError,
        "auth": aiosmtplib.SMTPAuthenticationError,
        "mail": aiosmtplib.SMTPSenderRefused,
        "rcpt": aiosmtplib.SMTPRecipientsRefused,
        "data": aiosmtplib.SMTPDataError,
    }[stage]


STAGES = ("connect", "ehlo", "auth", "mail", "rcpt", "data")


@pytest.mark.parametrize("stage", STAGES)
def test_reply_at_each_stage_seen_by_smtplib(srv, stage):
    code = 421 if stage == "connect" else 554
    srv.sink.rules.add(Rule.make(f"fail {stage}", stage, Reply(code, "5.7.1 injected")))
    with (
        pytest.raises(_expect_smtplib(stage)) as info,
        smtplib.SMTP(HOST, srv.port, timeout=10) as client,
    ):
        client.login("user", "pw")
        client.sendmail("alice@example.com", ["bob@example.com"], make_message())
    exc = info.value
    if stage == "rcpt":
        assert exc.recipients == {"bob@example.com": (554, b"5.7.1 injected")}
    else:
        assert exc.smtp_code == code and b"injected" in exc.smtp_error
    assert srv.mailbox.count() == 0
    # not firing: the same rule for another client network leaves the session alone
    srv.sink.rules.replace_all(
        [Rule.make(f"fail {stage}", stage, Reply(code, "5.7.1 injected"), client="10.0.0.0/8")]
    )
    refused, mid = send(srv, "smtplib", login=("user", "pw"))
    assert refused == {} and mid is not None


@pytest.mark.parametrize("stage", STAGES)
def test_reply_at_each_stage_seen_by_aiosmtplib(srv, stage):
    code = 421 if stage == "connect" else 554
    srv.sink.rules.add(Rule.make(f"fail {stage}", stage, Reply(code, "5.7.1 injected")))

    async def run():
        client = aiosmtplib.SMTP(hostname=HOST, port=srv.port, timeout=10, start_tls=False)
        try:
            await client.connect()
            await client.login("user", "pw")
            await client.sendmail("alice@example.com", ["bob@example.com"], make_message())
        finally:
            client.close()
            await asyncio.sleep(0.05)

    with pytest.raises(_expect_aiosmtplib(stage)) as info:
        asyncio.run(run())
    exc = info.value
    if stage == "rcpt":
        assert [(e.code, e.recipient) for e in exc.recipients] == [(554, "bob@example.com")]
    else:
        assert exc.code == code and "injected" in exc.message
    assert srv.mailbox.count() == 0
    srv.sink.rules.clear()  # removed live: the next session is not touched
    refused, mid = send(srv, "aiosmtplib", login=("user", "pw"))
    assert refused == {} and mid is not None


# ---------------------------------------------------------------- greylisting


@pytest.mark.parametrize("client", CLIENTS)
def test_greylisting_retry_after_the_window_gets_through(srv, client):
    srv.sink.rules.add(Rule.make("grey", "rcpt", Greylist(attempts=1, window=1.0)))
    for attempt in (1, 2):  # the first attempt, and a retry inside the window
        if client == "smtplib":
            with pytest.raises(smtplib.SMTPRecipientsRefused) as info:
                send(srv, client)
            code, text = info.value.recipients["bob@example.com"]
            text = text.decode()
        else:
            with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as ainfo:
                send(srv, client)
            code, text = ainfo.value.recipients[0].code, ainfo.value.recipients[0].message
        assert code == 451
        assert "Greylisted: try again in 1 s" in text and "window 1 s" in text
        assert f"attempt {attempt}" in text
    assert srv.mailbox.count() == 0
    # another sender is another triple: refused on its own first attempt
    if client == "smtplib":
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            send(srv, client, sender="carol@example.com")
    time.sleep(1.1)
    refused, mid = send(srv, client)
    assert refused == {} and mid is not None
    assert 'R: rule "grey" greylisting passed' in transcript(srv, mid)
    refused, _ = send(srv, client)  # the triple stays accepted
    assert refused == {}


def test_greylisting_counts_attempts_without_a_window(srv):
    srv.sink.rules.add(Rule.make("grey2", "rcpt", Greylist(attempts=2)))
    outcomes = []
    for _ in range(4):
        try:
            send(srv, "smtplib")
            outcomes.append("ok")
        except smtplib.SMTPRecipientsRefused:
            outcomes.append("451")
    assert outcomes == ["451", "451", "ok", "ok"]


# ---------------------------------------------------------------- delay, drop, throttle


@pytest.mark.parametrize("client", CLIENTS)
def test_delay_is_measured_and_only_when_the_rule_fires(srv, client):
    srv.sink.rules.add(Rule.make("slow mail", "mail", Delay(400), mail_from="slow@example.com"))
    t0 = time.monotonic()
    refused, mid = send(srv, client, sender="slow@example.com")
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    send(srv, client, sender="fast@example.com")
    fast = time.monotonic() - t0
    assert refused == {} and mid is not None  # a delay alone still delivers
    assert slow >= 0.4
    assert fast < slow - 0.25
    assert 'R: rule "slow mail" delayed the reply by 400 ms' in transcript(srv, mid)


@pytest.mark.parametrize("stage", ("connect", "ehlo", "mail", "rcpt", "data"))
def test_drop_is_a_disconnect_for_both_clients(srv, stage):
    srv.sink.rules.add(Rule.make("drop", stage, Drop()))
    with pytest.raises(smtplib.SMTPServerDisconnected):
        send(srv, "smtplib")
    with pytest.raises((aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError)):
        send(srv, "aiosmtplib")
    assert srv.mailbox.count() == 0
    srv.sink.rules.clear()
    assert send(srv, "smtplib")[1] is not None


@pytest.mark.parametrize("client", CLIENTS)
def test_throttle_slows_the_payload_roughly_to_the_rate(srv, client):
    body = (b"x" * 998 + b"\r\n") * 30  # 30 kB
    msg = make_message(body=body)
    srv.sink.rules.add(
        Rule.make("slow link", "mail", Throttle(20_000), mail_from="throttled@example.com")
    )
    t0 = time.monotonic()
    refused, mid = send(srv, client, msg=msg, sender="throttled@example.com")
    slow = time.monotonic() - t0
    t0 = time.monotonic()
    send(srv, client, msg=msg, sender="free@example.com")
    fast = time.monotonic() - t0
    assert refused == {} and srv.mailbox.raw(mid) == msg
    assert 1.2 <= slow <= 6.0, slow  # ~1.5 s for 30 kB at 20 kB/s
    assert fast < 0.8, fast
    assert 'R: rule "slow link" throttled reading to 20000 bytes/s' in transcript(srv, mid)


# ---------------------------------------------------------------- conditions


COND_CASES = [
    # (stage, condition, matching send kwargs, non-matching send kwargs)
    ("mail", {"mail_from": "*@evil.example"}, {"sender": "x@evil.example"}, {}),
    ("mail", {"mail_from": "/^ALICE@/"}, {"sender": "ALICE@example.com"}, {}),
    ("rcpt", {"rcpt": "bob@*"}, {}, {"rcpts": ["ann@example.com"]}),
    ("data", {"rcpt": "bob@*"}, {}, {"rcpts": ["ann@example.com"]}),
    (
        "data",
        {"header": "X-Fault: yes*"},
        {"msg": make_message(**{"X-Fault": "yes please"})},
        {"msg": make_message(**{"X-Fault": "no"})},
    ),
    (
        "data",
        {"header": "Subject: /urgent/"},
        {"msg": make_message(subject="very urgent")},
        {"msg": make_message(subject="calm")},
    ),
    ("mail", {"auth_user": "alice"}, {"login": ("alice", "x")}, {"login": ("bob", "x")}),
    ("mail", {"client": "127.0.0.0/8"}, {}, None),
    ("mail", {"client": "127.0.0.1"}, {}, None),
    ("connect", {"listener": "smtp"}, {}, None),
    (
        "data",
        {"size_above": 5000},
        {"msg": make_message(body=b"y" * 6000 + b"\r\n")},
        {},
    ),
    ("data", {"size_below": 5000}, {}, {"msg": make_message(body=b"y" * 6000 + b"\r\n")}),
]


@pytest.mark.parametrize(("stage", "when", "hit", "miss"), COND_CASES)
def test_each_condition_fires_and_does_not(srv, stage, when, hit, miss):
    srv.sink.rules.add(Rule.make("cond", stage, Reply(550, "5.7.1 cond"), **when))
    error = smtplib.SMTPRecipientsRefused if stage == "rcpt" else smtplib.SMTPException
    with pytest.raises(error):
        send(srv, "smtplib", **hit)
    assert srv.mailbox.count() == 0
    if miss is not None:
        refused, mid = send(srv, "smtplib", **miss)
        assert refused == {} and mid is not None


def test_client_and_listener_conditions_do_not_fire_elsewhere(srv):
    srv.sink.rules.add(Rule.make("net", "mail", Reply(550), client="192.168.0.0/16"))
    srv.sink.rules.add(Rule.make("tls only", "mail", Reply(550, "5.7.1 smtps"), listener="smtps"))
    assert send(srv, "smtplib")[0] == {}  # plain listener, loopback client
    ctx = ssl.create_default_context(cafile=str(srv.certificate))
    ctx.check_hostname = False
    with (
        smtplib.SMTP_SSL(HOST, srv.smtps_port, context=ctx, timeout=10) as client,
        pytest.raises(smtplib.SMTPSenderRefused) as info,
    ):
        client.sendmail("a@example.com", ["b@example.com"], make_message())
    assert info.value.smtp_error == b"5.7.1 smtps"


# ---------------------------------------------------------------- counters, determinism


def _outcomes(srv, n, rcpts=("bob@example.com",)):
    out = []
    for i in range(n):
        try:
            refused, _ = send(srv, "smtplib", rcpts=rcpts, msg=make_message(subject=f"m{i}"))
            out.append("ok" if not refused else ",".join(str(v[0]) for v in refused.values()))
        except smtplib.SMTPRecipientsRefused as exc:
            out.append("/".join(str(v[0]) for v in exc.recipients.values()))
        except smtplib.SMTPException as exc:
            out.append(str(getattr(exc, "smtp_code", "?")))
    return out


def test_first_and_every_counters(srv):
    rules = [
        Rule.make("first two", "mail", Reply(451), first=2),
        Rule.make("every third", "data", Reply(552), every=3),
    ]
    srv.sink.rules.replace_all(rules)
    # MAIL: matches 1 and 2 refused; DATA counts only sessions that reach it.
    assert _outcomes(srv, 8) == ["451", "451", "ok", "ok", "552", "ok", "ok", "552"]


def test_same_rules_and_sequence_give_the_same_outcomes_twice(srv):
    rules = [
        Rule.make("bob every 2nd", "rcpt", Reply(550), rcpt="bob@*", every=2),
        Rule.make("grey ann", "rcpt", Greylist(attempts=1), rcpt="ann@*"),
        Rule.make("first data", "data", Reply(451), first=1),
    ]
    srv.sink.rules.replace_all(rules)
    first = _outcomes(srv, 6, rcpts=("bob@example.com", "ann@example.com"))
    srv.sink.rules.replace_all(rules)  # a fresh compile: counters and greylisting reset
    second = _outcomes(srv, 6, rcpts=("bob@example.com", "ann@example.com"))
    assert first == second
    assert len(set(first)) > 1  # the rules really did different things along the way
    srv.sink.rules.reset_state()
    assert _outcomes(srv, 6, rcpts=("bob@example.com", "ann@example.com")) == first


def test_seeded_probability_repeats_its_pattern(srv):
    def run(seed):
        srv.sink.rules.replace_all(
            [Rule.make("coin", "mail", Reply(451), probability=0.5, seed=seed)]
        )
        return _outcomes(srv, 12)

    a, b = run(7), run(7)
    assert a == b
    assert 2 <= a.count("451") <= 10  # a mix, not all or nothing
    assert run(8) != a  # another seed, another (repeatable) pattern
    srv.sink.rules.replace_all([Rule.make("never", "mail", Reply(451), probability=0.0)])
    assert _outcomes(srv, 3) == ["ok", "ok", "ok"]


# ---------------------------------------------------------------- after capture


@pytest.mark.parametrize("client", CLIENTS)
def test_tag_and_mark_read_after_capture(srv, client):
    srv.sink.rules.add(
        Rule.make("tag bob", "stored", Tag(("flaky", "bob")), MarkRead(), rcpt="bob@*")
    )
    _, mid = send(srv, client)
    summary = srv.mailbox.summary(mid)
    assert summary.tags == ("bob", "flaky") and summary.read
    assert 'R: rule "tag bob" will tag the message flaky, bob' in transcript(srv, mid)
    _, other = send(srv, client, rcpts=["ann@example.com"])
    assert srv.mailbox.summary(other).tags == () and not srv.mailbox.summary(other).read


# ---------------------------------------------------------------- failures, live changes


def test_a_rule_that_raises_is_disabled_and_the_message_is_stored(srv):
    calls = []

    def broken(ctx):
        calls.append(ctx.mail_from)
        raise ZeroDivisionError("boom")

    srv.sink.rules.add(Rule.make("broken", "data", Reply(550), predicate=broken))
    srv.sink.rules.add(Rule.make("tagger", "stored", Tag(("kept",))))
    refused, mid = send(srv, "smtplib")
    assert refused == {} and mid is not None  # stored despite the failing rule
    assert srv.mailbox.summary(mid).tags == ("kept",)
    line = 'rule "broken" failed and was disabled: ZeroDivisionError: boom'
    assert "R: " + line in transcript(srv, mid)
    assert srv.sink.rules.errors == [line]
    status = {s.rule.name: s for s in srv.sink.rules.status()}
    assert status["broken"].error == "ZeroDivisionError: boom"
    send(srv, "smtplib")
    assert calls == ["alice@example.com"]  # disabled: not asked again


def test_a_failing_after_capture_action_keeps_the_message(srv):
    class Exploding(Tag):
        async def run(self, mailbox, message_id):
            raise RuntimeError("webhook down")

    srv.sink.rules.add(Rule.make("hook", "stored", Exploding(("x",))))
    refused, mid = send(srv, "smtplib")
    assert refused == {} and srv.mailbox.summary(mid).tags == ()
    assert "webhook down" in srv.sink.rules.errors[0]
    assert srv.sink.rules.snapshot.stored is None


def test_rules_change_live_from_another_thread(srv):
    handle = srv.sink.rules.add(Rule.make("bob", "rcpt", Reply(550), rcpt="bob@*"))
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(srv, "smtplib")
    assert srv.sink.rules.remove(handle) is True
    assert srv.sink.rules.remove(handle) is False
    assert send(srv, "smtplib")[0] == {}
    # a session already open sees the change at its next stage
    with smtplib.SMTP(HOST, srv.port, timeout=10) as client:
        client.ehlo()
        srv.sink.rules.add(Rule.make("late", "mail", Reply(451)))
        code, _ = client.mail("alice@example.com")
        assert code == 451


@pytest.mark.parametrize("client", CLIENTS)
def test_fail_shorthand_for_the_pytest_plugin(srv, client):
    handle = srv.sink.rules.fail("RCPT", 550, "5.1.1 bob is gone", rcpt="bob@x.org")
    refused, mid = send(srv, client, rcpts=["bob@x.org", "ann@x.org"])
    assert refused == {"bob@x.org": (550, "5.1.1 bob is gone")}
    assert srv.mailbox.summary(mid).envelope_to == ("ann@x.org",)
    assert 'R: rule "fail rcpt 550" answered 550 5.1.1 bob is gone' in transcript(srv, mid)
    srv.sink.rules.remove(handle)  # what the plugin does after the test
    assert send(srv, client, rcpts=["bob@x.org"])[0] == {}


def test_connect_delay_holds_the_greeting(srv):
    srv.sink.rules.add(Rule.make("slow banner", "connect", Delay(300), client="127.0.0.1"))
    t0 = time.monotonic()
    with smtplib.SMTP(HOST, srv.port, timeout=10) as client:
        greeted = time.monotonic() - t0
        assert client.noop()[0] == 250
    assert greeted >= 0.3
    srv.sink.rules.replace_all([Rule.make("slow banner", "connect", Delay(300), client="10.1.2.3")])
    t0 = time.monotonic()
    with smtplib.SMTP(HOST, srv.port, timeout=10):
        assert time.monotonic() - t0 < 0.25
