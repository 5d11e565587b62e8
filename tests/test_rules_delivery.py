"""After-capture actions that move mail on, against real parts: the sink on port 0,
a SECOND real sink as the forward relay (loopback only), a real aiohttp
receiver for webhooks, a TCP server that never answers, a real SQLite store.

Each action is checked firing and not firing, with its outcome in the
message's rule log (``message_rule_log``)."""

from __future__ import annotations

import asyncio
import json
import smtplib
import time

import pytest
from aiohttp import web
from smtp_helpers import HOST, catching_server, make_message

from mailcatcher_gui.core.models import MessagesAdded
from mailcatcher_gui.core.rules import (
    Delay,
    Forward,
    Reply,
    Retry,
    Route,
    Rule,
    Webhook,
)
from mailcatcher_gui.core.sending.profiles import ProfileStore, RelayProfile

FAST = Retry(attempts=3, backoff=0.05)


@pytest.fixture
def srv(tmp_path):
    with catching_server(tmp_path / "a") as handle:
        yield handle


@pytest.fixture
def relay(tmp_path):
    """The second sink: where forwards go (loopback)."""
    with catching_server(tmp_path / "b") as handle:
        yield handle


def send(srv, msg=None, rcpts=("bob@example.com",), sender="alice@example.com") -> int:
    with smtplib.SMTP(HOST, srv.port, timeout=10) as client:
        client.sendmail(sender, list(rcpts), msg or make_message())
    return max(srv.mailbox.ids())


def drain(srv) -> None:
    srv.run(srv.sink.outbox.drain(20), timeout=30)


def log_of(srv, message_id):
    return [(e.rule, e.action, e.detail) for e in srv.mailbox.rule_log(message_id)]


# ---------------------------------------------------------------- mailbox routing


def test_mailbox_rule_routes_at_commit_and_search_finds_it(srv):
    events = []
    srv.mailbox.subscribe(events.append)
    srv.sink.rules.add(Rule.make("orders", "stored", Route("Orders"), rcpt="orders@*"))
    routed = send(srv, rcpts=["orders@shop.example"])
    plain = send(srv)
    assert srv.mailbox.summary(routed).mailbox == "Orders"
    assert srv.mailbox.summary(plain).mailbox == ""
    # committed already in its mailbox: the very first event says so
    added = [s for e in events if isinstance(e, MessagesAdded) for s in e.summaries]
    assert [(s.id, s.mailbox) for s in added] == [(routed, "Orders"), (plain, "")]
    assert srv.mailbox.mailboxes() == {"": (1, 1), "Orders": (1, 1)}
    assert srv.mailbox.ids("mailbox:orders") == [routed]
    assert srv.mailbox.ids("mailbox:inbox") == [plain]
    assert srv.mailbox.ids("rule:orders") == [routed]
    assert srv.mailbox.ids("rule:Orders -mailbox:orders") == []
    assert log_of(srv, routed) == [("orders", "fired", "will move the message to mailbox Orders")]
    assert log_of(srv, plain) == []


def test_every_rule_that_fired_is_logged_with_the_message(srv):
    srv.sink.rules.add(Rule.make("slow", "connect", Delay(1)))
    srv.sink.rules.add(Rule.make("bob refused", "rcpt", Reply(550), rcpt="bob@*"))
    with smtplib.SMTP(HOST, srv.port, timeout=10) as client:
        refused = client.sendmail("a@x.org", ["bob@x.org", "ann@x.org"], make_message())
    assert list(refused) == ["bob@x.org"]
    (mid,) = srv.mailbox.ids()
    lines = log_of(srv, mid)
    assert ("slow", "fired", "delayed the reply by 1 ms") in lines
    assert ("bob refused", "fired", "answered 550 5.0.0 Refused (mail catcher rule)") in lines
    assert srv.mailbox.ids("rule:slow") == [mid]
    assert srv.mailbox.ids("rule:nobody") == []


# ---------------------------------------------------------------- forward


