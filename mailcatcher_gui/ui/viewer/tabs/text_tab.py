"""The Text tab: the plain-text alternative, or a readable rendering of the HTML."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ....core.mime.htmltext import html_to_text
from ....core.models import ParsedMessage
from ...theme import mute


def text_for(parsed: ParsedMessage) -> tuple[str, str]:
    """(text to show, note about where it came from)."""
    if parsed.text is not None:
        return parsed.text, ""
    if parsed.html is not None:
        return html_to_text(parsed.html), "No plain-text part: this is the HTML part as text."
    return "", "This message has no text body."


class TextTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.editor = QPlainTextEdit(self)
        self.editor.setReadOnly(True)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setUndoRedoEnabled(False)
        self.wrap = QCheckBox("Wrap lines", self)
        self.wrap.setChecked(True)
        self.wrap.toggled.connect(self._apply_wrap)
        self.note = QLabel(self)
        self.note.setObjectName("textNote")
        mute(self.note)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.note, 1)
        bar.addWidget(self.wrap)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.editor, 1)
        self._apply_wrap(True)

    def show_parsed(self, parsed: ParsedMessage) -> None:
        text, note = text_for(parsed)
        self.editor.setPlainText(text.replace("\x00", "\u2400"))
        self.note.setText(note)

    def clear(self) -> None:
        self.editor.clear()
        self.note.clear()

    def _apply_wrap(self, on: bool) -> None:
        self.editor.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if on else QPlainTextEdit.LineWrapMode.NoWrap
        )
