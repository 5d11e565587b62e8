"""What the window does to messages: mark read/unread, delete, clear, copy.

Each command is a ``Mailbox`` call on the messages the user means (the list's
selection) or on the one on screen; the list and viewer then follow the
mailbox's events, not these commands.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.models import MessageSummary
from ...core.store.database import MessageNotFound, StoreError
from .message_list import MessageList


class MessageCommands(QObject):
    """Mark, delete, clear and copy, for one window."""

    #: a short status-bar message (text, milliseconds)
    status = Signal(str, int)

    def __init__(
        self,
        mailbox: MailboxProtocol,
        message_list: MessageList,
        shown_id: Callable[[], int | None],
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self.mailbox = mailbox
        self.message_list = message_list
        self.shown_id = shown_id
        self.window = window

    def mark_selected(self, read: bool) -> None:
        ids = self.message_list.selected_ids()
        if ids:
            try:
                self.mailbox.mark_read(ids, read)
            except StoreError as exc:  # e.g. a remote catcher out of reach
                self.status.emit(f"Cannot mark messages: {exc}", 8000)

    def delete_selected(self) -> None:
        ids = self.message_list.selected_ids()
        if not ids:
            return
        rows = self.message_list.selected_rows()
        if self.message_list.current_id in ids and rows:
            self.message_list.reselect_after_delete(rows[0])
        try:
            self.mailbox.delete(ids)
        except StoreError as exc:
            self.status.emit(f"Cannot delete: {exc}", 8000)
            return
        self.status.emit(f"Deleted {len(ids):,} message{'s' if len(ids) != 1 else ''}", 3000)

    def clear_all(self) -> int:
        try:
            return self.mailbox.clear()
        except StoreError as exc:
            self.status.emit(f"Cannot delete all messages: {exc}", 8000)
            return 0

    def clear_all_interactive(self) -> None:
        try:
            total = self.mailbox.count()
        except StoreError as exc:
            self.status.emit(f"Cannot count the messages: {exc}", 8000)
            return
        if not total:
            return
        answer = QMessageBox.question(
            self.window,
            "Delete all messages?",
            f"Delete all {total:,} stored messages? This cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Cancel,
        )
        if answer == QMessageBox.StandardButton.Yes:
            self.clear_all()

    def shown_summary(self) -> MessageSummary | None:
        """The list row of the message on screen (None: nothing stored is shown)."""
        shown = self.shown_id()
        if shown is None:
            return None
        try:
            return self.mailbox.summary(shown)
        except (MessageNotFound, StoreError):
            return None

    def copy_sender(self) -> None:
        s = self.shown_summary()
        if s is not None:
            QApplication.clipboard().setText(s.from_ or s.envelope_from)

    def copy_subject(self) -> None:
        s = self.shown_summary()
        if s is not None:
            QApplication.clipboard().setText(s.subject)
