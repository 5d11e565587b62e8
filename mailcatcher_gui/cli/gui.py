"""``mailcatcher-gui [gui]``: open the window.

Qt is never imported by the command line itself: ``mailcatcher_gui.app`` is
imported by name only when this command runs, so ``serve`` and ``messages``
work on machines without a display or without PySide6.
"""

from __future__ import annotations

import argparse
import importlib
import os
from pathlib import Path
from typing import Any

from mailcatcher_gui.core.options import (
    db_path_from_args,
    http_config_from_args,
    sink_config_from_args,
)

from .common import EXIT_USAGE, PROG, CliError, add_db, add_http_options, add_sink_options


def add_gui_parser(sub: Any, db: str) -> None:
    gui = sub.add_parser("gui", help="open the window (the default)")
    add_sink_options(gui)
    add_http_options(gui)
    add_db(gui, db)
    gui.add_argument("files", nargs="*", metavar="FILE", help=".eml files to open")
    gui.add_argument(
        "--remote",
        metavar="URL",
        help="show the messages of a shared catcher (another 'serve --http' or Mailpit) "
        "instead of this app's own mailbox",
    )
    gui.add_argument(
        "--remote-user",
        metavar="USER",
        default="",
        help="Basic auth user for --remote; the password comes from the keyring "
        "or MAILCATCHER_REMOTE_PASSWORD",
    )
    gui.set_defaults(handler=cmd_gui)


def cmd_gui(args: argparse.Namespace) -> int:
    for name in args.files:
        path = Path(name)
        if not path.is_file():
            raise CliError(f"cannot open {name}: no such file")
        if not os.access(path, os.R_OK):
            raise CliError(f"cannot open {name}: permission denied")
    sink_config_from_args(args)  # fail here, with exit 2, rather than inside the window
    http_config_from_args(args)
    if getattr(args, "remote_user", "") and not getattr(args, "remote", None):
        raise CliError("--remote-user needs --remote URL", EXIT_USAGE)
    if getattr(args, "remote", None):
        from mailcatcher_gui.core.remote.client import parse_catcher_url

        try:
            args.remote = parse_catcher_url(args.remote)
        except ValueError as exc:
            raise CliError(f"--remote: {exc}", EXIT_USAGE) from None
    args.db = str(db_path_from_args(args))
    # A runtime import by name: the command line stays free of Qt in the
    # import graph (import-linter); only ``gui`` pulls the app in.
    try:
        run_gui = importlib.import_module("mailcatcher_gui.launch").run_gui
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top in {"PySide6", "shiboken6", "qasync"}:
            raise CliError(
                f"the window needs {top}, which is not installed; "
                f"'{PROG} serve' runs the SMTP sink without a window"
            ) from exc
        raise
    return int(run_gui(args) or 0)
