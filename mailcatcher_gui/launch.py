"""``run_gui``: the window's process from start to exit (``mailcatcher-gui [gui]``).

It

1. refuses politely when there is no display (exit 2, one line) instead of
   letting Qt abort;
2. prepares QtWebEngine before ``QApplication`` exists (URL scheme, shared
   GL contexts, no Chromium sandbox when running as root) and installs the
   crash handling;
3. opens the store and mailbox and has ``app.build_gui`` (the composition
   root) build the ``GuiApp``, then runs it on a qasync loop: the aiosmtpd
   sink, the aiohttp API and the Qt widgets share the main thread;
4. tears down in a fixed order so the process exits 0 every time.

``build_gui`` is looked up on the ``app`` module at call time, so a probe
(``benchmarks/gui_probe.py``) can wrap it.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from . import app
from .core.mailbox import Mailbox
from .core.sending import ProfileStore
from .crash import crash_log_path, enable_faulthandler
from .ui.crash_report import CrashReporter, install_qt_message_handler
from .ui.main_thread_gc import MainThreadCollector
from .ui.startup import (
    EXIT_NO_DISPLAY,
    configure_qapp,
    install_quit_timer,
    missing_display,
    prepare_webengine,
    uninstall_crash_handling,
)
from .ui.theme import apply_theme, follow_system_scheme
from .ui.window.listener_prefs import initial_config, initial_http
from .ui.window.settings import AppSettings

__all__ = ["run_gui"]


def run_gui(args: Any) -> int:
    """Open the window (``mailcatcher-gui [gui]``); returns the exit status."""
    problem = missing_display()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_NO_DISPLAY
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.WARNING, format="mailcatcher-gui: %(levelname)s: %(message)s"
        )

    from .core import paths
    from .core.store.database import Store, StoreError

    # Crashes must not vanish: hard crashes and uncaught exceptions go to
    # the crash log, Qt's messages into logging, slot errors into a dialog.
    crash_path = crash_log_path()
    fault_file = enable_faulthandler(crash_path)
    install_qt_message_handler()
    prepare_webengine()
    qapp = configure_qapp()
    gui: app.GuiApp | None = None
    reporter = CrashReporter(crash_path, QApplication.activeWindow)
    reporter.install()
    settings = AppSettings.open_default()
    prefs = settings.preferences()
    apply_theme(qapp, prefs.theme)
    follow_system_scheme(qapp, lambda: settings.preferences().theme)
    try:
        config, retention = initial_config(args, prefs)
        http, http_on = initial_http(args, prefs)
        store = Store(args.db)
    except (ValueError, StoreError) as exc:
        print(f"mailcatcher-gui: error: {exc}", file=sys.stderr)
        uninstall_crash_handling(reporter, fault_file)
        return 1 if isinstance(exc, StoreError) else 2

    from mailcatcher_gui.ui.event_loop import QtAsyncLoop

    mailbox = Mailbox(store, max_messages=retention)
    timers: list[QTimer] = []
    code = 1
    # Cycles holding Qt objects must die on this thread, never on the mailbox
    # writer's (see ui/main_thread_gc.py).
    collector = MainThreadCollector()
    collector.start()
    try:
        gui = app.build_gui(
            qapp,
            mailbox,
            config,
            settings,
            profiles=ProfileStore(paths.config_dir()),
            http=http,
            http_on=http_on,
        )
        files = list(getattr(args, "files", None) or [])
        if files:
            gui.window.open_file(files[0])
            if len(files) > 1:
                gui.window.statusBar().showMessage(
                    f"Showing {Path(files[0]).name}; {len(files) - 1} more file(s) given — "
                    "use File ▸ Import to store them all.",
                    10000,
                )
        remote = (getattr(args, "remote", None), getattr(args, "remote_user", None))
        problem = gui.catchers.connect_on_start(*remote)
        if problem:
            print(f"mailcatcher-gui: error: {problem}", file=sys.stderr)
        else:
            timers = install_quit_timer(gui.request_quit)
            with asyncio.Runner(loop_factory=lambda: QtAsyncLoop(qapp)) as runner:
                code = runner.run(gui.run(handle_signals=True))
    finally:
        for t in timers:
            t.stop()
        if gui is not None:
            gui.close()
        mailbox.close()
        uninstall_crash_handling(reporter, fault_file)
    del gui, timers
    gc.collect()  # the writer thread is gone: this is the last collection, here
    collector.stop()
    return code
