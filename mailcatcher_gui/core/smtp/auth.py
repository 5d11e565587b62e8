"""SMTP AUTH policy for the sink: off, accept anything, or one required login.

"any" mirrors Mailpit's accept-any mode: an application that insists on
authenticating can do so with whatever credentials it has, and we record who
it claimed to be. "required" lets a developer check that the application
really sends the configured credentials. Passwords are compared in constant
time and never stored, logged or shown in a repr.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

AUTH_KINDS = ("none", "any", "required")


@dataclass(frozen=True)
class AuthMode:
    """How the sink treats AUTH. Build from the command line with ``parse``."""

    kind: str  # "none" | "any" | "required"
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in AUTH_KINDS:
            raise ValueError(f"unknown AUTH mode {self.kind!r}; expected one of {AUTH_KINDS}")
        if self.kind == "required" and not (self.username and self.password):
            raise ValueError("AUTH mode 'required' needs a non-empty username and password")

    @classmethod
    def parse(cls, text: str) -> AuthMode:
        """``"none"``, ``"any"`` or ``"USER:PASSWORD"`` (the password may contain ``:``)."""
        value = text.strip()
        if value.lower() in ("none", "any"):
            return cls(value.lower())
        user, sep, password = value.partition(":")
        if not sep or not user or not password:
            raise ValueError(
                f"invalid SMTP auth setting {text!r}: use 'none', 'any' or 'USER:PASSWORD'"
            )
        return cls("required", user, password)

    @property
    def enabled(self) -> bool:
        """Whether AUTH is advertised at all."""
        return self.kind != "none"

    @property
    def required(self) -> bool:
        """Whether MAIL is refused until the client has authenticated."""
        return self.kind == "required"

    def describe(self) -> str:
        """A log-safe description (never includes the password)."""
        if self.kind == "required":
            return f"required (user {self.username!r})"
        return self.kind


@dataclass(frozen=True)
class AuthSetting:
    """The sink's AUTH as the settings file holds it: mode, user, and a *saved* password.

    Text form (``Preferences.auth``): ``none``, ``any``, ``USER:PASSWORD`` (a
    password the user typed into Settings, saved with it), or a bare ``USER``:
    required, but the password is not saved -- it came from the command line,
    the environment or a file, and lives only in the running ``AuthMode`` (see
    ``ui.window.listener_prefs``). A secret the user kept out of ``ps`` must
    not end up in a settings file.
    """

    kind: str  # "none" | "any" | "required"
    username: str = ""
    password: str = field(default="", repr=False)  # "" = not saved

    @classmethod
    def parse(cls, text: str) -> AuthSetting:
        """Read the text form; ``ValueError`` for an empty one."""
        value = text.strip()
        if value.lower() in ("none", "any"):
            return cls(value.lower())
        user, _sep, password = value.partition(":")
        if not user:
            raise ValueError(
                f"invalid SMTP auth setting {text!r}: use 'none', 'any', 'USER:PASSWORD' or USER"
            )
        return cls("required", user, password)

    @classmethod
    def of(cls, mode: AuthMode, *, save_password: bool) -> AuthSetting:
        """``mode`` as a setting, with its password only if ``save_password``."""
        if mode.kind != "required":
            return cls(mode.kind)
        return cls("required", mode.username or "", (mode.password or "") if save_password else "")

    @property
    def text(self) -> str:
        if self.kind != "required":
            return self.kind
        return f"{self.username}:{self.password}" if self.password else self.username

    def mode(self, session: AuthMode | None = None) -> AuthMode | None:
        """The ``AuthMode`` this setting means, or None if its password is not at hand.

        A bare user takes the password from ``session`` (the running mode)
        when that requires the same user.
        """
        if self.kind != "required":
            return AuthMode(self.kind)
        if self.password:
            return AuthMode("required", self.username, self.password)
        if session is not None and session.required and session.username == self.username:
            return session
        return None


class Authenticator:
    """aiosmtpd ``authenticator`` callback implementing an ``AuthMode``."""

    def __init__(self, mode: AuthMode) -> None:
        self._mode = mode
        self._user = (mode.username or "").encode("utf-8")
        self._password = (mode.password or "").encode("utf-8")

    def __call__(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: object,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        if self._mode.kind == "any":
            return AuthResult(success=True, auth_data=auth_data)
        # Evaluate both comparisons so timing does not reveal which one failed.
        user_ok = hmac.compare_digest(auth_data.login, self._user)
        password_ok = hmac.compare_digest(auth_data.password, self._password)
        if self._mode.kind == "required" and user_ok and password_ok:
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


def auth_user(auth_data: object) -> str | None:
    """The login name from a successful AUTH, decoded for display."""
    login = getattr(auth_data, "login", None)
    if login is None:
        return None
    if isinstance(login, bytes):
        return login.decode("utf-8", errors="replace")
    return str(login)
