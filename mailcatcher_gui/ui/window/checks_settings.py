"""The inspection checks' settings: the Settings dialog's "Checks" box, and
``Preferences`` -> ``CheckSettings`` (what the viewer's ``ChecksJobs`` use).

The preferences hold plain strings and booleans (they live in the INI file);
``check_settings`` turns them into ``CheckOptions`` for the checks: the
spamd address, whether link checks may request loopback/private addresses,
and the DKIM public keys, read from the files the user listed as
``SELECTOR._domainkey.DOMAIN=FILE`` lines. A key file that cannot be read
is left out with a warning; the dialog refuses such lines before they are
saved (``checks_problem``).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from ...core.checks.model import CheckOptions
from ...core.checks.settings import parse_dkim_key, parse_spamd_address
from ..viewer.checks_jobs import CheckSettings

if TYPE_CHECKING:
    from .settings import Preferences

log = logging.getLogger(__name__)


def parse_dkim_keys(text: str) -> tuple[list[tuple[str, Path]], list[str]]:
    """``SELECTOR._domainkey.DOMAIN=FILE`` lines -> ([(name, path)], [problems]).

    Blank lines and ``#`` comments are skipped; names are lower-cased (DNS
    names are case-insensitive, ``CheckOptions.dkim_keys`` wants them so).
    """
    entries: list[tuple[str, Path]] = []
    problems: list[str] = []
    for number, raw_line in enumerate(text.splitlines(), 1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            entries.append(parse_dkim_key(line))
        except ValueError as exc:
            problems.append(f"DKIM keys line {number}: {exc}")
    return entries, problems


def checks_problem(spamassassin: str, dkim_keys: str) -> str | None:
    """What is wrong with the dialog's check settings (the first problem), or None."""
    if spamassassin.strip():
        try:
            parse_spamd_address(spamassassin)
        except ValueError as exc:
            return f"SpamAssassin: {exc}."
    entries, problems = parse_dkim_keys(dkim_keys)
    if problems:
        return problems[0] + "."
    for name, path in entries:
        if not path.is_file():
            return f"The DKIM key file {str(path)!r} for {name} does not exist."
    return None


def check_settings(prefs: Preferences) -> CheckSettings:
    """``prefs`` as the viewer's ``CheckSettings`` (key files are read here)."""
    keys: dict[str, bytes] = {}
    entries, problems = parse_dkim_keys(prefs.dkim_keys)
    for problem in problems:
        log.warning("%s (ignored)", problem)
    for name, path in entries:
        try:
            keys[name] = path.read_bytes()
        except OSError as exc:
            log.warning("DKIM key %s: cannot read %s: %s (ignored)", name, path, exc.strerror)
    options = CheckOptions(
        dkim_keys=keys,
        resolve_dns=prefs.dkim_dns,
        spamassassin=prefs.spamassassin.strip() or None,
        allow_local_links=prefs.allow_local_links,
    )
    return CheckSettings(
        options=options, auto_links=prefs.checks_auto_links, auto_spam=prefs.checks_auto_spam
    )


#: after the window is built, when the checks' process starts (it must not
#: compete with the window's first paint)
PRESTART_MS = 2000


def apply_check_settings(view: QWidget, prefs: Preferences) -> CheckSettings:
    """Hand ``prefs``' check settings to the viewer, if it runs checks, and
    have it start the checks' process a moment later (a no-op once running).
    Returns the settings (the app gives their options to the HTTP API too)."""
    settings = check_settings(prefs)
    configure = getattr(view, "set_check_settings", None)
    if callable(configure):
        configure(settings)
    prestart = getattr(view, "prestart_checks", None)
    if callable(prestart):
        QTimer.singleShot(PRESTART_MS, view, prestart)
    return settings


class ChecksSettingsBox(QGroupBox):
    """The Settings dialog's "Checks" group: edits the checks' preferences."""

    def __init__(self, prefs: Preferences, parent: QWidget | None = None) -> None:
        super().__init__("Checks", parent)
        self.setObjectName("checksSettings")
        self.spamassassin = QLineEdit(prefs.spamassassin)
        self.spamassassin.setPlaceholderText("spamd's HOST:PORT (e.g. 127.0.0.1:783) or unix:/PATH")
        self.spamassassin.setToolTip(
            "The spam score comes from SpamAssassin's spamd; empty: no spam check"
        )
        self.auto_links = QCheckBox("Check links")
        self.auto_links.setChecked(prefs.checks_auto_links)
        self.auto_links.setToolTip(
            "Otherwise only on 'Check links' in the Checks tab (it requests every URL)"
        )
        self.auto_spam = QCheckBox("Check the spam score")
        self.auto_spam.setChecked(prefs.checks_auto_spam)
        self.auto_spam.setToolTip("Otherwise only on 'Check spam score' in the Checks tab")
        self.allow_local = QCheckBox("May request local and private addresses")
        self.allow_local.setChecked(prefs.allow_local_links)
        self.allow_local.setToolTip(
            "localhost, 10.x, 192.168.x ...: off, a message cannot make the app probe your network"
        )
        self.dkim_dns = QCheckBox("Look up keys not listed here in DNS")
        self.dkim_dns.setChecked(prefs.dkim_dns)
        self.dkim_keys = QPlainTextEdit(prefs.dkim_keys)
        self.dkim_keys.setObjectName("dkimKeys")
        self.dkim_keys.setPlaceholderText("selector._domainkey.example.com=/path/to/key.pem")
        self.dkim_keys.setToolTip(
            "One SELECTOR._domainkey.DOMAIN=FILE per line; the file holds the public key "
            "(PEM) or its DNS TXT record"
        )
        self.dkim_keys.setTabChangesFocus(True)
        self.dkim_keys.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.dkim_keys.setFixedHeight(self.dkim_keys.fontMetrics().lineSpacing() * 2 + 16)

        automatic = QHBoxLayout()
        automatic.addWidget(self.auto_links)
        automatic.addWidget(self.auto_spam)
        automatic.addStretch(1)
        form = QFormLayout(self)
        form.addRow("SpamAssassin", self.spamassassin)
        form.addRow("On opening", automatic)
        form.addRow("Link checks", self.allow_local)
        form.addRow("DKIM keys", self.dkim_dns)
        form.addRow("", self.dkim_keys)

    def values(self) -> dict[str, object]:
        """The edited preferences' fields (for ``Preferences(**...)``)."""
        return {
            "spamassassin": self.spamassassin.text().strip(),
            "checks_auto_links": self.auto_links.isChecked(),
            "checks_auto_spam": self.auto_spam.isChecked(),
            "allow_local_links": self.allow_local.isChecked(),
            "dkim_dns": self.dkim_dns.isChecked(),
            "dkim_keys": self.dkim_keys.toPlainText().strip(),
        }

    def problem(self) -> str | None:
        return checks_problem(self.spamassassin.text(), self.dkim_keys.toPlainText())
