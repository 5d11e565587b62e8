"""Relay profiles: where to send, how to secure it, who to log in as.

A ``RelayProfile`` is everything about an SMTP relay *except the password*.
Profiles are saved as JSON in a config directory the caller passes in (no
global paths here), and that file never holds a secret: passwords live in
the OS keyring (the ``keyring`` package). Where no usable keyring exists (a
headless box, CI -- ``keyring`` then has only its "fail" backend) the
password comes from an environment variable named in the profile, or from a
callback that asks the user (a dialog in the GUI, ``getpass`` in the CLI).

``PRESETS`` holds ready-made profiles for this app's own sink and the
common providers, so a user picks "Gmail" and only types a user name.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

KEYRING_SERVICE = "mailcatcher-gui"
AUTH_MECHANISMS = ("auto", "PLAIN", "LOGIN", "CRAM-MD5")


class Security(StrEnum):
    NONE = "none"  # plain SMTP; no opportunistic STARTTLS either (what you chose is what runs)
    STARTTLS = "starttls"  # STARTTLS is required: no TLS, no send
    TLS = "tls"  # implicit TLS ("SMTPS", usually port 465)


class ProfileError(ValueError):
    """A profile is malformed (bad port, unknown security...)."""


class ProfileNotFound(KeyError):
    def __str__(self) -> str:
        return f"no relay profile named {self.args[0]!r}"


@dataclass(frozen=True, slots=True)
class RelayProfile:
    """An SMTP relay. Deliberately has no password field."""

    name: str
    host: str = "127.0.0.1"
    port: int = 1025
    security: Security = Security.NONE
    auth: str = "auto"  # "auto" (best the server offers) | "PLAIN" | "LOGIN" | "CRAM-MD5"
    username: str = ""  # empty: no AUTH
    password_env: str = ""  # environment variable holding the password (CI, no keyring)
    ca_file: str = ""  # verify against this CA bundle instead of the system store
    allow_invalid_cert: bool = False  # explicit opt-out of certificate verification
    connect_timeout: float = 15.0  # TCP connect + greeting (+ implicit TLS handshake)
    command_timeout: float = 30.0  # each command's reply, STARTTLS handshake, end of DATA
    max_per_connection: int = 0  # batch: QUIT and reconnect after this many (0 = no limit)
    helo_name: str = ""  # EHLO argument; empty: this machine's FQDN
    # send the password without TLS to a host that is not loopback (see core.sending.policy)
    allow_plaintext_auth: bool = False

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "security", Security(self.security))
        except ValueError:
            raise ProfileError(
                f"profile {self.name!r}: security must be one of "
                f"{', '.join(s.value for s in Security)}, not {self.security!r}"
            ) from None
        problems = []
        if not self.name.strip():
            problems.append("the name is empty")
        if not self.host.strip():
            problems.append("the host is empty")
        if not 0 < int(self.port) < 65536:
            problems.append(f"port {self.port} is out of range")
        if self.auth.lower() not in {m.lower() for m in AUTH_MECHANISMS}:
            problems.append(f"auth must be one of {', '.join(AUTH_MECHANISMS)}")
        if self.connect_timeout <= 0 or self.command_timeout <= 0:
            problems.append("timeouts must be positive")
        if self.max_per_connection < 0:
            problems.append("max_per_connection must be 0 (no limit) or more")
        for label, value in (("host", self.host), ("username", self.username)):
            if any(c in value for c in "\r\n\x00"):
                problems.append(f"the {label} contains a line break")
        if problems:
            raise ProfileError(f"profile {self.name!r}: " + "; ".join(problems))

    @property
    def address(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["security"] = self.security.value
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RelayProfile:
        known = set(cls.__dataclass_fields__)
        # Unknown keys (a newer version's, or a "password" someone typed in
        # by hand) are ignored: a secret must never be loaded from this file.
        return cls(**{k: v for k, v in data.items() if k in known})


def _preset(name: str, host: str, port: int, security: Security, **kw: Any) -> RelayProfile:
    return RelayProfile(name=name, host=host, port=port, security=security, **kw)


PRESETS: Mapping[str, RelayProfile] = {
    "sink": _preset("This app's sink", "127.0.0.1", 1025, Security.NONE),
    "gmail": _preset("Gmail", "smtp.gmail.com", 587, Security.STARTTLS),
    "microsoft365": _preset("Microsoft 365", "smtp.office365.com", 587, Security.STARTTLS),
    "amazon-ses": _preset(
        "Amazon SES (us-east-1)", "email-smtp.us-east-1.amazonaws.com", 587, Security.STARTTLS
    ),
    "mailgun": _preset("Mailgun", "smtp.mailgun.org", 587, Security.STARTTLS),
    "sendgrid": _preset("SendGrid", "smtp.sendgrid.net", 587, Security.STARTTLS, username="apikey"),
    "postmark": _preset("Postmark", "smtp.postmarkapp.com", 587, Security.STARTTLS),
    "starttls": _preset("Generic STARTTLS (587)", "smtp.example.com", 587, Security.STARTTLS),
    "tls": _preset("Generic implicit TLS (465)", "smtp.example.com", 465, Security.TLS),
}


def sink_profile(host: str = "127.0.0.1", port: int = 1025) -> RelayProfile:
    """This app's own sink, at the address it actually listens on."""
    return replace(PRESETS["sink"], host=host, port=port)


PasswordPrompt = Callable[[RelayProfile], "str | None"]


