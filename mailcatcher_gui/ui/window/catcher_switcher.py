"""Switching the window between this app's mailbox and a remote catcher.

The window, its model, the compose side and the bridge are built once over a
``core.mailbox_switch.MailboxSwitch``. This object changes the switch's
target: ``connect_to`` checks the catcher (``GET /api/v1/info``) before
anything changes, so a wrong URL or password leaves the window as it was;
then it starts the catcher's live events, points the switch at it (the list
re-reads through ``MailboxCleared``) and tells the ``CatcherPanel`` which
catcher is shown. ``back_to_local`` is the reverse, one click.

Connection states arrive on the events thread; a queued signal brings them
to the GUI thread for the banner. The last URL and user name are kept in the
window settings, the password only in the keyring (``CatcherCredentials``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.mailbox_switch import MailboxSwitch
from ...core.remote import CatcherEndpoint, ConnectionState, RemoteMailbox
from ...core.remote.credentials import CatcherCredentials
from .catcher_dialog import CatcherChoice, CatcherDialog
from .catcher_panel import CatcherPanel
from .settings import AppSettings

log = logging.getLogger(__name__)

URL_KEY = "remote/url"
USER_KEY = "remote/user"


class CatcherSwitcher(QObject):
    """Owns the remote mailbox (if any) and moves the window between catchers."""

    #: the catcher now shown: its URL, or None for the local mailbox
    switched = Signal(object)
    # Internal hop: emitted on the events thread, delivered on ours.
    _state = Signal(object)

    def __init__(
        self,
        switch: MailboxSwitch,
        local: MailboxProtocol,
        panel: CatcherPanel,
        settings: AppSettings,
        *,
        credentials: CatcherCredentials | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.switch = switch
        self.local = local
        self.panel = panel
        self.settings = settings
        self.credentials = credentials or CatcherCredentials()
        self.remote: RemoteMailbox | None = None
        self.dialog: CatcherDialog | None = None
        self._unwatch: Callable[[], None] | None = None
        self._state.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        panel.connectRequested.connect(self.open_dialog)
        panel.backToLocalRequested.connect(self.back_to_local)

    def connect_to(
        self, url: str, username: str = "", password: str = "", *, remember: bool = False
    ) -> RemoteMailbox:
        """Show the catcher at ``url``; raises (``RemoteError``) and changes nothing
        when it cannot be reached or refuses the login."""
        endpoint = CatcherEndpoint(url, username, password)
        remote = RemoteMailbox(endpoint, live=False)
        try:
            remote.check()
        except Exception:
            remote.close()
            raise
        previous = self.remote
        self._stop_watching()
        self.remote = remote
        self._unwatch = remote.watch_connection(self._state.emit)
        # Subscribed (through the switch) before the events start: nothing is missed.
        self.switch.switch_to(remote)
        remote.events.start()
        if previous is not None:
            previous.close()
        self.panel.show_catcher(url)
        self.settings.set_value(URL_KEY, url)
        self.settings.set_value(USER_KEY, username)
        if remember and username:
            self.credentials.set(url, username, password)
        self.switched.emit(url)
        return remote

    def connect_on_start(self, url: str | None, username: str | None = None) -> str | None:
        """``--remote URL``: show that catcher from the start; why not, if it cannot
        be reached (None: connected, or no URL). The password comes from
        ``MAILCATCHER_REMOTE_PASSWORD`` or the keyring, never from the command
        line (it would show in ``ps``)."""
        if not url:
            return None
        user = username or ""
        try:
            self.connect_to(url, user, self.credentials.get(url, user))
        except Exception as exc:  # noqa: BLE001 - RemoteError, or anything the socket raised
            return str(exc)
        return None

    @Slot()
    def back_to_local(self) -> None:
        """Show this app's own mailbox again and drop the remote connection."""
        remote, self.remote = self.remote, None
        self._stop_watching()
        self.switch.switch_to(self.local)
        if remote is not None:
            remote.close()
        self.panel.show_catcher(None)
        self.switched.emit(None)

    @property
    def showing_remote(self) -> bool:
        return self.remote is not None

    # ---- the dialog ------------------------------------------------------------------------------

    @Slot()
    def open_dialog(self) -> CatcherDialog:
        """File ▸ Connect to a Catcher…, filled with the last catcher used."""
        if self.dialog is not None:
            self.dialog.raise_()
            return self.dialog
        url = self.settings.value(URL_KEY, "")
        user = self.settings.value(USER_KEY, "")
        parent = self.parent()
        dialog = CatcherDialog(
            url=url,
            username=user,
            password=self.credentials.get(url, user) if url else "",
            keyring_available=self.credentials.available(),
            parent=parent if isinstance(parent, QWidget) else None,
        )
        dialog.connectChosen.connect(self._chosen)
        dialog.finished.connect(self._dialog_closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _chosen(self, choice: CatcherChoice) -> None:
        dialog = self.dialog
        try:
            self.connect_to(choice.url, choice.username, choice.password, remember=choice.remember)
        except Exception as exc:  # noqa: BLE001 - every failure is said in the dialog
            log.info("cannot connect to %s: %s", choice.url, exc)
            if dialog is not None:
                dialog.show_error(str(exc))
            return
        if dialog is not None:
            dialog.accept()

    def _dialog_closed(self) -> None:
        if self.dialog is not None:
            self.dialog.deleteLater()
        self.dialog = None

    # ---- connection state ------------------------------------------------------------------------

    def _on_state(self, state: ConnectionState) -> None:
        if self.remote is None:
            return
        self.panel.show_connection(state.connected, state.detail)

    def _stop_watching(self) -> None:
        if self._unwatch is not None:
            self._unwatch()
            self._unwatch = None

    def close(self) -> None:
        """Close the remote connection (the local mailbox belongs to the app)."""
        self._stop_watching()
        remote, self.remote = self.remote, None
        if remote is not None:
            self.switch.switch_to(self.local)
            remote.close()
