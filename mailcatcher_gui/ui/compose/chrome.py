"""The compose window's chrome: toolbar, editor layout, style, Drafts menu, close question.

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
    QTabWidget,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.sending import DraftStore
from ..theme import Tones, fill_tones, tinted_icon
from .attachments import AttachmentsPane
from .fields import AddressFields, BodyEdit, HeadersPane
from .preview import HtmlPane
from .profiles_dialog import ProfilePicker

if TYPE_CHECKING:
    from .window import ComposeWindow

#: The compose window's sheet; ``@name`` is a ``theme.Tones`` colour (``theme.fill_tones``).
STYLE = """
#composeWindow QLineEdit[invalid="true"], #composeWindow QPlainTextEdit[invalid="true"],
#composeWindow QTableWidget[invalid="true"], #composeWindow QTreeWidget[invalid="true"] {
    border: 1px solid @danger; }
#composeError {
    color: @danger; background: rgba(229, 72, 77, 0.10);
    border: 1px solid rgba(229, 72, 77, 0.45); border-radius: 6px;
    padding: 6px 10px; font-weight: 600; }
#composeFields QLabel { color: palette(window-text); }
#composeToolBar { spacing: 6px; padding: 4px 8px; border: none; }
#composeToolBar QToolButton { padding: 4px 8px; border-radius: 5px; }
#sendButton { font-weight: 700; }
#previewNote { color: @secondary; padding: 2px 4px; }
#previewNote[blocked="true"] { color: @warning; }
#hint { color: @secondary; }
"""


def compose_style(tone: Tones) -> str:
    """``STYLE`` in the colours of ``tone`` (light or dark)."""
    return fill_tones(STYLE, tone)


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


def build_editor(window: ComposeWindow, *, web_engine: bool) -> None:
    """The address block, the Text / HTML / Attachments / Headers tabs and the
    error banner, wired to the window; set as the window's attributes."""
    window.fields_box = AddressFields(window, drop_filter=window)
    window.fields_box.edited.connect(window._clear_invalid)
    box = window.fields_box
    window.from_name, window.from_addr, window.to = box.from_name, box.from_addr, box.to
    window.cc, window.bcc, window.reply_to = box.cc, box.bcc, box.reply_to
    window.subject = box.subject

    window.text_edit = BodyEdit(window)
    window.text_edit.setObjectName("textBody")
    window.text_edit.setPlaceholderText("Plain-text body (leave empty for an HTML-only message)")
    window.text_edit.filesDropped.connect(window.add_files)
    window.attachments_pane = AttachmentsPane(window)
    window.attachment_list = window.attachments_pane.list
    window.attachment_list.installEventFilter(window)
    window.attachment_list.viewport().installEventFilter(window)
    window.attachments_pane.changed.connect(window._attachments_changed)
    window.attachments_pane.problem.connect(window.show_error)
    window.attachments_pane.added.connect(lambda text: window.statusBar().showMessage(text, 4000))
    window.html_split = HtmlPane(window, web_engine=web_engine, inline=lambda: window.inline_parts)
    window.html_split.imagesChosen.connect(window.insert_images)
    window.html_edit = window.html_split.edit
    window.preview = window.html_split.preview
    window.preview_note = window.html_split.note
    window.insert_image_button = window.html_split.insert_image_button
    window.headers_pane = HeadersPane(window)
    window.header_table = window.headers_pane.table
    window.headers_pane.changed.connect(window._headers_changed)
    window.headers_pane.editing.connect(
        lambda: window.tabs.setCurrentIndex(window._tab_index["headers"])
    )

    window.tabs = QTabWidget(window)
    window.tabs.setDocumentMode(True)
    window.tabs.addTab(window.text_edit, "Text")
    window.tabs.addTab(window.html_split, "HTML")
    window.tabs.addTab(window.attachments_pane, "Attachments")
    window.tabs.addTab(window.headers_pane, "Headers")
    window._tab_index = {"text": 0, "html": 1, "attachments": 2, "headers": 3}
    window._field_widgets = dict(window.fields_box.widgets_for)
    window._field_widgets.update(
        headers=[window.header_table],
        attachments=[window.attachment_list],
        inline=[window.attachment_list],
    )

    window.error = QLabel(window)
    window.error.setObjectName("composeError")
    window.error.setWordWrap(True)
    window.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    window.error.hide()
    window.editor = QWidget(window)
    layout = QVBoxLayout(window.editor)
    layout.setContentsMargins(10, 8, 10, 4)
    layout.setSpacing(8)
    layout.addWidget(window.error)
    layout.addWidget(window.fields_box)
    layout.addWidget(window.tabs, 1)


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
