"""Crashes must not vanish: a crash log, faulthandler, and a clean CLI line.

Plain Python (no Qt), shared by both fronts:

* ``crash_log_path`` -- ``<data dir>/crash.log``: full tracebacks go there,
  appended, each with a time stamp, so a user can attach it to a report.
* ``enable_faulthandler`` -- hard crashes (segfaults in Qt/Chromium, aborts)
  dump every thread's Python stack into the same file.
* ``report_cli_crash`` -- for the command line (``cli.main``'s last
  ``except``): ONE clean line (what happened, where the details are) instead
  of a traceback, the traceback in the crash log, exit status 1.
  ``install_cli_excepthook`` does the same as a ``sys.excepthook``.

The window's hook (``ui.crash_report.CrashReporter``) writes the same log
entry through ``format_crash``/``append_crash`` and shows a dialog instead
of the line. This module is the only writer of the crash log.

The log is private (0600 in a 0700 folder, as the store is): a traceback can
quote message content. The command line is never written to it -- it may hold
``--auth USER:PASSWORD``.
"""

from __future__ import annotations

import faulthandler
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from . import __version__
from .core import paths

CRASH_LOG_NAME = "crash.log"
EXIT_CRASH = 1
#: Set to 1 to let an unexpected CLI exception propagate with its traceback.
DEBUG_ENV = "MAILCATCHER_GUI_DEBUG"

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def crash_log_path(data_dir: Path | None = None) -> Path:
    """Where tracebacks and faulthandler dumps go (``<data dir>/crash.log``)."""
    return (data_dir if data_dir is not None else paths.data_dir()) / CRASH_LOG_NAME


def format_crash(
    exc_type: type[BaseException],
    exc: BaseException,
    tb: TracebackType | None,
    context: str | None = None,
) -> str:
    """A time-stamped traceback, as written to the crash log.

    The header names the version and process (and ``context``, e.g. the CLI
    command) so entries from several runs in one log can be told apart.
    """
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    where = f", {context}" if context else ""
    body = "".join(traceback.format_exception(exc_type, exc, tb))
    return (
        f"---- {stamp} uncaught exception, mailcatcher-gui {__version__}{where}, "
        f"pid {os.getpid()}\n{body}"
    )


def _open_private(path: Path) -> IO[str]:
    """Open the log for appending: 0600, its missing folders 0700."""
    paths.ensure_parent(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace")


def append_crash(path: Path, text: str) -> bool:
    """Append ``text`` to the crash log; False if it cannot be written."""
    try:
        with _open_private(path) as fh:
            fh.write(text if text.endswith("\n") else text + "\n")
    except OSError:
        return False
    return True


def one_line(exc_type: type[BaseException], exc: BaseException) -> str:
    """``RuntimeError: boom`` on one line (newlines in the message folded)."""
    message = " ".join(str(exc).split())
    return f"{exc_type.__name__}: {message}" if message else exc_type.__name__


def enable_faulthandler(path: Path) -> IO[str] | None:
    """Dump hard crashes into ``path``; returns the open file (keep it open)."""
    try:
        fh = _open_private(path)
    except OSError:
        return None
    faulthandler.enable(file=fh, all_threads=True)
    return fh


def disable_faulthandler(fh: IO[str] | None) -> None:
    if fh is not None:
        faulthandler.disable()
        fh.close()


def report_cli_crash(
    prog: str,
    exc: BaseException,
    log_path: Path | None = None,
    context: str | None = None,
) -> int:
    """Log ``exc``'s traceback to the crash log, print one line; returns the exit status.

    For a command-line front's ``except Exception`` (and used by the hook).
    ``context`` goes into the log entry's header (never the command line).
    """
    path = log_path if log_path is not None else crash_log_path()
    logged = append_crash(path, format_crash(type(exc), exc, exc.__traceback__, context))
    where = (
        f" (details in {path})"
        if logged
        else f" (the crash log could not be written; set {DEBUG_ENV}=1 to see the traceback)"
    )
    print(f"{prog}: internal error: {one_line(type(exc), exc)}{where}", file=sys.stderr)
    sys.stderr.flush()
    return EXIT_CRASH


def cli_excepthook(prog: str, log_path: Path | None = None) -> ExceptHook:
    """The hook ``install_cli_excepthook`` installs.

    The interpreter exits with status 1 after an uncaught exception; the hook
    only decides what the user sees (one line, not a traceback).
    """

    def hook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        report_cli_crash(prog, exc, log_path)

    return hook


def install_cli_excepthook(
    prog: str = "mailcatcher-gui", log_path: Path | None = None
) -> ExceptHook:
    """Replace ``sys.excepthook`` for the command line; returns the previous hook."""
    previous = sys.excepthook
    sys.excepthook = cli_excepthook(prog, log_path)
    return previous
