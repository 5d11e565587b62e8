"""Mailbox events -> Qt signals.

The ``Mailbox`` calls its listeners on whatever thread finished the write:
the event loop (which, with qasync, is the Qt main thread) for SMTP, a worker
thread for an import. Widgets may only be touched on the main thread, and a
model must never change while Qt is in the middle of painting or handling a
selection, so every event is re-emitted through a *queued* connection: it is
delivered by the Qt event loop of the bridge's thread, after the code that
caused it has returned. Receivers therefore see events in order, on the main
thread, never re-entrantly.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ..core.mailbox import Mailbox
from ..core.models import (
    MailboxCleared,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
)


class MailboxBridge(QObject):
    """Re-emits one ``Mailbox``'s events as Qt signals on the main thread."""

    #: tuple[MessageSummary, ...] just stored, in commit order
    messagesAdded = Signal(object)
    #: tuple[int, ...] ids removed (user delete or retention pruning)
    messagesDeleted = Signal(object)
    #: tuple[int, ...] ids whose read flag changed, and the new value
    messagesChanged = Signal(object, bool)
    #: every message is gone
    mailboxCleared = Signal()

    # Internal hop: emitted on any thread, delivered queued on ours.
    _event = Signal(object)

    def __init__(self, mailbox: Mailbox, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = mailbox
        self._event.connect(self._dispatch, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = mailbox.subscribe(self._on_event)

    @property
    def mailbox(self) -> Mailbox:
        return self._mailbox

    def _on_event(self, event: MailboxEvent) -> None:
        # Runs on the writer's caller thread; only queue, never touch receivers.
        self._event.emit(event)

    @Slot(object)
    def _dispatch(self, event: MailboxEvent) -> None:
        if isinstance(event, MessagesAdded):
            self.messagesAdded.emit(event.summaries)
        elif isinstance(event, MessagesDeleted):
            self.messagesDeleted.emit(event.ids)
        elif isinstance(event, MessagesChanged):
            self.messagesChanged.emit(event.ids, event.read)
        elif isinstance(event, MailboxCleared):
            self.mailboxCleared.emit()

    def close(self) -> None:
        """Stop listening (idempotent); events already queued are still delivered."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
