"""Compose, reply, forward, edit as new, release: what the main window talks to.

``Composer`` owns the open compose windows (``compose_window.ComposeWindow``),
the release dialog and the relay-profile editor, and is what the main
window's actions call. The Qt-free part (reply/forward/edit-as-new fields,
quoting, where a message can go) lives in ``core.sending`` (``drafting``,
``destinations``, ``drafts``); the names below are re-exported for callers
that imported them from here.

A new message starts from the defaults: From and To as last sent from a
*new* message (``compose/from_name``, ``compose/from_addr``, ``compose/to``;
"Test Sender <sender@example.com>" and no To before that). Replies,
forwards, edits and drafts never change those defaults: they answer as
someone else, to someone else.

Unsent content is never lost silently: closing a dirty window asks (see
``compose_window``), and ``confirm_close_all`` asks for every dirty window
before the app quits.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.models import OpenedMessage
from ...core.sending import (
    ComposeFields,
    Destinations,
    DraftStore,
    DraftStoreError,
    ProfileStore,
    SendReport,
    draft_from_fields,
    edit_as_new_draft,
    forward_draft,
    new_fields,
    reply_draft,
)
from ...core.sending.drafting import (
    DEFAULT_FROM_ADDR,
    DEFAULT_FROM_NAME,
    format_mailbox,
    fwd_subject,
    one_line,
    quote,
    re_subject,
)
from ..viewer.transcript_view import Spawn
from ..window.settings import AppSettings
from .attachments import cid_for
from .preview import PREVIEW_NOTE, make_preview, preview_message
from .profiles_dialog import (
    PasswordPrompt,
    ProfilePicker,
    ProfilesDialog,
    SinkEndpoint,
    ask_password_dialog,
)
from .window import ComposeWindow

__all__ = [
    "DEFAULT_FROM_ADDR",
    "DEFAULT_FROM_NAME",
    "PREVIEW_NOTE",
    "ComposeFields",
    "ComposeWindow",
    "Composer",
    "cid_for",
    "draft_from_fields",
    "edit_as_new_fields",
    "format_mailbox",
    "forward_fields",
    "fwd_subject",
    "make_preview",
    "one_line",
    "preview_message",
    "quote",
    "re_subject",
    "reply_fields",
]


def reply_fields(opened: OpenedMessage, *, reply_all: bool = False) -> ComposeFields:
    """Kept name: ``core.sending.reply_draft``."""
    return reply_draft(opened, reply_all=reply_all)


def forward_fields(opened: OpenedMessage) -> ComposeFields:
    """Kept name: ``core.sending.forward_draft``."""
    return forward_draft(opened)


def edit_as_new_fields(opened: OpenedMessage) -> ComposeFields:
    """Kept name: ``core.sending.edit_as_new_draft``."""
    return edit_as_new_draft(opened)


# ---- the composer: what the main window talks to -----------------------------------------------


class Composer(QObject):
    """Opens compose windows, the release dialog and the profile editor.

    The main window calls ``new`` / ``reply`` / ``forward`` / ``edit_as_new``
    / ``release``; before quitting, ``confirm_close_all`` asks about unsent
    content, then ``shutdown`` closes everything.

    ``drafts`` (where "Save Draft" keeps messages) defaults to a ``drafts``
    folder beside the relay profiles file (the app's config folder).
    ``local`` is where the local transport delivers, when ``mailbox`` (what
    replies and releases read) may be a remote catcher.
    """

    #: "Show in list" was clicked for a message that arrived in this app (its id)
    openMessage = Signal(int)

    def __init__(
        self,
        mailbox: MailboxProtocol,
        profiles: ProfileStore,
        *,
        sink: Callable[[], SinkEndpoint | None] = lambda: None,
        spawn: Spawn | None = None,
        settings: AppSettings | None = None,
        web_engine: bool = True,
        ask_password: PasswordPrompt | None = None,
        drafts: DraftStore | None = None,
        local: MailboxProtocol | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.mailbox = mailbox
        self.profiles = profiles
        self.settings = settings
        self.spawn = spawn
        self.web_engine = web_engine
        self._parent = parent
        self.drafts = drafts or DraftStore(profiles.path.parent / "drafts")
        # "This app's mailbox" is the local store even while the window
        # shows a remote catcher (``local``); replies read the shown one.
        self.destinations = Destinations(
            profiles, local or mailbox, sink, ask_password=ask_password or ask_password_dialog
        )
        self.windows: list[ComposeWindow] = []
        self.dialogs: list[QWidget] = []

    def _window(self, fields: ComposeFields | None = None, *, kind: str = "new") -> ComposeWindow:
        window = ComposeWindow(
            self.destinations,
            spawn=self.spawn,
            web_engine=self.web_engine,
            open_profiles=self.open_profiles,
            drafts=self.drafts,
            parent=self._parent,
        )
        window.setProperty("composeKind", kind)
        if self.settings is not None and kind == "new":
            key = self.settings.value("compose/destination", "")
            if key:
                window.picker.select(key)
        if fields is not None:
            window.load(fields)
        self.windows.append(window)
        window.closed.connect(lambda w=window: self._forget(w))
        window.openMessage.connect(self.openMessage)
        window.openDraft.connect(self.open_draft)
        window.sent.connect(lambda report, w=window: self._sent(w, report))
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _forget(self, window: ComposeWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def defaults(self) -> ComposeFields:
        """What New Message starts with (see the module docstring)."""
        s = self.settings
        if s is None:
            return new_fields()
        fields = new_fields(
            s.value("compose/from_name", DEFAULT_FROM_NAME),
            s.value("compose/from_addr", DEFAULT_FROM_ADDR),
        )
        fields.to = s.value("compose/to", "")
        return fields

    def _sent(self, window: ComposeWindow, report: SendReport) -> None:
        """A new message went out: its From, To and route become the defaults.
        Replies, forwards, edits and drafts never change them."""
        if self.settings is None or not report.ok or window.property("composeKind") != "new":
            return
        self.settings.set_value("compose/from_name", window.from_name.text())
        self.settings.set_value("compose/from_addr", window.from_addr.text())
        self.settings.set_value("compose/to", window.to.text())
        self.settings.set_value("compose/destination", window.picker.current_key())

    def new(self) -> ComposeWindow:
        window = self._window(self.defaults())
        (window.to if not window.to.text() else window.subject).setFocus()
        return window

    def reply(self, message_id: int, *, reply_all: bool = False) -> ComposeWindow:
        opened = self.mailbox.get(message_id)
        window = self._window(reply_draft(opened, reply_all=reply_all), kind="reply")
        window.text_edit.setFocus()
        return window

    def forward(self, message_id: int) -> ComposeWindow:
        window = self._window(forward_draft(self.mailbox.get(message_id)), kind="forward")
        window.to.setFocus()
        return window

    def edit_as_new(self, message_id: int) -> ComposeWindow:
        return self._window(edit_as_new_draft(self.mailbox.get(message_id)), kind="edit")

    def open_draft(self, draft_id: str) -> ComposeWindow | None:
        """Reopen a saved draft in a new window (its file is removed; closing the
        window unsent asks again, since it is compared with an empty message)."""
        try:
            fields = self.drafts.take(draft_id)
        except DraftStoreError as exc:
            for window in self.windows:
                window.show_error(str(exc))
            return None
        window = self._window(fields, kind="draft")
        window.set_baseline(new_fields("", ""))
        return window

    def release(self, message_ids: Sequence[int]) -> QWidget:
        from .release import ReleaseDialog

        dialog = ReleaseDialog(
            self.mailbox,
            list(message_ids),
            self.destinations,
            spawn=self.spawn,
            open_profiles=self.open_profiles,
            parent=self._parent,
        )
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: self._forget_dialog(d))
        dialog.openMessage.connect(self.openMessage)
        dialog.show()
        dialog.raise_()
        return dialog

    def _forget_dialog(self, dialog: QWidget) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)

    def refresh_destinations(self) -> None:
        """Relabel every "Send via" list (the sink moved, profiles changed)."""
        for window in self.windows:
            window.picker.reload()
        for dialog in self.dialogs:
            picker = getattr(dialog, "picker", None)
            if isinstance(picker, ProfilePicker):
                picker.reload()

    def open_profiles(self, parent: QWidget | None = None) -> ProfilesDialog:
        """The profile editor, window-modal over ``parent`` (no nested event loop:
        a running send keeps streaming while it is open)."""
        dialog = ProfilesDialog(
            self.profiles,
            ask_password=self.destinations.ask_password,
            spawn=self.spawn,
            parent=parent or self._parent,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialogs.append(dialog)

        def done(_result: int, d: ProfilesDialog = dialog) -> None:
            self._forget_dialog(d)
            self.refresh_destinations()

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    # ---- quitting -----------------------------------------------------------------------------

    def dirty_windows(self) -> list[ComposeWindow]:
        return [w for w in self.windows if w.is_dirty()]

    def confirm_close_all(self, then: Callable[[], None]) -> bool:
        """Before quitting: ask about each compose window with unsent content.

        Returns True (and calls ``then`` at once) when nothing needs asking.
        Otherwise each dirty window is brought to the front in turn with its
        Discard / Save Draft / Cancel question (no nested event loop); when
        every one was discarded or saved, ``then`` is called; a Cancel stops
        there (the app keeps running) and ``then`` is not called.
        """
        pending = self.dirty_windows()
        if not pending:
            then()
            return True

        def next_window(answer: bool = True) -> None:
            if not answer:
                return
            while pending:
                window = pending.pop(0)
                if window in self.windows and window.is_dirty():
                    window.closeAnswered.connect(
                        next_window, Qt.ConnectionType.SingleShotConnection
                    )
                    window.show()
                    window.raise_()
                    window.activateWindow()
                    window.ask_close()
                    return
            then()

        next_window()
        return False

    def shutdown(self) -> None:
        """Close every compose window and dialog (stopping sends); call before exit."""
        for window in list(self.windows):
            window.shutdown()
            window.close()
        self.windows.clear()
        for dialog in list(self.dialogs):
            shutdown = getattr(dialog, "shutdown", None)
            if callable(shutdown):
                shutdown()
            dialog.close()
        self.dialogs.clear()
