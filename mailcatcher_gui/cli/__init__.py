"""The ``mailcatcher-gui`` command: the window, a headless sink, and scripting.

::

    mailcatcher-gui [gui] [OPTIONS] [FILE.eml ...]   the window (default)
    mailcatcher-gui serve [OPTIONS]                  headless SMTP sink
    mailcatcher-gui messages list|show|attachment|delete|clear|read|unread|import|export|check
    mailcatcher-gui send ...                         send a test message

One module per command (``gui``, ``serve``, ``messages``, ``send``);
``common`` holds what they share. Option defaults and the options -> core
objects conversion are in ``core.options`` (the window uses them too, so
neither front end imports the other).

Errors the user can fix (unknown id, unreadable file, bad query, busy port)
are one ``mailcatcher-gui: error: ...`` line on stderr and a non-zero exit:
1 for bad input or a missing message, 2 for usage errors and a busy port.
Anything else is a bug: one ``mailcatcher-gui: internal error: ...`` line,
exit 1, and the traceback appended to ``crash.log`` in the data folder
(``mailcatcher_gui.crash``, the crash log's one writer, shared with the
window; ``MAILCATCHER_GUI_DEBUG=1`` lets it propagate instead, for developers).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from mailcatcher_gui import __version__
from mailcatcher_gui.core import paths
from mailcatcher_gui.core.options import ConfigError
from mailcatcher_gui.crash import DEBUG_ENV, report_cli_crash

from .common import EXIT_ERROR, EXIT_OK, EXIT_USAGE, PROG, CliError, error
from .gui import add_gui_parser
from .messages import SHOW_MODES, add_messages_parser, message_to_json, show_message
from .send import add_send_parser
from .serve import add_serve_parser

__all__ = [
    "EXIT_ERROR",
    "EXIT_OK",
    "EXIT_USAGE",
    "PROG",
    "SHOW_MODES",
    "CliError",
    "build_parser",
    "main",
    "message_to_json",
    "show_message",
]

_COMMANDS = ("gui", "serve", "messages", "send")


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
    add_gui_parser(sub, db)
    add_serve_parser(sub, db)
    add_messages_parser(sub, db)
    add_send_parser(sub)
    return parser


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
        return error(str(exc), exc.code)
    except ConfigError as exc:
        return error(str(exc), EXIT_USAGE)
    except BrokenPipeError:
        _silence_stdout()
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        return _exit_code(exc)
    except Exception as exc:
        described = _describe_user_error(exc)
        if described is not None:
            return error(*described)
        if os.environ.get(DEBUG_ENV, "") not in ("", "0"):
            raise
        return _internal_error(exc, args.command)


def _exit_code(exc: SystemExit) -> int:
    if exc.code is None:
        return 0
    if isinstance(exc.code, int):
        return exc.code
    print(exc.code, file=sys.stderr)
    return EXIT_ERROR


def _describe_user_error(exc: Exception) -> tuple[str, int] | None:
    """Map environment and input errors from the core to (message, exit code)."""
    from mailcatcher_gui.core.store import MessageNotFound, QueryError, StoreError

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


def _internal_error(exc: Exception, command: str | None) -> int:
    """A bug: one line on stderr, the traceback kept in the crash log (exit 1).

    The log entry names the command, never the command line: it may hold
    ``--auth USER:PASSWORD``.
    """
    return report_cli_crash(PROG, exc, context=f"command {command or '-'}")


def _silence_stdout() -> None:
    """After EPIPE (``... | head``), point stdout at devnull so exit does not complain."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