def test_forward_is_byte_exact_and_the_report_is_logged(srv, relay, corpus_dir):
    raw = (corpus_dir / "mailpit" / "mime-attachment.eml").read_bytes()
    srv.sink.rules.add(
        Rule.make(
            "copy",
            "stored",
            Forward(host=HOST, port=relay.port, retry=FAST),
            mail_from="alice@*",
        )
    )
    mid = send(srv, raw, rcpts=["x@example.org", "y@example.org"])
    other = send(srv, sender="carol@example.com")  # the condition does not hold
    drain(srv)
    (copied,) = relay.mailbox.ids()
    assert srv.mailbox.raw(mid) == raw  # smtplib sends bytes as they are
    assert relay.mailbox.raw(copied) == raw  # and the forward too
    forwarded = relay.mailbox.summary(copied)
    assert forwarded.envelope_from == "alice@example.com"
    assert forwarded.envelope_to == ("x@example.org", "y@example.org")
    (report,) = [e for e in srv.mailbox.rule_log(mid) if e.action == "forward"]
    assert report.rule == "copy"
    head = report.detail.splitlines()[0]
    assert head.startswith(f"delivered to 127.0.0.1:{relay.port} (1 attempt): 250")
    assert f"queued as {copied}" in head
    assert " -> MAIL FROM:<alice@example.com>" in report.detail  # the transcript follows
    assert [e.action for e in srv.mailbox.rule_log(other)] == []
    assert srv.mailbox.ids("rule:copy") == [mid]


def test_forward_retries_a_relay_that_refuses_first(srv, relay):
    relay.sink.rules.add(Rule.make("busy once", "mail", Reply(451), first=1))
    srv.sink.rules.add(
        Rule.make(
            "copy", "stored", Forward(host=HOST, port=relay.port, to=("z@x.org",), retry=FAST)
        )
    )
    mid = send(srv)
    drain(srv)
    (copied,) = relay.mailbox.ids()
    assert relay.mailbox.raw(copied) == srv.mailbox.raw(mid)
    assert relay.mailbox.summary(copied).envelope_to == ("z@x.org",)
    (report,) = [e.detail for e in srv.mailbox.rule_log(mid) if e.action == "forward"]
    assert report.startswith(f"delivered to 127.0.0.1:{relay.port} (2 attempts)")


def test_forward_does_not_retry_a_permanent_refusal(srv, relay):
    relay.sink.rules.add(Rule.make("never", "mail", Reply(550, "5.7.1 go away")))
    srv.sink.rules.add(Rule.make("copy", "stored", Forward(host=HOST, port=relay.port, retry=FAST)))
    mid = send(srv)
    drain(srv)
    assert relay.mailbox.ids() == []
    (report,) = [e.detail for e in srv.mailbox.rule_log(mid) if e.action == "forward"]
    assert report.startswith(f"failed via 127.0.0.1:{relay.port} (1 attempt)")
    assert "550" in report.splitlines()[0]


def test_forward_through_a_saved_profile_and_a_missing_one(srv, relay, tmp_path):
    profiles = ProfileStore(tmp_path / "config")
    profiles.save(RelayProfile(name="loop", host=HOST, port=relay.port))
    srv.sink.outbox.profiles = profiles
    srv.sink.rules.add(Rule.make("saved", "stored", Forward(profile="loop", retry=FAST)))
    srv.sink.rules.add(Rule.make("gone", "stored", Forward(profile="nowhere", retry=FAST)))
    mid = send(srv)
    drain(srv)
    assert len(relay.mailbox.ids()) == 1
    details = {e.rule: e.detail for e in srv.mailbox.rule_log(mid) if e.action == "forward"}
    assert details["saved"].startswith(f"delivered to 127.0.0.1:{relay.port}")
    assert details["gone"] == "not sent: no relay profile named 'nowhere'"


def test_forward_profile_password_comes_from_its_environment_variable(srv, tmp_path, monkeypatch):
    from mailcatcher_gui.core.smtp import AuthMode

    with catching_server(tmp_path / "auth", auth=AuthMode("any")) as relay:
        profiles = ProfileStore(tmp_path / "config")
        profile = RelayProfile(
            name="login", host=HOST, port=relay.port, username="u", password_env="MCG_PW"
        )
        profiles.save(profile)
        srv.sink.outbox.profiles = profiles
        srv.sink.rules.add(Rule.make("auth", "stored", Forward(profile="login", retry=FAST)))
        monkeypatch.delenv("MCG_PW", raising=False)
        first = send(srv)
        drain(srv)
        assert relay.mailbox.ids() == []
        (line,) = [e.detail for e in srv.mailbox.rule_log(first) if e.action == "forward"]
        assert line.startswith(f"not sent: no password for 'u' at 127.0.0.1:{relay.port}")
        monkeypatch.setenv("MCG_PW", "secret")
        second = send(srv)
        drain(srv)
        (copied,) = relay.mailbox.ids()
        assert relay.mailbox.get_stored(copied).auth_user == "u"
        assert relay.mailbox.raw(copied) == srv.mailbox.raw(second)


