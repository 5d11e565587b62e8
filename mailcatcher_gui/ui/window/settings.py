"""Persisted preferences (``AppSettings``) and the Settings dialog.

Settings live in one INI file, ``<config dir>/settings.ini`` (see
``core.paths``): readable, diffable, identical on every OS, and moved
wholesale by ``MAILCATCHER_GUI_HOME`` -- which is also how tests keep away
from the user's real preferences. ``AppSettings`` is a typed facade over
``QSettings`` so no other module spells a key or a default.

Precedence for the SMTP listener: an option given on the command line wins
for that session; otherwise the saved settings apply; changing them in the
dialog restarts the listener at once (see ``app.GuiApp``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import paths
from ...core.smtp.auth import AuthSetting
from ...core.smtp.config import parse_listeners
from .checks_settings import ChecksSettingsBox
from .http_settings import HttpApiGroup

SETTINGS_FILENAME = "settings.ini"

THEMES = ("system", "light", "dark")
LAYOUTS = ("side", "below")


@dataclass
class Preferences:
    """The user-editable part of the settings, as plain values.

    The dialog edits a copy; comparing two instances tells the window what
    changed (and whether the SMTP listener has to restart).
    """

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtps_enabled: bool = False
    smtps_port: int = 1465
    tls_cert: str = ""
    tls_key: str = ""
    auth: str = "any"  # "none" | "any" | "USER:PASSWORD" | "USER" (AuthSetting syntax)
    max_size_mb: int = 50  # 0 = unlimited
    retention: int = 10_000  # keep at most N messages; 0 = unlimited
    allow_remote_default: bool = False
    notifications: bool = True
    theme: str = "system"
    http_enabled: bool = True  # the Mailpit-compatible HTTP API (--http)
    http_host: str = "127.0.0.1"
    http_port: int = 8025
    #: further plain SMTP listeners, "HOST:PORT[=MAILBOX]" separated by commas
    extra_listeners: str = ""
    # the inspection checks (ui/window/checks_settings.py)
    spamassassin: str = ""  # HOST:PORT of spamd; empty: no spam check
    checks_auto_links: bool = False  # check links whenever a message opens
    checks_auto_spam: bool = False  # ask spamd whenever a message opens
    allow_local_links: bool = False  # link checks may request loopback/private addresses
    dkim_dns: bool = True  # look up DKIM keys not listed below in DNS
    dkim_keys: str = ""  # "SELECTOR._domainkey.DOMAIN=FILE" lines

    LISTENER_FIELDS = (
        "smtp_host",
        "smtp_port",
        "extra_listeners",
        "smtps_enabled",
        "smtps_port",
        "tls_cert",
        "tls_key",
        "auth",
        "max_size_mb",
    )

    HTTP_FIELDS = ("http_enabled", "http_host", "http_port")

    def listener_differs(self, other: Preferences) -> bool:
        return any(getattr(self, f) != getattr(other, f) for f in self.LISTENER_FIELDS)

    def http_differs(self, other: Preferences) -> bool:
        return any(getattr(self, f) != getattr(other, f) for f in self.HTTP_FIELDS)


class AppSettings:
    """Typed access to ``QSettings`` (INI format) for preferences and window state."""

    def __init__(self, qsettings: QSettings) -> None:
        self._s = qsettings

    @classmethod
    def at(cls, path: str | Path) -> AppSettings:
        return cls(QSettings(str(path), QSettings.Format.IniFormat))

    @classmethod
    def open_default(cls) -> AppSettings:
        """``<config dir>/settings.ini`` (honours ``MAILCATCHER_GUI_HOME``)."""
        return cls.at(paths.config_dir() / SETTINGS_FILENAME)

    @property
    def path(self) -> Path:
        return Path(self._s.fileName())

    @property
    def qsettings(self) -> QSettings:
        return self._s

    # ---- preferences ---------------------------------------------------------

    def preferences(self) -> Preferences:
        defaults = Preferences()
        values: dict[str, Any] = {}  # each coerced to its default's type
        for f in fields(Preferences):
            default = getattr(defaults, f.name)
            raw = self._s.value(f"prefs/{f.name}", default)
            values[f.name] = _coerce(raw, default)
        prefs = Preferences(**values)
        if prefs.theme not in THEMES:
            prefs.theme = "system"
        return prefs

    def set_preferences(self, prefs: Preferences) -> None:
        for f in fields(Preferences):
            self._s.setValue(f"prefs/{f.name}", getattr(prefs, f.name))
        self._s.sync()

    # ---- window state ------------------------------------------------------------

    def state(self, name: str) -> QByteArray | None:
        value = self._s.value(f"window/{name}")
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def set_state(self, name: str, value: QByteArray) -> None:
        self._s.setValue(f"window/{name}", value)

    def value(self, key: str, default: str = "") -> str:
        return str(self._s.value(key, default))

    def set_value(self, key: str, value: str) -> None:
        self._s.setValue(key, value)

    def sync(self) -> None:
        self._s.sync()


def _coerce(raw: object, default: object) -> object:
    """INI files hand everything back as strings; convert to the default's type."""
    if isinstance(default, bool):
        if isinstance(raw, bool):
            return raw
        return str(raw).strip().lower() in ("1", "true", "yes", "on")
    if isinstance(default, int):
        try:
            return int(str(raw))
        except ValueError:
            return default
    return "" if raw is None else str(raw)


