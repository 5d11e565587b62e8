"""Builds the main window from its parts: list model, list pane, viewer.

The window does not construct its own model and viewer, so the composition
root (``app.GuiApp``) and tests choose them: tests pass the viewer's
non-Chromium fallback, the app the real one.
"""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ..bridge import MailboxBridge
from .list_model import MessageListModel
from .main_window import MainWindow
from .message_list import MessageList
from .settings import AppSettings, Preferences


def build_main_window(
    mailbox: MailboxProtocol,
    bridge: MailboxBridge,
    settings: AppSettings,
    *,
    prefs: Preferences | None = None,
    view: QWidget | None = None,
) -> MainWindow:
    """A ``MainWindow`` over ``mailbox`` showing ``prefs`` (default: the saved ones).

    ``view`` defaults to the Chromium ``MessageView``.
    """
    prefs = prefs if prefs is not None else settings.preferences()
    model = MessageListModel(mailbox)
    message_list = MessageList(model)
    if view is None:
        from ..viewer.message_view import MessageView  # imports QtWebEngine lazily

        view = MessageView(allow_remote_default=prefs.allow_remote_default)
    window = MainWindow(
        mailbox,
        bridge,
        settings,
        model=model,
        message_list=message_list,
        view=view,
        prefs=prefs,
    )
    model.setParent(window)
    return window
