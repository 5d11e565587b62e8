"""The window's compose commands: New Message, Reply (All), Forward, Edit as
New, Release To…, delegated to the compose side (``ui.compose.composer.Composer``).

The window tells this object which message the user means (the current row,
else the one on screen, else the selection); compose itself knows nothing
about the window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from PySide6.QtCore import QObject, Signal

from ...core.store.database import MessageNotFound, StoreError


class ComposeHooks(Protocol):
    """What the window needs from the compose side (``ui.compose.composer.Composer``)."""

    def new(self) -> object: ...
    def reply(self, message_id: int, *, reply_all: bool = False) -> object: ...
    def forward(self, message_id: int) -> object: ...
    def edit_as_new(self, message_id: int) -> object: ...
    def release(self, message_ids: Sequence[int]) -> object: ...


class ComposeCommands(QObject):
    """Routes the compose actions to the plugged-in composer."""

    #: a short status-bar message (text, milliseconds)
    status = Signal(str, int)
    #: what is plugged in changed (action states need an update)
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.composer: ComposeHooks | None = None
        self.handler: Callable[[], object] | None = None

    def set_handler(self, handler: Callable[[], object] | None) -> None:
        self.handler = handler
        self.changed.emit()

    def set_composer(self, composer: ComposeHooks | None) -> None:
        self.composer = composer
        self.set_handler(composer.new if composer is not None else None)

    def new(self) -> None:
        if self.handler is not None:
            self.handler()
        else:
            self.status.emit("Compose is not available in this version yet.", 4000)

    def from_message(self, what: str, message_id: int | None) -> object | None:
        """Reply / reply_all / forward / edit_as_new for ``message_id``."""
        if self.composer is None or message_id is None:
            return None
        try:
            if what == "reply":
                return self.composer.reply(message_id)
            if what == "reply_all":
                return self.composer.reply(message_id, reply_all=True)
            if what == "forward":
                return self.composer.forward(message_id)
            return self.composer.edit_as_new(message_id)
        except MessageNotFound:
            self.status.emit("That message is gone.", 4000)
            return None
        except StoreError as exc:  # e.g. a remote catcher out of reach
            self.status.emit(f"Cannot read the message: {exc}", 8000)
            return None

    def release(self, ids: Sequence[int]) -> object | None:
        if self.composer is None or not ids:
            return None
        try:
            return self.composer.release(ids)
        except StoreError as exc:
            self.status.emit(f"Cannot read the messages: {exc}", 8000)
            return None
