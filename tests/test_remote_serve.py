"""RemoteMailbox against a real ``mailcatcher-gui serve --http`` subprocess.

Basic auth over HTTP and over the WebSocket handshake, and what the
connection states are when the serve stops and comes back on the same port.
"""

from __future__ import annotations

import smtplib
import subprocess
import threading

import bcrypt
import pytest
from serve_process import launch_serve
from smtp_helpers import HOST, make_message

from mailcatcher_gui.core.models import MailboxCleared, MessagesAdded
from mailcatcher_gui.core.remote import (
    CatcherEndpoint,
    ConnectionState,
    RemoteAuthError,
    RemoteMailbox,
)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate(timeout=10)


def send(port: int, subject: str) -> None:
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.sendmail("a@example.com", ["b@example.com"], make_message(subject))


class Watch:
    def __init__(self) -> None:
        self.items: list[object] = []
        self.cond = threading.Condition()

    def __call__(self, item: object) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, predicate, timeout: float = 15.0) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: predicate(self.items), timeout), self.items


def test_basic_auth_reaches_the_api_and_the_websocket(tmp_path) -> None:
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text("alice:" + bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode() + "\n")
    home = tmp_path / "home"
    home.mkdir()
    served = launch_serve(home, tmp_path / "serve.log", "--http-auth-file", str(htpasswd))
    try:
        assert served.http_url is not None
        refused = RemoteMailbox(CatcherEndpoint(served.http_url, "alice", "wrong"), live=False)
        with pytest.raises(RemoteAuthError):
            refused.check()
        refused.close()
        anonymous = RemoteMailbox(CatcherEndpoint(served.http_url), live=False)
        with pytest.raises(RemoteAuthError):
            anonymous.count()
        anonymous.close()
        box = RemoteMailbox(CatcherEndpoint(served.http_url, "alice", "s3cret"))
        seen = Watch()
        box.subscribe(seen)
        try:
            assert box.check() == 0
            assert box.events.connected_once.wait(15), box.connection
            send(served.smtp_port, "authorised")
            seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
            assert box.list()[0].subject == "authorised"
        finally:
            box.close()
        # A wrong password on the WebSocket is a state that says so (and retries).
        states = Watch()
        bad = RemoteMailbox(CatcherEndpoint(served.http_url, "alice", "nope"), live=False)
        bad.watch_connection(states)
        bad.events.start()
        try:
            states.wait_for(lambda st: any(not s.connected for s in st))
            assert "refused the login" in states.items[0].detail
        finally:
            bad.close()
    finally:
        stop(served.proc)


def test_a_stopped_serve_is_a_lost_connection_and_its_return_a_resumed_one(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    log = tmp_path / "serve.log"
    served = launch_serve(home, log)
    procs = [served.proc]
    assert served.http_url is not None
    box = RemoteMailbox(CatcherEndpoint(served.http_url))
    box.events.min_backoff = 0.1
    states, seen = Watch(), Watch()
    box.watch_connection(states)
    box.subscribe(seen)
    try:
        assert box.events.connected_once.wait(15)
        stop(served.proc)
        states.wait_for(lambda st: any(not s.connected for s in st))
        lost = next(s for s in states.items if isinstance(s, ConnectionState) and not s.connected)
        assert lost.detail and lost.retry_in > 0
        port = served.http_url.rsplit(":", 1)[1]
        again = launch_serve(home, log, "--http", f"{HOST}:{port}")
        procs.append(again.proc)
        states.wait_for(lambda st: any(s.connected and s.resumed for s in st), timeout=30)
        # Events may have been missed meanwhile: listeners are told to re-read
        # (an empty MessagesAdded), not that everything was deleted.
        seen.wait_for(lambda ev: MessagesAdded(()) in ev)
        assert MailboxCleared() not in seen.items
        send(again.smtp_port, "after the return")
        seen.wait_for(lambda ev: any(isinstance(e, MessagesAdded) and e.summaries for e in ev))
        assert box.count() == 1
    finally:
        box.close()
        for proc in procs:
            stop(proc)