class SettingsDialog(QDialog):
    """Edit ``Preferences``; ``preferences()`` returns the validated result.

    OK emits ``chosen`` with the validated preferences; the dialog applies
    nothing itself (the composition root owns preferences). With
    ``wait_for_listener`` set, a change of the SMTP listener keeps the dialog
    open until the owner reports the outcome (``listener_applied``): a port
    that cannot be used is then explained here, where the user typed it, and
    can be corrected at once.
    """

    #: the user confirmed these ``Preferences`` (validated)
    chosen = Signal(object)

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.wait_for_listener = False
        self.waiting = False
        self.setWindowTitle("Settings")
        self.setObjectName("settingsDialog")
        self.setMinimumWidth(520)
        self._original = prefs

        # ---- SMTP -------------------------------------------------------------
        self.smtp_host = QLineEdit(prefs.smtp_host)
        self.smtp_host.setToolTip(
            "127.0.0.1 accepts local mail only; 0.0.0.0 listens on every interface"
        )
        self.smtp_port = _port_box(prefs.smtp_port)
        self.smtps_enabled = QCheckBox("Also listen for SMTPS (implicit TLS) on port")
        self.smtps_enabled.setChecked(prefs.smtps_enabled)
        self.smtps_port = _port_box(prefs.smtps_port)
        self.smtps_port.setEnabled(prefs.smtps_enabled)
        self.smtps_enabled.toggled.connect(self.smtps_port.setEnabled)
        self.extra_listeners = QLineEdit(prefs.extra_listeners)
        self.extra_listeners.setObjectName("extraListeners")
        self.extra_listeners.setPlaceholderText(":1026=projectB, :1027=projectC")
        self.extra_listeners.setToolTip(
            "More SMTP listeners, HOST:PORT or :PORT, each optionally =MAILBOX: what arrives "
            "there is stored in that mailbox (a rule's mailbox action wins)"
        )
        smtps_row = QHBoxLayout()
        smtps_row.addWidget(self.smtps_enabled)
        smtps_row.addWidget(self.smtps_port)
        smtps_row.addStretch(1)

        self.tls_cert = QLineEdit(prefs.tls_cert)
        self.tls_cert.setPlaceholderText("generated self-signed certificate")
        self.tls_key = QLineEdit(prefs.tls_key)
        self.tls_key.setPlaceholderText("in the certificate file")

        self.auth_kind = QComboBox()
        self.auth_kind.addItem("Not offered", "none")
        self.auth_kind.addItem("Accept any credentials", "any")
        self.auth_kind.addItem("Require this login", "required")
        self.auth_user = QLineEdit()
        self.auth_user.setPlaceholderText("user")
        self.auth_password = QLineEdit()
        self.auth_password.setPlaceholderText("password")
        self.auth_password.setEchoMode(QLineEdit.EchoMode.PasswordEchoOnEdit)
        try:
            mode = AuthSetting.parse(prefs.auth)
        except ValueError:
            mode = AuthSetting("any")
        # A bare user: the password came from the command line and is not saved
        # (see listener_prefs); left empty, the running one is kept.
        self._session_user = mode.username if mode.kind == "required" and not mode.password else ""
        if self._session_user:
            self.auth_password.setPlaceholderText("from the command line (not saved)")
        self.auth_kind.setCurrentIndex(max(self.auth_kind.findData(mode.kind), 0))
        self.auth_user.setText(mode.username)
        self.auth_password.setText(mode.password)
        auth_row = QHBoxLayout()
        auth_row.addWidget(self.auth_kind, 1)
        auth_row.addWidget(self.auth_user, 1)
        auth_row.addWidget(self.auth_password, 1)
        self.auth_kind.currentIndexChanged.connect(self._auth_kind_changed)
        self._auth_kind_changed()

        self.max_size = QSpinBox()
        self.max_size.setRange(0, 10_000)
        self.max_size.setSuffix(" MB")
        self.max_size.setSpecialValueText("unlimited")
        self.max_size.setValue(prefs.max_size_mb)

        smtp = QGroupBox("SMTP server")
        form = QFormLayout(smtp)
        host_row = QHBoxLayout()
        host_row.addWidget(self.smtp_host, 1)
        host_row.addWidget(QLabel("port"))
        host_row.addWidget(self.smtp_port)
        form.addRow("Listen on", host_row)
        form.addRow("More listeners", self.extra_listeners)
        form.addRow("", smtps_row)
        form.addRow(
            "TLS certificate", _with_browse(self.tls_cert, self, "Choose a PEM certificate")
        )
        form.addRow("TLS key", _with_browse(self.tls_key, self, "Choose a PEM private key"))
        form.addRow("SMTP AUTH", auth_row)
        form.addRow("Largest message", self.max_size)
        note = QLabel(
            "Credentials here are test logins for your app; they are saved in plain text."
        )
        note.setObjectName("hint")
        note.setWordWrap(True)
        form.addRow("", note)

        # ---- mailbox / viewer / notifications ---------------------------------
        self.retention = QSpinBox()
        self.retention.setRange(0, 10_000_000)
        self.retention.setSingleStep(1000)
        self.retention.setGroupSeparatorShown(True)
        self.retention.setSpecialValueText("unlimited")
        self.retention.setSuffix(" messages")
        self.retention.setValue(prefs.retention)
        self.allow_remote = QCheckBox("Load remote images and content by default")
        self.allow_remote.setChecked(prefs.allow_remote_default)
        self.notifications = QCheckBox("Notify about new mail")
        self.notifications.setChecked(prefs.notifications)
        self.theme = QComboBox()
        for value, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, value)
        self.theme.setCurrentIndex(max(self.theme.findData(prefs.theme), 0))

        general = QGroupBox("Mailbox and display")
        gform = QFormLayout(general)
        gform.addRow("Keep at most", self.retention)
        gform.addRow("Viewer", self.allow_remote)
        gform.addRow("Notifications", self.notifications)
        gform.addRow("Appearance", self.theme)

        self.checks = ChecksSettingsBox(prefs)

        self.error = QLabel()
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()

        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.buttons = buttons

        self.http_group = HttpApiGroup(prefs, self)

        layout = QVBoxLayout(self)
        layout.addWidget(smtp)
        layout.addWidget(self.http_group)
        layout.addWidget(general)
        layout.addWidget(self.checks)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def _auth_kind_changed(self) -> None:
        required = self.auth_kind.currentData() == "required"
        self.auth_user.setEnabled(required)
        self.auth_password.setEnabled(required)

    def preferences(self) -> Preferences:
        """The edited values (unvalidated; see ``validate``)."""
        kind = self.auth_kind.currentData()
        if kind == "required":
            auth = AuthSetting(kind, self.auth_user.text().strip(), self.auth_password.text()).text
        else:
            auth = kind
        prefs = Preferences(
            smtp_host=self.smtp_host.text().strip() or "127.0.0.1",
            smtp_port=self.smtp_port.value(),
            extra_listeners=", ".join(self.extra_listeners.text().replace(",", " ").split()),
            smtps_enabled=self.smtps_enabled.isChecked(),
            smtps_port=self.smtps_port.value(),
            tls_cert=self.tls_cert.text().strip(),
            tls_key=self.tls_key.text().strip(),
            auth=auth,
            max_size_mb=self.max_size.value(),
            retention=self.retention.value(),
            allow_remote_default=self.allow_remote.isChecked(),
            notifications=self.notifications.isChecked(),
            theme=self.theme.currentData(),
            **self.checks.values(),  # type: ignore[arg-type]
        )
        return self.http_group.apply_to(prefs)

    def validate(self) -> str | None:
        """A message for the first problem, or None."""
        p = self.preferences()
        try:
            auth = AuthSetting.parse(p.auth)
        except ValueError:
            auth = AuthSetting("required")
        if auth.kind == "required" and not (
            auth.username and (auth.password or auth.username == self._session_user)
        ):
            return "Required AUTH needs both a user name and a password."
        if p.smtps_enabled and p.smtps_port == p.smtp_port and p.smtp_port != 0:
            return "SMTP and SMTPS cannot share a port."
        if p.tls_key and not p.tls_cert:
            return "A TLS key needs a TLS certificate."
        for label, value in (("certificate", p.tls_cert), ("key", p.tls_key)):
            if value and not Path(value).expanduser().is_file():
                return f"The TLS {label} file {value!r} does not exist."
        if any(c.isspace() for c in p.smtp_host):
            return "The listen address must not contain spaces."
        try:
            extra = parse_listeners(p.extra_listeners)
        except ValueError as exc:
            return f"More listeners: {exc}."
        ports = [p.smtp_port, *(spec.address[1] for spec in extra)]
        if p.smtps_enabled:
            ports.append(p.smtps_port)
        used = [port for port in ports if port]
        if len(used) != len(set(used)):
            return "Two listeners cannot share a port."
        return self.http_group.validate(p) or self.checks.problem()

    def accept(self) -> None:
        if self.waiting:
            return
        problem = self.validate()
        if problem:
            self.show_error(problem)
            return
        prefs = self.preferences()
        if self.wait_for_listener and (
            prefs.listener_differs(self._original) or prefs.http_differs(self._original)
        ):
            self.waiting = True
            self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
            self.error.setProperty("busy", True)
            self.error.setText("Starting the listeners…")
            self.error.show()
            self._grow_to_fit()
            self.chosen.emit(prefs)
            return
        self.chosen.emit(prefs)
        super().accept()

    def show_error(self, message: str) -> None:
        """Show ``message`` in full under the form (it wraps; nothing is cut off)."""
        self.error.setProperty("busy", False)
        self.error.setText(message)
        self.error.show()
        self._grow_to_fit()

    def _grow_to_fit(self) -> None:
        # The message adds lines: grow rather than squeeze the form above it.
        layout = self.layout()
        if layout is not None:
            layout.activate()
        self.resize(self.width(), max(self.height(), self.sizeHint().height()))

    def listener_applied(self, error: str | None) -> None:
        """The owner tried the new listener: close on success, explain a failure."""
        self.waiting = False
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(True)
        if error is None:
            self.error.hide()
            super().accept()
            return
        self.show_error(
            f"Could not use the new listener settings: {error}.\n"
            "Still listening on the previous address. Choose another port, or Cancel."
        )


