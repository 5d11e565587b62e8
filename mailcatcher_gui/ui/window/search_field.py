"""The search field: debounced, invalid queries in red, the match count inside.

The language is ``core.store.search``'s; ``SEARCH_HELP_HTML`` is the Help ▸
Search Syntax page.
"""

from __future__ import annotations

from PySide6.QtCore import (
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QKeyEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QWidget,
)

SEARCH_HELP = (
    'Search: words match anywhere (prefix), "exact phrase", from:, to:, subject:, '
    "has:attachment, has:html, is:unread, is:read, after:YYYY-MM-DD, before:YYYY-MM-DD, "
    "-term to exclude"
)

#: The Help > Search Syntax page (the language is ``core.store.search``'s).
SEARCH_HELP_HTML = """
<p>All terms must match. Words match as prefixes, case- and accent-insensitively.</p>
<table cellspacing="6">
<tr><td><code>invo</code></td>
<td>a word anywhere: subject, addresses, body, attachment names</td></tr>
<tr><td><code>"weekly report"</code></td><td>an exact phrase</td></tr>
<tr><td><code>from:alice</code></td><td>From header or envelope sender</td></tr>
<tr><td><code>to:bob@example.com</code></td><td>To/Cc header or any envelope recipient</td></tr>
<tr><td><code>subject:invoice</code></td><td>the subject</td></tr>
<tr><td><code>has:attachment</code></td>
<td>also <code>has:html</code>, <code>has:text</code></td></tr>
<tr><td><code>is:unread</code></td><td>or <code>is:read</code></td></tr>
<tr><td><code>after:2024-05-01</code></td><td>received on or after that day (UTC);
<code>before:</code> is exclusive</td></tr>
<tr><td><code>-term</code></td>
<td>excludes: <code>-from:bob</code>, <code>-has:attachment</code></td></tr>
</table>
"""


SEARCH_PLACEHOLDER = "Search  (from:  subject:  is:unread …)"


class SearchField(QLineEdit):
    """The search box: debounced, shows a bad query in red until it is fixed.

    While a search is active, the number of matches shows inside the field,
    at its right end, where the eye already is.
    """

    #: the text, emitted ``debounce_ms`` after the user stopped typing (or on Enter)
    queryChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, debounce_ms: int = 200) -> None:
        super().__init__(parent)
        self.setObjectName("searchField")
        self.setPlaceholderText(SEARCH_PLACEHOLDER)
        self.setToolTip(SEARCH_HELP)
        self.setClearButtonEnabled(True)
        self.count_label = QLabel(self)
        self.count_label.setObjectName("searchCount")
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.count_label.hide()
        # Room for the whole placeholder and the clear button (the match count
        # shows only while there is text, and then the placeholder does not).
        self.setMinimumWidth(self.fontMetrics().horizontalAdvance(SEARCH_PLACEHOLDER) + 44)
        self.setMaximumWidth(max(self.minimumWidth(), 560))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.flush)
        self.textChanged.connect(self._on_text_changed)
        self.returnPressed.connect(self.flush)
        self._last_emitted = ""

    def set_match_count(self, count: int | None) -> None:
        """Show how many messages match (None: no search active)."""
        if count is None:
            self.count_label.clear()
            self.count_label.hide()
            self.setTextMargins(0, 0, 0, 0)
            return
        self.count_label.setText(f"{count:,} match{'es' if count != 1 else ''}")
        self.count_label.adjustSize()
        self.count_label.show()
        self._place_count()

    @property
    def match_text(self) -> str:
        return self.count_label.text() if self.count_label.isVisible() else ""

    def _place_count(self) -> None:
        label = self.count_label
        clear_room = self.height()  # the clear button is about square
        x = self.width() - clear_room - label.width()
        label.move(max(0, x), (self.height() - label.height()) // 2)
        self.setTextMargins(0, 0, label.width() + 4, 0)

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if self.count_label.isVisible():
            self._place_count()

    def set_error(self, message: str | None) -> None:
        self.setProperty("invalid", bool(message))
        self.setToolTip(message or SEARCH_HELP)
        self.style().unpolish(self)
        self.style().polish(self)

    def _on_text_changed(self, text: str) -> None:
        if not text:
            self.flush()  # clearing the search is instant
        else:
            self._timer.start()  # restart: wait for a pause in typing

    def flush(self) -> None:
        """Emit the current text now (Enter, or a programmatic change)."""
        self._timer.stop()
        text = self.text()
        if text != self._last_emitted:
            self._last_emitted = text
            self.queryChanged.emit(text)

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)
