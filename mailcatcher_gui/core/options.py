"""Shared option defaults and the options-to-``SinkConfig`` conversion.

Both entry points need these: ``serve`` (the CLI) and the window
(``app.py``). They live in core so that neither front imports the other;
``cli`` re-exports them for its own use.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import paths

if TYPE_CHECKING:
    from .smtp.sink import SinkConfig

#: Defaults shared by ``gui`` and ``serve``.
DEFAULT_SMTP = "127.0.0.1:1025"
#: Like Mailpit: enough history for a long debugging session, small enough
#: that a runaway test loop cannot fill the disk. 0 = keep everything.
DEFAULT_MAX_MESSAGES = 10_000
#: Matches the sink's own default; 0 = unlimited.
DEFAULT_MAX_SIZE = 50 * 1024 * 1024
#: Accept AUTH with any credentials (but do not require it), so applications
#: configured with a username and password work unchanged.
DEFAULT_AUTH = "any"

#: exit status for options that do not fit together (same as a usage error)
EXIT_USAGE = 2


class ConfigError(ValueError):
    """Options that do not fit together (``--tls-key`` without ``--tls-cert``...).

    ``code`` is the exit status a command-line front should use.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = EXIT_USAGE


def sink_config_from_args(args: Any) -> SinkConfig:
    """Build the sink configuration from ``gui``/``serve`` options.

    ``args`` is an ``argparse.Namespace`` (or anything with the same
    attributes; missing ones take the defaults). Raises ``ConfigError`` (a
    ``ValueError``) with a user-facing message. Values on ``args`` are the
    strings the user typed (argparse has already checked each one), so the GUI
    can show and persist them as given.
    """
    # Imported here: ``messages`` commands import this module and need no sink.
    from .smtp.auth import AuthMode
    from .smtp.sink import SinkConfig, parse_hostport

    try:
        smtp = parse_hostport(getattr(args, "smtp", None) or DEFAULT_SMTP)
        smtps_text = getattr(args, "smtps", None)
        smtps = parse_hostport(smtps_text) if smtps_text else None
        auth = AuthMode.parse(getattr(args, "auth", None) or DEFAULT_AUTH)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
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
