"""The ``mailcatcher-gui`` command: the window, a headless sink, and scripting.

::

    mailcatcher-gui [gui] [OPTIONS] [FILE.eml ...]   the window (default)
    mailcatcher-gui serve [OPTIONS]                  headless SMTP sink
    mailcatcher-gui messages list|show|attachment|delete|clear|read|unread|import|export
    mailcatcher-gui send ...                         send a test message

The JSON printed by ``messages list --json`` and ``messages show --json`` is
a public contract (see ``MessageSummary.to_json`` and ``message_to_json``):
names are only ever added, never renamed.

Errors the user can fix (unknown id, unreadable file, bad query, busy port)
are one ``mailcatcher-gui: error: ...`` line on stderr and a non-zero exit:
1 for bad input or a missing message, 2 for usage errors and a busy port.
Anything else is a bug and keeps its traceback.

Qt is never imported here: ``gui`` imports ``mailcatcher_gui.app`` only when
it runs, so ``serve`` and ``messages`` work on machines without a display.
``sink_config_from_args`` and ``open_store``/``open_mailbox`` are the one
place that turns parsed options into core objects; ``app.py`` uses them too.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mailcatcher_gui import __version__
from mailcatcher_gui.core import paths
from mailcatcher_gui.core.units import format_size

if TYPE_CHECKING:
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.models import MessageSummary, OpenedMessage
    from mailcatcher_gui.core.smtp.sink import SinkConfig
    from mailcatcher_gui.core.store.database import Store

PROG = "mailcatcher-gui"

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

EXIT_OK = 0
EXIT_ERROR = 1  # not found, bad input, environment problem
EXIT_USAGE = 2  # bad option value, busy port

_COMMANDS = ("gui", "serve", "messages", "send")
_IMPORT_BATCH = 200


class CliError(Exception):
    """A problem the user can fix; printed as one line, no traceback."""

    def __init__(self, message: str, code: int = EXIT_ERROR) -> None:
        super().__init__(message)
        self.code = code


class ConfigError(CliError, ValueError):
    """Options that do not fit together (``--tls-key`` without ``--tls-cert``...)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, EXIT_USAGE)


# ---------------------------------------------------------------------------
# Parsed options -> core objects (shared with app.py)
# ---------------------------------------------------------------------------


def db_path_from_args(args: argparse.Namespace) -> Path:
    """``--db`` or the default store path (honours ``MAILCATCHER_GUI_HOME``)."""
    db = getattr(args, "db", None)
    return Path(db).expanduser() if db else paths.default_db_path()


def sink_config_from_args(args: argparse.Namespace) -> SinkConfig:
    """Build the sink configuration from ``gui``/``serve`` options.

    Raises ``ConfigError`` (a ``ValueError``) with a user-facing message.
    Values on ``args`` are the strings the user typed (argparse has already
    checked each one), so the GUI can show and persist them as given.
    """
    from mailcatcher_gui.core.smtp.sink import AuthMode, SinkConfig, parse_hostport

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
        max_size=max_size,
        auth=auth,
        tls_cert=Path(tls_cert).expanduser() if tls_cert else None,
        tls_key=Path(tls_key).expanduser() if tls_key else None,
        cert_dir=paths.cert_dir(),
        accept_rcpt=accept_rcpt,
        hostname=getattr(args, "hostname", None) or SinkConfig.hostname,
    )


def open_store(args: argparse.Namespace) -> Store:
    """The ``Store`` on ``--db`` (``StoreError`` if it cannot be opened)."""
    from mailcatcher_gui.core.store.database import Store

    return Store(db_path_from_args(args))


def open_mailbox(args: argparse.Namespace, store: Store | None = None) -> Mailbox:
    """A ``Mailbox`` over ``open_store(args)`` honouring ``--max-messages``."""
    from mailcatcher_gui.core.mailbox import Mailbox

    store = store if store is not None else open_store(args)
    return Mailbox(store, max_messages=getattr(args, "max_messages", 0) or 0)


# ---------------------------------------------------------------------------
# Argument parsing
# ---------------------------------------------------------------------------


