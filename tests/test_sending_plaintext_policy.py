"""One rule for a password without TLS (``core.sending.policy``), for compose,
release and ``send`` alike: loopback is safe, anything else is refused unless
the profile allows plaintext AUTH.

The rule itself is called directly with hosts that are not loopback
(``smtp.example.com``: no DNS needed); the transport refuses such a profile
before connecting; a session refuses again just before AUTH when TLS did not
happen after all (opportunistic STARTTLS the server does not offer), judged
by the address the socket reached. Loopback works end to end against the
real sink with AUTH required.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import replace

import pytest
from smtp_helpers import running_sink, sink_config
from test_sending_servers import (
    PASSWORD,
    USER,
    CountingFactory,
    LoopThread,
    RecordingHandler,
    check_password,
)

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.sending import (
    Draft,
    FailureStage,
    ProfileStore,
    RelayProfile,
    Security,
    SendRequest,
    SmtpTransport,
    Stage,
    is_loopback,
    plaintext_auth_refusal,
    send,
)
from mailcatcher_gui.core.sending.destinations import (
    PROFILE_PREFIX,
    SINK_KEY,
    Destinations,
    SinkEndpoint,
)
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.core.store.database import Store


def _profile(host: str, **kw) -> RelayProfile:
    kw.setdefault("port", 25)
    kw.setdefault("username", "alice")
    kw.setdefault("connect_timeout", 5.0)
    kw.setdefault("command_timeout", 5.0)
    kw.setdefault("helo_name", "client.test")
    return RelayProfile(name="p", host=host, **kw)


def _draft() -> Draft:
    return Draft(
        from_="Sender <sender@example.org>",
        to=("rcpt@example.org",),
        subject="policy",
        text="hello\n",
    )


def _send(transport):
    return asyncio.run(send(SendRequest(_draft(), transport)))


# ---- the rule ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "127.8.9.10", "::1", "[::1]", "localhost", "LOCALHOST.", "app.localhost"],
)
def test_loopback_hosts_may_get_a_password_in_clear(host):
    assert is_loopback(host)
    assert plaintext_auth_refusal(_profile(host)) is None
    assert plaintext_auth_refusal(_profile(host), peer="127.0.0.1") is None
    assert plaintext_auth_refusal(_profile(host), peer="::ffff:127.0.0.1") is None


@pytest.mark.parametrize(
    "host", ["smtp.example.com", "192.0.2.7", "10.0.0.1", "::ffff:192.0.2.7", "localhost.example"]
)
def test_other_hosts_are_refused_unless_allowed(host):
    assert not is_loopback(host)
    refusal = plaintext_auth_refusal(_profile(host))
    assert refusal is not None
    assert "'alice'" in refusal and host in refusal and "without TLS" in refusal
    assert plaintext_auth_refusal(_profile(host, allow_plaintext_auth=True)) is None
    assert plaintext_auth_refusal(_profile(host), allow=True) is None


def test_a_loopback_name_that_reached_another_address_is_refused():
    """``localhost`` resolving elsewhere: the peer address decides."""
    refusal = plaintext_auth_refusal(_profile("localhost"), peer="192.0.2.9")
    assert refusal is not None and "192.0.2.9" in refusal
    assert plaintext_auth_refusal(_profile("localhost"), peer="192.0.2.9", allow=True) is None


def test_the_option_is_saved_with_the_profile(tmp_path):
    store = ProfileStore(tmp_path)
    store.save(_profile("smtp.example.com", allow_plaintext_auth=True))
    assert ProfileStore(tmp_path).get("p").allow_plaintext_auth


# ---- before connecting ---------------------------------------------------------------


def test_the_transport_refuses_before_connecting():
    report = _send(SmtpTransport(_profile("smtp.example.com"), "pw"))
    failure = report.failure
    assert failure is not None and failure.stage is FailureStage.AUTH
    assert failure.during is Stage.AUTH
    assert "smtp.example.com" in failure.message and "without TLS" in failure.message
    lines = [line.text for line in report.transcript]
    assert not any(t.startswith(("Trying", "Connected")) for t in lines), lines


def test_allowed_it_goes_on_to_connect():
    """The positive control: with the override the transport does try to connect
    (``.invalid`` never resolves, RFC 6761, so nothing leaves the machine)."""
    report = _send(SmtpTransport(_profile("smtp.invalid", allow_plaintext_auth=True), "pw"))
    assert report.failure is not None and report.failure.stage is FailureStage.CONNECT
    assert any(line.text.startswith("Trying") for line in report.transcript)


def test_compose_and_release_get_the_same_refusal(tmp_path, monkeypatch):
    """Both turn a picked destination into a transport with ``Destinations.transport_for``."""
    monkeypatch.setenv("POLICY_TEST_PW", "pw")
    profiles = ProfileStore(tmp_path)
    profiles.save(_profile("smtp.example.com", password_env="POLICY_TEST_PW"))
    mailbox = Mailbox(Store(tmp_path / "mail.sqlite3"))
    try:
        destinations = Destinations(profiles, mailbox)
        report = _send(destinations.transport_for(PROFILE_PREFIX + "p"))
    finally:
        mailbox.close()
    assert report.failure is not None and report.failure.stage is FailureStage.AUTH
    assert "without TLS" in report.failure.message


# ---- end to end ----------------------------------------------------------------------


@pytest.fixture
def auth_sink(tmp_path):
    mailbox = Mailbox(Store(tmp_path / "mail.sqlite3"))
    config = sink_config(auth=AuthMode("required", USER, PASSWORD))
    try:
        with running_sink(mailbox, config) as sink:
            yield sink
    finally:
        mailbox.close()


def test_loopback_sends_the_password_in_clear_to_the_real_sink(auth_sink):
    profile = _profile("127.0.0.1", port=auth_sink.port, username=USER)
    report = _send(SmtpTransport(profile, PASSWORD))
    assert report.ok, report.failure
    assert report.tls is None  # security none: really without TLS
    assert any("without TLS" in line.text for line in report.transcript)
    (summary,) = auth_sink.mailbox.list()
    assert auth_sink.mailbox.get(summary.id).stored.auth_user == USER


def _non_loopback_address() -> str:
    """An address of this machine that is not loopback, or skip."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect
            address = probe.getsockname()[0]
        except OSError:
            address = ""
    if not address or is_loopback(address):
        pytest.skip("this machine has no non-loopback IPv4 address")
    return address


