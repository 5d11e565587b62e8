"""What every subcommand shares: exit codes, the user-error type, output, option types.

Kept apart from ``cli/__init__.py`` so the subcommand modules can import it
without importing the entry point (and each other).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from typing import Any

from mailcatcher_gui.core.options import (
    DEFAULT_AUTH,
    DEFAULT_HTTP,
    DEFAULT_MAX_MESSAGES,
    DEFAULT_MAX_SIZE,
    DEFAULT_SMTP,
    HTTP_OFF,
)

PROG = "mailcatcher-gui"

EXIT_OK = 0
EXIT_ERROR = 1  # not found, bad input, environment problem, internal error
EXIT_USAGE = 2  # bad option value, busy port, read-only store


class CliError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def out(text: str = "", end: str = "\n") -> None:
    """Human output: characters the terminal cannot show become '?' instead of crashing."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write((text + end).encode(encoding, "replace").decode(encoding, "replace"))


def out_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def out_json(value: Any) -> None:
    """JSON is always UTF-8 (RFC 8259), whatever the locale; lone surrogates become '?'."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    out_bytes(text.encode("utf-8", "replace") + b"\n")


def error(message: str, code: int = EXIT_ERROR) -> int:
    """Print ``mailcatcher-gui: error: MESSAGE`` (always one line); returns ``code``."""
    message = " ".join(str(message).split())
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return code


# ---------------------------------------------------------------------------
# Option types (argparse ``type=``): fail at parse time with exit 2
# ---------------------------------------------------------------------------


def arg_hostport(text: str) -> str:
    from mailcatcher_gui.core.smtp import parse_hostport

    try:
        parse_hostport(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def arg_http(text: str) -> str:
    """``HOST:PORT`` (as ``--smtp``) or ``none``."""
    if text.strip().lower() == HTTP_OFF:
        return HTTP_OFF
    return arg_hostport(text)


def arg_origin(text: str) -> str:
    from mailcatcher_gui.core.api.security import parse_cors_origin

    try:
        return parse_cors_origin(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def arg_auth(text: str) -> str:
    """``none``, ``any``, ``USER:PASSWORD``, or a bare ``USER`` (checked with the
    password options in ``core.options.auth_from_args``)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty; use 'none', 'any', 'USER:PASSWORD' or USER")
    if ":" in text:
        from mailcatcher_gui.core.smtp import AuthMode

        try:
            AuthMode.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def arg_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {text!r}: {exc}") from exc
    return text


def arg_count(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def arg_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a message id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a message id: {text!r}")
    return value


def add_db(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="message store (SQLite file); default: %(default)s",
    )


def add_sink_options(p: argparse.ArgumentParser) -> None:
    """The SMTP sink options ``gui`` and ``serve`` share."""
    g = p.add_argument_group("SMTP sink")
    g.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        type=arg_hostport,
        default=DEFAULT_SMTP,
        help="plain SMTP (with STARTTLS) listener; port 0 picks a free port (default: %(default)s)",
    )
    g.add_argument(
        "--smtps",
        metavar="HOST:PORT",
        type=arg_hostport,
        default=None,
        help="also listen for implicit-TLS SMTPS, e.g. 127.0.0.1:1465 (default: off)",
    )
    g.add_argument(
        "--max-messages",
        metavar="N",
        type=arg_count,
        default=DEFAULT_MAX_MESSAGES,
        help="keep at most N messages, deleting the oldest; 0 = unlimited (default: %(default)s)",
    )
    g.add_argument(
        "--max-size",
        metavar="BYTES",
        type=arg_count,
        default=DEFAULT_MAX_SIZE,
        help="largest message accepted, in bytes; 0 = unlimited (default: %(default)s = 50 MiB)",
    )
    g.add_argument(
        "--auth",
        metavar="none|any|USER:PASSWORD|USER",
        type=arg_auth,
        default=DEFAULT_AUTH,
        help="SMTP AUTH: 'none' (not offered), 'any' (offered, any credentials accepted, "
        "not required) or 'USER:PASSWORD' (required); with --auth-password-env or "
        "--auth-password-file give only USER (default: %(default)s)",
    )
    secret = g.add_mutually_exclusive_group()
    secret.add_argument(
        "--auth-password-env",
        metavar="VAR",
        help="the password for --auth USER is in environment variable VAR (keeps it out of 'ps')",
    )
    secret.add_argument(
        "--auth-password-file",
        metavar="FILE",
        help="the password for --auth USER is the first line of FILE (keeps it out of 'ps')",
    )
    g.add_argument(
        "--tls-cert",
        metavar="FILE",
        help="PEM certificate for STARTTLS/SMTPS (default: a generated self-signed one)",
    )
    g.add_argument("--tls-key", metavar="FILE", help="PEM private key (default: inside --tls-cert)")
    g.add_argument(
        "--accept-rcpt",
        metavar="REGEX",
        type=arg_regex,
        help="only accept recipients matching REGEX (searched); others get 550",
    )
    g.add_argument(
        "--hostname",
        metavar="NAME",
        default=None,
        help="name in the SMTP greeting (default: mailcatcher-gui)",
    )


def add_http_options(p: argparse.ArgumentParser) -> None:
    """The HTTP API options ``gui`` and ``serve`` share (Mailpit's API and events)."""
    g = p.add_argument_group("HTTP API (Mailpit-compatible)")
    g.add_argument(
        "--http",
        metavar="HOST:PORT|none",
        type=arg_http,
        default=DEFAULT_HTTP,
        help="listen for the HTTP API and its /api/events WebSocket; 'none' turns it off; "
        "port 0 picks a free port (default: %(default)s)",
    )
    g.add_argument(
        "--http-auth-file",
        metavar="FILE",
        help="require HTTP Basic auth with the users of this htpasswd file "
        "(bcrypt hashes: htpasswd -B -c FILE USER)",
    )
    g.add_argument(
        "--http-allow-insecure",
        action="store_true",
        help="allow --http on a non-loopback address without --http-auth-file "
        "(anyone who can reach it can read, delete and send mail)",
    )
    g.add_argument(
        "--http-cors",
        metavar="ORIGIN",
        type=arg_origin,
        help="let web pages from ORIGIN (e.g. http://localhost:3000, or * for any) call the "
        "API from a browser (default: no CORS; other sites are refused)",
    )
    g.add_argument("--http-tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate")
    g.add_argument(
        "--http-tls-key", metavar="FILE", help="PEM private key (default: inside --http-tls-cert)"
    )
