"""Help ▸ Search Syntax and Help ▸ About."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QMessageBox, QWidget

from .search_field import SEARCH_HELP_HTML


class HelpDialogs(QObject):
    """The two help boxes; About says where messages and settings are stored."""

    def __init__(self, window: QWidget, store_path: str, settings_path: Path) -> None:
        super().__init__(window)
        self.window = window
        self.store_path = store_path
        self.settings_path = settings_path

    def search_syntax(self) -> None:
        QMessageBox.information(self.window, "Search syntax", SEARCH_HELP_HTML)

    def about(self) -> None:
        from ... import __version__

        QMessageBox.about(
            self.window,
            "About mailcatcher-gui",
            f"<b>mailcatcher-gui</b> {__version__}<br>"
            "A desktop mail catcher for developers.<br><br>"
            f"Messages: {html.escape(self.store_path)}<br>"
            f"Settings: {html.escape(str(self.settings_path))}",
        )
