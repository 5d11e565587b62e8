"""Relay profiles: JSON without secrets, keyring (or its absence), env vars, presets."""

from __future__ import annotations

import json

import keyring
import pytest
from keyring.backends import fail

from mailcatcher_gui.core.sending import (
    PRESETS,
    ProfileError,
    ProfileNotFound,
    ProfileStore,
    RelayProfile,
    Security,
    resolve_password,
    sink_profile,
)

SECRET = "hunter2-top-secret"


class DictKeyring:
    """An in-process keyring with the backend interface (no OS keyring runs in CI).

    Deliberately not a ``KeyringBackend`` subclass: those register themselves
    with ``keyring`` and would become every later test's default keyring.
    """

    priority = 1

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


def test_presets():
    assert PRESETS["sink"].host == "127.0.0.1" and PRESETS["sink"].port == 1025
    assert PRESETS["sink"].security is Security.NONE
    expected = {
        "gmail": ("smtp.gmail.com", 587, Security.STARTTLS),
        "microsoft365": ("smtp.office365.com", 587, Security.STARTTLS),
        "amazon-ses": ("email-smtp.us-east-1.amazonaws.com", 587, Security.STARTTLS),
        "mailgun": ("smtp.mailgun.org", 587, Security.STARTTLS),
        "sendgrid": ("smtp.sendgrid.net", 587, Security.STARTTLS),
        "postmark": ("smtp.postmarkapp.com", 587, Security.STARTTLS),
        "starttls": (None, 587, Security.STARTTLS),
        "tls": (None, 465, Security.TLS),
    }
    for key, (host, port, security) in expected.items():
        p = PRESETS[key]
        assert (p.port, p.security) == (port, security)
        if host:
            assert p.host == host
    assert PRESETS["sendgrid"].username == "apikey"
    assert all(not p.allow_invalid_cert for p in PRESETS.values())
    assert sink_profile(port=2525).port == 2525


def test_store_round_trip_and_no_password_in_file(tmp_path):
    store = ProfileStore(tmp_path, keyring_backend=DictKeyring())
    assert store.list() == []
    prod = RelayProfile(
        name="prod",
        host="smtp.example.com",
        port=587,
        security=Security.STARTTLS,
        auth="LOGIN",
        username="bob",
        password_env="PROD_PW",
        ca_file="/etc/ssl/company.pem",
        connect_timeout=7,
        command_timeout=9,
        max_per_connection=20,
    )
    store.save(prod)
    store.save(sink_profile())
    assert store.set_password(prod, SECRET) is True
    assert store.list() == [prod, sink_profile()]
    assert store.get("prod") == prod
    text = store.path.read_text(encoding="utf-8")
    assert SECRET not in text
    assert 'password"' not in text  # only the env var *name* field
    assert json.loads(text)["profiles"][0]["security"] == "starttls"

    changed = RelayProfile(name="prod", host="smtp2.example.com", username="bob")
    store.save(changed)
    assert [p.name for p in store.list()] == ["prod", "This app's sink"]
    assert store.get("prod").host == "smtp2.example.com"

    assert store.get_password(changed) == SECRET
    assert store.delete("prod") is True
    assert store.get_password(changed) is None  # deleted with the profile
    assert store.delete("prod") is False
    with pytest.raises(ProfileNotFound, match="no relay profile named 'prod'"):
        store.get("prod")


def test_password_typed_into_the_file_is_ignored(tmp_path):
    store = ProfileStore(tmp_path)
    store.path.write_text(
        json.dumps({"profiles": [{"name": "x", "host": "h", "port": 25, "password": SECRET}]})
    )
    (profile,) = store.list()
    assert not hasattr(profile, "password")
    assert SECRET not in repr(profile)


def test_without_a_keyring_env_then_ask(tmp_path):
    default = ProfileStore(tmp_path)
    assert default.keyring_available() == (not isinstance(keyring.get_keyring(), fail.Keyring))
    # keyring's own "fail" backend: what a headless box (and this CI) has.
    store = ProfileStore(tmp_path, keyring_backend=fail.Keyring())
    profile = RelayProfile(name="ci", host="h", port=25, username="u", password_env="CI_PW")
    assert store.keyring_available() is False
    assert store.set_password(profile, SECRET) is False
    assert store.get_password(profile) is None

    assert store.resolve_password(profile, env={"CI_PW": SECRET}) == SECRET
    asked = []
    answer = store.resolve_password(profile, env={}, ask=lambda p: asked.append(p.name) or "typed")
    assert answer == "typed" and asked == ["ci"]
    assert store.resolve_password(profile, env={}) is None
    no_user = RelayProfile(name="anon", host="h", port=25)
    assert resolve_password(no_user, env={"CI_PW": SECRET}, ask=lambda p: "x") is None


def test_keyring_before_ask(tmp_path):
    store = ProfileStore(tmp_path, keyring_backend=DictKeyring())
    profile = RelayProfile(name="k", host="h", port=25, username="u")
    store.set_password(profile, SECRET)
    assert store.resolve_password(profile, env={}, ask=lambda p: "typed") == SECRET


@pytest.mark.parametrize(
    "kwargs",
    [
        {"port": 0},
        {"port": 70000},
        {"security": "ssl"},
        {"auth": "GSSAPI"},
        {"host": ""},
        {"command_timeout": 0},
        {"username": "u\r\nx"},
    ],
)
def test_invalid_profiles_are_refused(kwargs):
    with pytest.raises(ProfileError):
        RelayProfile(name="bad", **{"host": "h", **kwargs})


def test_corrupt_file_is_a_clear_error(tmp_path):
    store = ProfileStore(tmp_path)
    store.path.write_text("{not json")
    with pytest.raises(ProfileError, match="not a valid profile file"):
        store.list()
