"""``mailcatcher-gui send``: send one message and print the SMTP transcript.

It is a thin front on ``core.sending`` (the same path compose and release
use), shaped after ``swaks`` because that is what developers already read::

    === Trying 127.0.0.1:1025...
    === Connected to 127.0.0.1.
    <-  220 host ESMTP
     -> EHLO me.example
    <-  250-host
     ...
    <** 550 5.1.1 <bad@example.org>: Recipient address rejected

(``->`` client, ``<-`` server, ``~>``/``<~`` inside TLS, ``<**`` an error
reply, ``***`` a client-side error, ``===`` notes), followed by a summary.

TLS: ``--starttls`` requires STARTTLS, ``--tls`` is implicit TLS (both
verify the certificate). With ``--server`` and neither, STARTTLS is used
whenever the server offers it (opportunistic; the certificate is verified
only against ``--ca-file``); ``--no-starttls`` never upgrades. A ``--user``
password is never sent in clear text to a host other than loopback unless
``--allow-plaintext-auth``: STARTTLS is then required (and verified), and
``--no-starttls`` is refused with exit 2 before connecting.

The exit status says where a failure happened, so scripts and CI can branch
on it without parsing text. These numbers are a stable contract:

====  ==========================================================
code  meaning
====  ==========================================================
0     sent: at least one recipient accepted (refusals are listed)
1     internal error (a bug: please report it)
2     usage or bad input: unreadable file, unknown profile, header
      injection (CR/LF in a header or address), missing password,
      a password that would go to a remote host without TLS
3     connect: cannot resolve/connect, or the greeting refused us
4     tls: STARTTLS not offered, handshake or certificate failure
5     ehlo: EHLO and HELO refused, or connection lost there
6     auth: AUTH not offered, no common mechanism, bad credentials
7     mail: MAIL FROM refused (or SMTPUTF8 needed but not offered)
8     rcpt: every recipient refused
9     data: the message refused at or after DATA
10    timeout: the server stopped answering (any stage)
11    delivery: a non-SMTP transport failed (not used by this command)
====  ==========================================================
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from mailcatcher_gui.core.sending import (
    PRESETS,
    FailureStage,
    ProfileError,
    ProfileNotFound,
    ProfileStore,
    RelayProfile,
    Security,
    SendReport,
    SendRequest,
    SmtpTransport,
    TranscriptLine,
    plaintext_auth_refusal,
    render_swaks,
    send_sync,
)

from .send_message import UsageError, build_message

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_CODES: dict[FailureStage, int] = {
    FailureStage.INPUT: 2,
    FailureStage.CONNECT: 3,
    FailureStage.TLS: 4,
    FailureStage.EHLO: 5,
    FailureStage.AUTH: 6,
    FailureStage.MAIL: 7,
    FailureStage.RCPT: 8,
    FailureStage.DATA: 9,
    FailureStage.TIMEOUT: 10,
    FailureStage.DELIVERY: 11,
}

_EXIT_HELP = """exit status:
  0  sent (at least one recipient accepted)   6  auth
  1  internal error                           7  mail from refused
  2  usage / bad input / header injection     8  every recipient refused
  3  connect                                  9  data refused
  4  tls                                      10 timeout
  5  ehlo                                     11 delivery (other transports)"""

_AUTH_CHOICES = ("AUTO", "PLAIN", "LOGIN", "CRAM-MD5")


def add_send_parser(subparsers: Any) -> None:
    """Register the ``send`` subcommand (``subparsers`` from ``add_subparsers``).

    Every destination is prefixed ``send_`` so this parser cannot overwrite
    an option of the main parser that happens to share a name.
    """
    parser = subparsers.add_parser(
        "send",
        help="send a message through SMTP and print the transcript (swaks-style)",
        description="Send one message through an SMTP relay (or this app's sink) and "
        "print every line exchanged. The exit status names the failing stage.",
        epilog=_EXIT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_argument_group("where to send")
    target = where.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--profile",
        dest="send_profile",
        metavar="NAME",
        help="a saved relay profile, or a preset: " + ", ".join(PRESETS),
    )
    target.add_argument(
        "--server",
        dest="send_server",
        metavar="HOST[:PORT]",
        help="relay address (port defaults to 25, 587 with --starttls, 465 with --tls)",
    )
    security = where.add_mutually_exclusive_group()
    security.add_argument(
        "--starttls",
        dest="send_security",
        action="store_const",
        const=Security.STARTTLS,
        help="require STARTTLS",
    )
    security.add_argument(
        "--tls",
        dest="send_security",
        action="store_const",
        const=Security.TLS,
        help="implicit TLS from the first byte (SMTPS)",
    )
    security.add_argument(
        "--no-starttls",
        dest="send_security",
        action="store_const",
        const=Security.NONE,
        help="plain SMTP even if the server offers STARTTLS (with --server, STARTTLS is "
        "used whenever it is offered)",
    )
    where.add_argument(
        "--allow-plaintext-auth",
        dest="send_allow_plaintext_auth",
        action="store_true",
        help="allow sending the --user password without TLS to a host other than "
        "localhost (refused otherwise)",
    )
    where.add_argument(
        "--insecure",
        dest="send_insecure",
        action="store_true",
        help="do not verify the server certificate",
    )
    where.add_argument(
        "--ca-file",
        dest="send_ca_file",
        metavar="FILE",
        help="verify the server against this CA bundle instead of the system store",
    )
    where.add_argument("--user", dest="send_user", metavar="USER", help="AUTH user name")
    where.add_argument(
        "--password-env",
        dest="send_password_env",
        metavar="VAR",
        help="read the AUTH password from this environment variable",
    )
    where.add_argument(
        "--auth-mech",
        dest="send_auth_mech",
        type=str.upper,
        choices=_AUTH_CHOICES,
        metavar="MECH",
        help="AUTH mechanism: auto (default), PLAIN, LOGIN or CRAM-MD5",
    )
    where.add_argument(
        "--timeout",
        dest="send_timeout",
        type=float,
        metavar="SECONDS",
        help="connect and per-command timeout",
    )
    where.add_argument(
        "--helo", dest="send_helo", metavar="NAME", help="EHLO name (default: this host)"
    )
    where.add_argument(
        "--config-dir",
        dest="send_config_dir",
        metavar="DIR",
        help="where relay profiles are saved (default: the user config folder)",
    )

    what = parser.add_argument_group("the message")
    what.add_argument("--from", dest="send_from", required=True, metavar="ADDR")
    what.add_argument(
        "--to", dest="send_to", required=True, action="extend", nargs="+", metavar="ADDR"
    )
    what.add_argument("--cc", dest="send_cc", action="append", default=[], metavar="ADDR")
    what.add_argument(
        "--bcc",
        dest="send_bcc",
        action="append",
        default=[],
        metavar="ADDR",
        help="envelope only; never written to the headers",
    )
    what.add_argument("--subject", dest="send_subject", metavar="TEXT")
    body = what.add_mutually_exclusive_group()
    body.add_argument(
        "--text", dest="send_text", metavar="TEXT", help='plain text body ("\\n" = newline)'
    )
    body.add_argument("--text-file", dest="send_text_file", metavar="FILE")
    what.add_argument("--html-file", dest="send_html_file", metavar="FILE")
    what.add_argument("--attach", dest="send_attach", action="append", default=[], metavar="FILE")
    what.add_argument(
        "--inline",
        dest="send_inline",
        action="append",
        default=[],
        metavar="FILE",
        help="inline part for the HTML; refer to it as cid:<file name>",
    )
    what.add_argument(
        "--header",
        dest="send_header",
        action="append",
        default=[],
        metavar="'NAME: VALUE'",
    )
    what.add_argument(
        "--eml",
        dest="send_eml",
        metavar="FILE",
        help="send this file's bytes unchanged to the --from/--to/--cc/--bcc envelope",
    )

    out = parser.add_argument_group("output")
    out.add_argument(
        "--quiet", dest="send_quiet", action="store_true", help="print only the summary"
    )
    out.add_argument(
        "--timestamps",
        dest="send_timestamps",
        action="store_true",
        help="prefix transcript lines with the time since the start",
    )
    parser.set_defaults(handler=run_send)


def run_send(args: argparse.Namespace) -> int:
    """Run ``send`` for parsed ``args``; returns the exit status (see module doc)."""
    try:
        profile, opportunistic = _resolve_profile(args)
        message = build_message(args)
        password = _resolve_password(args, profile)
    except UsageError as exc:
        print(f"mailcatcher-gui send: error: {exc}", file=sys.stderr)
        return EXIT_USAGE

    quiet = args.send_quiet
    stamps = args.send_timestamps

    def show(line: TranscriptLine) -> None:
        if not quiet:
            print(render_swaks(line, timestamps=stamps), flush=True)

    transport = SmtpTransport(profile, password, opportunistic_starttls=opportunistic)
    report = send_sync(SendRequest(message, transport), on_line=show)
    _print_summary(report)
    if report.failure is not None:
        return EXIT_CODES.get(report.failure.stage, EXIT_INTERNAL)
    return EXIT_OK


# ---- building blocks ------------------------------------------------------


def _config_dir(args: argparse.Namespace) -> Path:
    explicit = getattr(args, "send_config_dir", None) or getattr(args, "config_dir", None)
    if explicit:
        return Path(explicit)
    from mailcatcher_gui.core import paths

    # The same folder the window keeps its profiles in (MAILCATCHER_GUI_HOME aware).
    return paths.config_dir()


def _parse_server(value: str, security: Security) -> tuple[str, int]:
    default = {Security.TLS: 465, Security.STARTTLS: 587}.get(security, 25)
    value = value.strip()
    if value.startswith("["):  # [IPv6]:port
        host, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:  # a bare host, or a bare IPv6 address
        host, port_text = value, ""
    if not host:
        raise UsageError(f"--server {value!r}: no host")
    try:
        port = int(port_text) if port_text else default
    except ValueError:
        raise UsageError(f"--server {value!r}: {port_text!r} is not a port number") from None
    return host, port


def _resolve_profile(args: argparse.Namespace) -> tuple[RelayProfile, bool]:
    """The profile to send with, and whether STARTTLS is used when offered.

    With ``--server`` and no security option, STARTTLS is used whenever the
    server offers it (opportunistic: the certificate is checked only against
    ``--ca-file``, as there is no name to check a self-signed sink against).
    A password for a host other than loopback never goes out in clear text
    unless ``--allow-plaintext-auth``: STARTTLS becomes required (and the
    certificate verified), and ``--no-starttls`` (or a saved profile without
    TLS) is refused before connecting.
    """
    store = ProfileStore(_config_dir(args))
    explicit: Security | None = args.send_security
    if args.send_profile:
        profile = _find_profile(store, args.send_profile)
        opportunistic = False  # a saved profile's security is what runs
    else:
        host, port = _parse_server(args.send_server, explicit or Security.NONE)
        try:
            profile = RelayProfile(name=f"{host}:{port}", host=host, port=port)
        except ProfileError as exc:
            raise UsageError(str(exc)) from None
        opportunistic = explicit is None
    changes: dict[str, Any] = {}
    if explicit is not None:
        changes["security"] = explicit
    if args.send_insecure:
        changes["allow_invalid_cert"] = True
    if args.send_ca_file:
        if not Path(args.send_ca_file).is_file():
            raise UsageError(f"--ca-file {args.send_ca_file!r}: no such file")
        changes["ca_file"] = args.send_ca_file
    if args.send_user is not None:
        changes["username"] = args.send_user
    if args.send_password_env:
        changes["password_env"] = args.send_password_env
    if args.send_auth_mech:
        changes["auth"] = "auto" if args.send_auth_mech == "AUTO" else args.send_auth_mech
    if args.send_timeout is not None:
        changes["connect_timeout"] = changes["command_timeout"] = args.send_timeout
    if args.send_helo:
        changes["helo_name"] = args.send_helo
    if args.send_allow_plaintext_auth:
        changes["allow_plaintext_auth"] = True
    try:
        profile = replace(profile, **changes)
    except ProfileError as exc:
        raise UsageError(str(exc)) from None

    if opportunistic and not profile.ca_file:
        # Opportunistic TLS protects against listeners, not impostors (RFC 7435).
        profile = replace(profile, allow_invalid_cert=True)
    clear_auth = profile.username and profile.security is Security.NONE
    if clear_auth and plaintext_auth_refusal(profile) is not None:
        if not opportunistic:
            raise UsageError(
                f"refusing to send the password for {profile.username!r} to {profile.host} "
                "without TLS; use --starttls or --tls, or pass --allow-plaintext-auth"
            )
        # The password must not depend on the server offering STARTTLS.
        profile = replace(
            profile, security=Security.STARTTLS, allow_invalid_cert=args.send_insecure
        )
        opportunistic = False
    return profile, opportunistic


def _resolve_password(args: argparse.Namespace, profile: RelayProfile) -> str | None:
    if not profile.username:
        return None
    if args.send_password_env and not os.environ.get(args.send_password_env):
        raise UsageError(f"--password-env: the variable {args.send_password_env} is not set")
    store = ProfileStore(_config_dir(args))
    return store.resolve_password(profile, ask=_prompt if sys.stdin.isatty() else None)


def _find_profile(store: ProfileStore, name: str) -> RelayProfile:
    try:
        return store.get(name)
    except ProfileNotFound:
        pass
    except ProfileError as exc:
        raise UsageError(str(exc)) from None
    preset = PRESETS.get(name.lower())
    if preset is None:
        for candidate in PRESETS.values():
            if candidate.name.lower() == name.lower():
                preset = candidate
    if preset is None:
        saved = [p.name for p in store.list()]
        known = ", ".join([*saved, *PRESETS]) or "none"
        raise UsageError(f"no relay profile or preset named {name!r} (known: {known})")
    return preset


def _prompt(profile: RelayProfile) -> str | None:
    try:
        return getpass.getpass(f"Password for {profile.username} at {profile.address}: ")
    except (EOFError, KeyboardInterrupt):
        return None


def _print_summary(report: SendReport) -> None:
    if report.failure is None:
        accepted = len(report.accepted)
        total = len(report.recipients)
        queue = f"; queue id {report.queue_id}" if report.queue_id else ""
        reply = f"; final reply {report.final_reply}" if report.final_reply else ""
        print(
            f"=== Sent to {accepted} of {total} recipient(s) in {report.duration:.2f}s{queue}"
            + ("" if queue else reply)
        )
        for refused in report.refused:
            print(f"=== Refused {refused.address}: {refused.code} {refused.text}")
        return
    failure = report.failure
    during = f" (during {failure.during})" if failure.during and failure.stage == "timeout" else ""
    print(
        f"mailcatcher-gui send: failed at stage {failure.stage}{during}: {failure.message}",
        file=sys.stderr,
    )
