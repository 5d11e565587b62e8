"""Tagging from the window: Add Tag… and the Tags submenu of the list's context menu.

Like ``message_commands``, each command is one ``Mailbox`` call on the
messages the user means (the list's selection); the list, the sidebar and
the counts then follow the mailbox's ``TagsChanged`` event.

Add Tag… asks for one name in a small dialog whose editable list offers the
tags already in use (typing completes them); it opens non-modally
(``QDialog.open``) and applies to the messages selected when it was opened.
A name with nothing left after Mailpit's cleaning (``core.tag_names``) is
refused with a sentence in the dialog, which then stays open. The submenu
offers to remove each tag the selected messages carry.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QMenu,
    QVBoxLayout,
    QWidget,
)

from ...core.mailbox_protocol import MailboxProtocol
from ...core.tag_names import clean_tag, sort_tags
from ..theme import mute
from .message_list import MessageList

#: the most selected rows whose tags the Tags submenu looks at (a select-all of
#: 100,000 rows must not read 100,000 rows to build a menu)
MAX_ROWS_FOR_MENU = 2000


class AddTagDialog(QDialog):
    """One tag name, offering the tags in use; ``tag`` is the cleaned name once accepted."""

    def __init__(self, existing: list[str], count: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("addTagDialog")
        self.setWindowTitle("Add Tag")
        self.tag = ""
        label = QLabel(f"Tag for {count:,} message{'s' if count != 1 else ''}:", self)
        self.combo = QComboBox(self)
        self.combo.setEditable(True)
        self.combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.combo.addItems(existing)
        self.combo.setCurrentIndex(-1)
        self.combo.setEditText("")
        edit = self.combo.lineEdit()
        if edit is not None:  # editable: it has one
            edit.setPlaceholderText("e.g. urgent")
        self.combo.setMinimumWidth(260)
        label.setBuddy(self.combo)
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.hint = QLabel("Letters, digits, spaces, '-', '_' and '.'.", self)
        mute(self.hint)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addWidget(self.combo)
        layout.addWidget(self.hint)
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def accept(self) -> None:
        text = self.combo.currentText()
        tag = clean_tag(text)
        if not tag:
            self.error.setText(
                f"{text.strip()!r} is no usable tag name." if text.strip() else "Type a tag name."
            )
            self.error.show()
            return
        self.tag = tag
        super().accept()


class TagCommands(QObject):
    """Add Tag…, Remove Tag and the context menu's Tags submenu, for one window."""

    #: a short status-bar message (text, milliseconds)
    status = Signal(str, int)

    def __init__(self, mailbox: MailboxProtocol, message_list: MessageList, window: QWidget):
        super().__init__(window)
        self.mailbox = mailbox
        self.message_list = message_list
        self.window = window
        #: the Add Tag dialog while it is open (for tests and to avoid two at once)
        self.dialog: AddTagDialog | None = None

    # ---- commands --------------------------------------------------------------

    def add_tag(self, ids: list[int], tag: str) -> None:
        if ids:
            self.mailbox.add_tags(ids, [tag])
            n = len(ids)
            self.status.emit(f"Tagged {n:,} message{'s' if n != 1 else ''} “{tag}”", 3000)

    def remove_tag(self, ids: list[int], tag: str) -> None:
        if ids:
            self.mailbox.remove_tags(ids, [tag])
            self.status.emit(f"Removed the tag “{tag}”", 3000)

    def add_tag_interactive(self) -> AddTagDialog | None:
        """Open the Add Tag dialog for the selection (None: nothing selected)."""
        ids = self.message_list.selected_ids()
        if not ids:
            return None
        if self.dialog is not None:
            self.dialog.reject()
        try:
            existing = list(self.mailbox.tags())
        except Exception:  # noqa: BLE001 - offering names is a convenience
            existing = []
        dialog = AddTagDialog(existing, len(ids), self.window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.accepted.connect(lambda: self.add_tag(ids, dialog.tag))
        dialog.finished.connect(lambda _result: self._forget(dialog))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _forget(self, dialog: AddTagDialog) -> None:
        if self.dialog is dialog:
            self.dialog = None

    # ---- the context menu --------------------------------------------------------

    def selected_tags(self) -> tuple[str, ...]:
        """The tags the selected messages carry (of the first ``MAX_ROWS_FOR_MENU`` rows)."""
        model = self.message_list.model
        found: dict[str, str] = {}
        for row in self.message_list.selected_rows()[:MAX_ROWS_FOR_MENU]:
            s = model.summary_at(row)
            if s is not None:
                for tag in s.tags:
                    found.setdefault(tag.casefold(), tag)
        return sort_tags(found.values())

    def menu(self, parent: QWidget) -> QMenu:
        """The Tags submenu: Add Tag…, then Remove “x” for each tag of the selection."""
        menu = QMenu("&Tags", parent)
        menu.setObjectName("tagsMenu")
        add = QAction("&Add Tag…", menu)
        add.triggered.connect(lambda _checked=False: self.add_tag_interactive())
        menu.addAction(add)
        tags = self.selected_tags()
        if tags:
            menu.addSeparator()
        for tag in tags:
            action = QAction(f"Remove “{tag}”", menu)
            action.setData(tag)
            action.triggered.connect(
                lambda _checked=False, t=tag: self.remove_tag(self.message_list.selected_ids(), t)
            )
            menu.addAction(action)
        return menu