def test_a_forward_to_this_sink_itself_is_refused_not_looped(srv):
    srv.sink.rules.add(Rule.make("loop", "stored", Forward(host=HOST, port=srv.port, retry=FAST)))
    mid = send(srv)
    drain(srv)
    assert srv.mailbox.ids() == [mid]  # no copy came back in
    (line,) = [e.detail for e in srv.mailbox.rule_log(mid) if e.action == "forward"]
    assert (
        line == f"not sent: 127.0.0.1:{srv.port} is this sink itself: forwarding there would loop"
    )


# ---------------------------------------------------------------- webhook


class Receiver:
    """A real aiohttp server on the sink's loop: records bodies, fails the first N."""

    def __init__(self, fail_first: int = 0, status: int = 500) -> None:
        self.bodies: list[dict] = []
        self.fail_first = fail_first
        self.status = status
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.json())
        if len(self.bodies) <= self.fail_first:
            return web.Response(status=self.status, text="not now")
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, HOST, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://{HOST}:{port}/hook"

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


@pytest.fixture
def receiver(srv):
    r = Receiver()
    srv.run(r.start())
    yield r
    srv.run(r.stop())


def test_webhook_posts_mailpit_summary_with_a_link(srv, receiver):
    srv.sink.outbox.api_base = lambda: "http://127.0.0.1:8025"
    srv.sink.rules.add(Rule.make("hook", "stored", Webhook(receiver.url, retry=FAST), rcpt="bob@*"))
    mid = send(srv, make_message(subject="Invoice 7"))
    other = send(srv, rcpts=["ann@example.com"])
    drain(srv)
    (body,) = receiver.bodies
    assert body["ID"] == str(mid) and body["Subject"] == "Invoice 7"
    assert body["From"] == {"Name": "Alice", "Address": "alice@example.com"}
    assert body["To"] == [{"Name": "Bob", "Address": "bob@example.com"}]
    assert body["MessageID"] == "Invoice-7@test.example"
    assert body["Link"] == f"http://127.0.0.1:8025/api/v1/message/{mid}"
    assert body["Rule"] == "hook"
    assert {"Read", "Created", "Tags", "Size", "Attachments", "Snippet"} <= set(body)
    assert log_of(srv, mid)[-1] == ("hook", "webhook", f"POST {receiver.url}: HTTP 200 (1 attempt)")
    assert log_of(srv, other) == []


def test_webhook_without_the_api_has_no_link_and_retries_a_failing_receiver(srv, receiver):
    receiver.fail_first = 2
    srv.sink.rules.add(Rule.make("hook", "stored", Webhook(receiver.url, retry=FAST)))
    mid = send(srv)
    drain(srv)
    assert len(receiver.bodies) == 3 and receiver.bodies[0]["Link"] is None
    assert log_of(srv, mid)[-1][2] == f"POST {receiver.url}: HTTP 200 (3 attempts)"


def test_webhook_gives_up_and_does_not_retry_a_client_error(srv, receiver):
    receiver.fail_first, receiver.status = 99, 404
    srv.sink.rules.add(Rule.make("hook", "stored", Webhook(receiver.url, retry=FAST)))
    mid = send(srv)
    drain(srv)
    assert len(receiver.bodies) == 1
    assert log_of(srv, mid)[-1][2] == f"POST {receiver.url} failed: HTTP 404 (1 attempt)"
    receiver.status = 503  # a server error is retried until the attempts run out
    receiver.bodies.clear()
    mid = send(srv)
    drain(srv)
    assert len(receiver.bodies) == 3
    assert log_of(srv, mid)[-1][2] == f"POST {receiver.url} failed: HTTP 503 (3 attempts)"


