"""What ``/usr/sbin/sendmail`` does to a message before sending it (``mailcatcher-gui sendmail``).

Programs that send mail by piping it to ``sendmail`` (PHP's ``mail()``, cron,
``mail(1)``, many CMSs) pass a small, old set of options and expect the
traditional behaviour. This module is that behaviour as plain functions, so
the command stays a thin shell and the rules are tested without a process:

* ``parse_arguments`` understands the options such programs pass
  (``-t``, ``-f ADDR``/``-fADDR``, ``-r``, ``-F NAME``, ``-i``/``-oi``) and
  accepts the ones that only tune a real MTA's queue (``-odi``, ``-oem``,
  ``-B 8BITMIME``, ``-N ...``, ``-v``, ``-bm``...) without acting on them;
  anything else is a usage error, as with a real sendmail.
* ``read_message`` reads standard input as sendmail does: a line holding
  just ``.`` ends the message unless ``-i``/``-oi`` was given (then dots are
  plain text); line endings become CRLF.
* ``prepare`` builds the envelope: the recipients on the command line, plus
  with ``-t`` those of To/Cc/Bcc (Postfix's rule: both, not either), the
  envelope sender from ``-f`` or the invoking user. Bcc headers are removed
  from what is delivered (they are envelope-only) and a missing From, Date
  or Message-ID is added, as Postfix's ``cleanup`` does; nothing else in the
  message is touched.

Exit codes are sendmail's ``sysexits.h`` values (``EX_*`` below).
"""

from __future__ import annotations

import email.utils
import re
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from .draft import RawMessage

__all__ = [
    "EX_CANTCREAT",
    "EX_DATAERR",
    "EX_NOINPUT",
    "EX_OK",
    "EX_SOFTWARE",
    "EX_TEMPFAIL",
    "EX_UNAVAILABLE",
    "EX_USAGE",
    "SendmailOptions",
    "SendmailUsageError",
    "parse_arguments",
    "prepare",
    "read_message",
]

# sysexits.h
EX_OK = 0
EX_USAGE = 64  # bad command line
EX_DATAERR = 65  # bad input message (no recipients, no header/body separation...)
EX_NOINPUT = 66  # no message on standard input
EX_UNAVAILABLE = 69  # the server refused the message (5xx)
EX_SOFTWARE = 70  # internal error
EX_CANTCREAT = 73  # the fallback store could not be written
EX_TEMPFAIL = 75  # try again later (4xx, timeout, nobody listening and no fallback)

# Options that take a value, as separate argument or glued on (-fADDR).
_WITH_VALUE = {"-f", "-r", "-F", "-B", "-N", "-R", "-V", "-X", "-C", "-h", "-L", "-p", "-q"}
# Options a real MTA acts on that mean nothing to a catcher; accepted, ignored.
_IGNORED_FLAGS = {"-v", "-bm", "-em", "-ee", "-ep", "-eq", "-ew", "-U", "-G", "-n", "-Am", "-Ac"}
_IGNORED_WITH_VALUE = {"-B", "-N", "-R", "-V", "-X", "-C", "-h", "-L", "-p"}


class SendmailUsageError(ValueError):
    """The command line asks for something sendmail compatibility cannot do (exit 64)."""


@dataclass(frozen=True, slots=True)
class SendmailOptions:
    """The parsed command line (``smtp`` is ours: where the catcher listens)."""

    recipients: tuple[str, ...] = ()
    extract_recipients: bool = False  # -t
    sender: str | None = None  # -f / -r: the envelope sender
    full_name: str | None = None  # -F: the sender's name, for an added From
    ignore_dots: bool = False  # -i / -oi
    smtp: str | None = None  # --smtp HOST:PORT
    db: str | None = None  # --db PATH: the store for the fallback


