"""Switching the window between this app's mailbox and a remote catcher.

The window, its model, the compose side and the bridge are built once over a
``core.mailbox_switch.MailboxSwitch``. This object changes the switch's
target: ``connect_to`` checks the catcher (``RemoteMailbox.check``, a
one-row list) before anything changes, so a wrong URL or password leaves the
window as it was (the dialog checks on a worker thread, ``--remote`` and
tests inline); connecting to this app's own HTTP API is refused outright;
then it points the switch at it (the list re-reads through
``MailboxCleared``), starts the catcher's live events and tells the
``CatcherPanel`` which catcher is shown. ``back_to_local`` is the reverse,
one click. Message ▸ Release on the Catcher… (``install_release_action``)
is the one command that exists only while a catcher is shown.

Connection states arrive on the events thread; a queued signal brings them
to the GUI thread for the banner. The last URL and user name are kept in the
window settings, the password only in the keyring (``CatcherCredentials``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QMenu, QMenuBar, QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.mailbox_switch import MailboxSwitch
from ...core.remote import CatcherEndpoint, ConnectionState, RemoteError, RemoteMailbox
from ...core.remote.credentials import CatcherCredentials
from ...core.sending.policy import is_loopback
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
        own_http: Callable[[], Sequence[tuple[str, str, int]]] = lambda: (),
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        #: this app's own HTTP API listeners: connecting to them is refused
        self.own_http = own_http
        self.switch = switch
        self.local = local
        self.panel = panel
        self.settings = settings
        self.credentials = credentials or CatcherCredentials()
        self.remote: RemoteMailbox | None = None
        self.dialog: CatcherDialog | None = None
        self._unwatch: Callable[[], None] | None = None
        self._status: Callable[[str, int], None] = lambda _text, _ms: None
        self.release_action: QAction | None = None
        self._state.connect(self._on_state, Qt.ConnectionType.QueuedConnection)
        panel.connectRequested.connect(self.open_dialog)
        panel.backToLocalRequested.connect(self.back_to_local)

    def connect_to(
        self, url: str, username: str = "", password: str = "", *, remember: bool = False
    ) -> RemoteMailbox:
        """Show the catcher at ``url``; raises (``RemoteError``) and changes nothing
        when it cannot be reached or refuses the login. Blocks while it checks
        (``--remote``, tests); the dialog checks on a worker thread instead."""
        remote = self._candidate(url, username, password)
        try:
            remote.check()
        except Exception:
            remote.close()
            raise
        self._attach(remote, remember=remember)
        return remote

    def _candidate(self, url: str, username: str, password: str) -> RemoteMailbox:
        if is_own_api(url, self.own_http()):
            # Its server runs on this very thread: a blocking call to it would
            # wait for itself. And its messages are the ones shown already.
            raise RemoteError(f"{url} is this app's own HTTP API: its messages are shown here")
        return RemoteMailbox(CatcherEndpoint(url, username, password), live=False)

    def _attach(self, remote: RemoteMailbox, *, remember: bool) -> None:
        """Show ``remote`` (checked already) instead of what is shown now."""
        endpoint = remote.endpoint
        previous = self.remote
        self._stop_watching()
        self.remote = remote
        self._unwatch = remote.watch_connection(self._state.emit)
        # Subscribed (through the switch) before the events start: nothing is missed.
        self.switch.switch_to(remote)
        remote.events.start()
        if previous is not None:
            previous.close()
        self.panel.show_catcher(endpoint.base_url)
        self.settings.set_value(URL_KEY, endpoint.base_url)
        self.settings.set_value(USER_KEY, endpoint.username)
        if remember and endpoint.username:
            self.credentials.set(endpoint.base_url, endpoint.username, endpoint.password)
        self.switched.emit(endpoint.base_url)

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

    # ---- release on the catcher -------------------------------------------------------------

    def install_release_action(
        self,
        menu_bar: QMenuBar,
        target_ids: Callable[[], list[int]],
        status: Callable[[str, int], None],
    ) -> QAction:
        """Message ▸ Release on the Catcher…: the catcher relays the messages itself
        (``POST /message/{ID}/release``), enabled while a catcher is shown. Release
        To… still sends the fetched bytes through this app's relay profiles."""
        action = QAction("Release on the &Catcher…", self)
        action.setToolTip("Have the shared catcher relay the messages through its own relay")
        action.setEnabled(False)
        action.triggered.connect(lambda: self.ask_release(target_ids()))
        self.switched.connect(lambda url: action.setEnabled(url is not None))
        self._status = status
        for top in menu_bar.actions():
            menu = top.menu()
            if isinstance(menu, QMenu) and top.text().replace("&", "") == "Message":
                menu.addAction(action)
        self.release_action = action
        return action

    def ask_release(self, ids: list[int]) -> QInputDialog | None:
        """Ask for the recipients (non-modal), then ``release_on_catcher``."""
        if self.remote is None or not ids:
            return None
        parent = self.parent()
        dialog = QInputDialog(parent if isinstance(parent, QWidget) else None)
        dialog.setWindowTitle("Release on the Catcher")
        dialog.setLabelText(f"Recipients for {len(ids):,} message(s), comma-separated:")
        dialog.textValueSelected.connect(
            lambda text: self.release_on_catcher(ids, [a.strip() for a in text.split(",")])
        )
        dialog.finished.connect(dialog.deleteLater)
        dialog.open()
        return dialog

    def release_on_catcher(self, ids: list[int], recipients: list[str]) -> bool:
        """Release each message through the catcher; the status bar says how it went."""
        remote = self.remote
        wanted = [r for r in recipients if r]
        if remote is None or not ids or not wanted:
            return False
        try:
            for message_id in ids:
                remote.release(message_id, wanted)
        except Exception as exc:  # noqa: BLE001 - RemoteError: the server's reason
            self._status(f"The catcher did not release: {exc}", 10000)
            return False
        self._status(f"The catcher released {len(ids):,} message(s) to {', '.join(wanted)}", 5000)
        return True

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
        """Check the catcher on a worker thread (an unreachable host must not
        freeze the window for the connect timeout); attach it on this thread."""
        dialog = self.dialog
        try:
            remote = self._candidate(choice.url, choice.username, choice.password)
        except RemoteError as exc:
            if dialog is not None:
                dialog.show_error(str(exc))
            return
        if dialog is not None:
            dialog.set_busy(True)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop turning (a bare Qt test): check right here
            try:
                remote.check()
            except Exception as exc:  # noqa: BLE001 - said in the dialog
                self._checked(choice, remote, dialog, exc)
            else:
                self._checked(choice, remote, dialog, None)
            return
        future = loop.run_in_executor(None, remote.check)
        future.add_done_callback(
            lambda f: self._checked(
                choice,
                remote,
                dialog,
                RemoteError("the check was cancelled") if f.cancelled() else f.exception(),
            )
        )

    def _checked(
        self,
        choice: CatcherChoice,
        remote: RemoteMailbox,
        dialog: CatcherDialog | None,
        exc: BaseException | None,
    ) -> None:
        if dialog is not None and dialog is self.dialog:
            dialog.set_busy(False)
        if exc is not None:
            remote.close()
            log.info("cannot connect to %s: %s", choice.url, exc)
            if dialog is not None and dialog is self.dialog:
                dialog.show_error(str(exc))
            return
        if dialog is not self.dialog:  # the dialog was closed meanwhile: the user gave up
            remote.close()
            return
        self._attach(remote, remember=choice.remember)
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


def is_own_api(url: str, listeners: Sequence[tuple[str, str, int]]) -> bool:
    """Whether ``url`` points at one of ``listeners`` (this app's HTTP API)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    port = parts.port or (443 if parts.scheme == "https" else 80)
    loopback = is_loopback(host)
    for _kind, listen_host, listen_port in listeners:
        if port != listen_port:
            continue
        if host == listen_host.lower() or listen_host in ("", "0.0.0.0", "::") or loopback:
            return True
    return False