def test_webhook_to_a_dead_port_is_logged_and_the_message_kept(srv):
    from smtp_helpers import free_port

    url = f"http://{HOST}:{free_port()}/hook"
    srv.sink.rules.add(Rule.make("hook", "stored", Webhook(url, retry=Retry(2, 0.01))))
    mid = send(srv)
    drain(srv)
    (line,) = [e.detail for e in srv.mailbox.rule_log(mid) if e.action == "webhook"]
    assert line.startswith(f"POST {url} failed: ClientConnectorError") and "(2 attempts)" in line


def test_a_receiver_that_never_answers_does_not_slow_ingest(tmp_path):
    with catching_server(tmp_path / "s") as srv:
        hung: list[asyncio.StreamWriter] = []

        async def never_answer(reader, writer):
            hung.append(writer)
            await asyncio.sleep(3600)

        server = srv.run(asyncio.start_server(never_answer, HOST, 0))
        port = server.sockets[0].getsockname()[1]
        outbox = srv.sink.outbox
        outbox.max_queue, outbox.workers = 2, 1
        url = f"http://{HOST}:{port}/hook"
        srv.sink.rules.add(Rule.make("hook", "stored", Webhook(url, timeout=60)))
        started = time.monotonic()
        ids = [send(srv, make_message(subject=f"m{i}")) for i in range(6)]
        assert time.monotonic() - started < 5  # nobody waited for the 60 s timeout
        assert len(srv.mailbox.ids()) == 6
        assert outbox.pending == 3  # one in flight, two queued; the rest skipped
        assert outbox.skipped == 3
        srv.run(outbox.drain(0.5))  # writes what is known so far
        skipped = [
            i
            for i in ids
            if any("were already waiting" in e.detail for e in srv.mailbox.rule_log(i))
        ]
        assert skipped == ids[3:]
        srv.run(outbox.close())
        for i in ids[:3]:
            assert log_of(srv, i)[-1] == ("hook", "webhook", "not sent: the sink stopped")
        server.close()
        for w in hung:
            w.close()


# ---------------------------------------------------------------- the rules file


def test_rules_file_keys_for_the_new_actions():
    from mailcatcher_gui.core.rules import RulesFileError, parse_rules

    rules = parse_rules(
        """
[[rule]]
name = "route"
stage = "stored"
mailbox = "Orders"

[[rule]]
name = "copy"
stage = "stored"
forward = { host = "127.0.0.1", port = 2525, to = ["a@x.org"], attempts = 5, backoff = 0.5 }

[[rule]]
name = "relay"
stage = "stored"
forward = "work relay"

[[rule]]
name = "hook"
stage = "stored"
webhook = { url = "https://hooks.example/mail", timeout = 3 }
"""
    )
    assert rules[0].actions == (Route("Orders"),)
    assert rules[1].actions == (
        Forward(host="127.0.0.1", port=2525, to=("a@x.org",), retry=Retry(5, 0.5)),
    )
    assert rules[2].actions == (Forward(profile="work relay"),)
    assert rules[3].actions == (Webhook("https://hooks.example/mail", timeout=3.0),)
    with pytest.raises(RulesFileError) as info:
        parse_rules(
            """
[[rule]]
name = "bad hook"
stage = "stored"
webhook = "ftp://x"

[[rule]]
name = "bad forward"
stage = "stored"
forward = { profile = "p", host = "h", attempts = 0 }

[[rule]]
name = "too early"
stage = "rcpt"
mailbox = "Orders"
"""
        )
    text = "\n".join(info.value.lines())
    assert "<rules>:5: " in text and "webhook must be an http:// or https:// URL" in text
    assert "<rules>:10: " in text and "either profile = NAME or host" in text
    assert "forward attempts must be 1..10, not 0" in text
    assert "<rules>:15: " in text and 'use stage = "stored"' in text


def test_forward_and_webhook_need_the_sink_outbox(tmp_path):
    """Outside a sink (no outbox) the action fails loudly rather than silently."""
    from mailcatcher_gui.core.rules.outbox import ActionHost

    host = ActionHost(object(), None, "r")
    with pytest.raises(RuntimeError, match="no outbox"):
        asyncio.run(Webhook("http://x/").run(host, 1))


def test_json_body_shape_is_plain_json(srv):
    mid = send(srv)
    body = srv.sink.outbox.webhook_body("r", srv.mailbox.summary(mid))
    assert json.loads(json.dumps(body)) == body
