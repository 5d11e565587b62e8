"""Where compose and release send to: the one list, and a choice -> ``Transport``.

Shared by the compose window, the release dialog and the profile editor,
and free of Qt so a CLI or an HTTP API can offer the same choices:

* **This app's sink** at the address it really listens on (so compose ->
  capture works out of the box, whatever port the sink got), with the
  sink's own credentials when it requires AUTH;
* **This app's mailbox** (the local transport: no SMTP, works even when the
  sink is not listening);
* every saved ``RelayProfile`` from the ``ProfileStore``;
* the ready-made ``PRESETS`` (Gmail, SES, ...) that no saved profile copies,
  so a relay can be picked without visiting the profile editor first.

The last relay used (a saved profile or a preset) is remembered in the
profile store (``remember``/``last_relay``): release defaults to it.

Passwords never live in the profile file. ``ask_password`` is the caller's
prompt (a dialog in the window, ``getpass`` in a terminal); without one a
missing password is a ``DestinationError`` and nothing is sent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from .base import Transport
from .profiles import (
    PRESETS,
    PasswordPrompt,
    ProfileError,
    ProfileStore,
    RelayProfile,
    resolve_password,
    sink_profile,
)
from .smtp import SmtpTransport
from .transports import LocalTransport

if TYPE_CHECKING:
    from ..mailbox_protocol import MailboxProtocol

SINK_KEY = "sink"
LOCAL_KEY = "local"
PROFILE_PREFIX = "profile:"
PRESET_PREFIX = "preset:"

# Presets that are templates (example.com hosts) or this app itself are not
# offered as destinations; the editor's "From Preset" still has them all.
_NOT_OFFERED = frozenset({"sink", "starttls", "tls"})


@dataclass(frozen=True)
class SinkEndpoint:
    """Where this app's sink accepts mail right now (and its AUTH login, if required)."""

    host: str
    port: int
    username: str = ""
    password: str = ""

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def connect_host(listen_host: str) -> str:
    """The address to connect to for a listener bound to ``listen_host``."""
    if listen_host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if listen_host == "::":
        return "::1"
    return listen_host


class DestinationError(Exception):
    """A destination cannot be used as chosen (no password given, profile gone...)."""


@dataclass(frozen=True)
class Choice:
    """One entry of a "Send via" list. ``section`` groups entries in a picker."""

    key: str
    label: str
    tip: str
    enabled: bool = True
    section: str = "app"  # "app" | "profiles" | "presets"


def is_relay(key: str) -> bool:
    """A saved profile or a preset (not this app's own sink or mailbox)."""
    return key.startswith((PROFILE_PREFIX, PRESET_PREFIX))


