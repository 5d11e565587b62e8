"""Process-level start-up of the window: what must happen around ``QApplication``.

Split from ``app.py`` (the composition root) because none of it composes
anything: the display check, QtWebEngine's before-``QApplication`` steps,
the ``QApplication`` settings, signal handlers, the quit-after test hook and
undoing the crash handling. ``launch.run_gui`` calls them in order.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping
from typing import IO

from PySide6.QtCore import QCoreApplication, Qt, QTimer
from PySide6.QtWidgets import QApplication

from ..crash import disable_faulthandler
from .crash_report import CrashReporter, remove_qt_message_handler
from .theme import app_icon

__all__ = [
    "EXIT_NO_DISPLAY",
    "QUIT_AFTER_ENV",
    "add_signal_handlers",
    "configure_qapp",
    "install_quit_timer",
    "missing_display",
    "prepare_webengine",
    "uninstall_crash_handling",
]

log = logging.getLogger("mailcatcher_gui.app")

QUIT_AFTER_ENV = "MAILCATCHER_GUI_QUIT_AFTER_MS"
EXIT_NO_DISPLAY = 2


def missing_display(
    environ: Mapping[str, str] | None = None, platform: str | None = None
) -> str | None:
    """A one-line explanation when no window can be shown, else None.

    Only X11/Wayland systems can lack a display; ``QT_QPA_PLATFORM`` (e.g.
    ``offscreen``) means the caller chose a platform deliberately.
    """
    env = os.environ if environ is None else environ
    plat = sys.platform if platform is None else platform
    if plat in ("win32", "cygwin", "darwin"):
        return None
    if env.get("QT_QPA_PLATFORM") or env.get("DISPLAY") or env.get("WAYLAND_DISPLAY"):
        return None
    return (
        "mailcatcher-gui: no display available (neither DISPLAY nor WAYLAND_DISPLAY is set); "
        "run 'mailcatcher-gui serve' for the headless SMTP sink"
    )


def prepare_webengine(environ: dict[str, str] | None = None) -> bool:
    """Everything QtWebEngine needs before ``QApplication``; False if it is missing.

    Chromium refuses to start its sandbox as root (containers, CI); rather
    than crash, the sandbox is disabled there -- with a warning, because the
    viewer renders untrusted HTML. Non-root users keep it.
    """
    env = os.environ if environ is None else environ
    if hasattr(os, "geteuid") and os.geteuid() == 0 and not env.get("QTWEBENGINE_DISABLE_SANDBOX"):
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
        log.warning("running as root: the Chromium sandbox of the HTML viewer is disabled")
    QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    try:
        from .web.schemes import register_url_schemes
    except ImportError as exc:
        log.warning("QtWebEngine is not available (%s); HTML shows in a simplified view", exc)
        return False
    register_url_schemes()
    return True


def configure_qapp() -> QApplication:
    existing = QApplication.instance()
    qapp = existing if isinstance(existing, QApplication) else QApplication([sys.argv[0]])
    qapp.setApplicationName("mailcatcher-gui")
    qapp.setOrganizationName("mailcatcher-gui")
    qapp.setApplicationDisplayName("mailcatcher-gui")
    qapp.setDesktopFileName("mailcatcher-gui")
    qapp.setWindowIcon(app_icon())
    # The window's close button asks GuiApp.run to finish; Qt must not end
    # the loop underneath it.
    qapp.setQuitOnLastWindowClosed(False)
    return qapp


def add_signal_handlers(
    loop: asyncio.AbstractEventLoop, callback: Callable[[int], None]
) -> list[int]:
    """SIGINT/SIGTERM -> ``callback(signum)`` on the loop; the signals handled."""
    handled = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback, int(sig))
        except (NotImplementedError, RuntimeError, ValueError) as exc:  # not main thread/OS
            log.debug("cannot handle signal %s: %s", sig, exc)
        else:
            handled.append(int(sig))
    return handled


def install_quit_timer(request_quit: Callable[[], None]) -> list[QTimer]:
    """The ``MAILCATCHER_GUI_QUIT_AFTER_MS`` test hook: ``request_quit`` after that long."""
    timers: list[QTimer] = []
    delay = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if delay.isdigit():
        quit_timer = QTimer()
        quit_timer.setSingleShot(True)
        quit_timer.timeout.connect(request_quit)
        quit_timer.start(int(delay))
        timers.append(quit_timer)
    return timers


def uninstall_crash_handling(reporter: CrashReporter, fault_file: IO[str] | None) -> None:
    reporter.uninstall()
    remove_qt_message_handler()
    disable_faulthandler(fault_file)