def _arg_hostport(text: str) -> str:
    from mailcatcher_gui.core.smtp.sink import parse_hostport

    try:
        parse_hostport(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _arg_auth(text: str) -> str:
    from mailcatcher_gui.core.smtp.auth import AuthMode

    try:
        AuthMode.parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def _arg_regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"invalid regular expression {text!r}: {exc}") from exc
    return text


def _arg_count(text: str) -> int:
    try:
        value = int(text.replace("_", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def _arg_id(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a message id: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"not a message id: {text!r}")
    return value


def _add_db(p: argparse.ArgumentParser, default: str) -> None:
    p.add_argument(
        "--db",
        metavar="PATH",
        default=default,
        help="message store (SQLite file); default: %(default)s",
    )


def _add_sink_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("SMTP sink")
    g.add_argument(
        "--smtp",
        metavar="HOST:PORT",
        type=_arg_hostport,
        default=DEFAULT_SMTP,
        help="plain SMTP (with STARTTLS) listener; port 0 picks a free port (default: %(default)s)",
    )
    g.add_argument(
        "--smtps",
        metavar="HOST:PORT",
        type=_arg_hostport,
        default=None,
        help="also listen for implicit-TLS SMTPS, e.g. 127.0.0.1:1465 (default: off)",
    )
    g.add_argument(
        "--max-messages",
        metavar="N",
        type=_arg_count,
        default=DEFAULT_MAX_MESSAGES,
        help="keep at most N messages, deleting the oldest; 0 = unlimited (default: %(default)s)",
    )
    g.add_argument(
        "--max-size",
        metavar="BYTES",
        type=_arg_count,
        default=DEFAULT_MAX_SIZE,
        help="largest message accepted, in bytes; 0 = unlimited (default: %(default)s = 50 MiB)",
    )
    g.add_argument(
        "--auth",
        metavar="none|any|USER:PASSWORD",
        type=_arg_auth,
        default=DEFAULT_AUTH,
        help="SMTP AUTH: 'none' (not offered), 'any' (offered, any credentials accepted, "
        "not required) or 'USER:PASSWORD' (required) (default: %(default)s)",
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
        type=_arg_regex,
        help="only accept recipients matching REGEX (searched); others get 550",
    )
    g.add_argument(
        "--hostname",
        metavar="NAME",
        default=None,
        help="name in the SMTP greeting (default: mailcatcher-gui)",
    )


def build_parser() -> argparse.ArgumentParser:
    db = str(paths.default_db_path())
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="A desktop mail catcher for developers: catches SMTP on localhost, "
        "stores every message and shows it. Without a command, opens the window.",
        epilog=f"The default store and certificates live in {Path(db).parent} "
        f"(set {paths.HOME_ENV} to use another folder).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    gui = sub.add_parser("gui", help="open the window (the default)")
    _add_sink_options(gui)
    _add_db(gui, db)
    gui.add_argument("files", nargs="*", metavar="FILE", help=".eml files to open")
    gui.set_defaults(handler=_cmd_gui)

    serve = sub.add_parser(
        "serve",
        help="run the SMTP sink without a window",
        description="Run the SMTP sink headless. Prints 'SMTP listening on HOST:PORT' (and "
        "'SMTPS ...') first; SIGINT/SIGTERM stop it after finishing queued writes.",
    )
    _add_sink_options(serve)
    _add_db(serve, db)
    serve.add_argument(
        "-v", "--verbose", action="store_true", help="print one line per captured message"
    )
    serve.set_defaults(handler=_cmd_serve)

    _add_messages_parser(sub, db)
    _add_send_parser(sub)
    return parser


def _add_messages_parser(sub: Any, db: str) -> None:
    messages = sub.add_parser("messages", help="list, show, import and export stored messages")
    msub = messages.add_subparsers(dest="action", metavar="ACTION", required=True)

    p = msub.add_parser("list", help="list messages, newest first")
    p.add_argument("--search", "-s", metavar="QUERY", help="search query (as in the window)")
    p.add_argument(
        "--limit", type=_arg_count, default=100, help="at most N (0 = all; default: %(default)s)"
    )
    p.add_argument("--offset", type=_arg_count, default=0, help="skip the first N")
    p.add_argument("--json", action="store_true", help="JSON array (stable field names)")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_list)

    p = msub.add_parser("show", help="show one message (does not mark it read)")
    p.add_argument("id", type=_arg_id)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--json", dest="mode", action="store_const", const="json")
    mode.add_argument(
        "--raw", dest="mode", action="store_const", const="raw", help="the exact stored bytes"
    )
    mode.add_argument("--text", dest="mode", action="store_const", const="text")
    mode.add_argument("--html", dest="mode", action="store_const", const="html")
    mode.add_argument("--headers", dest="mode", action="store_const", const="headers")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_show, mode="summary")

    p = msub.add_parser("attachment", help="save an attachment (INDEX from 'show')")
    p.add_argument("id", type=_arg_id)
    p.add_argument("index", type=_arg_count)
    p.add_argument(
        "-o",
        "--output",
        metavar="PATH",
        help="file or existing folder to save to, '-' for stdout "
        "(default: the attachment's sanitised name in the current folder)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing -o FILE")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_attachment)

    p = msub.add_parser("delete", help="delete messages")
    p.add_argument("ids", nargs="+", type=_arg_id, metavar="ID")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_delete)

    p = msub.add_parser("clear", help="delete every message")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_clear)

    for name, read in (("read", True), ("unread", False)):
        p = msub.add_parser(name, help=f"mark messages as {name}")
        p.add_argument("ids", nargs="+", type=_arg_id, metavar="ID")
        _add_db(p, db)
        p.set_defaults(handler=_cmd_mark, read=read)

    p = msub.add_parser(
        "import",
        help="import .eml files, mbox files, Maildir folders or folders of .eml files",
        description="Import messages. Each PATH may be an .eml file, an mbox file (starts "
        "with 'From '), a Maildir (has cur/ and new/) or a folder (every *.eml below it); "
        "'-' reads one message (or an mbox) from stdin. Bytes are stored as they are.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument(
        "--format", choices=("eml", "mbox", "maildir", "directory"), help="skip auto-detection"
    )
    p.add_argument("--json", action="store_true", help="print the new ids as JSON")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_import)

    p = msub.add_parser("export", help="export messages to .eml files, an mbox or a Maildir")
    p.add_argument("--search", "-s", metavar="QUERY", help="only messages matching QUERY")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--dir", metavar="DIR", help="one NNNN-subject.eml file per message")
    target.add_argument("--mbox", metavar="FILE", help="one mboxrd file ('-' for stdout)")
    target.add_argument("--maildir", metavar="DIR", help="a Maildir (messages go to new/)")
    p.add_argument("--append", action="store_true", help="append to an existing --mbox FILE")
    _add_db(p, db)
    p.set_defaults(handler=_cmd_export)


