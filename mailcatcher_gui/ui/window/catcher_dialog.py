"""File ▸ Connect to a Catcher…: the URL of a shared catcher and, optionally, a login.

The dialog only collects and checks the form (``parse_catcher_url``); the
connection itself is made by whoever listens to ``connectChosen`` (the
composition root's ``CatcherSwitcher``), which answers with ``show_error``
when the catcher cannot be reached, so the dialog stays open with what the
user typed. The password is offered for the keyring only when a usable
keyring exists; otherwise it is used for this connection and forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...core.remote import parse_catcher_url
from ...core.sending.policy import is_loopback


@dataclass(frozen=True)
class CatcherChoice:
    """What the user asked to connect to."""

    url: str  # normalised (``parse_catcher_url``)
    username: str = ""
    password: str = ""
    remember: bool = False  # store the password in the keyring


class CatcherDialog(QDialog):
    """URL, user, password (keyring), Connect / Cancel."""

    connectChosen = Signal(object)  # CatcherChoice

    def __init__(
        self,
        *,
        url: str = "",
        username: str = "",
        password: str = "",
        keyring_available: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("catcherDialog")
        self.setWindowTitle("Connect to a Catcher")
        self.url = QLineEdit(url, self)
        self.url.setPlaceholderText("http://host:8025 — a mailcatcher-gui serve or Mailpit")
        self.username = QLineEdit(username, self)
        self.username.setPlaceholderText("only if the catcher asks for a login")
        self.password = QLineEdit(password, self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.remember = QCheckBox("Remember the password in the system keyring", self)
        self.remember.setChecked(keyring_available)
        self.remember.setEnabled(keyring_available)
        if not keyring_available:
            self.remember.setToolTip("No system keyring is available: the password is not kept")
        #: said (not refused: a LAN catcher often has no TLS) while the password
        #: would cross the network unencrypted
        self.plain_warning = QLabel(
            "The password would travel unencrypted (http://) to a host that is not this "
            "machine; use https:// where the catcher offers it.",
            self,
        )
        self.plain_warning.setObjectName("catcherPlainWarning")
        self.plain_warning.setWordWrap(True)
        self.plain_warning.hide()
        self.url.textChanged.connect(self._update_warning)
        self.password.textChanged.connect(self._update_warning)
        self.error = QLabel(self)
        self.error.setObjectName("catcherError")
        self.error.setWordWrap(True)
        self.error.setProperty("error", True)
        self.error.hide()
        form = QFormLayout()
        form.addRow("Catcher URL:", self.url)
        form.addRow("User:", self.username)
        form.addRow("Password:", self.password)
        form.addRow("", self.remember)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        self.connect_button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.connect_button.setText("Connect")
        self.buttons.accepted.connect(self.attempt)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.plain_warning)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)
        self.resize(520, self.sizeHint().height())
        self._update_warning()

    def _update_warning(self) -> None:
        try:
            url = parse_catcher_url(self.url.text())
        except ValueError:
            self.plain_warning.hide()
            return
        host = urlsplit(url).hostname or ""
        clear = url.startswith("http:") and not is_loopback(host) and bool(self.password.text())
        self.plain_warning.setVisible(clear)

    def choice(self) -> CatcherChoice:
        """The form as a ``CatcherChoice``; ``ValueError`` names what is wrong."""
        url = parse_catcher_url(self.url.text())
        user = self.username.text().strip()
        password = self.password.text()
        if password and not user:
            raise ValueError("a password needs a user name")
        return CatcherChoice(url, user, password, self.remember.isChecked() and bool(user))

    def attempt(self) -> None:
        """Connect: check the form, then hand it over (the dialog stays open until
        the listener calls ``accept``, or ``show_error`` says why not)."""
        try:
            chosen = self.choice()
        except ValueError as exc:
            self.show_error(str(exc).capitalize() + ".")
            return
        self.error.hide()
        self.connectChosen.emit(chosen)

    def set_busy(self, busy: bool) -> None:
        """While the catcher is being checked: "Connecting…", no second click."""
        self.connect_button.setEnabled(not busy)
        self.connect_button.setText("Connecting…" if busy else "Connect")
        if busy:
            self.error.hide()

    def show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.show()
