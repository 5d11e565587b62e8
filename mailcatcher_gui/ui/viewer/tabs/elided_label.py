"""A one-line label that elides what does not fit and shows all of it in a tooltip.

The viewer's header (subject, From, To, Cc, Reply-To) used word-wrapping
labels. A subject that is one long word (a token, a URL) cannot wrap, so
the label's minimum width became the whole subject and the preview pane
grew a horizontal scrollbar even at Full width; a long To list wrapped to
many lines and pushed the tabs down. ``ElidedLabel`` is one line at any
width: its minimum width is a few characters, ``text()`` stays the full
text (what tests and "copy" callers mean) and the tooltip carries it.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

#: the narrowest an elided label asks for, in average character widths
MIN_CHARS = 6


class ElidedLabel(QLabel):
    """Plain text on one line, elided at the right end when it does not fit."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(False)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)

    def setText(self, text: str) -> None:  # noqa: N802 (Qt API)
        self._full = text
        self._elide()
        self.updateGeometry()

    def text(self) -> str:
        """The full text (the label may show less)."""
        return self._full

    def shown_text(self) -> str:
        """What is painted: the text or its elided form."""
        return super().text()

    def is_elided(self) -> bool:
        return self.shown_text() != self._full

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        """The width of the whole text: layouts give it that when they can."""
        margins = self.contentsMargins()
        width = self.fontMetrics().horizontalAdvance(self._full) + margins.left() + margins.right()
        return QSize(width + 2, super().sizeHint().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        few = self.fontMetrics().averageCharWidth() * MIN_CHARS
        return QSize(min(self.sizeHint().width(), few), super().minimumSizeHint().height())

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        room = self.contentsRect().width()
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room)
        if super().text() != shown:
            super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")
