"""The SMTP listener settings: command line, saved preferences and the running sink.

Precedence: an option typed on the command line wins for the session;
otherwise the saved preferences apply. The Settings dialog starts from what
actually runs (``prefs_for_config``), so confirming it unchanged restarts
nothing.

Secrets. A sink password given with ``--auth USER:PASSWORD``,
``--auth-password-env`` or ``--auth-password-file`` is never written to the
settings file: the preferences hold the mode and the user (``AuthSetting``'s
bare ``USER``) and the password stays in the running ``SinkConfig`` only, in
memory. A password the user typed into Settings is a setting and is saved.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from ...core import options
from ...core.api.server import HttpConfig, HttpPortInUse, HttpStartError
from ...core.smtp import PortInUse, SinkConfig, SinkStartError
from ...core.smtp.auth import AuthMode, AuthSetting
from .settings import Preferences

log = logging.getLogger(__name__)


def listener_config(base: SinkConfig, prefs: Preferences) -> SinkConfig:
    """``base`` with the listener options from the Settings dialog.

    A required login whose password is not saved (a bare ``USER``) keeps the
    password of ``base``, the running configuration, if that requires the
    same user; otherwise ``base``'s AUTH stays, with a warning.
    """
    auth = _auth_mode(prefs.auth, base.auth)
    host = prefs.smtp_host.strip() or "127.0.0.1"
    return replace(
        base,
        smtp=(host, prefs.smtp_port),
        smtps=(host, prefs.smtps_port) if prefs.smtps_enabled else None,
        max_size=prefs.max_size_mb * 1024 * 1024,
        auth=auth,
        tls_cert=Path(prefs.tls_cert).expanduser() if prefs.tls_cert else None,
        tls_key=Path(prefs.tls_key).expanduser() if prefs.tls_key else None,
    )


def prefs_for_config(prefs: Preferences, config: SinkConfig, retention: int) -> Preferences:
    """``prefs`` showing what actually runs (command-line overrides included).

    The Settings dialog starts from these, so it never shows a port other
    than the one in use, and confirming it unchanged restarts nothing.
    """
    auth_text = _auth_text(config.auth, prefs.auth)
    mib = 1024 * 1024
    return replace(
        prefs,
        smtp_host=config.smtp[0],
        smtp_port=config.smtp[1],
        smtps_enabled=config.smtps is not None,
        smtps_port=config.smtps[1] if config.smtps is not None else prefs.smtps_port,
        tls_cert=str(config.tls_cert) if config.tls_cert else "",
        tls_key=str(config.tls_key) if config.tls_key else "",
        auth=auth_text,
        max_size_mb=-(-config.max_size // mib),
        retention=retention,
    )


def _auth_mode(text: str, running: AuthMode) -> AuthMode:
    try:
        setting = AuthSetting.parse(text)
    except ValueError:
        return running
    mode = setting.mode(running)
    if mode is None:
        log.warning(
            "SMTP AUTH: the settings require user %r, but its password is not saved "
            "(it was given on the command line); AUTH stays %s. Start with --auth %s and "
            "--auth-password-env or --auth-password-file, or type a password in Settings.",
            setting.username,
            running.describe(),
            setting.username,
        )
        return running
    return mode


def _auth_text(running: AuthMode, saved: str) -> str:
    """``running`` as ``Preferences.auth``, with its password only if it is the saved one.

    The saved text is what the settings file holds (or the preferences in
    force): if the running password is already there, keeping it changes
    nothing on disk. Any other password came from the command line, the
    environment or a file, and stays out of the preferences.
    """
    try:
        previous = AuthSetting.parse(saved)
    except ValueError:
        previous = AuthSetting("any")
    same = previous.mode() == running and bool(previous.password)
    return AuthSetting.of(running, save_password=same).text


def initial_config(args: Any, prefs: Preferences) -> tuple[SinkConfig, int]:
    """The sink configuration and retention for this session.

    An option typed on the command line (one that differs from the CLI's
    default) wins; everything else comes from the saved settings.
    ``ValueError`` (``core.options.ConfigError``) for bad option values.
    """

    def given(name: str, default: object) -> bool:
        value = getattr(args, name, None)
        return value is not None and value != default

    from_args = options.sink_config_from_args(args)
    if given("auth", options.DEFAULT_AUTH):
        # The command line's AUTH wins: do not judge the saved one (its password may be gone).
        prefs = replace(prefs, auth=AuthSetting.of(from_args.auth, save_password=False).text)
    config = listener_config(from_args, prefs)

    if given("smtp", options.DEFAULT_SMTP):
        config = replace(config, smtp=from_args.smtp)
    if given("smtps", None):
        config = replace(config, smtps=from_args.smtps)
    if given("auth", options.DEFAULT_AUTH):
        config = replace(config, auth=from_args.auth)
    if given("max_size", options.DEFAULT_MAX_SIZE):
        config = replace(config, max_size=from_args.max_size)
    if given("tls_cert", None):
        config = replace(config, tls_cert=from_args.tls_cert, tls_key=from_args.tls_key)
    retention = prefs.retention
    if given("max_messages", options.DEFAULT_MAX_MESSAGES):
        retention = int(args.max_messages)
    return config, retention


def describe_sink_error(exc: SinkStartError) -> str:
    """The sink's message, minus advice that only makes sense on the command line."""
    if isinstance(exc, PortInUse):
        host = f"[{exc.host}]" if ":" in exc.host else exc.host
        return f"port {exc.port} on {host} is already in use (is another mail catcher running?)"
    return str(exc)