def parse_arguments(argv: Sequence[str]) -> SendmailOptions:
    """Parse sendmail-style ``argv`` (without the program name)."""
    recipients: list[str] = []
    opts: dict[str, object] = {}
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            recipients.extend(args[i:])
            break
        if arg in ("--smtp", "--db"):
            if i >= len(args):
                raise SendmailUsageError(f"{arg} needs a value")
            opts[arg[2:]] = args[i]
            i += 1
            continue
        if arg.startswith(("--smtp=", "--db=")):
            name, _, value = arg[2:].partition("=")
            opts[name] = value
            continue
        if not arg.startswith("-") or arg == "-":
            recipients.append(arg)
            continue
        if arg in ("-t",):
            opts["extract_recipients"] = True
        elif arg in ("-i", "-oi"):
            opts["ignore_dots"] = True
        elif arg.startswith("-o"):
            # -oi handled above; -odi, -odb, -oem, -oee, -om, -oQ..., -oX: queue tuning.
            continue
        elif arg in _IGNORED_FLAGS:
            continue
        elif arg == "-bs" or arg == "-bp" or arg == "-bd" or arg == "-q" or arg.startswith("-q"):
            raise SendmailUsageError(
                f"{arg} is not supported: mailcatcher-gui sendmail only delivers one message "
                "from standard input"
            )
        elif arg[:2] in _WITH_VALUE:
            flag, value = arg[:2], arg[2:]
            if not value:
                if i >= len(args):
                    raise SendmailUsageError(f"option {flag} needs a value")
                value = args[i]
                i += 1
            if flag in ("-f", "-r"):
                opts["sender"] = value
            elif flag == "-F":
                opts["full_name"] = value
            elif flag not in _IGNORED_WITH_VALUE:
                raise SendmailUsageError(f"option {flag} is not supported")
        else:
            raise SendmailUsageError(f"unknown option {arg}")
    return SendmailOptions(
        recipients=tuple(recipients),
        extract_recipients=bool(opts.get("extract_recipients", False)),
        sender=opts.get("sender"),  # type: ignore[arg-type]
        full_name=opts.get("full_name"),  # type: ignore[arg-type]
        ignore_dots=bool(opts.get("ignore_dots", False)),
        smtp=opts.get("smtp"),  # type: ignore[arg-type]
        db=opts.get("db"),  # type: ignore[arg-type]
    )


def read_message(stream: BinaryIO, *, ignore_dots: bool) -> bytes:
    """Standard input as sendmail reads it, with CRLF line endings.

    Without ``-i`` a line that is just ``.`` ends the message (what a
    terminal user types); with it, such a line is kept as text. The SMTP
    client dot-stuffs on the wire, so dots arrive exactly as written.
    """
    lines: list[bytes] = []
    for line in stream:
        body = line.rstrip(b"\r\n")
        if not ignore_dots and body == b".":
            break
        lines.append(body)
    if not lines:
        return b""
    return b"\r\n".join(lines) + b"\r\n"


_HEADER_START = re.compile(rb"^([!-9;-~]+)[ \t]*:", re.ASCII)


def _split_headers(data: bytes) -> tuple[list[list[bytes]], bytes]:
    """The header fields (each its lines, folding kept) and the rest (separator + body)."""
    fields: list[list[bytes]] = []
    pos = 0
    while pos < len(data):
        end = data.find(b"\r\n", pos)
        end = len(data) if end < 0 else end + 2
        line = data[pos:end]
        if line in (b"\r\n", b""):
            break
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1].append(line)
        elif _HEADER_START.match(line):
            fields.append([line])
        else:  # not a header line: the body starts here (no blank separator)
            break
        pos = end
    return fields, data[pos:]


def _field_name(lines: list[bytes]) -> str:
    match = _HEADER_START.match(lines[0])
    return match.group(1).decode("ascii").lower() if match else ""


def _field_value(lines: list[bytes]) -> str:
    text = b"".join(lines).decode("utf-8", "replace")
    return re.sub(r"\r\n([ \t])", r"\1", text.split(":", 1)[1]).strip()


def prepare(
    data: bytes,
    options: SendmailOptions,
    *,
    user: str,
    hostname: str | None = None,
    now: datetime | None = None,
) -> RawMessage:
    """The message and envelope sendmail would deliver (raises ``ValueError`` with a sentence)."""
    if not data.strip():
        raise ValueError("no message on standard input")
    host = hostname or socket.getfqdn() or "localhost"
    fields, rest = _split_headers(data)
    names = [_field_name(f) for f in fields]

    recipients = list(options.recipients)
    if options.extract_recipients:
        values = [
            _field_value(f) for f, n in zip(fields, names, strict=True) if n in ("to", "cc", "bcc")
        ]
        recipients += [addr for _, addr in email.utils.getaddresses(values) if addr]
    if not recipients:
        hint = (
            ""
            if options.extract_recipients
            else " (give recipients, or -t to read them from To/Cc/Bcc)"
        )
        raise ValueError(f"no recipients{hint}")

    sender = options.sender if options.sender is not None else f"{user}@{host}"
    added: list[bytes] = []
    if "from" not in names:
        from_addr = sender or f"{user}@{host}"
        value = email.utils.formataddr((options.full_name or "", from_addr))
        added.append(f"From: {value}\r\n".encode())
    if "date" not in names:
        added.append(
            f"Date: {email.utils.format_datetime(now or datetime.now().astimezone())}\r\n".encode()
        )
    if "message-id" not in names:
        added.append(f"Message-ID: <{uuid.uuid4().hex}@{host}>\r\n".encode())

    kept = [b"".join(f) for f, n in zip(fields, names, strict=True) if n != "bcc"]
    # A blank line after the headers, unless the input had one (a message that
    # is all body gets the added headers, then the blank line, then its text).
    separator = b"" if rest.startswith(b"\r\n") else b"\r\n"
    raw = b"".join(kept) + b"".join(added) + separator + rest
    return RawMessage(data=raw, envelope_from=sender, envelope_to=tuple(recipients))
