"""Mailbox events -> Qt signals.

The ``Mailbox`` calls its listeners on whatever thread finished the write:
the event loop (which, with qasync, is the Qt main thread) for SMTP, a worker
thread for an import. Widgets may only be touched on the main thread, and a
model must never change while Qt is in the middle of painting or handling a
selection, so every event is re-emitted through a *queued* connection: it is
delivered by the Qt event loop of the bridge's thread, after the code that
caused it has returned. Receivers therefore see events in order, on the main
thread, never re-entrantly.

Under an SMTP burst the mailbox announces every message on its own, a few
hundred events a second. Crossing threads through Qt's event queue costs far
more than the event itself, so events are collected in a list and only the
first event of a batch posts a wake-up; the main thread then drains the list
in one go and hands runs of ``MessagesAdded`` / ``MessagesDeleted`` to the
receivers as one tuple each (see ``_drain`` for the order kept).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt, Signal, Slot

from ..core.mailbox_protocol import MailboxProtocol
from ..core.models import (
    MailboxCleared,
    MailboxEvent,
    MessagesAdded,
    MessagesChanged,
    MessagesDeleted,
    MessageSummary,
    TagsChanged,
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
    #: tuple[tuple[int, tuple[str, ...]], ...]: ids whose tags changed, with their new tags
    tagsChanged = Signal(object)

    # Internal hop: emitted on any thread, delivered queued on ours.
    _wake = Signal()

    def __init__(self, mailbox: MailboxProtocol, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._mailbox = mailbox
        self._lock = threading.Lock()
        self._pending: list[MailboxEvent] = []
        self._wake.connect(self._drain, Qt.ConnectionType.QueuedConnection)
        self._unsubscribe: Callable[[], None] | None = mailbox.subscribe(self._on_event)

    @property
    def mailbox(self) -> MailboxProtocol:
        return self._mailbox

    def _on_event(self, event: MailboxEvent) -> None:
        # Runs on the writer's caller thread; only queue, never touch receivers.
        with self._lock:
            self._pending.append(event)
            wake = len(self._pending) == 1
        if wake:
            self._wake.emit()

    @Slot()
    def _drain(self) -> None:
        with self._lock:
            events, self._pending = self._pending, []
        # Merge runs of additions and deletions. A deletion may move ahead of
        # additions of *other* messages (retention pruning interleaves with a
        # burst): the result is the same. One that concerns a message added
        # in this run ends the run, so order still holds where it matters.
        added: list[MessageSummary] = []
        added_ids: set[int] = set()
        deleted: list[int] = []

        def flush() -> None:
            if deleted:
                self.messagesDeleted.emit(tuple(deleted))
                deleted.clear()
            if added:
                self.messagesAdded.emit(tuple(added))
                added.clear()
                added_ids.clear()

        for event in events:
            if isinstance(event, MessagesAdded):
                added.extend(event.summaries)
                added_ids.update(s.id for s in event.summaries)
            elif isinstance(event, MessagesDeleted) and added_ids.isdisjoint(event.ids):
                deleted.extend(event.ids)
            else:
                flush()
                self._dispatch(event)
        flush()

    def _dispatch(self, event: MailboxEvent) -> None:
        if isinstance(event, MessagesAdded):
            self.messagesAdded.emit(event.summaries)
        elif isinstance(event, MessagesDeleted):
            self.messagesDeleted.emit(event.ids)
        elif isinstance(event, MessagesChanged):
            self.messagesChanged.emit(event.ids, event.read)
        elif isinstance(event, MailboxCleared):
            self.mailboxCleared.emit()
        elif isinstance(event, TagsChanged):
            self.tagsChanged.emit(event.updates)

    def close(self) -> None:
        """Stop listening (idempotent); events already queued are still delivered."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
