"""GUI composition root: build the window's objects and own their lifecycles.

``GuiApp`` wires the mailbox (behind a ``MailboxSwitch``, so a shared
catcher can be shown instead), the Qt bridge, the window, compose, the SMTP
sink with its live rules, the HTTP API and the checks' settings, and is the
one owner of the preferences (``apply_preferences``). ``build_gui`` is what
``launch.run_gui`` (the process) and the tests call; ``await gui.run()``
runs it on a qasync loop, where the aiosmtpd sink, the aiohttp API and the
Qt widgets share the main thread, so a captured message reaches the window
without any cross-thread hop. ``close`` tears down in a fixed order -- HTTP
API, sink, jobs, viewer (Chromium), widgets -- so the process exits 0.

Test hook: ``MAILCATCHER_GUI_QUIT_AFTER_MS=<ms>`` makes the app quit by
itself after that long, through the normal quit path (``ui/startup.py``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication, QWidget

from . import __version__
from .core.api import ApiContext
from .core.api.context import CONTEXT
from .core.api.relay import last_relay_transport
from .core.api.routes_checks import CHECK_OPTIONS_KEY
from .core.api.server import HttpConfig
from .core.api.service import ApiService
from .core.mailbox import Mailbox
from .core.mailbox_switch import MailboxSwitch
from .core.rules import Outbox, RuleSet
from .core.sending import ProfileStore
from .core.smtp import RunningSink, SinkConfig, SinkStartError, start_sink
from .ui.bridge import MailboxBridge
from .ui.compose.composer import Composer
from .ui.compose.profiles_dialog import PasswordPrompt, SinkEndpoint, connect_host
from .ui.startup import (
    add_signal_handlers,
)
from .ui.theme import apply_theme
from .ui.window.catcher_switcher import CatcherSwitcher
from .ui.window.checks_settings import apply_check_settings
from .ui.window.factory import build_main_window
from .ui.window.listener_prefs import (
    describe_http_error,
    describe_sink_error,
    http_config_for,
    listener_config,
    prefs_for_config,
    prefs_for_http,
)
from .ui.window.settings import AppSettings, Preferences

log = logging.getLogger(__name__)


def rules_path(config: SinkConfig) -> Path:
    """The rules file the editor saves: the one given, else rules.toml in the config folder."""
    from .core import paths
    from .core.rules import RULES_FILENAME

    return config.rules_file or paths.config_dir() / RULES_FILENAME


# ---- the application object -----------------------------------------------------------


class GuiApp:
    """The window, the event bridge and the SMTP sink's lifecycle, on one loop.

    ``profiles`` (relay profiles for compose/release) defaults to a
    ``ProfileStore`` next to the settings file; ``ask_password`` replaces the
    password dialog (tests). ``http`` is the HTTP API's configuration and
    ``http_on`` whether it runs; without ``http`` the app leaves the API
    alone (tests, embedding), with it the Settings dialog moves it.
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
        http: HttpConfig | None = None,
        http_on: bool = True,
    ) -> None:
        self.qapp = qapp
        self.mailbox = mailbox
        self.settings = settings
        self.config = sink_config
        self.sink: RunningSink | None = None
        self.sink_error: SinkStartError | None = None
        #: why the last listener change failed (the old listener may run again)
        self.listener_failure: SinkStartError | None = None
        #: what the window shows: this mailbox, or a remote catcher (``catchers``)
        self.shown = MailboxSwitch(mailbox)
        self.bridge = MailboxBridge(self.shown)
        #: the HTTP API: its base configuration (None: not managed here) and lifecycle
        self.http_base = http
        self.api = ApiService(self._api_context)
        self._http_on = http is not None and http_on
        #: the preferences in force; this object is their only owner (see apply_preferences)
        self.prefs = prefs_for_config(settings.preferences(), sink_config, mailbox.retention)
        if http is not None:
            self.prefs = prefs_for_http(self.prefs, http, self._http_on)
        self.window = build_main_window(
            self.shown, self.bridge, settings, prefs=self.prefs, view=view
        )
        #: what the checks may do (Settings): the viewer's Checks tab and the API's check endpoints
        self.check_options = apply_check_settings(self.window.view, self.prefs).options
        self.window.close_requests_quit = True
        # The user's quit (Ctrl+Q, File > Quit, the close button, the tray)
        # asks about unsent compose content first; signals and the test hook
        # quit directly (see request_quit).
        self.window.quitRequested.connect(self.quit_from_user)
        self.window.preferencesChosen.connect(self.apply_preferences)
        self.window.rules_ui.saved.connect(self._rules_saved)
        self._quit_event: asyncio.Event | None = None
        self._quit_requested = False
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.profiles = profiles or ProfileStore(settings.path.parent)
        # The rules and their forward/webhook outbox outlive a sink restart (API, editor).
        self.rules = RuleSet()
        self.outbox = Outbox(mailbox, profiles=self.profiles, api_base=self._api_url)
        # Compose previews HTML with Chromium unless the caller chose a
        # non-Chromium viewer (the tests' fast path).
        self.composer = Composer(
            self.shown,
            self.profiles,
            sink=self.sink_endpoint,
            spawn=self.spawn,
            settings=settings,
            web_engine=view is None,
            ask_password=ask_password,
            local=mailbox,
            parent=self.window,
        )
        self.window.set_composer(self.composer)
        # The sink always stores here; the window may show another catcher.
        self.catchers = CatcherSwitcher(
            self.shown,
            mailbox,
            self.window.catcher,
            settings,
            own_http=lambda: self.api.running.listeners if self.api.running else (),
            parent=self.window,
        )
        self.catchers.install_release_action(
            self.window.menuBar(), self.window.release_targets, self.window.statusBar().showMessage
        )
        self.composer.openMessage.connect(self.window.raise_to)

    # ---- sink ---------------------------------------------------------------------

    async def start_sink(self, config: SinkConfig | None = None) -> bool:
        """Start listening; on failure the window says why (no exception)."""
        config = config or self.config
        try:
            self.sink = await start_sink(config, self.mailbox, self.rules, self.outbox)
        except SinkStartError as exc:
            self.sink = None
            self.sink_error = exc
            # Without the command-line advice: the config may come from Settings.
            log.warning("SMTP sink not started: %s", describe_sink_error(exc))
            self.window.set_sink_error(describe_sink_error(exc))
            return False
        self.config = config
        self.sink_error = None
        if self.api.running is not None:  # the API reports the listeners in force
            self.api.running.app[CONTEXT].smtp_listeners = tuple(self.sink.listeners)
        self.window.set_listeners(self.sink.details)
        # The Rules editor edits the running rules and saves the file the sink loads.
        self.window.rules_ui.attach(self.sink.rules, rules_path(config))
        self.composer.refresh_destinations()
        return True

    def _rules_saved(self, path: Path) -> None:
        """The editor wrote ``path``: later sink restarts load (and watch) it."""
        if self.config.rules_file is None:
            self.config = replace(self.config, rules_file=path)

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
                self.listener_failure = None
                return True
            self.listener_failure = self.sink_error
            if previous is not None and previous != config and await self.start_sink(previous):
                # Keep settings and the dialog in line with what really runs.
                self._set_prefs(prefs_for_config(self.prefs, previous, self.mailbox.retention))
            return False

    # ---- the HTTP API ---------------------------------------------------------------

    def _api_context(self) -> ApiContext:
        return ApiContext(
            mailbox=self.mailbox,
            version=__version__,
            smtp_listeners=tuple(self.sink.listeners) if self.sink is not None else (),
            max_body=self.config.max_size,
            allow_remote_content=self.prefs.allow_remote_default,
            relay_transport=last_relay_transport(self.profiles, self.mailbox),
            extras={"rules": self.rules, CHECK_OPTIONS_KEY: self.check_options},
        )

    def _api_url(self) -> str | None:
        return self.api.running.url if self.api.running is not None else None

    async def start_http(self) -> bool:
        """Start the HTTP API if it is on; a failure is a warning in the window, never fatal."""
        if self.http_base is None or not self._http_on:
            self._show_http()
            return False
        ok = await self.api.start(self.http_base)
        self._show_http()
        return ok

    async def stop_http(self) -> None:
        await self.api.stop()

    def _show_http(self) -> None:
        error = self.api.error
        running = self.api.running
        self.window.status_panel.set_http(
            running.url if running is not None else None,
            describe_http_error(error) if error is not None else None,
        )

    async def _restart_http(self, prefs: Preferences) -> str | None:
        """Move the API where ``prefs`` say; the problem in words if the new address failed."""
        if self.http_base is None:
            return None
        wanted = http_config_for(self.http_base, prefs)
        ok = await self.api.restart(wanted)
        if wanted is not None:
            self.http_base = wanted
        self._http_on = wanted is not None and (ok or self.api.running is not None)
        if not ok and self.api.running is not None and self.api.config is not None:
            # The previous address runs again: settings and the dialog say so.
            self.http_base = self.api.config
            self._set_prefs(prefs_for_http(self.prefs, self.api.config, True))
        self._show_http()
        error = self.api.error
        return None if ok else describe_http_error(error) if error else "unknown error"

    # ---- preferences (this is their one owner) -----------------------------------------

    def apply_preferences(self, prefs: Preferences) -> None:
        """The user chose ``prefs`` (Settings dialog): save them and apply them everywhere.

        Retention goes to the mailbox, display choices to the window, the
        theme to the application; a listener change restarts the sink and the
        window learns how that went (``listener_change_finished``).
        """
        old = self.prefs
        self._set_prefs(prefs)
        if prefs.theme != old.theme:
            apply_theme(self.qapp, prefs.theme)
        smtp = prefs.listener_differs(old)
        http = self.http_base is not None and prefs.http_differs(old)
        if smtp or http:
            self.spawn(self._change_listener(prefs, smtp=smtp, http=http))

    def _set_prefs(self, prefs: Preferences) -> None:
        self.prefs = prefs
        self.settings.set_preferences(prefs)
        # The composition root may set core state; widgets never do.
        self.mailbox.set_retention(prefs.retention)
        self.check_options = apply_check_settings(self.window.view, prefs).options
        if self.api.running is not None:
            self.api.running.app[CONTEXT].extras[CHECK_OPTIONS_KEY] = self.check_options
        self.window.show_preferences(prefs)

    async def _change_listener(
        self, prefs: Preferences, *, smtp: bool = True, http: bool = False
    ) -> None:
        errors = []
        if smtp and not await self.restart_sink(listener_config(self.config, prefs)):
            failure = self.listener_failure
            errors.append(describe_sink_error(failure) if failure else "unknown error")
        if http:
            problem = await self._restart_http(self.prefs)
            if problem:
                errors.append(f"HTTP API: {problem}")
        self.window.listener_change_finished("; ".join(errors) or None)

    # ---- tasks and quitting -------------------------------------------------------------

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` on the loop, keeping a reference until it is done."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def _on_signal(self, signum: int) -> None:
        log.info("signal %d: quitting", signum)
        self.request_quit()

    def quit_from_user(self) -> None:
        """The user asked to quit (Ctrl+Q, File > Quit, window close, tray).

        Every compose window with unsent content asks Discard / Save Draft /
        Cancel first (``Composer.confirm_close_all``, no nested event loop);
        a Cancel keeps the app running. SIGINT/SIGTERM do not come here: a
        signal must end the process even when nobody is at the screen.
        """
        if self._quit_requested or self._closed:
            return
        self.composer.confirm_close_all(self.request_quit)

    def request_quit(self) -> None:
        """Ask ``run`` to finish now, without questions (signals, test hook, and
        ``quit_from_user`` once the compose windows agreed)."""
        self._quit_requested = True
        if self._quit_event is not None:
            self._quit_event.set()

    async def run(self, *, show: bool = True, handle_signals: bool = False) -> int:
        """Show the window, start the sink, wait for a quit request, stop the sink.

        ``handle_signals``: SIGINT/SIGTERM ask to quit. They go through the
        loop's ``add_signal_handler`` (``signal.set_wakeup_fd`` and the loop's
        self-pipe, watched by a Qt socket notifier), so a signal wakes the Qt
        event loop at once -- no polling timer.
        """
        self._quit_event = asyncio.Event()
        if self._quit_requested:
            self._quit_event.set()
        loop = asyncio.get_running_loop()
        handled = add_signal_handlers(loop, self._on_signal) if handle_signals else []
        if show:
            self.window.show()
        try:
            await self.start_sink()
            await self.start_http()
            await self._quit_event.wait()
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)
            for task in list(self._tasks):
                task.cancel()
            if self._tasks:
                await asyncio.gather(*self._tasks, return_exceptions=True)
            await self.stop_http()
            await self.stop_sink()
            await self.outbox.close()
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
        self.catchers.close()
        self.shown.close()
        window.close_requests_quit = False
        window.hide()
        window.deleteLater()
        bridge.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        del self.window, self.bridge, self.composer, self.catchers


def build_gui(
    qapp: QApplication,
    mailbox: Mailbox,
    sink_config: SinkConfig,
    settings: AppSettings,
    *,
    view: QWidget | None = None,
    profiles: ProfileStore | None = None,
    ask_password: PasswordPrompt | None = None,
    http: HttpConfig | None = None,
    http_on: bool = True,
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
        http=http,
        http_on=http_on,
    )