# ---- the HTTP API ----------------------------------------------------------------------


def initial_http(args: Any, prefs: Preferences) -> tuple[HttpConfig, bool]:
    """The HTTP API's configuration for this session and whether it runs.

    ``--http`` typed on the command line wins (``none`` turns the API off for
    the session); otherwise the saved address and on/off apply. The other
    ``--http-*`` options (login file, CORS, TLS) only exist on the command
    line and are kept whatever the address. ``ValueError``
    (``core.options.ConfigError``) for bad option values.
    """
    typed = getattr(args, "http", None)
    from_args = options.http_config_from_args(args)
    if typed is not None and typed != options.DEFAULT_HTTP:
        if from_args is not None:
            return from_args, True
        base = options.http_config_from_args(_with_http(args, options.DEFAULT_HTTP))
        assert base is not None
        return base, False
    base = from_args or options.http_config_from_args(_with_http(args, options.DEFAULT_HTTP))
    assert base is not None
    host = prefs.http_host.strip() or "127.0.0.1"
    return replace(base, host=host, port=prefs.http_port), prefs.http_enabled


def _with_http(args: Any, value: str) -> Any:
    import argparse

    copy = argparse.Namespace(**vars(args)) if hasattr(args, "__dict__") else argparse.Namespace()
    copy.http = value
    return copy


def http_config_for(base: HttpConfig, prefs: Preferences) -> HttpConfig | None:
    """``base`` at the address the Settings dialog chose; None when the API is off."""
    if not prefs.http_enabled:
        return None
    return replace(base, host=prefs.http_host.strip() or "127.0.0.1", port=prefs.http_port)


def prefs_for_http(prefs: Preferences, config: HttpConfig, enabled: bool) -> Preferences:
    """``prefs`` showing the HTTP API that runs (command-line overrides included)."""
    return replace(prefs, http_enabled=enabled, http_host=config.host, http_port=config.port)


def describe_http_error(exc: HttpStartError) -> str:
    """The API's start error, minus advice that only makes sense on the command line."""
    if isinstance(exc, HttpPortInUse):
        host = f"[{exc.host}]" if ":" in exc.host else exc.host
        return (
            f"port {exc.port} on {host} is already in use "
            "(is Mailpit or another mail catcher running?)"
        )
    return str(exc)
