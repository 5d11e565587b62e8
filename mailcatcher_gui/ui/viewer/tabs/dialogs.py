"""Every question the message view asks the user, in one replaceable object.

The view never calls ``QMessageBox``/``QFileDialog``/``QDesktopServices``
directly: it calls a ``ViewerDialogs``. Tests (and embedders) pass a subclass
or set attributes on an instance, so "the confirm hook was called with this
URL" or "save into this directory" can be exercised without a modal loop or
a real browser being launched.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


class Conflict(Enum):
    REPLACE = "replace"
    KEEP_BOTH = "keep_both"
    CANCEL = "cancel"


class ViewerDialogs:
    """The default, interactive implementation."""

    def confirm_open_link(self, parent: QWidget | None, url: str) -> bool:
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Open link")
        box.setText("Open this link in your web browser?")
        box.setInformativeText(url)
        box.setStandardButtons(QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        return box.exec() == QMessageBox.StandardButton.Open

    def confirm_open_file(self, parent: QWidget | None, name: str) -> bool:
        """Asked before handing a risky attachment type to the desktop."""
        answer = QMessageBox.warning(
            parent,
            "Open attachment",
            f"“{name}” may be a program or script. Open it anyway?",
            QMessageBox.StandardButton.Open | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        return answer == QMessageBox.StandardButton.Open

    def open_url(self, url: QUrl) -> bool:
        """Hand ``url`` to the desktop; False when nothing could open it
        (no launcher such as ``xdg-open`` on this system)."""
        return QDesktopServices.openUrl(url)

    def offer_save_instead(self, parent: QWidget | None, name: str) -> bool:
        """Opening ``name`` failed: say so, and offer "Save As…" as the way out."""
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Cannot open attachment")
        box.setText(f"No application on this system could open “{name}”.")
        box.setInformativeText(
            "Save it to a file and open it from there, or install a desktop "
            "launcher (xdg-open) for this type."
        )
        save = box.addButton("Save As…", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Close)
        box.setDefaultButton(save)
        box.exec()
        return box.clickedButton() is save

    def choose_save_path(self, parent: QWidget | None, suggested: Path) -> Path | None:
        """A file to write; Qt's dialog itself asks before replacing one."""
        path, _ = QFileDialog.getSaveFileName(parent, "Save As", str(suggested))
        return Path(path) if path else None

    def choose_directory(self, parent: QWidget | None, start: Path) -> Path | None:
        path = QFileDialog.getExistingDirectory(parent, "Save Attachments To", str(start))
        return Path(path) if path else None

    def resolve_conflicts(self, parent: QWidget | None, existing: list[Path]) -> Conflict:
        names = "\n".join(p.name for p in existing[:10])
        more = f"\n… and {len(existing) - 10} more" if len(existing) > 10 else ""
        box = QMessageBox(parent)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Files already exist")
        box.setText(f"{len(existing)} file(s) already exist in the folder:")
        box.setInformativeText(names + more)
        replace = box.addButton("Replace", QMessageBox.ButtonRole.DestructiveRole)
        keep = box.addButton("Keep Both", QMessageBox.ButtonRole.AcceptRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(keep)
        box.exec()
        clicked = box.clickedButton()
        if clicked is replace:
            return Conflict.REPLACE
        if clicked is keep:
            return Conflict.KEEP_BOTH
        return Conflict.CANCEL

    def show_error(self, parent: QWidget | None, title: str, text: str) -> None:
        QMessageBox.warning(parent, title, text)
