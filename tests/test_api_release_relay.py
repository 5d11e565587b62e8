"""Release over the API goes through the relay last used in the window (``core.api.relay``).

Real parts: a ProfileStore file, a real relay sink on port 0 that must
receive the exact bytes, the API on a real socket.
"""

from __future__ import annotations

from pathlib import Path

from api_helpers import running_api
from keyring.backends import fail
from smtp_helpers import make_message, running_sink

from mailcatcher_gui.core.api.relay import last_relay_transport
from mailcatcher_gui.core.sending.profiles import ProfileStore, RelayProfile


def profiles_in(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config", keyring_backend=fail.Keyring())


def release(api, message_id: int) -> object:
    return api.request(
        "POST", f"/api/v1/message/{message_id}/release", json={"To": ["dest@example.com"]}
    )


def test_no_relay_used_yet_means_release_is_not_configured(tmp_path: Path, mailbox) -> None:
    profiles = profiles_in(tmp_path)
    with running_sink(mailbox) as relay:
        # A saved profile alone is not enough: the user must have released to it.
        profiles.save(RelayProfile(name="relay", port=relay.port, helo_name="t"))
        with running_api(
            tmp_path / "api", relay_transport=last_relay_transport(profiles, mailbox)
        ) as api:
            reply = release(api, api.deliver(make_message()))
            assert reply.status == 400
            assert "not configured" in reply.json()["Error"]
            assert api.get("/api/v1/webui").json()["MessageRelay"]["Enabled"] is False
        assert relay.mailbox.count() == 0


def test_release_goes_to_the_last_relay_used(tmp_path: Path, mailbox) -> None:
    profiles = profiles_in(tmp_path)
    raw = make_message(subject="via the last relay")
    with running_sink(mailbox) as relay:
        profiles.save(RelayProfile(name="relay", port=relay.port, helo_name="t"))
        profiles.set_last_relay("profile:relay")
        with running_api(tmp_path / "api") as api:
            api.server.ctx.relay_transport = last_relay_transport(profiles, api.mailbox)
            assert api.get("/api/v1/webui").json()["MessageRelay"]["Enabled"] is True
            reply = release(api, api.deliver(raw))
            assert reply.status == 200, reply.text
        [got] = relay.mailbox.list()
        assert relay.mailbox.raw(got.id) == raw
        assert got.envelope_to == ("dest@example.com",)


def test_a_relay_whose_password_is_not_stored_is_not_used(tmp_path: Path, mailbox) -> None:
    profiles = profiles_in(tmp_path)
    with running_sink(mailbox) as relay:
        profiles.save(RelayProfile(name="relay", port=relay.port, helo_name="t", username="u"))
        profiles.set_last_relay("profile:relay")
        with running_api(tmp_path / "api") as api:
            api.server.ctx.relay_transport = last_relay_transport(profiles, api.mailbox)
            reply = release(api, api.deliver(make_message()))
            assert reply.status == 400
            assert "not configured" in reply.json()["Error"]
        assert relay.mailbox.count() == 0
