"""The Source tab: the raw message, shown in a bounded first slice.

Laying out 25 MB of text would freeze the window for seconds, so only the
first ``PREVIEW_BYTES`` are shown until the user asks for all of it.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication, QTextCursor
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ....core.units import format_size

PREVIEW_BYTES = 256 * 1024


def decode_source(raw: bytes) -> str:
    """Bytes -> displayable text: undecodable bytes become U+FFFD, NULs become ␀."""
    return raw.decode("utf-8", errors="replace").replace("\x00", "\u2400")


def line_start(raw: bytes, line: int) -> int | None:
    """Byte offset where 1-based ``line`` of ``raw`` starts (None: no such line)."""
    if line < 1:
        return None
    pos = 0
    for _ in range(line - 1):
        nl = raw.find(b"\n", pos)
        if nl < 0:
            return None
        pos = nl + 1
    if pos > len(raw) or (pos == len(raw) and line > 1):
        return None
    return pos


def editor_block(raw: bytes, start: int) -> int:
    """The editor's block number of the line starting at byte ``start``.

    Qt breaks paragraphs at LF, CRLF *and* a bare CR: each bare CR before
    ``start`` adds a block the byte count does not see.
    """
    head = raw[:start]
    return head.count(b"\n") + head.count(b"\r") - head.count(b"\r\n")


class SourceTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._raw = b""
        self.editor = QPlainTextEdit(self)
        self.editor.setReadOnly(True)
        self.editor.setUndoRedoEnabled(False)
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.info = QLabel(self)
        self.show_all_button = QPushButton(self)
        self.show_all_button.clicked.connect(self.show_all)
        self.wrap = QCheckBox("Wrap lines", self)
        self.wrap.toggled.connect(self._apply_wrap)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.info, 1)
        bar.addWidget(self.show_all_button)
        bar.addWidget(self.wrap)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.editor, 1)
        self._apply_wrap(False)
        self.clear()

    @property
    def truncated(self) -> bool:
        """True while only the first slice of a big message is shown."""
        return self._truncated

    def show_raw(self, raw: bytes) -> None:
        self._raw = raw
        self._truncated = len(raw) > PREVIEW_BYTES
        if self._truncated:
            self.editor.setPlainText(decode_source(raw[:PREVIEW_BYTES]))
            self.info.setText(
                f"Showing the first {format_size(PREVIEW_BYTES)} of {format_size(len(raw))}"
            )
            self.show_all_button.setText(f"Show all ({format_size(len(raw))})")
            self.show_all_button.show()
        else:
            self.editor.setPlainText(decode_source(raw))
            self.info.setText(format_size(len(raw)))
            self.show_all_button.hide()

    def show_all(self) -> None:
        QGuiApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
        try:
            QApplication.processEvents()
            self.editor.setPlainText(decode_source(self._raw))
        finally:
            QGuiApplication.restoreOverrideCursor()
        self.info.setText(format_size(len(self._raw)))
        self.show_all_button.hide()
        self._truncated = False

    def go_to_line(self, line: int) -> bool:
        """Scroll to and select 1-based ``line`` of the raw message (lines end
        at LF, as the checks count them). A line past the shown slice of a big
        message shows all of it first. False when the message has no such line."""
        start = line_start(self._raw, line)
        if start is None:
            return False
        if self._truncated and start >= PREVIEW_BYTES:
            self.show_all()
        block = self.editor.document().findBlockByNumber(editor_block(self._raw, start))
        if not block.isValid():
            return False
        cursor = QTextCursor(block)
        cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock, QTextCursor.MoveMode.KeepAnchor)
        self.editor.setTextCursor(cursor)
        self.editor.centerCursor()
        return True

    def clear(self) -> None:
        self._raw = b""
        self._truncated = False
        self.editor.clear()
        self.info.clear()
        self.show_all_button.hide()

    def _apply_wrap(self, on: bool) -> None:
        self.editor.setLineWrapMode(
            QPlainTextEdit.LineWrapMode.WidgetWidth if on else QPlainTextEdit.LineWrapMode.NoWrap
        )
