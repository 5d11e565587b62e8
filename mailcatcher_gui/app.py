"""GUI composition root: build the objects, run them on one loop, tear down.

``run_gui(args)`` is what ``mailcatcher-gui`` (``cli._cmd_gui``) calls. It

1. refuses politely when there is no display (exit 2, one line) instead of
   letting Qt abort;
2. prepares QtWebEngine before ``QApplication`` exists (URL scheme, shared
   GL contexts, no Chromium sandbox when running as root);
3. opens the store and mailbox, builds a ``GuiApp`` (window + bridge + sink
   lifecycle) and runs it on a qasync loop: the aiosmtpd sink and the Qt
   widgets share the main thread, so a captured message reaches the window
   without any cross-thread hop;
4. shuts down in a fixed order -- sink, jobs, viewer (Chromium), widgets,
   loop, mailbox, application -- so the process exits 0 every time.

``GuiApp`` is also what tests build (``build_gui``) on a temporary store,
with their own qasync loop.

Test hook: ``MAILCATCHER_GUI_QUIT_AFTER_MS=<ms>`` makes the app quit by
itself after that long, through the normal quit path (used by the
clean-shutdown test and handy for smoke runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
from collections.abc import Coroutine, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, Qt, QTimer
from PySide6.QtWidgets import QApplication, QWidget

from .core.mailbox import Mailbox
from .core.sending import ProfileStore
from .core.smtp.auth import AuthMode
from .core.smtp.sink import PortInUse, RunningSink, SinkConfig, SinkStartError, start_sink
from .ui.bridge import MailboxBridge
from .ui.compose import Composer
from .ui.main_window import MainWindow
from .ui.profiles_dialog import PasswordPrompt, SinkEndpoint, connect_host
from .ui.settings import AppSettings, Preferences
from .ui.theme import app_icon, apply_theme, follow_system_scheme

log = logging.getLogger(__name__)

#: signal handlers replaced while the window runs, restored afterwards
previous_handlers: dict[int, object] = {}

QUIT_AFTER_ENV = "MAILCATCHER_GUI_QUIT_AFTER_MS"
EXIT_NO_DISPLAY = 2


# ---- environment checks -------------------------------------------------------------


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
        from .ui.web.schemes import register_url_schemes
    except ImportError as exc:
        log.warning("QtWebEngine is not available (%s); HTML shows in a simplified view", exc)
        return False
    register_url_schemes()
    return True


# ---- sink configuration --------------------------------------------------------------


def listener_config(base: SinkConfig, prefs: Preferences) -> SinkConfig:
    """``base`` with the listener options from the Settings dialog."""
    try:
        auth = AuthMode.parse(prefs.auth)
    except ValueError:
        auth = base.auth
    host = prefs.smtp_host.strip() or "127.0.0.1"
    return replace(
        base,
        smtp=(host, prefs.smtp_port),
        smtps=(host, prefs.smtps_port) if prefs.smtps_enabled else None,
        max_size=prefs.max_size_mb * 1024 * 1024,
        auth=auth,
        tls_cert=Path(prefs.tls_cert).expanduser() if prefs.tls_cert else None,
        tls_key=Path(prefs.tls_key).expanduser() if prefs.tls_key else None,
    )


def prefs_for_config(prefs: Preferences, config: SinkConfig, retention: int) -> Preferences:
    """``prefs`` showing what actually runs (command-line overrides included).

    The Settings dialog starts from these, so it never shows a port other
    than the one in use, and confirming it unchanged restarts nothing.
    """
    auth = config.auth
    auth_text = f"{auth.username}:{auth.password}" if auth.kind == "required" else auth.kind
    mib = 1024 * 1024
    return replace(
        prefs,
        smtp_host=config.smtp[0],
        smtp_port=config.smtp[1],
        smtps_enabled=config.smtps is not None,
        smtps_port=config.smtps[1] if config.smtps is not None else prefs.smtps_port,
        tls_cert=str(config.tls_cert) if config.tls_cert else "",
        tls_key=str(config.tls_key) if config.tls_key else "",
        auth=auth_text,
        max_size_mb=-(-config.max_size // mib),
        retention=retention,
    )


def initial_config(args: Any, prefs: Preferences) -> tuple[SinkConfig, int]:
    """The sink configuration and retention for this session.

    An option typed on the command line (one that differs from the CLI's
    default) wins; everything else comes from the saved settings.
    ``ValueError`` (``cli.ConfigError``) for bad option values.
    """
    from . import cli

    from_args = cli.sink_config_from_args(args)
    config = listener_config(from_args, prefs)

    def given(name: str, default: object) -> bool:
        value = getattr(args, name, None)
        return value is not None and value != default

    if given("smtp", cli.DEFAULT_SMTP):
        config = replace(config, smtp=from_args.smtp)
    if given("smtps", None):
        config = replace(config, smtps=from_args.smtps)
    if given("auth", cli.DEFAULT_AUTH):
        config = replace(config, auth=from_args.auth)
    if given("max_size", cli.DEFAULT_MAX_SIZE):
        config = replace(config, max_size=from_args.max_size)
    if given("tls_cert", None):
        config = replace(config, tls_cert=from_args.tls_cert, tls_key=from_args.tls_key)
    retention = prefs.retention
    if given("max_messages", cli.DEFAULT_MAX_MESSAGES):
        retention = int(args.max_messages)
    return config, retention


def describe_sink_error(exc: SinkStartError) -> str:
    """The sink's message, minus advice that only makes sense on the command line."""
    if isinstance(exc, PortInUse):
        host = f"[{exc.host}]" if ":" in exc.host else exc.host
        return f"port {exc.port} on {host} is already in use (is another mail catcher running?)"
    return str(exc)