class SettingsFlow(QObject):
    """One Settings dialog at a time for a window, and the answer to a listener change.

    The dialog's confirmed preferences go out as ``chosen``; the owner (the
    app) reports a listener change with ``listener_change_finished``: into
    the open dialog, or -- if the user closed it meanwhile -- a message box.
    """

    chosen = Signal(object)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self.window = window
        self.dialog: SettingsDialog | None = None

    def open(self, prefs: Preferences) -> SettingsDialog:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.raise_()
            return self.dialog
        dialog = SettingsDialog(prefs, self.window)
        dialog.wait_for_listener = True  # the owner answers with listener_change_finished
        dialog.chosen.connect(self.chosen.emit)
        dialog.finished.connect(self._closed)
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()

    def listener_change_finished(self, error: str | None) -> None:
        dialog = self.dialog
        if dialog is not None and dialog.isVisible():
            dialog.listener_applied(error)
        elif error:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                "Could not change the listener",
                f"{error}. Still listening on the previous address.",
                QMessageBox.StandardButton.Ok,
                self.window,
            )
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()


def _port_box(value: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(0, 65535)
    box.setValue(value)
    box.setToolTip("0 lets the system pick a free port")
    return box


def _with_browse(edit: QLineEdit, parent: QWidget, title: str) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    button = QPushButton("Browse…")

    def browse() -> None:
        path, _ = QFileDialog.getOpenFileName(
            parent, title, edit.text(), "PEM files (*.pem *.crt *.key);;All files (*)"
        )
        if path:
            edit.setText(path)

    button.clicked.connect(browse)
    row.addWidget(button)
    return row