class ProfileStore:
    """Relay profiles in ``<config_dir>/relay-profiles.json``; passwords in the keyring.

    ``keyring_backend`` defaults to ``keyring.get_keyring()``; pass another
    ``keyring.backend.KeyringBackend`` to choose one explicitly.
    """

    FILE_NAME = "relay-profiles.json"

    def __init__(self, config_dir: str | os.PathLike[str], *, keyring_backend: Any = None):
        self.path = Path(config_dir) / self.FILE_NAME
        self._keyring = keyring_backend

    # ---- profiles -------------------------------------------------------

    def _load(self) -> dict[str, Any]:
        """The file as JSON (``{}`` when missing); ``ProfileError`` if unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProfileError(f"{self.path} is not a valid profile file: {exc}") from exc
        if isinstance(data, list):  # the first format: a bare list of profiles
            return {"profiles": data}
        if not isinstance(data, dict):
            raise ProfileError(f"{self.path} is not a valid profile file: not an object")
        return data

    def list(self) -> list[RelayProfile]:
        """Saved profiles, in saved order. A missing file is an empty list."""
        data = self._load()
        try:
            return [RelayProfile.from_json(row) for row in data.get("profiles", [])]
        except (ValueError, KeyError, TypeError) as exc:
            raise ProfileError(f"{self.path} is not a valid profile file: {exc}") from exc

    def get(self, name: str) -> RelayProfile:
        for profile in self.list():
            if profile.name == name:
                return profile
        raise ProfileNotFound(name)

    def save(self, profile: RelayProfile) -> None:
        """Add ``profile`` or replace the one with the same name."""
        profiles = self.list()
        names = [p.name for p in profiles]
        if profile.name in names:
            profiles[names.index(profile.name)] = profile
        else:
            profiles.append(profile)
        self._write(profiles)

    def delete(self, name: str) -> bool:
        """Remove a profile (and its keyring password). False if there was none."""
        profiles = self.list()
        remaining = [p for p in profiles if p.name != name]
        if len(remaining) == len(profiles):
            return False
        for p in profiles:
            if p.name == name:
                self.delete_password(p)
        self._write(remaining)
        return True

    def _write(self, profiles: Sequence[RelayProfile], *, last_relay: str | None = None) -> None:
        try:
            previous = self._load().get("last_relay", "")
        except ProfileError:
            previous = ""
        payload: dict[str, Any] = {"version": 1, "profiles": [p.to_json() for p in profiles]}
        relay = previous if last_relay is None else last_relay
        if relay:
            payload["last_relay"] = relay
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    # ---- the last relay used ------------------------------------------------

    def last_relay(self) -> str:
        """The destination key last used to release or send through a relay
        (``""`` when none). Kept beside the profiles it names, so it needs no
        preference store and survives a restart."""
        try:
            value = self._load().get("last_relay", "")
        except ProfileError:
            return ""
        return value if isinstance(value, str) else ""

    def set_last_relay(self, key: str) -> None:
        """Remember ``key`` (an opaque destination key, e.g. ``profile:Gmail``)."""
        if key == self.last_relay():
            return
        self._write(self.list(), last_relay=key)

    # ---- passwords (keyring) ---------------------------------------------

    def _backend(self) -> Any:
        if self._keyring is None:
            import keyring

            self._keyring = keyring.get_keyring()
        return self._keyring

    @staticmethod
    def _key(profile: RelayProfile) -> tuple[str, str]:
        return f"{KEYRING_SERVICE}:{profile.name}", profile.username

    def keyring_available(self) -> bool:
        """False when ``keyring`` has no usable backend (its "fail" backend)."""
        from keyring.backends import fail

        backend = self._backend()
        return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0

    def set_password(self, profile: RelayProfile, password: str) -> bool:
        """Store in the keyring. False (nothing stored) without a usable keyring."""
        if not self.keyring_available():
            return False
        try:
            self._backend().set_password(*self._key(profile), password)
        except Exception as exc:  # noqa: BLE001 - locked/broken keyrings raise anything
            log.warning("cannot store the password in the keyring: %s", type(exc).__name__)
            return False
        return True

    def get_password(self, profile: RelayProfile) -> str | None:
        if not profile.username or not self.keyring_available():
            return None
        try:
            stored: str | None = self._backend().get_password(*self._key(profile))
            return stored
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot read the password from the keyring: %s", type(exc).__name__)
            return None

    def delete_password(self, profile: RelayProfile) -> None:
        if not profile.username or not self.keyring_available():
            return
        with contextlib.suppress(Exception):  # nothing stored, or a broken keyring: fine
            self._backend().delete_password(*self._key(profile))

    def resolve_password(
        self,
        profile: RelayProfile,
        *,
        env: Mapping[str, str] | None = None,
        ask: PasswordPrompt | None = None,
    ) -> str | None:
        """The password for ``profile``: its environment variable, else the
        keyring, else ``ask(profile)``; None when there is no user or no answer."""
        return resolve_password(profile, store=self, env=env, ask=ask)


def resolve_password(
    profile: RelayProfile,
    *,
    store: ProfileStore | None = None,
    env: Mapping[str, str] | None = None,
    ask: PasswordPrompt | None = None,
) -> str | None:
    """See ``ProfileStore.resolve_password``. An explicitly named environment
    variable wins: it is how CI and scripts provide a secret on purpose."""
    if not profile.username:
        return None
    environ = os.environ if env is None else env
    if profile.password_env and environ.get(profile.password_env):
        return environ[profile.password_env]
    if store is not None:
        stored = store.get_password(profile)
        if stored is not None:
            return stored
    if ask is not None:
        return ask(profile)
    return None
