"""The fields of one relay profile, as edited in the profile dialog.

``ProfileForm.profile()`` builds the ``RelayProfile`` (raising
``ProfileError`` naming what is wrong); the password field is only enabled
when a system keyring can keep it.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from ...core.sending import RelayProfile, Security
from ...core.sending.profiles import AUTH_MECHANISMS


class ProfileForm(QWidget):
    """The fields of one ``RelayProfile`` (and its keyring password)."""

    changed = Signal()

    def __init__(self, keyring_available: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.name = QLineEdit(self)
        self.host = QLineEdit(self)
        self.port = QSpinBox(self)
        self.port.setRange(1, 65535)
        self.security = QComboBox(self)
        for value, label in (
            (Security.NONE, "None (plain SMTP)"),
            (Security.STARTTLS, "STARTTLS (required)"),
            (Security.TLS, "Implicit TLS (SMTPS)"),
        ):
            self.security.addItem(label, value.value)
        self.auth = QComboBox(self)
        for mech in AUTH_MECHANISMS:
            self.auth.addItem("Best offered" if mech == "auto" else mech, mech)
        self.username = QLineEdit(self)
        self.username.setPlaceholderText("empty: no login")
        self.password = QLineEdit(self)
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.keyring_available = keyring_available
        if keyring_available:
            self.password.setPlaceholderText("stored in the system keyring")
        else:
            self.password.setPlaceholderText("no keyring: asked when sending")
            self.password.setEnabled(False)
            self.password.setToolTip(
                "No system keyring is available on this machine, so passwords are never "
                "stored: you are asked at each send (or name an environment variable)."
            )
        self.password_env = QLineEdit(self)
        self.password_env.setPlaceholderText("e.g. SMTP_PASSWORD (optional)")
        self.ca_file = QLineEdit(self)
        self.ca_file.setPlaceholderText("system trust store")
        browse = QToolButton(self)
        browse.setText("…")
        browse.clicked.connect(self._browse_ca)
        ca_row = QHBoxLayout()
        ca_row.setContentsMargins(0, 0, 0, 0)
        ca_row.addWidget(self.ca_file, 1)
        ca_row.addWidget(browse)
        self.allow_invalid = QCheckBox("Accept invalid certificates (insecure)", self)
        # core.sending.policy refuses a password without TLS to a host that is
        # not this machine unless the profile allows it; the form must carry
        # that choice, or editing a profile would silently drop it.
        self.allow_plaintext = QCheckBox(
            "Send the password without TLS to this host (insecure)", self
        )
        self.connect_timeout = QDoubleSpinBox(self)
        self.connect_timeout.setRange(0.5, 600)
        self.connect_timeout.setSuffix(" s")
        self.command_timeout = QDoubleSpinBox(self)
        self.command_timeout.setRange(0.5, 600)
        self.command_timeout.setSuffix(" s")
        self.helo = QLineEdit(self)
        self.helo.setPlaceholderText("this machine's name")

        form = QFormLayout(self)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name:", self.name)
        form.addRow("Host:", self.host)
        form.addRow("Port:", self.port)
        form.addRow("Security:", self.security)
        form.addRow("Login:", self.username)
        form.addRow("Password:", self.password)
        form.addRow("Password from env:", self.password_env)
        form.addRow("AUTH method:", self.auth)
        form.addRow("CA file:", ca_row)
        form.addRow("", self.allow_invalid)
        form.addRow("", self.allow_plaintext)
        form.addRow("Connect timeout:", self.connect_timeout)
        form.addRow("Command timeout:", self.command_timeout)
        form.addRow("EHLO name:", self.helo)
        for edit in (
            self.name,
            self.host,
            self.username,
            self.password,
            self.password_env,
            self.ca_file,
            self.helo,
        ):
            edit.textEdited.connect(lambda _t: self.changed.emit())
        self.port.valueChanged.connect(lambda _v: self.changed.emit())
        self.security.currentIndexChanged.connect(self._security_changed)
        self.auth.currentIndexChanged.connect(lambda _i: self.changed.emit())
        self.allow_invalid.toggled.connect(lambda _b: self.changed.emit())
        self.allow_plaintext.toggled.connect(lambda _b: self.changed.emit())
        self.set_profile(RelayProfile(name="New relay"))

    def _security_changed(self, _index: int) -> None:
        tls = self.security.currentData() != Security.NONE.value
        self.ca_file.setEnabled(tls)
        self.allow_invalid.setEnabled(tls)
        self.allow_plaintext.setEnabled(not tls)
        self.changed.emit()

    def _browse_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", "", "PEM files (*.pem *.crt);;All files (*)"
        )
        if path:
            self.ca_file.setText(path)
            self.changed.emit()

    def set_profile(self, profile: RelayProfile) -> None:
        self.name.setText(profile.name)
        self.host.setText(profile.host)
        self.port.setValue(int(profile.port))
        self.security.setCurrentIndex(max(0, self.security.findData(profile.security.value)))
        auth = self.auth.findData(profile.auth)
        if auth < 0:
            auth = next(
                (
                    i
                    for i in range(self.auth.count())
                    if self.auth.itemData(i).lower() == profile.auth.lower()
                ),
                0,
            )
        self.auth.setCurrentIndex(auth)
        self.username.setText(profile.username)
        self.password.clear()
        self.password_env.setText(profile.password_env)
        self.ca_file.setText(profile.ca_file)
        self.allow_invalid.setChecked(profile.allow_invalid_cert)
        self.allow_plaintext.setChecked(profile.allow_plaintext_auth)
        self.connect_timeout.setValue(profile.connect_timeout)
        self.command_timeout.setValue(profile.command_timeout)
        self.helo.setText(profile.helo_name)
        self._security_changed(0)

    def profile(self) -> RelayProfile:
        """The profile as edited; ``ProfileError`` naming what is wrong."""
        return RelayProfile(
            name=self.name.text().strip(),
            host=self.host.text().strip(),
            port=self.port.value(),
            security=Security(self.security.currentData()),
            auth=str(self.auth.currentData()),
            username=self.username.text().strip(),
            password_env=self.password_env.text().strip(),
            ca_file=self.ca_file.text().strip(),
            allow_invalid_cert=self.allow_invalid.isChecked(),
            allow_plaintext_auth=self.allow_plaintext.isChecked(),
            connect_timeout=self.connect_timeout.value(),
            command_timeout=self.command_timeout.value(),
            helo_name=self.helo.text().strip(),
        )
