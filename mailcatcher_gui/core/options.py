"""Shared option defaults and the one conversion from parsed options to core objects.

The command line (``mailcatcher_gui.cli``) and the window (``app.py``) both
start the sink from the same options (``--smtp``, ``--auth``, ``--max-size``
...). The defaults and the ``argparse.Namespace`` -> ``SinkConfig`` step
live here, in core, so neither front end imports the other.

Functions take any object with the option attributes (an ``argparse``
namespace); a missing attribute means "not given".

The sink's AUTH password may come from the command line
(``--auth USER:PASSWORD``, visible to every local user in ``ps``), from an
environment variable (``--auth USER --auth-password-env VAR``) or from a
file (``--auth USER --auth-password-file FILE``, first line, without its
line break).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths

if TYPE_CHECKING:
    from .api.server import HttpConfig
    from .mailbox import Mailbox
    from .smtp import AuthMode, SinkConfig
    from .store import Store

#: Defaults shared by ``gui`` and ``serve``.
DEFAULT_SMTP = "127.0.0.1:1025"
#: Like Mailpit: enough history for a long debugging session, small enough
#: that a runaway test loop cannot fill the disk. 0 = keep everything.
DEFAULT_MAX_MESSAGES = 10_000
#: Matches the sink's own default; 0 = unlimited.
DEFAULT_MAX_SIZE = 50 * 1024 * 1024
#: The HTTP API (``--http``): Mailpit's port, on loopback only; ``none`` turns it off.
DEFAULT_HTTP = "127.0.0.1:8025"
HTTP_OFF = "none"
#: Accept AUTH with any credentials (but do not require it), so applications
#: configured with a username and password work unchanged.
DEFAULT_AUTH = "any"


class ConfigError(ValueError):
    """Options that do not fit together (``--tls-key`` without ``--tls-cert``...).

    The message is user-facing; the CLI prints it as one line and exits 2.
    """


def db_path_from_args(args: Any) -> Path:
    """``--db`` or the default store path (honours ``MAILCATCHER_GUI_HOME``)."""
    db = getattr(args, "db", None)
    return Path(db).expanduser() if db else paths.default_db_path()


def auth_from_args(args: Any, environ: Mapping[str, str] | None = None) -> AuthMode:
    """The sink's ``AuthMode`` from ``--auth`` and the password options.

    ``--auth`` is ``none``, ``any``, ``USER:PASSWORD``, or just ``USER`` when
    ``--auth-password-env VAR`` or ``--auth-password-file FILE`` supplies the
    password. Raises ``ConfigError``.
    """
    from .smtp import AuthMode

    text = str(getattr(args, "auth", None) or DEFAULT_AUTH)
    env_name = getattr(args, "auth_password_env", None)
    file_name = getattr(args, "auth_password_file", None)
    if env_name and file_name:
        raise ConfigError("give --auth-password-env or --auth-password-file, not both")
    if not (env_name or file_name):
        try:
            return AuthMode.parse(text)
        except ValueError as exc:
            hint = ""
            if ":" not in text:
                hint = " (or --auth USER with --auth-password-env VAR or --auth-password-file FILE)"
            raise ConfigError(f"{exc}{hint}") from exc
    option = "--auth-password-env" if env_name else "--auth-password-file"
    user = text.strip()
    if not user or user.lower() in ("none", "any"):
        raise ConfigError(f"{option} needs --auth USER (the user name the sink requires)")
    if ":" in user:
        raise ConfigError(f"with {option}, give only the user name to --auth, not USER:PASSWORD")
    if env_name:
        env = os.environ if environ is None else environ
        password = env.get(str(env_name), "")
        if not password:
            raise ConfigError(f"--auth-password-env: the variable {env_name} is not set or empty")
    else:
        password = _read_password_file(Path(str(file_name)).expanduser())
    return AuthMode("required", user, password)


def _read_password_file(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"--auth-password-file {path}: {exc.strerror or exc}") from exc
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"--auth-password-file {path}: not UTF-8 text") from None
    password = text.split("\n", 1)[0].removesuffix("\r")
    if not password:
        raise ConfigError(f"--auth-password-file {path}: the first line is empty")
    return password


def sink_config_from_args(args: Any, environ: Mapping[str, str] | None = None) -> SinkConfig:
    """Build the sink configuration from ``gui``/``serve`` options.

    Raises ``ConfigError`` (a ``ValueError``) with a user-facing message.
    Values on ``args`` are the strings the user typed (argparse has already
    checked each one), so the GUI can show and persist them as given.
    """
    from .smtp import SinkConfig, parse_hostport

    try:
        smtp = parse_hostport(getattr(args, "smtp", None) or DEFAULT_SMTP)
        smtps_text = getattr(args, "smtps", None)
        smtps = parse_hostport(smtps_text) if smtps_text else None
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    auth = auth_from_args(args, environ)
    max_size = getattr(args, "max_size", DEFAULT_MAX_SIZE)
    if max_size is None or max_size < 0:
        raise ConfigError("--max-size must be 0 (unlimited) or a positive number of bytes")
    tls_cert = getattr(args, "tls_cert", None)
    tls_key = getattr(args, "tls_key", None)
    if tls_key and not tls_cert:
        raise ConfigError("--tls-key needs --tls-cert")
    accept_rcpt = getattr(args, "accept_rcpt", None) or None
    if accept_rcpt is not None:
        try:
            re.compile(accept_rcpt)
        except re.error as exc:
            raise ConfigError(f"invalid --accept-rcpt pattern {accept_rcpt!r}: {exc}") from exc
    return SinkConfig(
        smtp=smtp,
        smtps=smtps,
        max_size=int(max_size),
        auth=auth,
        tls_cert=Path(tls_cert).expanduser() if tls_cert else None,
        tls_key=Path(tls_key).expanduser() if tls_key else None,
        cert_dir=paths.cert_dir(),
        accept_rcpt=accept_rcpt,
        hostname=getattr(args, "hostname", None) or SinkConfig.hostname,
    )


def http_config_from_args(args: Any) -> HttpConfig | None:
    """The HTTP API's configuration from ``--http`` and friends; None for ``--http none``.

    Raises ``ConfigError`` for options that do not fit together or a bad
    ``--http-cors`` origin (the auth file is read when the API starts).
    """
    from .api.security import parse_cors_origin
    from .api.server import HttpConfig
    from .smtp import parse_hostport

    text = str(getattr(args, "http", None) or DEFAULT_HTTP).strip()
    if text.lower() == HTTP_OFF:
        return None
    try:
        host, port = parse_hostport(text)
    except ValueError as exc:
        raise ConfigError(f"--http: {exc}") from exc
    cert = getattr(args, "http_tls_cert", None)
    key = getattr(args, "http_tls_key", None)
    if key and not cert:
        raise ConfigError("--http-tls-key needs --http-tls-cert")
    cors = getattr(args, "http_cors", None) or None
    if cors is not None:
        try:
            cors = parse_cors_origin(cors)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
    auth_file = getattr(args, "http_auth_file", None)
    return HttpConfig(
        host=host,
        port=port,
        auth_file=Path(auth_file).expanduser() if auth_file else None,
        allow_insecure=bool(getattr(args, "http_allow_insecure", False)),
        cors_origin=cors,
        tls_cert=Path(cert).expanduser() if cert else None,
        tls_key=Path(key).expanduser() if key else None,
    )


def open_store(args: Any, *, readonly: bool = False) -> Store:
    """The ``Store`` on ``--db`` (``StoreError`` if it cannot be opened).

    ``readonly=True`` for commands that only read: a store the user may not
    write still opens (``Store(readonly=True)``); the rest fail at once if
    nothing could be stored.
    """
    from .store import Store

    return Store(db_path_from_args(args), readonly=readonly)


def open_mailbox(args: Any, store: Store | None = None) -> Mailbox:
    """A ``Mailbox`` over ``open_store(args)`` honouring ``--max-messages``."""
    from .mailbox import Mailbox

    store = store if store is not None else open_store(args)
    return Mailbox(store, max_messages=getattr(args, "max_messages", 0) or 0)