class Destinations:
    """Builds the choice list and turns a choice into a ``Transport``."""

    def __init__(
        self,
        profiles: ProfileStore,
        mailbox: MailboxProtocol,
        sink: Callable[[], SinkEndpoint | None] = lambda: None,
        *,
        ask_password: PasswordPrompt | None = None,
    ) -> None:
        self.profiles = profiles
        self.mailbox = mailbox
        self.sink = sink
        self.ask_password = ask_password

    def choices(self) -> list[Choice]:
        endpoint = self.sink()
        if endpoint is not None:
            sink = Choice(
                SINK_KEY,
                f"This app's sink — {endpoint.address}",
                "SMTP to this app's own listener: the message shows up in the list",
            )
        else:
            sink = Choice(
                SINK_KEY, "This app's sink — not listening", "The SMTP sink is not running", False
            )
        items = [
            sink,
            Choice(
                LOCAL_KEY,
                "This app's mailbox (no SMTP)",
                "Store the message directly in the list, without an SMTP session",
            ),
        ]
        try:
            saved = self.profiles.list()
        except ProfileError as exc:
            items.append(
                Choice("", f"(profiles file unreadable: {exc})", str(exc), False, "profiles")
            )
            saved = []
        for profile in saved:
            items.append(
                Choice(
                    PROFILE_PREFIX + profile.name,
                    f"{profile.name} — {profile.address}",
                    f"Saved profile: {profile.security.value}, "
                    + (f"user {profile.username}" if profile.username else "no login"),
                    section="profiles",
                )
            )
        saved_at = {(p.host.lower(), p.port) for p in saved}
        for key, preset in PRESETS.items():
            if key in _NOT_OFFERED or (preset.host.lower(), preset.port) in saved_at:
                continue
            login = f"user {preset.username}" if preset.username else "no login saved"
            items.append(
                Choice(
                    PRESET_PREFIX + key,
                    f"{preset.name} — {preset.address} (preset)",
                    f"Preset: {preset.security.value}, {login}. Save it under Profiles… "
                    "to keep a login and password.",
                    section="presets",
                )
            )
        return items

    def keys(self) -> list[str]:
        return [c.key for c in self.choices() if c.enabled]

    def profile_for(self, key: str) -> RelayProfile | None:
        """The relay profile behind ``key`` (None for the local mailbox)."""
        if key == SINK_KEY:
            endpoint = self.sink()
            if endpoint is None:
                raise DestinationError("this app's sink is not listening")
            # The password is this app's own sink's, sent to a listener of this
            # machine (possibly on a LAN address): the plaintext rule does not apply.
            return replace(
                sink_profile(endpoint.host, endpoint.port),
                username=endpoint.username,
                connect_timeout=5.0,
                allow_plaintext_auth=True,
            )
        if key == LOCAL_KEY:
            return None
        if key.startswith(PROFILE_PREFIX):
            name = key[len(PROFILE_PREFIX) :]
            try:
                return self.profiles.get(name)
            except (KeyError, ProfileError) as exc:
                raise DestinationError(str(exc)) from None
        if key.startswith(PRESET_PREFIX):
            preset = PRESETS.get(key[len(PRESET_PREFIX) :])
            if preset is None:
                raise DestinationError(f"no preset named {key[len(PRESET_PREFIX) :]!r}")
            return preset
        raise DestinationError("choose where to send the message")

    def password_for(self, key: str, profile: RelayProfile) -> str | None:
        """Environment variable, keyring, else ask; ``DestinationError`` if there is none."""
        if not profile.username:
            return None
        if key == SINK_KEY:
            endpoint = self.sink()
            return endpoint.password if endpoint is not None else None
        password = resolve_password(profile, store=self.profiles, ask=self.ask_password)
        if password is None:
            raise DestinationError(
                f"no password given for {profile.username!r} at {profile.address}; nothing was sent"
            )
        return password

    def transport_for(self, key: str) -> Transport:
        """The transport for ``key``; may ask for a password (``DestinationError``)."""
        profile = self.profile_for(key)
        if profile is None:
            return LocalTransport(self.mailbox)
        return SmtpTransport(profile, self.password_for(key, profile))

    def describe(self, key: str) -> str:
        for choice in self.choices():
            if choice.key == key:
                return choice.label
        return key

    # ---- the last relay ---------------------------------------------------------------

    def remember(self, key: str) -> None:
        """Note that ``key`` was used; only relays are remembered."""
        if is_relay(key):
            # An unwritable profile file must not fail a send that worked.
            with contextlib.suppress(OSError, ProfileError):
                self.profiles.set_last_relay(key)

    def last_relay(self) -> str:
        """The last relay used if it is still offered, else ``""``."""
        key = self.profiles.last_relay()
        return key if key and key in self.keys() else ""

    def release_default(self) -> str:
        """Where "Release To…" starts: the last relay used, else the first saved
        profile, else this app's sink (a relay must be chosen on purpose)."""
        last = self.last_relay()
        if last:
            return last
        keys = self.keys()
        return next((k for k in keys if k.startswith(PROFILE_PREFIX)), SINK_KEY)
