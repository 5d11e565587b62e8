"""A catcher's password in the system keyring, never in a settings file.

The same rule as the relay profiles (``core.sending.profiles``): the URL
and user name may be remembered in plain settings, the password only in the
OS keyring, under the service ``mailcatcher-gui:catcher:<base URL>`` and the
user name. Where no usable keyring exists (``keyring``'s "fail" backend: a
headless box, CI) nothing is stored and the password is asked each time,
or taken from ``MAILCATCHER_REMOTE_PASSWORD`` (scripts, ``--remote``).
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Mapping
from typing import Any

from ..sending.profiles import KEYRING_SERVICE

__all__ = ["PASSWORD_ENV", "CatcherCredentials"]

log = logging.getLogger(__name__)

#: environment variable a script may set instead of a stored password
PASSWORD_ENV = "MAILCATCHER_REMOTE_PASSWORD"


class CatcherCredentials:
    """Get/set/forget the password of (base URL, user) in the keyring."""

    def __init__(self, *, keyring_backend: Any = None) -> None:
        self._keyring = keyring_backend

    def _backend(self) -> Any:
        if self._keyring is None:
            import keyring

            self._keyring = keyring.get_keyring()
        return self._keyring

    @staticmethod
    def service(base_url: str) -> str:
        return f"{KEYRING_SERVICE}:catcher:{base_url}"

    def available(self) -> bool:
        """False when ``keyring`` has no usable backend."""
        from keyring.backends import fail

        backend = self._backend()
        return not isinstance(backend, fail.Keyring) and getattr(backend, "priority", 1) > 0

    def get(self, base_url: str, username: str, env: Mapping[str, str] | None = None) -> str:
        """The password: the environment variable, else the keyring, else ""."""
        environ = os.environ if env is None else env
        if environ.get(PASSWORD_ENV):
            return environ[PASSWORD_ENV]
        if not username or not self.available():
            return ""
        try:
            stored = self._backend().get_password(self.service(base_url), username)
        except Exception as exc:  # noqa: BLE001 - locked/broken keyrings raise anything
            log.warning("cannot read the catcher password from the keyring: %s", type(exc).__name__)
            return ""
        return stored if isinstance(stored, str) else ""

    def set(self, base_url: str, username: str, password: str) -> bool:
        """Store it; False (nothing stored) without a usable keyring or a user."""
        if not username or not self.available():
            return False
        try:
            self._backend().set_password(self.service(base_url), username, password)
        except Exception as exc:  # noqa: BLE001
            log.warning("cannot store the catcher password: %s", type(exc).__name__)
            return False
        return True

    def forget(self, base_url: str, username: str) -> None:
        if not username or not self.available():
            return
        with contextlib.suppress(Exception):
            self._backend().delete_password(self.service(base_url), username)
