"""The compose window's chrome: toolbar, style, the Drafts menu and the close question.

Kept apart from ``compose_window`` so the window module stays about what a
message being written does; these are how it looks and asks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QLabel,
    QMenu,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QToolBar,
    QToolButton,
    QWidget,
)

from ..core.sending import DraftStore
from .profiles_dialog import ProfilePicker
from .theme import tinted_icon

if TYPE_CHECKING:
    from .compose_window import ComposeWindow

STYLE = """
#composeWindow QLineEdit[invalid="true"], #composeWindow QPlainTextEdit[invalid="true"],
#composeWindow QTableWidget[invalid="true"], #composeWindow QTreeWidget[invalid="true"] {
    border: 1px solid #e5484d; }
#composeError {
    color: #e5484d; background: rgba(229, 72, 77, 0.10);
    border: 1px solid rgba(229, 72, 77, 0.45); border-radius: 6px;
    padding: 6px 10px; font-weight: 600; }
#composeFields QLabel { color: palette(window-text); }
#composeToolBar { spacing: 6px; padding: 4px 8px; border: none; }
#composeToolBar QToolButton { padding: 4px 8px; border-radius: 5px; }
#sendButton { font-weight: 700; }
#previewNote { color: #6e7781; padding: 2px 4px; }
#previewNote[blocked="true"] { color: #9a6700; }
"""


def build_toolbar(window: ComposeWindow) -> QToolBar:
    """Send / Cancel, "Send via" picker, Profiles…, Drafts, Attach…; the window's
    actions (``act_send``, ``act_close``...) are set on it."""
    tb = QToolBar("Compose", window)
    tb.setObjectName("composeToolBar")
    tb.setMovable(False)
    tb.setFloatable(False)
    tb.setIconSize(QSize(18, 18))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    window.act_send = QAction(tinted_icon("send"), "Send", window)
    window.act_send.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
    window.act_send.setToolTip("Send the message (Ctrl+Enter)")
    window.act_send.triggered.connect(lambda _c=False: window.start_send())
    window.act_cancel = QAction(tinted_icon("stop"), "Cancel", window)
    window.act_cancel.setToolTip("Stop the send in progress and close the connection")
    window.act_cancel.setEnabled(False)
    window.act_cancel.triggered.connect(lambda _c=False: window.cancel_send())
    window.act_attach = QAction(tinted_icon("attach"), "Attach…", window)
    window.act_attach.setShortcut(QKeySequence("Ctrl+Shift+A"))
    window.act_attach.setToolTip("Attach files (or drop them on this window)")
    window.act_attach.triggered.connect(lambda _c=False: window.attach_interactive())
    window.act_close = QAction("Close", window)
    window.act_close.setShortcuts(QKeySequence.StandardKey.Close)  # Ctrl+W and Ctrl+F4
    window.act_close.triggered.connect(lambda _c=False: window.close())
    window.addAction(window.act_close)
    window.act_save_draft = QAction("Save Draft", window)
    window.act_save_draft.setShortcuts(QKeySequence.StandardKey.Save)
    window.act_save_draft.setToolTip("Keep this message to finish later (Drafts menu)")
    window.act_save_draft.triggered.connect(lambda _c=False: window.save_draft_and_close())
    window.act_save_draft.setEnabled(window.drafts is not None)

    tb.addAction(window.act_send)
    tb.widgetForAction(window.act_send).setObjectName("sendButton")
    tb.addAction(window.act_cancel)
    tb.addSeparator()
    tb.addWidget(QLabel("Send via ", tb))
    window.picker = ProfilePicker(window.destinations, tb)
    window.picker.setToolTip("Where the message goes")
    tb.addWidget(window.picker)
    window.profiles_button = QPushButton("Profiles…", tb)
    window.profiles_button.setToolTip("Add or edit SMTP relay profiles")
    window.profiles_button.clicked.connect(window.edit_profiles)
    tb.addWidget(window.profiles_button)
    spacer = QWidget(tb)
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    tb.addWidget(spacer)
    window.drafts_button = QToolButton(tb)
    window.drafts_button.setText("Drafts")
    window.drafts_button.setToolTip("Save this message as a draft, or reopen a saved one")
    window.drafts_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    window.drafts_menu = QMenu(window.drafts_button)
    window.drafts_button.setMenu(window.drafts_menu)
    window.drafts_button.setVisible(window.drafts is not None)
    tb.addWidget(window.drafts_button)
    tb.addAction(window.act_attach)
    window.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
    return tb


def fill_drafts_menu(
    menu: QMenu, save: QAction, drafts: DraftStore | None, pick: Callable[[str], object]
) -> None:
    """Save Draft, then the saved drafts (newest first) to reopen."""
    menu.clear()
    menu.addAction(save)
    saved = drafts.list() if drafts is not None else []
    if saved:
        menu.addSection("Reopen")
    for draft in saved[:20]:
        action = menu.addAction(draft.label)
        action.triggered.connect(lambda _c=False, d=draft.id: pick(d))


def close_question(parent: QWidget, subject: str, can_save: bool) -> QMessageBox:
    """Discard / Save Draft / Cancel (Cancel is the default and Escape)."""
    box = QMessageBox(parent)
    box.setObjectName("closeQuestion")
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Close Message")
    what = f"“{html.escape(subject)}”" if subject else "This message"
    box.setText(f"<b>{what}</b> has not been sent.")
    box.setInformativeText(
        "Save it as a draft to finish later (Drafts menu), or discard it?"
        if can_save
        else "Discard it?"
    )
    buttons = QMessageBox.StandardButton.Discard | QMessageBox.StandardButton.Cancel
    if can_save:
        buttons |= QMessageBox.StandardButton.Save
    box.setStandardButtons(buttons)
    if can_save:
        box.button(QMessageBox.StandardButton.Save).setText("Save Draft")
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    box.setEscapeButton(QMessageBox.StandardButton.Cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    return box
