"""The search field: debounced, invalid queries in red, the match count inside.

The language is ``core.store.search``'s; ``SEARCH_HELP_HTML`` is the Help ▸
Search Syntax page. Typing the start of an operator (``ta``, ``-has:i``) pops
up its completions: the operators and their fixed values
(``core.store.search.COMPLETIONS``) and one ``tag:NAME`` per tag in use
(``set_tag_names``); choosing one replaces the word being typed, keeping a
``-``/``!`` in front of it.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QStringListModel,
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
    QAbstractItemView,
    QCompleter,
    QLabel,
    QLineEdit,
    QWidget,
)

from ...core.store.search import COMPLETIONS
from ...core.tag_names import tag_query

SEARCH_HELP = (
    'Search: words match anywhere (prefix), "exact phrase", from:, to:, cc:, bcc:, '
    "reply-to:, addressed:, subject:, message-id:, tag:, has:attachment, has:inline, "
    "has:html, is:unread, is:read, is:tagged, larger:2M, smaller:100K, "
    "after:YYYY-MM-DD, before:YYYY-MM-DD, -term or !term to exclude"
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
<tr><td><code>cc:carol</code></td><td>the Cc header (any part of it)</td></tr>
<tr><td><code>bcc:dave</code></td><td>a blind copy: an envelope recipient no header names</td></tr>
<tr><td><code>reply-to:help</code></td><td>the Reply-To header</td></tr>
<tr><td><code>addressed:erin</code></td><td>From, To, Cc, Reply-To or the envelope</td></tr>
<tr><td><code>subject:invoice</code></td><td>the subject</td></tr>
<tr><td><code>message-id:abc@x</code></td><td>the Message-ID header</td></tr>
<tr><td><code>tag:urgent</code></td>
<td>tagged; <code>tag:"two words"</code>; <code>is:tagged</code> any tag</td></tr>
<tr><td><code>has:attachment</code></td>
<td>also <code>has:inline</code>, <code>has:html</code>, <code>has:text</code></td></tr>
<tr><td><code>is:unread</code></td><td>or <code>is:read</code></td></tr>
<tr><td><code>larger:2M</code></td>
<td>bigger than 2 MB; <code>smaller:100K</code> (units B, K, KB, M, MB)</td></tr>
<tr><td><code>after:2024-05-01</code></td><td>received on or after that day (UTC);
<code>before:</code> is exclusive</td></tr>
<tr><td><code>-term</code>, <code>!term</code></td>
<td>excludes: <code>-from:bob</code>, <code>!tag:spam</code></td></tr>
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
        self._tag_names: list[str] = []
        self._words = QStringListModel(list(COMPLETIONS), self)
        self.completer_popup = QCompleter(self._words, self)
        self.completer_popup.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer_popup.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer_popup.setWidget(self)
        self.completer_popup.activated[str].connect(self.insert_completion)  # type: ignore[index]
        self.textEdited.connect(self._offer_completions)

    # ---- completions ---------------------------------------------------------------

    def set_tag_names(self, names: list[str]) -> None:
        """Offer ``tag:NAME`` for each of ``names`` (the tags in use)."""
        if names != self._tag_names:
            self._tag_names = list(names)
            self._words.setStringList([*COMPLETIONS, *(tag_query(n) for n in names)])

    @property
    def completion_words(self) -> list[str]:
        return list(self._words.stringList())

    def _word_at_cursor(self) -> tuple[int, str]:
        """(start, text) of the word being typed, without a leading ``-``/``!``."""
        before = self.text()[: self.cursorPosition()]
        start = max(before.rfind(" "), before.rfind("\t")) + 1
        if before[start : start + 1] in ("-", "!"):
            start += 1
        return start, before[start:]

    def completions(self) -> list[str]:
        """What the popup offers for the word being typed (none for fewer than 2 letters)."""
        _start, word = self._word_at_cursor()
        if len(word) < 2 or '"' in word:
            return []
        folded = word.casefold()
        return [w for w in self._words.stringList() if w.casefold().startswith(folded)]

    def _popup(self) -> QAbstractItemView:
        popup = self.completer_popup.popup()
        assert popup is not None  # QCompleter makes its popup on demand
        return popup

    def _offer_completions(self, _text: str) -> None:
        popup = self._popup()
        offered = self.completions()
        _start, word = self._word_at_cursor()
        if not offered or offered == [word]:
            popup.hide()
            return
        self.completer_popup.setCompletionPrefix(word)
        rect = self.cursorRect()
        rect.setWidth(popup.sizeHintForColumn(0) + popup.verticalScrollBar().sizeHint().width())
        self.completer_popup.complete(rect)

    def insert_completion(self, completion: str) -> None:
        """Replace the word being typed with ``completion`` (a chosen completion)."""
        start, _word = self._word_at_cursor()
        text, pos = self.text(), self.cursorPosition()
        self.setText(text[:start] + completion + text[pos:])
        self.setCursorPosition(start + len(completion))

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
        if self._popup().isVisible() and event.key() in _POPUP_KEYS:
            event.ignore()  # the completer's popup acts on these
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


_POPUP_KEYS = (
    Qt.Key.Key_Enter,
    Qt.Key.Key_Return,
    Qt.Key.Key_Escape,
    Qt.Key.Key_Tab,
    Qt.Key.Key_Backtab,
)