def _add_send_parser(sub: Any) -> None:
    import importlib

    try:
        cli_send = importlib.import_module("mailcatcher_gui.cli_send")
    except ModuleNotFoundError as exc:
        if exc.name != "mailcatcher_gui.cli_send":
            raise
        p = sub.add_parser("send", help="send a test message (not available in this build)")
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(handler=_send_unavailable)
        return
    before = set(sub.choices)
    cli_send.add_send_parser(sub)
    for name in set(sub.choices) - before:
        parser = sub.choices[name]
        if parser.get_default("handler") is None:
            parser.set_defaults(handler=cli_send.run_send)


def _send_unavailable(args: argparse.Namespace) -> int:
    raise CliError("the 'send' command is not available in this build")


# ---------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (never raises SystemExit)."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    # "mailcatcher-gui", "mailcatcher-gui FILE.eml" and "mailcatcher-gui --smtp ..."
    # all mean the window: argparse cannot mix optional subcommands and positionals.
    if not args_list or (
        args_list[0] not in _COMMANDS and args_list[0] not in ("-h", "--help", "--version")
    ):
        args_list.insert(0, "gui")
    parser = build_parser()
    try:
        args = parser.parse_args(args_list)
    except SystemExit as exc:  # --help, --version, usage errors
        return _exit_code(exc)
    if getattr(args, "handler", None) is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        return _error(str(exc), exc.code)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return _exit_code(exc)
    except Exception as exc:
        described = _describe_user_error(exc)
        if described is None:
            raise
        return _error(*described)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return EXIT_ERROR


