"""The Settings dialog's "HTTP API" group: on/off and the address of the Mailpit-compatible API.

Kept apart from ``settings.py`` (the dialog) so that module stays about the
dialog's flow; the group only edits the three ``Preferences`` fields
``http_enabled``, ``http_host`` and ``http_port``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

if TYPE_CHECKING:  # settings.py imports this module
    from .settings import Preferences


class HttpApiGroup(QGroupBox):
    """Checkbox, host and port of the HTTP API."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__("HTTP API", parent)
        self.setObjectName("httpApiGroup")
        self.enabled = QCheckBox("Serve the Mailpit-compatible API and live events on")
        self.enabled.setChecked(prefs.http_enabled)
        self.host = QLineEdit(prefs.http_host)
        self.host.setToolTip(
            "127.0.0.1 keeps the API on this machine; other addresses need "
            "--http-auth-file (or --http-allow-insecure) on the command line"
        )
        self.port = QSpinBox()
        self.port.setRange(0, 65535)
        self.port.setValue(prefs.http_port)
        self.port.setToolTip("0 lets the system pick a free port")
        for widget in (self.host, self.port):
            widget.setEnabled(prefs.http_enabled)
            self.enabled.toggled.connect(widget.setEnabled)
        row = QHBoxLayout()
        row.addWidget(self.host, 1)
        row.addWidget(QLabel("port"))
        row.addWidget(self.port)
        form = QFormLayout(self)
        form.addRow("", self.enabled)
        form.addRow("Listen on", row)
        note = QLabel("Tools written for Mailpit (its REST API and /api/events) work against this.")
        note.setObjectName("hint")
        note.setWordWrap(True)
        form.addRow("", note)

    def apply_to(self, prefs: Preferences) -> Preferences:
        """``prefs`` with this group's values."""
        return replace(
            prefs,
            http_enabled=self.enabled.isChecked(),
            http_host=self.host.text().strip() or "127.0.0.1",
            http_port=self.port.value(),
        )

    @staticmethod
    def validate(prefs: Preferences) -> str | None:
        """A message for the first problem of the HTTP fields, or None."""
        if not prefs.http_enabled:
            return None
        if any(c.isspace() for c in prefs.http_host):
            return "The HTTP API address must not contain spaces."
        if prefs.http_port and prefs.http_port in (prefs.smtp_port, *_smtps(prefs)):
            return "The HTTP API cannot share a port with the SMTP listener."
        return None


def _smtps(prefs: Preferences) -> tuple[int, ...]:
    return (prefs.smtps_port,) if prefs.smtps_enabled else ()