def test_a_session_refuses_when_tls_did_not_happen_after_all():
    """Opportunistic STARTTLS that the server does not offer: the session checks again
    before AUTH and refuses, judged by the address reached; nothing is sent."""
    address = _non_loopback_address()
    handler = RecordingHandler()
    with LoopThread() as loops:
        factory = CountingFactory(
            loops.loop,
            handler,
            enable_SMTPUTF8=True,
            auth_require_tls=False,
            authenticator=check_password,
        )

        async def start():
            return await loops.loop.create_server(factory, address, 0)

        server = loops.call(start())
        loops._servers.append(server)
        port = server.sockets[0].getsockname()[1]
        profile = _profile(address, port=port, username=USER)
        report = _send(SmtpTransport(profile, PASSWORD, opportunistic_starttls=True))
        assert report.failure is not None and report.failure.stage is FailureStage.AUTH
        assert address in report.failure.message and "without TLS" in report.failure.message
        assert not any(line.text.startswith("AUTH") for line in report.transcript)
        assert factory.connections == 1  # it did connect: this was the session's check
        assert handler.messages == []

        # Allowed, the same session authenticates and sends: the refusal was the rule's.
        allowed = replace(profile, allow_plaintext_auth=True)
        report = _send(SmtpTransport(allowed, PASSWORD, opportunistic_starttls=True))
        assert report.ok, report.failure
        assert [m.auth_user for m in handler.messages] == [USER]


def test_this_apps_own_sink_on_a_lan_address_is_not_refused(tmp_path):
    """Compose to the app's own sink sends the sink's own password to this machine."""
    address = _non_loopback_address()
    mailbox = Mailbox(Store(tmp_path / "mail.sqlite3"))
    config = sink_config(smtp=(address, 0), auth=AuthMode("required", USER, PASSWORD))
    try:
        with running_sink(mailbox, config) as sink:
            endpoint = SinkEndpoint(address, sink.port, USER, PASSWORD)
            destinations = Destinations(ProfileStore(tmp_path), mailbox, lambda: endpoint)
            profile = destinations.profile_for(SINK_KEY)
            assert profile is not None and profile.security is Security.NONE
            report = _send(destinations.transport_for(SINK_KEY))
            assert report.ok, report.failure
    finally:
        mailbox.close()