def _error(message: str, code: int = EXIT_ERROR) -> int:
    message = " ".join(str(message).split())  # one line, always
    print(f"{PROG}: error: {message}", file=sys.stderr, flush=True)
    return code


def _describe_user_error(exc: Exception) -> tuple[str, int] | None:
    """Map environment and input errors from the core to (message, exit code)."""
    from mailcatcher_gui.core.store.database import MessageNotFound, StoreError
    from mailcatcher_gui.core.store.search import QueryError

    if isinstance(exc, MessageNotFound):
        return str(exc), EXIT_ERROR
    if isinstance(exc, QueryError):
        return f"bad search query: {exc}", EXIT_ERROR
    if isinstance(exc, StoreError):
        return str(exc), EXIT_ERROR
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror or exc}{where}", EXIT_ERROR
    return None


def _silence_stdout() -> None:
    """After EPIPE (``... | head``), point stdout at devnull so exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


# ---------------------------------------------------------------------------
# Output helpers
# ---------------------------------------------------------------------------


def _out(text: str = "", end: str = "\n") -> None:
    """Human output: characters the terminal cannot show become '?' instead of crashing."""
    stream = sys.stdout
    encoding = getattr(stream, "encoding", None) or "utf-8"
    stream.write((text + end).encode(encoding, "replace").decode(encoding, "replace"))


def _out_bytes(data: bytes) -> None:
    sys.stdout.flush()
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


def _out_json(value: Any) -> None:
    """JSON is always UTF-8 (RFC 8259), whatever the locale; lone surrogates become '?'."""
    text = json.dumps(value, ensure_ascii=False, indent=2)
    _out_bytes(text.encode("utf-8", "replace") + b"\n")


def message_to_json(opened: OpenedMessage) -> dict[str, Any]:
    """The ``messages show --json`` object: the list fields plus the full parse."""
    stored, parsed = opened.stored, opened.parsed
    data = stored.summary.to_json()
    data.update(
        headers=[[h.name, h.value] for h in parsed.headers],
        text=parsed.text,
        html=parsed.html,
        attachments=[a.to_json() for a in parsed.attachments],
        parts=[p.to_json() for p in parsed.parts],
        defects=list(parsed.defects),
        peer=stored.peer,
        helo=stored.helo,
        tls=stored.tls.to_json() if stored.tls else None,
        auth_user=stored.auth_user,
        transcript=list(stored.transcript),
        source=stored.source,
    )
    return data


def _body(text: str) -> str:
    """A body for the terminal: CRLF as plain newlines, ending with exactly one newline
    (``--raw`` is the way to get the bytes as they are)."""
    text = text.replace("\r\n", "\n")
    return text if text.endswith("\n") else text + "\n"


def _human_size(n: int) -> str:
    """The app's one size format (``core.units.format_size``)."""
    return format_size(n)


def _fit(text: str, width: int) -> str:
    text = " ".join(text.split())
    if len(text) <= width:
        return text.ljust(width)
    return text[: width - 1] + "…"


def _when(summary: MessageSummary) -> str:
    return summary.received_at.strftime("%Y-%m-%d %H:%M:%S")


# ---------------------------------------------------------------------------
# gui / serve
# ---------------------------------------------------------------------------


def _cmd_gui(args: argparse.Namespace) -> int:
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"cannot open {name}: no such file")
        if not os.access(path, os.R_OK):
            raise CliError(f"cannot open {name}: permission denied")
    sink_config_from_args(args)  # fail here, with exit 2, rather than inside the window
    args.db = str(db_path_from_args(args))
    # A runtime import by name: the command-line module itself stays free of
    # Qt in the import graph (import-linter), only ``gui`` pulls the app in.
    import importlib

    try:
        run_gui = importlib.import_module("mailcatcher_gui.app").run_gui
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] in {"PySide6", "shiboken6", "qasync"}:
            raise CliError(
                f"the window needs {exc.name.split('.')[0]}, which is not installed; "
                f"'{PROG} serve' runs the SMTP sink without a window"
            ) from exc
        raise
    return int(run_gui(args) or 0)


