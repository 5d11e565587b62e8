"""RemoteMailbox against the real HTTP API (in-process aiohttp server, real SQLite Mailbox)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import deliver, running_api
from keyring.backend import KeyringBackend
from keyring.backends import fail
from mailpit_standin import MailpitStandIn
from smtp_helpers import make_message, running_sink

from mailcatcher_gui.core.mailbox_protocol import MailboxProtocol
from mailcatcher_gui.core.mailbox_switch import MailboxSwitch
from mailcatcher_gui.core.models import (
    MailboxCleared,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
    TagsChanged,
)
from mailcatcher_gui.core.remote import (
    CatcherEndpoint,
    ConnectionState,
    RemoteAuthError,
    RemoteError,
    RemoteMailbox,
    parse_catcher_url,
)
from mailcatcher_gui.core.remote.convert import FOREIGN_BASE, IdMap, summary_from_json
from mailcatcher_gui.core.remote.credentials import PASSWORD_ENV, CatcherCredentials
from mailcatcher_gui.core.remote.memo import Memo
from mailcatcher_gui.core.sending.profiles import RelayProfile
from mailcatcher_gui.core.sending.smtp import SmtpTransport
from mailcatcher_gui.core.store import MessageNotFound, QueryError

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
#: the endpoint families a remote window uses
ROUTES = ("routes_messages", "routes_message", "routes_tags", "routes_app", "routes_events")


@contextmanager
def remote_over(api) -> Iterator[RemoteMailbox]:
    box = RemoteMailbox(CatcherEndpoint(api.url), live=False)
    try:
        yield box
    finally:
        box.close()


def fill(api, n: int) -> list[int]:
    return [
        api.deliver(make_message(f"m{i}"), received_at=T0 + timedelta(seconds=i)) for i in range(n)
    ]


# ---- pure parts ---------------------------------------------------------------------------------


def test_parse_catcher_url_normalises_and_refuses() -> None:
    assert parse_catcher_url("localhost:8025") == "http://localhost:8025"
    assert parse_catcher_url(" https://mp.example/mailpit/ ") == "https://mp.example/mailpit"
    assert parse_catcher_url("http://h:1/api/v1/messages") == "http://h:1"
    assert parse_catcher_url("http://[::1]:8025/") == "http://[::1]:8025"
    for bad, why in [
        ("", "empty"),
        ("ftp://h", "http://"),
        ("http://u:p@h:1", "own fields"),
        ("http://h:99999", "port"),
    ]:
        with pytest.raises(ValueError, match=why):
            parse_catcher_url(bad)


def test_id_map_keeps_decimal_ids_and_numbers_foreign_ones() -> None:
    ids = IdMap()
    assert ids.handle("42") == 42
    a, b = ids.handle("4oRBnPtCXgAqZniRhzLNmS"), ids.handle("hXayS6wnCgNnt6aFTvmOF6")
    assert a == FOREIGN_BASE and b == FOREIGN_BASE + 1
    assert ids.handle("4oRBnPtCXgAqZniRhzLNmS") == a  # stable
    assert ids.server_id(b) == "hXayS6wnCgNnt6aFTvmOF6"
    assert ids.server_id(7) == "7"  # a decimal id not yet seen names itself
    assert ids.server_id(FOREIGN_BASE + 9) is None
    ids.forget(a)
    assert ids.server_id(a) is None


def test_summary_from_mailpit_json_reads_odd_input_without_raising() -> None:
    full = summary_from_json(
        {
            "ID": "x",
            "From": {"Name": "Alice", "Address": "alice@example.com"},
            "To": [{"Name": "", "Address": "bob@example.com"}],
            "Cc": None,
            "Subject": "Hi",
            "Created": "2026-01-02T03:04:05.123+02:00",
            "Size": 123,
            "Attachments": 2,
            "Read": True,
            "Snippet": "hello",
        },
        5,
    )
    assert full.from_ == "Alice <alice@example.com>"
    assert full.to_addrs[0].addr == "bob@example.com" and full.cc == ()
    assert full.received_at == datetime(2026, 1, 2, 1, 4, 5, 123000, tzinfo=UTC)
    assert (full.size, full.attachments, full.read, full.snippet) == (123, 2, True, "hello")
    junk = summary_from_json({"ID": "y", "From": None, "To": "nope", "Created": "soon"}, 6)
    assert junk.from_ == "" and junk.to == () and junk.received_at.year == 1970


# ---- against the real API -----------------------------------------------------------------------


def test_list_count_and_paging_match_the_server(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        stored = fill(api, 7)
        assert box.count() == 7
        assert box.unread_count() == 7
        page = box.list(offset=0, limit=3)
        assert [s.id for s in page] == stored[::-1][:3]  # newest first, server ids kept
        assert [s.subject for s in box.list(offset=6, limit=3)] == ["m0"]
        oldest = box.list(offset=0, limit=3, descending=False)
        assert [s.subject for s in oldest] == ["m0", "m1", "m2"]
        assert box.list(offset=10, limit=3, descending=False) == []
        assert list(box.ids()) == stored[::-1]
        assert box.location == api.url


def test_search_counts_and_a_bad_query_is_a_query_error(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        fill(api, 3)
        api.deliver(make_message("needle report"))
        assert box.count("needle") == 1
        assert [s.subject for s in box.list(query="needle")] == ["needle report"]
        assert box.count("nothing-like-this") == 0
        with pytest.raises(QueryError):
            box.count('subject:"unterminated')


def test_get_parses_the_raw_message_and_reads_the_session_extension(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        raw = make_message("open me", body=b"Body text here.\r\n")
        mid = api.deliver(raw, envelope_from="env@example.com", helo="client.test")
        box.list()  # the list learns the id first, as the window does
        opened = box.get(mid)
        assert opened.stored.raw == raw
        assert opened.parsed.text is not None and "Body text here." in opened.parsed.text
        assert opened.stored.helo == "client.test"
        assert opened.stored.summary.envelope_from == "env@example.com"
        assert opened.stored.source == "smtp"
        # Opening over the API's raw endpoint does not mark it read.
        assert box.unread_count() == 1
        assert box.raw(mid) == raw
        with pytest.raises(MessageNotFound):
            box.get(mid + 1000)


def test_summary_of_an_unlisted_message_comes_from_its_raw_bytes(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        mid = api.deliver(make_message("never listed"))
        s = box.summary(mid)
        assert s.subject == "never listed" and s.id == mid
        assert box.unread_count() == 1  # reading it did not mark it read


def test_mark_read_and_delete_reach_the_server_and_are_announced_once(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        a, b, c = fill(api, 3)
        box.list()
        events = []
        box.subscribe(events.append)
        box.mark_read([a, b])
        assert api.mailbox.unread_count() == 1
        assert events == [MessagesChanged((a, b), True)]
        box.mark_read([a], read=False)
        assert api.mailbox.summary(a).read is False
        events.clear()
        assert list(box.delete([b])) == [b]
        assert events == [MessagesDeleted((b,))]
        assert api.mailbox.count() == 2
        with pytest.raises(MessageNotFound):
            api.mailbox.summary(b)
        events.clear()
        assert box.clear() == 2
        assert api.mailbox.count() == 0 and events == [MailboxCleared()]


def test_accept_and_import_say_why_they_cannot_work(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        with pytest.raises(RemoteError, match="import"):
            box.accept_many_sync([])
        assert box.set_retention(5) == () and box.retention == 0


def test_a_catcher_is_one_mailbox_without_a_rule_log(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        ids = fill(api, 3)
        box.mark_read([box.ids()[0]])
        assert box.mailboxes() == {"": (3, 2)}
        handles = box.ids()
        assert box.rule_log(handles[0]) == ()
        with pytest.raises(RemoteError, match="no mailboxes"):
            box.set_mailbox(handles, "Orders")
        with pytest.raises(RemoteError, match="rule log"):
            box.log_rule_events(handles[0], ())
        assert len(ids) == 3 and box.count() == 3  # nothing moved, nothing lost


def test_an_unreachable_catcher_is_a_clear_remote_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    box = RemoteMailbox(CatcherEndpoint(f"http://127.0.0.1:{port}"), live=False)
    try:
        with pytest.raises(RemoteError, match="cannot reach the catcher.*refused"):
            box.count()
    finally:
        box.close()


class _AuthHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.headers.get("Authorization") == "Basic dTpw":  # u:p
            body = b'{"total": 4, "unread": 1, "messages": []}'
            self.send_response(200)
        else:
            body = b"Unauthorized.\n"
            self.send_response(401)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_basic_auth_is_sent_and_a_refusal_is_an_auth_error() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AuthHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        good = RemoteMailbox(CatcherEndpoint(url, "u", "p"), live=False)
        assert good.check() == 4
        good.close()
        bad = RemoteMailbox(CatcherEndpoint(url, "u", "wrong"), live=False)
        with pytest.raises(RemoteAuthError, match="refused the login"):
            bad.check()
        bad.close()
    finally:
        server.shutdown()
        server.server_close()


def test_switch_forwards_calls_and_events_and_announces_a_switch(tmp_path, mailbox) -> None:
    (tmp_path / "server").mkdir()
    with running_api(tmp_path / "server", route_modules=ROUTES) as api, remote_over(api) as box:
        fill(api, 2)
        deliver(mailbox, make_message("local one"))
        switch = MailboxSwitch(mailbox)
        events = []
        switch.subscribe(events.append)
        assert switch.count() == 1
        assert switch.switch_to(box) is mailbox
        assert events == [MailboxCleared()]
        assert switch.count() == 2 and switch.location == api.url
        events.clear()
        deliver(mailbox, make_message("local two"))  # the hidden mailbox's events are not shown
        assert events == []
        ids = [s.id for s in switch.list()]
        switch.mark_read(ids[:1])
        assert isinstance(events[-1], MessagesChanged)
        switch.switch_to(mailbox)
        assert switch.count() == 2


# ---- live events over the real WebSocket ----------------------------------------------


class Recorder:
    """Events as they arrive on the events thread, with a wait."""

    def __init__(self) -> None:
        self.events: list[object] = []
        self.cond = threading.Condition()

    def __call__(self, event: object) -> None:
        with self.cond:
            self.events.append(event)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 10.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.events), timeout), self.events


def test_live_events_become_mailbox_events_and_own_changes_are_announced_once(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api:
        box = RemoteMailbox(CatcherEndpoint(api.url))
        seen = Recorder()
        box.subscribe(seen)
        try:
            assert box.events.connected_once.wait(10)
            assert box.connection.connected
            mid = api.deliver(make_message("live one"))
            seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
            added = next(e for e in seen.events if isinstance(e, MessagesAdded) and e.summaries)
            assert [s.id for s in added.summaries] == [mid]
            assert added.summaries[0].subject == "live one"
            assert box.summary(mid).subject == "live one"  # cached: no request needed
            # A change made on the server by someone else arrives as an event.
            api.mailbox.mark_read([mid])
            seen.wait_for(lambda ev: MessagesChanged((mid,), True) in ev)
            # Our own change is announced at once, and its echo not again.
            seen.events.clear()
            box.delete([mid])
            assert seen.events == [MessagesDeleted((mid,))]
            other = api.deliver(make_message("marker"))
            seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
            assert [e for e in seen.events if isinstance(e, MessagesDeleted)] == [
                MessagesDeleted((mid,))
            ]
            # Someone else deletes: announced from the WebSocket.
            api.mailbox.delete([other])
            seen.wait_for(lambda ev: MessagesDeleted((other,)) in ev)
            api.mailbox.clear()
            seen.wait_for(lambda ev: MailboxCleared() in ev)
        finally:
            box.close()
        # close() ends the events thread.
        assert not [t for t in threading.enumerate() if t.name == "mailcatcher-remote-events"]


def test_tags_reach_the_server_and_come_back_as_tags_changed(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api:
        box = RemoteMailbox(CatcherEndpoint(api.url))
        seen = Recorder()
        box.subscribe(seen)
        try:
            assert box.events.connected_once.wait(10)
            a = api.deliver(make_message("tag a"))
            b = api.deliver(make_message("tag b", **{"X-Tags": "old"}))
            box.list()
            assert box.summary(b).tags == ("old",)
            seen.events.clear()
            box.set_tags([a], ["Urgent", "beta"])
            assert api.mailbox.summary(a).tags == ("beta", "Urgent")
            # (a late WebSocket "new" for a or b may land between the clear and the call)
            tagged = [e for e in seen.events if isinstance(e, TagsChanged)]
            assert tagged[0] == TagsChanged(((a, ("beta", "Urgent")),))
            box.add_tags([a, b], ["shared"])
            assert api.mailbox.summary(b).tags == ("old", "shared")
            assert api.mailbox.summary(a).tags == ("beta", "shared", "Urgent")
            box.remove_tags([a], ["beta"])
            assert api.mailbox.summary(a).tags == ("shared", "Urgent")
            assert box.tags() == {"old": 1, "shared": 2, "Urgent": 1}
            assert box.rename_tag("shared", "common") == 2
            assert api.mailbox.summary(b).tags == ("common", "old")
            assert box.delete_tag("common") == 2
            assert api.mailbox.summary(a).tags == ("Urgent",)
            assert box.summary(a).tags == ("Urgent",)
            # A tag change made on the server arrives over the WebSocket.
            seen.events.clear()
            api.mailbox.add_tags([b], ["fromserver"])
            seen.wait_for(lambda ev: TagsChanged(((b, ("fromserver", "old")),)) in ev)
            # Our own change's echo is not announced twice.
            seen.events.clear()
            box.set_tags([b], ["x"])
            api.deliver(make_message("marker"))
            seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
            assert [e for e in seen.events if isinstance(e, TagsChanged)] == [
                TagsChanged(((b, ("x",)),))
            ]
        finally:
            box.close()


def test_both_mailboxes_and_the_switch_satisfy_the_protocol(tmp_path, mailbox) -> None:
    box = RemoteMailbox(CatcherEndpoint("http://127.0.0.1:9"), live=False)
    try:
        assert isinstance(box, MailboxProtocol)
        assert isinstance(MailboxSwitch(box), MailboxProtocol)
        assert isinstance(mailbox, MailboxProtocol)
    finally:
        box.close()


# ---- Mailpit's own ways (string ids, no session extension) ---------------------------------


def test_mailpit_string_ids_map_to_handles_both_ways(tmp_path) -> None:
    with MailpitStandIn() as mailpit:
        first = mailpit.add("first")
        box = RemoteMailbox(CatcherEndpoint(mailpit.url))
        seen = Recorder()
        box.subscribe(seen)
        try:
            assert box.events.connected_once.wait(10)
            [row] = box.list()
            assert row.id >= FOREIGN_BASE and box.ids_map.server_id(row.id) == first
            # Live: a new message with a fresh string id gets the next handle.
            second = mailpit.add("second")
            seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
            [added] = next(
                e for e in seen.events if isinstance(e, MessagesAdded) and e.summaries
            ).summaries
            assert added.id > row.id and box.ids_map.server_id(added.id) == second
            # Opening reads the raw message; Mailpit has no session: asked once, then not.
            opened = box.get(row.id)
            assert opened.parsed.header("Subject") == "first"
            assert opened.stored.source == "remote" and opened.stored.summary.envelope_from == ""
            box.get(added.id)
            session_calls = [p for p in mailpit.requests if p.endswith("/session")]
            assert session_calls == [f"/api/v1/message/{first}/session"]
            # Flags and deletion go out with the server's ids.
            box.mark_read([added.id])
            assert [m.read for m in mailpit.messages] == [False, True]
            assert box.count("sec") == 1 and box.count() == 2
            box.delete([row.id])
            assert [m.id for m in mailpit.messages] == [second]
            with pytest.raises(MessageNotFound):
                box.get(FOREIGN_BASE + 999)
        finally:
            box.close()


def test_an_id_the_server_does_not_know_is_message_not_found() -> None:
    with MailpitStandIn() as mailpit:
        box = RemoteMailbox(CatcherEndpoint(mailpit.url), live=False)
        try:
            box.list()
            box.ids_map.handle("nosuchidnosuchidnosuch")
            with pytest.raises(MessageNotFound):
                box.raw(FOREIGN_BASE)
        finally:
            box.close()


def test_release_on_the_catcher_goes_through_its_relay(tmp_path, mailbox) -> None:
    with running_sink(mailbox) as relay:
        relay_profile = RelayProfile(
            name="relay", host="127.0.0.1", port=relay.port, helo_name="api.test"
        )
        with running_api(
            tmp_path / "api",
            route_modules=(*ROUTES, "routes_send"),
            relay_transport=lambda: SmtpTransport(relay_profile),
        ) as api:
            raw = make_message("release me")
            mid = api.deliver(raw)
            with remote_over(api) as box:
                box.release(mid, ["dest@example.com"])
                [got] = relay.mailbox.list()
                assert relay.mailbox.raw(got.id) == raw
                assert got.envelope_to == ("dest@example.com",)
                with pytest.raises(RemoteError, match="Invalid email address"):
                    box.release(mid, ["not an address"])
    with running_api(tmp_path / "norelay", route_modules=(*ROUTES, "routes_send")) as api:
        mid = api.deliver(make_message("stuck"))
        with remote_over(api) as box, pytest.raises(RemoteError, match="not configured"):
            box.release(mid, ["dest@example.com"])


# ---- credentials ------------------------------------------------------------------------------


class _MemoryKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


def test_credentials_keyring_environment_and_no_keyring() -> None:
    ring = _MemoryKeyring()
    creds = CatcherCredentials(keyring_backend=ring)
    url = "http://catcher:8025"
    assert creds.available()
    assert creds.set(url, "alice", "pw1")
    assert ring.secrets == {("mailcatcher-gui:catcher:http://catcher:8025", "alice"): "pw1"}
    assert creds.get(url, "alice", env={}) == "pw1"
    assert creds.get(url, "bob", env={}) == ""
    assert creds.get(url, "alice", env={PASSWORD_ENV: "from-env"}) == "from-env"
    assert not creds.set(url, "", "pw")  # no user, nothing to key it by
    creds.forget(url, "alice")
    assert creds.get(url, "alice", env={}) == ""
    none = CatcherCredentials(keyring_backend=fail.Keyring())
    assert not none.available()
    assert not none.set(url, "alice", "pw") and none.get(url, "alice", env={}) == ""


def test_a_catcher_that_stops_answering_is_a_timeout_not_a_hang() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        endpoint = CatcherEndpoint(f"http://127.0.0.1:{port}", read_timeout=0.5)
        box = RemoteMailbox(endpoint, live=False)
        try:
            started = time.monotonic()
            with pytest.raises(RemoteError, match="did not answer in time"):
                box.count()  # accepted by the kernel, never answered
            assert time.monotonic() - started < 5
        finally:
            box.close()


def test_a_keep_alive_socket_closed_by_the_server_is_reopened_once(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        fill(api, 2)
        assert len(box.list()) == 2
        conn = box.client._local.conn  # this thread's keep-alive connection
        assert conn.sock is not None
        conn.sock.shutdown(socket.SHUT_RDWR)  # as if the server had closed it while idle
        assert len(box.list()) == 2  # retried on a fresh connection
        assert box.client._local.conn is not conn


def test_mailpit_prune_without_deletes_asks_to_re_read(tmp_path) -> None:
    with MailpitStandIn() as mailpit:
        mailpit.add("one")
        box = RemoteMailbox(CatcherEndpoint(mailpit.url))
        seen = Recorder()
        box.subscribe(seen)
        try:
            assert box.events.connected_once.wait(10)
            seen.wait_for(lambda ev: MessagesAdded(()) in ev)  # the re-read once it is up
            seen.events.clear()
            mailpit.broadcast(("prune", None))
            seen.wait_for(lambda ev: MessagesAdded(()) in ev)
            # After itemised deletes (what serve sends) a prune is only their summary.
            seen.events.clear()
            mailpit.broadcast(("delete", {"ID": "gone"}), ("prune", None), ("truncate", None))
            seen.wait_for(lambda ev: MailboxCleared() in ev)
            assert MessagesAdded(()) not in seen.events
        finally:
            box.close()


def test_counters_are_remembered_briefly_and_forgotten_on_any_event(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api, remote_over(api) as box:
        first = fill(api, 2)
        assert (box.count(), box.unread_count()) == (2, 2)
        api.deliver(make_message("unheard"))  # no live events here: nobody tells the box
        assert box.count() == 2  # remembered (at most COUNTS_TTL seconds)
        assert box.tags() == {}
        api.mailbox.add_tags([first[0]], ["t"])
        assert box.tags() == {}  # remembered too (TAGS_TTL)
        box.mark_read([first[0]])  # an event: everything remembered is dropped
        assert (box.count(), box.unread_count()) == (3, 2)
        assert box.tags() == {"t": 1}


def test_memo_expires_after_its_ttl_and_ignores_a_value_computed_across_a_clear() -> None:
    now = [100.0]
    memo = Memo(clock=lambda: now[0])
    assert memo.get("k", 1.0, lambda: "a") == "a"
    assert memo.get("k", 1.0, lambda: "b") == "a"
    now[0] += 1.5
    assert memo.get("k", 1.0, lambda: "c") == "c"

    def cleared_meanwhile() -> str:
        memo.clear()
        return "d"

    now[0] += 5
    assert memo.get("k", 1.0, cleared_meanwhile) == "d"
    assert memo.get("k", 1.0, lambda: "e") == "e"  # "d" was not kept


def test_a_catcher_without_live_events_is_a_state_that_says_so(tmp_path) -> None:
    with running_api(tmp_path, route_modules=("routes_messages", "routes_message")) as api:
        box = RemoteMailbox(CatcherEndpoint(api.url), live=False)
        states = Recorder()
        box.watch_connection(states)
        box.events.start()
        try:
            states.wait_for(lambda st: any(not s.connected for s in st))
            assert "no live events (404)" in states.events[0].detail
            assert box.count() == 0  # the rest of the API works regardless
        finally:
            box.close()


def test_a_silent_event_stream_counts_as_up_after_a_grace_period() -> None:
    with MailpitStandIn(greet=False) as mailpit:
        box = RemoteMailbox(CatcherEndpoint(mailpit.url), live=False)
        box.events.first_frame_grace = 0.3
        states = Recorder()
        box.watch_connection(states)
        started = time.monotonic()
        box.events.start()
        try:
            states.wait_for(lambda st: any(s.connected for s in st))
            assert time.monotonic() - started >= 0.3
            assert states.events[0] == ConnectionState(True)
        finally:
            box.close()


def test_mail_between_the_first_read_and_the_live_socket_is_not_lost(tmp_path) -> None:
    with running_api(tmp_path, route_modules=ROUTES) as api:
        box = RemoteMailbox(CatcherEndpoint(api.url), live=False)
        seen = Recorder()
        box.subscribe(seen)
        try:
            assert box.count() == 0  # what the list read first
            api.deliver(make_message("in the gap"))  # before the socket is up
            box.events.start()
            seen.wait_for(lambda ev: MessagesAdded(()) in ev)  # "re-read" once it is up
            assert box.count() == 1
        finally:
            box.close()


class _WebPage(http.server.BaseHTTPRequestHandler):
    """Any web server that is not a catcher: HTML for every path, 404 for one."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        if self.path.startswith("/api/v1/search"):
            body, status = b'{"messages": "not a list"}', 200
        elif self.path.startswith("/api/v1/message/"):
            body, status = b"404 page not found\n", 404
        else:
            body, status = b"<html><body>Welcome</body></html>", 200
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_is_no_catcher_gets_clear_errors_not_crashes() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    box = RemoteMailbox(CatcherEndpoint(f"http://127.0.0.1:{server.server_address[1]}"), live=False)
    try:
        with pytest.raises(RemoteError, match="sent no JSON"):
            box.check()
        with pytest.raises(RemoteError, match="unexpected shape"):
            box.count("anything")
        with pytest.raises(MessageNotFound):
            box.raw(5)
    finally:
        box.close()
        server.shutdown()
        server.server_close()
