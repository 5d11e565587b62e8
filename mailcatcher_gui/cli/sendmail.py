"""``mailcatcher-gui sendmail``: a ``/usr/sbin/sendmail`` stand-in that delivers to the catcher.

The rules (options, reading standard input, the envelope, Bcc) are in
``core.sending.sendmail``; this is the shell around them: deliver through the
one sending backend to the catcher at ``--smtp``, ``$MAILCATCHER_SMTP`` or
127.0.0.1:1025, and when nothing listens there (a loopback catcher that is
not running), store the message straight into the default store so nothing
is lost, saying so on stderr.

Exit codes are sendmail's (``sysexits.h``), because the programs that call
sendmail read them: 0 delivered or stored, 64 bad options, 65 bad message,
66 no input, 69 refused (5xx), 73 the fallback store failed, 75 try later.

Argparse is not used: sendmail's options (``-oi``, ``-fADDR``, ``-F NAME``)
do not follow its conventions.
"""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Sequence
from typing import BinaryIO, TextIO

from mailcatcher_gui.core.options import DEFAULT_SMTP
from mailcatcher_gui.core.sending.sendmail import (
    EX_CANTCREAT,
    EX_DATAERR,
    EX_NOINPUT,
    EX_OK,
    EX_TEMPFAIL,
    EX_UNAVAILABLE,
    EX_USAGE,
    SendmailUsageError,
    parse_arguments,
    prepare,
    read_message,
)

SMTP_ENV = "MAILCATCHER_SMTP"
_PROG = "mailcatcher-gui sendmail"


def _say(stderr: TextIO, text: str) -> None:
    print(f"{_PROG}: {text}", file=stderr)


def run_sendmail(
    argv: Sequence[str],
    *,
    stdin: BinaryIO | None = None,
    stderr: TextIO | None = None,
    environ: dict[str, str] | None = None,
) -> int:
    """The whole command; returns a sysexits code."""
    from mailcatcher_gui.core.sending import (
        FailureStage,
        RelayProfile,
        SendRequest,
        SmtpTransport,
        is_loopback,
        send_sync,
    )
    from mailcatcher_gui.core.smtp import parse_hostport

    err = stderr if stderr is not None else sys.stderr
    env = os.environ if environ is None else environ
    try:
        options = parse_arguments(argv)
    except SendmailUsageError as exc:
        _say(err, str(exc))
        return EX_USAGE
    target = options.smtp or env.get(SMTP_ENV, "").strip() or DEFAULT_SMTP
    try:
        host, port = parse_hostport(target)
    except ValueError as exc:
        _say(err, f"bad catcher address {target!r}: {exc}")
        return EX_USAGE

    data = read_message(
        stdin if stdin is not None else sys.stdin.buffer, ignore_dots=options.ignore_dots
    )
    if not data:
        _say(err, "no message on standard input")
        return EX_NOINPUT
    try:
        message = prepare(data, options, user=_user())
    except ValueError as exc:
        _say(err, str(exc))
        return EX_DATAERR

    profile = RelayProfile(name=f"catcher {host}:{port}", host=host, port=port, connect_timeout=5.0)
    report = send_sync(SendRequest(message, SmtpTransport(profile)))
    if report.ok:
        if report.refused:
            refused = ", ".join(r.address for r in report.refused)
            _say(err, f"the catcher refused some recipients: {refused}")
        return EX_OK
    failure = report.failure
    assert failure is not None
    if failure.stage is FailureStage.INPUT:
        _say(err, failure.message)
        return EX_DATAERR
    if failure.stage is FailureStage.CONNECT and is_loopback(host):
        return _store_instead(message, options.db, f"{host}:{port}", failure.message, err)
    _say(err, f"{host}:{port}: {failure.message}")
    code = report.final_reply.code if report.final_reply is not None else None
    if failure.stage is FailureStage.TIMEOUT or (code is not None and 400 <= code < 500):
        return EX_TEMPFAIL
    if failure.stage in (FailureStage.CONNECT, FailureStage.TLS):
        return EX_TEMPFAIL
    return EX_UNAVAILABLE


def _store_instead(message: object, db: str | None, where: str, why: str, err: TextIO) -> int:
    """Nobody listens on the loopback catcher: keep the message in the store file."""
    from mailcatcher_gui.core import paths
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.sending import LocalTransport, RawMessage, SendRequest, send_sync
    from mailcatcher_gui.core.store import Store, StoreError

    assert isinstance(message, RawMessage)
    path = db or str(paths.default_db_path())
    try:
        mailbox = Mailbox(Store(path))
    except StoreError as exc:
        _say(err, f"no catcher on {where} ({why}) and the store failed: {exc}")
        return EX_CANTCREAT
    try:
        report = send_sync(SendRequest(message, LocalTransport(mailbox)))
    finally:
        mailbox.close()
    if not report.ok or report.stored_id is None:
        detail = report.failure.message if report.failure else "not stored"
        _say(err, f"no catcher on {where} ({why}) and the store failed: {detail}")
        return EX_CANTCREAT
    _say(
        err, f"no catcher listening on {where}; stored the message in {path} as #{report.stored_id}"
    )
    return EX_OK


def _user() -> str:
    try:
        return getpass.getuser() or "user"
    except (OSError, KeyError):
        return "user"