def _cmd_serve(args: argparse.Namespace) -> int:
    import asyncio

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiosmtpd logs several INFO lines per connection; -v means "one line per
    # captured message" (printed by _serve), not aiosmtpd's chatter.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    config = sink_config_from_args(args)
    mailbox = open_mailbox(args)
    try:
        with asyncio.Runner() as runner:
            return runner.run(_serve(config, mailbox, verbose=args.verbose))
    except KeyboardInterrupt:  # no signal handlers on this platform: Ctrl+C still stops cleanly
        return EXIT_OK
    finally:
        mailbox.close()


async def _serve(config: SinkConfig, mailbox: Mailbox, *, verbose: bool) -> int:
    import asyncio
    import contextlib
    import signal

    from mailcatcher_gui.core.models import MessagesAdded
    from mailcatcher_gui.core.smtp.sink import PortInUse, SinkStartError, start_sink

    try:
        running = await start_sink(config, mailbox)
    except PortInUse as exc:
        return _error(str(exc), EXIT_USAGE)
    except SinkStartError as exc:
        return _error(str(exc), EXIT_ERROR)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    installed: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)

    def announce(event: object) -> None:
        if isinstance(event, MessagesAdded):
            for s in event.summaries:
                to = ", ".join(s.envelope_to)
                _out(
                    f"#{s.id} from <{s.envelope_from}> to {to or '-'} "
                    f"subject {json.dumps(s.subject, ensure_ascii=False)} size {s.size}"
                )
            sys.stdout.flush()

    unsubscribe = mailbox.subscribe(announce) if verbose else None
    try:
        for kind, host, port in running.listeners:
            shown = f"[{host}]" if ":" in host else host
            _out(f"{kind.upper()} listening on {shown}:{port}")
        sys.stdout.flush()
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await running.stop()
        if unsubscribe is not None:
            unsubscribe()
    return EXIT_OK


# ---------------------------------------------------------------------------
# messages ...
# ---------------------------------------------------------------------------


