"""Crashes must not vanish: a crash log, faulthandler, and a clean CLI line.

Plain Python (no Qt), shared by both fronts:

* ``crash_log_path`` -- ``<data dir>/crash.log``: full tracebacks go there,
  appended, each with a time stamp, so a user can attach it to a report.
* ``enable_faulthandler`` -- hard crashes (segfaults in Qt/Chromium, aborts)
  dump every thread's Python stack into the same file.
* ``install_cli_excepthook`` -- for the command line: an uncaught exception
  prints ONE clean line (what happened, where the details are) instead of a
  traceback, writes the traceback to the crash log and exits 1.

The window installs its own hook (``ui.crash_dialog``) that shows a dialog
with the traceback and the log path and keeps running.
"""

from __future__ import annotations

import faulthandler
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from .core import paths

CRASH_LOG_NAME = "crash.log"
EXIT_CRASH = 1

ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], object]


def crash_log_path(data_dir: Path | None = None) -> Path:
    """Where tracebacks and faulthandler dumps go (``<data dir>/crash.log``)."""
    return (data_dir if data_dir is not None else paths.data_dir()) / CRASH_LOG_NAME


def format_crash(
    exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> str:
    """A time-stamped traceback, as written to the crash log."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    body = "".join(traceback.format_exception(exc_type, exc, tb))
    return f"---- {stamp} uncaught exception\n{body}"


def append_crash(path: Path, text: str) -> bool:
    """Append ``text`` to the crash log; False if it cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
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
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = path.open("a", encoding="utf-8")
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
) -> int:
    """Log ``exc``'s traceback to the crash log, print one line; returns the exit status.

    For a command-line front's ``except Exception`` (and used by the hook).
    """
    path = log_path if log_path is not None else crash_log_path()
    logged = append_crash(path, format_crash(type(exc), exc, exc.__traceback__))
    where = f" (details in {path})" if logged else ""
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