# ---- the application object -----------------------------------------------------------


class GuiApp:
    """The window, the event bridge and the SMTP sink's lifecycle, on one loop.

    ``profiles`` (relay profiles for compose/release) defaults to a
    ``ProfileStore`` next to the settings file; ``ask_password`` replaces the
    password dialog (tests).
    """

    def __init__(
        self,
        qapp: QApplication,
        mailbox: Mailbox,
        sink_config: SinkConfig,
        settings: AppSettings,
        *,
        view: QWidget | None = None,
        profiles: ProfileStore | None = None,
        ask_password: PasswordPrompt | None = None,
    ) -> None:
        self.qapp = qapp
        self.mailbox = mailbox
        self.settings = settings
        self.config = sink_config
        self.sink: RunningSink | None = None
        self.sink_error: SinkStartError | None = None
        self.bridge = MailboxBridge(mailbox)
        self.window = MainWindow(mailbox, self.bridge, settings, view=view)
        self.window.prefs = prefs_for_config(self.window.prefs, sink_config, mailbox.max_messages)
        self.window.close_requests_quit = True
        self.window.quitRequested.connect(self.request_quit)
        self.window.listenerSettingsChanged.connect(self._listener_settings_changed)
        self._quit_event: asyncio.Event | None = None
        self._quit_requested = False
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closed = False
        self.profiles = profiles or ProfileStore(settings.path.parent)
        # Compose previews HTML with Chromium unless the caller chose a
        # non-Chromium viewer (the tests' fast path).
        self.composer = Composer(
            mailbox,
            self.profiles,
            sink=self.sink_endpoint,
            spawn=self.spawn,
            settings=settings,
            web_engine=view is None,
            ask_password=ask_password,
            parent=self.window,
        )
        self.window.set_composer(self.composer)
        self.composer.openMessage.connect(self.window.raise_to)

    # ---- sink ---------------------------------------------------------------------

    async def start_sink(self, config: SinkConfig | None = None) -> bool:
        """Start listening; on failure the window says why (no exception)."""
        config = config or self.config
        try:
            self.sink = await start_sink(config, self.mailbox)
        except SinkStartError as exc:
            self.sink = None
            self.sink_error = exc
            log.warning("SMTP sink not started: %s", exc)
            self.window.set_sink_error(describe_sink_error(exc))
            return False
        self.config = config
        self.sink_error = None
        self.window.set_listeners(self.sink.listeners)
        self.composer.refresh_destinations()
        return True

    def sink_endpoint(self) -> SinkEndpoint | None:
        """Where compose reaches this app's own sink right now (None: not listening)."""
        if self.sink is None:
            return None
        for kind, host, port in self.sink.listeners:
            if kind == "smtp":
                auth = self.config.auth
                if auth.required:
                    return SinkEndpoint(
                        connect_host(host), port, auth.username or "", auth.password or ""
                    )
                return SinkEndpoint(connect_host(host), port)
        return None

    async def stop_sink(self) -> None:
        sink, self.sink = self.sink, None
        if sink is not None:
            await sink.stop()
            self.window.set_listeners([])
            self.composer.refresh_destinations()

    async def restart_sink(self, config: SinkConfig) -> bool:
        """Switch listeners live. If the new ones cannot start, go back to the old."""
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            previous = self.config if self.sink is not None else None
            await self.stop_sink()
            if await self.start_sink(config):
                return True
            failure = describe_sink_error(self.sink_error) if self.sink_error else "unknown error"
            if previous is not None and previous != config and await self.start_sink(previous):
                # Keep settings and dialog in line with what really runs.
                self.window.prefs = prefs_for_config(
                    self.window.prefs, previous, self.mailbox.max_messages
                )
                self.settings.set_preferences(self.window.prefs)
                self.window.statusBar().showMessage(
                    f"Could not switch listener: {failure}. Still listening on the previous "
                    "address.",
                    15000,
                )
            return False

    def _listener_settings_changed(self, prefs: Preferences) -> None:
        self.spawn(self.restart_sink(listener_config(self.config, prefs)))

    # ---- tasks and quitting -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task:
        """Run ``coro`` on the loop, keeping a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def request_quit(self) -> None:
        """Ask ``run`` to finish (window close, Ctrl+Q, tray, signals, test hook)."""
        self._quit_requested = True
        if self._quit_event is not None:
            self._quit_event.set()

    async def run(self, *, show: bool = True) -> int:
        """Show the window, start the sink, wait for a quit request, stop the sink."""
        self._quit_event = asyncio.Event()
        if self._quit_requested:
            self._quit_event.set()
        if show:
            self.window.show()
        try:
            await self.start_sink()
            await self._quit_event.wait()
        finally:
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.stop_sink()
        return 0

    def close(self) -> None:
        """Release the Qt side in a safe order; call after the loop has stopped.

        The viewer drops its Chromium page/profile first, then widgets are
        deleted while the QApplication still exists, so nothing is left for
        Python's interpreter teardown to destroy in the wrong order.
        """
        if self._closed:
            return
        self._closed = True
        window, bridge = self.window, self.bridge
        self.composer.shutdown()
        window.shutdown()
        bridge.close()
        window.close_requests_quit = False
        window.hide()
        window.deleteLater()
        bridge.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        del self.window, self.bridge, self.composer


def build_gui(
    qapp: QApplication,
    mailbox: Mailbox,
    sink_config: SinkConfig,
    settings: AppSettings,
    *,
    view: QWidget | None = None,
    profiles: ProfileStore | None = None,
    ask_password: PasswordPrompt | None = None,
) -> GuiApp:
    """The application objects, ready for ``await app.run()`` on a qasync loop."""
    return GuiApp(
        qapp,
        mailbox,
        sink_config,
        settings,
        view=view,
        profiles=profiles,
        ask_password=ask_password,
    )


# ---- entry point ------------------------------------------------------------------------


def _configure_qapp() -> QApplication:
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


def _install_quit_hooks(gui: GuiApp) -> list[QTimer]:
    timers: list[QTimer] = []
    delay = os.environ.get(QUIT_AFTER_ENV, "").strip()
    if delay.isdigit():
        quit_timer = QTimer()
        quit_timer.setSingleShot(True)
        quit_timer.timeout.connect(gui.request_quit)
        quit_timer.start(int(delay))
        timers.append(quit_timer)

    def on_signal(signum: int, _frame: object) -> None:
        log.info("signal %d: quitting", signum)
        gui.request_quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError, OSError):  # not the main thread / unsupported
            previous_handlers[sig] = signal.signal(sig, on_signal)
    # Python runs signal handlers only between bytecodes; while Qt sits in
    # its C++ loop that needs a nudge now and then.
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    timers.append(wake)
    return timers


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

    prepare_webengine()
    qapp = _configure_qapp()
    settings = AppSettings.open_default()
    prefs = settings.preferences()
    apply_theme(qapp, prefs.theme)
    follow_system_scheme(qapp, lambda: settings.preferences().theme)
    try:
        config, retention = initial_config(args, prefs)
    except ValueError as exc:
        print(f"mailcatcher-gui: error: {exc}", file=sys.stderr)
        return 2
    try:
        store = Store(args.db)
    except StoreError as exc:
        print(f"mailcatcher-gui: error: {exc}", file=sys.stderr)
        return 1

    from mailcatcher_gui.ui.event_loop import QtAsyncLoop

    mailbox = Mailbox(store, max_messages=retention)
    gui: GuiApp | None = None
    timers: list[QTimer] = []
    code = 1
    try:
        gui = build_gui(qapp, mailbox, config, settings, profiles=ProfileStore(paths.config_dir()))
        files = list(getattr(args, "files", None) or [])
        if files:
            gui.window.open_file(files[0])
            if len(files) > 1:
                gui.window.statusBar().showMessage(
                    f"Showing {Path(files[0]).name}; {len(files) - 1} more file(s) given — "
                    "use File ▸ Import to store them all.",
                    10000,
                )
        timers = _install_quit_hooks(gui)
        with asyncio.Runner(loop_factory=lambda: QtAsyncLoop(qapp)) as runner:
            code = runner.run(gui.run())
    finally:
        for t in timers:
            t.stop()
        if gui is not None:
            gui.close()
        mailbox.close()
        for sig, handler in previous_handlers.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)
        previous_handlers.clear()
    del gui, timers
    gc.collect()
    return code