def _cmd_list(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        limit = args.limit or max(store.count(args.search), 1)
        summaries = store.list(query=args.search, offset=args.offset, limit=limit)
        if args.json:
            _out_json([s.to_json() for s in summaries])
            return EXIT_OK
        if not summaries:
            _out("no messages" + (" match" if args.search else ""))
            return EXIT_OK
        _out(f"  {'ID':>5}  {'RECEIVED (UTC)':<19}  {'FROM':<28}  {'TO':<28}  SUBJECT")
        for s in summaries:
            unread = "*" if not s.read else " "
            to = ", ".join(s.to or s.envelope_to)
            attach = f" [{s.attachments} att]" if s.attachments else ""
            _out(
                f"{unread} {s.id:>5}  {_when(s)}  {_fit(s.from_ or s.envelope_from, 28)}  "
                f"{_fit(to, 28)}  {' '.join(s.subject.split()) or '(no subject)'}"
                f"  ({_human_size(s.size)}{attach})"
            )
        total = store.count(args.search)
        if total > len(summaries) + args.offset:
            _out(f"({len(summaries)} of {total} shown; use --limit 0 for all)")
    return EXIT_OK


def _open_message(store: Store, message_id: int) -> OpenedMessage:
    from mailcatcher_gui.core.mime.parse import parse_message
    from mailcatcher_gui.core.models import OpenedMessage

    stored = store.get(message_id)
    return OpenedMessage(stored=stored, parsed=parse_message(stored.raw))


#: What ``messages show`` can print; "summary" is the default human view.
SHOW_MODES = ("summary", "json", "raw", "text", "html", "headers")


def _cmd_show(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        show_message(store, args.id, args.mode)
    return EXIT_OK


def show_message(store: Store, message_id: int, mode: str = "summary") -> None:
    """Print one message to stdout in ``mode`` (one of ``SHOW_MODES``).

    Has no side effects on the store (showing does not mark read). Raises
    ``MessageNotFound``, or ``CliError`` when the asked-for body does not exist.
    """
    if mode not in SHOW_MODES:
        raise ValueError(f"unknown show mode {mode!r}")
    if mode == "raw":
        _out_bytes(store.get_raw(message_id))
        return
    opened = _open_message(store, message_id)
    parsed = opened.parsed
    if mode == "json":
        _out_json(message_to_json(opened))
    elif mode == "text":
        if parsed.text is None:
            raise CliError(f"message {message_id} has no text part (try --html or --raw)")
        _out(_body(parsed.text), end="")
    elif mode == "html":
        if parsed.html is None:
            raise CliError(f"message {message_id} has no HTML part (try --text or --raw)")
        _out(_body(parsed.html), end="")
    elif mode == "headers":
        for h in parsed.headers:
            _out(f"{h.name}: {h.value}")
    else:
        _show_summary(opened)


def _show_summary(opened: OpenedMessage) -> None:
    stored, parsed = opened.stored, opened.parsed
    s = stored.summary
    _out(f"Message {s.id} ({'read' if s.read else 'unread'}, {_human_size(s.size)})")
    origin = f" from {stored.peer}" if stored.peer else ""
    if stored.helo:
        origin += f" (HELO {stored.helo})"
    if stored.tls:
        origin += f" over {stored.tls.version}"
    if stored.auth_user:
        origin += f" as {stored.auth_user}"
    _out(f"Received:   {_when(s)} UTC via {stored.source}{origin}")
    _out(f"Envelope:   <{s.envelope_from}> -> {', '.join(s.envelope_to) or '-'}")
    for label, name in (("From", "from"), ("To", "to"), ("Cc", "cc"), ("Subject", "subject")):
        value = parsed.header(name)
        if value is not None:
            _out(f"{label + ':':<11} {' '.join(value.split())}")
    date = parsed.header("date")
    if date is not None:
        _out(f"{'Date:':<11} {date}")
    if parsed.attachments:
        _out("Attachments:")
        for a in parsed.attachments:
            flag = " inline" if a.inline else ""
            _out(f"  [{a.index}] {a.filename} ({a.content_type}, {_human_size(a.size)}{flag})")
    if parsed.defects:
        _out(f"Defects:    {len(parsed.defects)} (see --json)")
    _out()
    if parsed.text is not None:
        _out(_body(parsed.text), end="")
    elif parsed.html is not None:
        _out("(HTML only; use --html to print it, or open it in the window)")
    else:
        _out("(no text body)")


def _cmd_attachment(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core.mailio import safe_filename, write_new_file

    with open_store(args) as store:
        opened = _open_message(store, args.id)
    attachments = opened.parsed.attachments
    match = [a for a in attachments if a.index == args.index]
    if not match:
        raise CliError(
            f"message {args.id} has no attachment {args.index} "
            f"(it has {len(attachments)}; see 'messages show {args.id}')"
        )
    att = match[0]
    fallback = f"message-{args.id}-attachment-{args.index}"
    if args.output == "-":
        _out_bytes(att.data)
        return EXIT_OK
    if args.output is None or Path(args.output).is_dir():
        folder = Path(args.output) if args.output else Path.cwd()
        path = write_new_file(folder, safe_filename(att.filename, fallback), att.data)
    else:
        path = Path(args.output)
        if path.exists() and not args.force:
            raise CliError(f"{path} already exists; pass --force to overwrite it")
        with open(path, "wb" if args.force else "xb") as fh:
            fh.write(att.data)
    _out(str(path))
    return EXIT_OK


def _cmd_delete(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        deleted = set(store.delete(args.ids))
    missing = [i for i in dict.fromkeys(args.ids) if i not in deleted]
    _out(f"deleted {len(deleted)} message(s)")
    if missing:
        raise CliError("no message with id " + ", ".join(str(i) for i in missing))
    return EXIT_OK


def _cmd_clear(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        n = store.clear()
    _out(f"deleted {n} message(s)")
    return EXIT_OK


def _cmd_mark(args: argparse.Namespace) -> int:
    with open_store(args) as store:
        for message_id in args.ids:
            store.get_summary(message_id)  # MessageNotFound before changing anything
        changed = store.set_read(args.ids, args.read)
    _out(f"marked {len(changed)} message(s) {'read' if args.read else 'unread'}")
    return EXIT_OK


def _iter_import_sources(path_text: str, fmt: str | None) -> tuple[str, Iterator[Any]]:
    from mailcatcher_gui.core import mailio

    if path_text == "-":
        data = sys.stdin.buffer.read()
        if fmt == "mbox" or (fmt is None and data.startswith(b"From ")):
            return "mbox", mailio.iter_mbox(data.splitlines(keepends=True), origin="stdin")
        return "eml", iter([mailio.SourceMessage(data, "stdin")])
    path = Path(path_text)
    if not path.exists():
        raise FileNotFoundError(2, "No such file or directory", path_text)
    kind = fmt or mailio.detect_format(path)
    return kind, mailio.iter_messages(path, kind)


def _cmd_import(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core import mailio

    mailbox = open_mailbox(args)
    all_ids: list[int] = []
    failures = 0
    try:
        for path_text in args.paths:
            try:
                kind, sources = _iter_import_sources(path_text, args.format)
                ids, skipped = _import_batches(mailbox, sources, mailio.capture_for_import)
            except OSError as exc:
                failures += 1
                where = exc.filename or path_text
                _error(f"cannot import {where}: {exc.strerror or exc}")
                continue
            all_ids.extend(ids)
            note = f", {skipped} empty skipped" if skipped else ""
            if not args.json:
                _out(f"{path_text}: imported {len(ids)} message(s) ({kind}{note})")
    finally:
        mailbox.close()
    if args.json:
        _out_json({"imported": len(all_ids), "ids": all_ids, "failed": failures})
    elif len(args.paths) > 1:
        _out(f"imported {len(all_ids)} message(s) in total")
    return EXIT_ERROR if failures else EXIT_OK


def _import_batches(
    mailbox: Mailbox, sources: Iterator[Any], to_capture: Callable[[Any], Any]
) -> tuple[list[int], int]:
    ids: list[int] = []
    skipped = 0
    batch = []
    for source in sources:
        if not source.raw.strip():
            skipped += 1
            continue
        batch.append(to_capture(source))
        if len(batch) >= _IMPORT_BATCH:
            ids.extend(mailbox.accept_many_sync(batch))
            batch = []
    if batch:
        ids.extend(mailbox.accept_many_sync(batch))
    return ids, skipped


def _cmd_export(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core import mailio

    with open_store(args) as store:
        ids = list(reversed(store.ids(args.search)))  # oldest first, like a mailbox

        def messages() -> Iterator[Any]:
            for message_id in ids:
                try:
                    yield store.get(message_id)
                except KeyError:  # deleted by someone else meanwhile
                    continue

        if args.dir is not None:
            folder = Path(args.dir)
            folder.mkdir(parents=True, exist_ok=True)
            n = sum(1 for m in messages() if mailio.export_eml(folder, m))
            where = str(folder)
        elif args.maildir is not None:
            n = sum(1 for m in messages() if mailio.export_maildir_message(args.maildir, m))
            where = args.maildir
        elif args.mbox == "-":
            sys.stdout.flush()
            n = mailio.write_mbox(sys.stdout.buffer, messages())
            sys.stdout.buffer.flush()
            print(f"exported {n} message(s) to stdout", file=sys.stderr)
            return EXIT_OK
        else:
            mbox = Path(args.mbox)
            if mbox.exists() and not args.append:
                raise CliError(f"{mbox} already exists; pass --append to add to it")
            with open(mbox, "ab" if args.append else "xb") as fh:
                n = mailio.write_mbox(fh, messages())
            where = str(mbox)
    _out(f"exported {n} message(s) to {where}")
    return EXIT_OK
