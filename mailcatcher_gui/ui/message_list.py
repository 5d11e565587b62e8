"""The message list pane: the table, the search field and selection-by-id.

Rows move under the user all the time (new mail lands on top, retention
prunes the bottom, a search re-orders everything), so the pane remembers the
*message id* the user opened, not the row. After every structural change of
the model it checks that the current row still shows that id and quietly
re-selects it if not, without re-opening it (no flicker, no second
mark-as-read). A burst of new mail while the user is scrolled down shifts the
scroll position by exactly the inserted rows, so what they are reading does
not move.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from PySide6.QtCore import (
    QEvent,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    QRect,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QKeySequence,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ..core.store.search import QueryError
from .models import Column, MessageListModel

#: default column widths in "average character" units (scaled by the font)
_COLUMN_CHARS = {
    Column.ATTACHMENT: 0,
    Column.FROM: 22,
    Column.TO: 18,
    Column.SUBJECT: 40,
    Column.RECEIVED: 10,
    Column.SIZE: 8,
}

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


class SearchField(QLineEdit):
    """The search box: debounced, shows a bad query in red until it is fixed."""

    #: the text, emitted ``debounce_ms`` after the user stopped typing (or on Enter)
    queryChanged = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, debounce_ms: int = 200) -> None:
        super().__init__(parent)
        self.setObjectName("searchField")
        self.setPlaceholderText("Search  (from:  to:  subject:  has:attachment  is:unread)")
        self.setToolTip(SEARCH_HELP)
        self.setClearButtonEnabled(True)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self.flush)
        self.textChanged.connect(self._on_text_changed)
        self.returnPressed.connect(self.flush)
        self._last_emitted = ""

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


class MessageTable(QTableView):
    """A QTableView tuned for a mail list (see the module docstring)."""

    #: Enter/Return on a row
    activated_by_keyboard = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("messageTable")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        self.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setCornerButtonEnabled(False)
        self.setTabKeyNavigation(False)
        vh = self.verticalHeader()
        vh.hide()
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        vh.setDefaultSectionSize(self.fontMetrics().height() + 12)
        hh = self.horizontalHeader()
        hh.setHighlightSections(False)
        hh.setSectionsMovable(True)
        hh.setStretchLastSection(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        hh.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        hh.customContextMenuRequested.connect(self._header_menu)
        self.empty_text = "No messages yet"
        self.empty_hint = ""
        self._anchor: int | None = None

    # ---- model hookup ------------------------------------------------------------

    def setModel(self, model) -> None:  # noqa: N802 (Qt API)
        super().setModel(model)
        model.rowsAboutToBeInserted.connect(self._before_insert)
        hh = self.horizontalHeader()
        bold = QFont(self.font())
        bold.setBold(True)  # unread rows are bold: size for them
        fm = QFontMetrics(bold)
        header_fm = QFontMetrics(hh.font())
        sort_arrow = 24

        def fit(*samples: str, header: str = "") -> int:
            text = max(fm.horizontalAdvance(t) for t in samples)
            return max(text, header_fm.horizontalAdvance(header) + sort_arrow) + 18

        avg = fm.averageCharWidth()
        hh.setSectionResizeMode(Column.ATTACHMENT, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(Column.ATTACHMENT, 30)
        hh.resizeSection(Column.FROM, max(_COLUMN_CHARS[Column.FROM] * avg, 120))
        hh.resizeSection(Column.TO, max(_COLUMN_CHARS[Column.TO] * avg, 100))
        hh.resizeSection(Column.SUBJECT, max(_COLUMN_CHARS[Column.SUBJECT] * avg, 160))
        hh.resizeSection(Column.RECEIVED, fit("Wed 23:59", "2024-12-31", header="Received"))
        hh.resizeSection(Column.SIZE, fit("999 KB", "1023 B", header="Size"))
        hh.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        hh.setSortIndicator(Column.RECEIVED, Qt.SortOrder.DescendingOrder)
        self.setSortingEnabled(True)

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        # Rows landing above the viewport push the content down; remember
        # where we were so rowsInserted can keep the same messages in view.
        value = self.verticalScrollBar().value()
        self._anchor = value if first == 0 and value > 0 else None

    def rowsInserted(self, parent: QModelIndex, first: int, last: int) -> None:  # noqa: N802
        super().rowsInserted(parent, first, last)
        if self._anchor is not None:
            shift = (last - first + 1) * self.verticalHeader().defaultSectionSize()
            self.updateGeometries()
            self.verticalScrollBar().setValue(self._anchor + shift)
            self._anchor = None

    # ---- keys --------------------------------------------------------------------

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 (Qt API)
        key = event.key()
        mods = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if mods == Qt.KeyboardModifier.NoModifier and key in (Qt.Key.Key_J, Qt.Key.Key_K):
            down = key == Qt.Key.Key_J
            synthetic = QKeyEvent(
                QEvent.Type.KeyPress,
                Qt.Key.Key_Down if down else Qt.Key.Key_Up,
                Qt.KeyboardModifier.NoModifier,
            )
            super().keyPressEvent(synthetic)
            return
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and mods in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        ):
            self.activated_by_keyboard.emit()
            return
        super().keyPressEvent(event)

    # ---- empty state ---------------------------------------------------------------

    def paintEvent(self, event) -> None:  # noqa: N802 (Qt API)
        super().paintEvent(event)
        model = self.model()
        if model is None or model.rowCount() > 0:
            return
        painter = QPainter(self.viewport())
        try:
            rect = self.viewport().rect().adjusted(24, 0, -24, 0)
            pal = self.palette()
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.25)
            painter.setFont(font)
            painter.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            fm = painter.fontMetrics()
            top = rect.top() + rect.height() // 3
            painter.drawText(
                QRect(rect.left(), top, rect.width(), fm.height() * 2),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
                self.empty_text,
            )
            if self.empty_hint:
                painter.setFont(self.font())
                painter.drawText(
                    QRect(rect.left(), top + fm.height() * 2, rect.width(), rect.height() // 2),
                    int(Qt.AlignmentFlag.AlignHCenter | Qt.TextFlag.TextWordWrap),
                    self.empty_hint,
                )
        finally:
            painter.end()

    # ---- header menu ---------------------------------------------------------------

    def _header_menu(self, pos: QPoint) -> None:
        model = self.model()
        if model is None:
            return
        hh = self.horizontalHeader()
        menu = QMenu(self)
        for col in Column:
            if col is Column.ATTACHMENT:
                title = "Attachment marker"
            else:
                title = str(model.headerData(col, Qt.Orientation.Horizontal))
            action = QAction(title, menu)
            action.setCheckable(True)
            action.setChecked(not hh.isSectionHidden(col))
            action.setEnabled(col is not Column.SUBJECT)
            action.toggled.connect(lambda on, c=col: hh.setSectionHidden(c, not on))
            menu.addAction(action)
        menu.exec(hh.mapToGlobal(pos))


class MessageList(QWidget):
    """Search error banner + message table, with selection kept by message id."""

    #: the user moved to a message (int id); not emitted for programmatic re-selection
    messageOpened = Signal(int)
    #: the selection changed (list of ids may be long; use ``selected_ids``)
    selectionChanged = Signal()
    #: a right click on the table at this global position
    contextMenuRequested = Signal(QPoint)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._current_id: int | None = None
        self._last_row = 0
        self._restoring = 0
        self._reselect_row_after_delete: int | None = None

        self.error_label = QLabel(self)
        self.error_label.setObjectName("searchError")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()

        self.table = MessageTable(self)
        self.table.setModel(model)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.error_label)
        layout.addWidget(self.table)

        sel = self.table.selectionModel()
        sel.currentRowChanged.connect(self._maybe_open)
        sel.selectionChanged.connect(self._maybe_open)
        sel.selectionChanged.connect(lambda *_: self.selectionChanged.emit())
        self.table.activated_by_keyboard.connect(self._open_current)
        self.table.clicked.connect(self._on_clicked)
        self.table.customContextMenuRequested.connect(
            lambda pos: self.contextMenuRequested.emit(self.table.viewport().mapToGlobal(pos))
        )
        for signal in (model.modelAboutToBeReset, model.rowsAboutToBeRemoved):
            signal.connect(self._begin_model_change)
        for signal in (model.modelReset, model.rowsRemoved):
            signal.connect(self._end_model_change)
        model.rowsInserted.connect(lambda *_: self._verify_current())
        model.synced.connect(lambda _delta: self._verify_current())

    # ---- queries ---------------------------------------------------------------------

    @property
    def model(self) -> MessageListModel:
        return self._model

    @property
    def current_id(self) -> int | None:
        """The message the user opened (None when nothing is open)."""
        return self._current_id

    def selected_rows(self) -> list[int]:
        return sorted({i.row() for i in self.table.selectionModel().selectedRows()})

    def selected_ids(self) -> list[int]:
        """Ids of the selected rows (all matching ids when everything is selected)."""
        rows = self.selected_rows()
        count = self._model.rowCount()
        if count and len(rows) == count and self._model.new_mail_on_top():
            return self._model.mailbox.ids(self._model.query)
        ids = [self._model.id_at(r) for r in rows]
        out = [i for i in ids if i is not None]
        if not out and self._current_id is not None:
            out = [self._current_id]
        return out

    # ---- search -------------------------------------------------------------------------

    def set_query(self, text: str) -> bool:
        """Apply a search; on a bad query show why (in red) and keep the list as is."""
        try:
            self._model.set_query(text)
        except QueryError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return False
        self.error_label.clear()
        self.error_label.hide()
        self._update_empty_text()
        return True

    def _update_empty_text(self) -> None:
        if self._model.query:
            self.table.empty_text = "No messages match the search"
        else:
            self.table.empty_text = "No messages yet"
        self.table.viewport().update()

    # ---- selection by id -------------------------------------------------------------

    def select_id(self, message_id: int, *, open_it: bool = True) -> bool:
        """Select ``message_id`` and scroll to it; returns False if it is not listed."""
        row = self._model.row_of_id(message_id, hint=self._last_row)
        if row is None:
            return False
        index = self._model.index(row, Column.SUBJECT)
        if open_it:
            self._current_id = None  # so the current-row handler opens it
            self.table.selectionModel().setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )
            if self._current_id is None:
                # It already was the current row, so Qt emitted nothing.
                self._open_current()
        else:
            self._set_current_quietly(row)
        self.table.scrollTo(index, QAbstractItemView.ScrollHint.EnsureVisible)
        return True

    def select_row(self, row: int) -> None:
        if 0 <= row < self._model.rowCount():
            self.table.selectionModel().setCurrentIndex(
                self._model.index(row, Column.SUBJECT),
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def forget_current(self) -> None:
        """The open message went away (deleted, cleared): select nothing."""
        self._current_id = None
        with self._quiet():
            self.table.selectionModel().clear()

    def reselect_after_delete(self, row: int) -> None:
        """After the pending delete lands, open whatever moved into ``row``."""
        self._reselect_row_after_delete = row

    @contextlib.contextmanager
    def _quiet(self) -> Iterator[None]:
        self._restoring += 1
        try:
            yield
        finally:
            self._restoring -= 1

    def _set_current_quietly(self, row: int | None) -> None:
        with self._quiet():
            sel = self.table.selectionModel()
            if row is None:
                sel.clear()
                return
            index = self._model.index(row, Column.SUBJECT)
            sel.setCurrentIndex(
                index,
                QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows,
            )

    def _maybe_open(self, *_args) -> None:
        """Open the current row if it is selected and shows another message.

        Runs on both current-row and selection changes: focus arriving puts
        the cursor on row 0 *without* selecting it (that must not open, and
        so mark read, anything), and selecting that row later changes only
        the selection.
        """
        if self._restoring:
            return
        current = self.table.currentIndex()
        if not current.isValid():
            return
        if not self.table.selectionModel().isRowSelected(current.row(), QModelIndex()):
            return
        self._last_row = current.row()
        message_id = self._model.id_at(current.row())
        if message_id is None or message_id == self._current_id:
            return
        self._current_id = message_id
        self.messageOpened.emit(message_id)

    def _on_clicked(self, index: QModelIndex) -> None:
        # Clicking the row that is already open shows it again: after File >
        # Open put a file from disk in the viewer, that is how to get back.
        if not index.isValid() or self._current_id is None:
            return
        if self._model.id_at(index.row()) != self._current_id:
            return
        if len(self.table.selectionModel().selectedRows()) == 1:
            self.messageOpened.emit(self._current_id)

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            message_id = self._model.id_at(index.row())
            if message_id is not None:
                self._current_id = message_id
                self.messageOpened.emit(message_id)

    def _begin_model_change(self, *args) -> None:
        # Qt moves the current index itself while rows vanish; that is not the
        # user opening a message.
        self._restoring += 1

    def _end_model_change(self, *args) -> None:
        self._restoring -= 1
        row = self._reselect_row_after_delete
        if row is not None and not self._restoring:
            self._reselect_row_after_delete = None
            count = self._model.rowCount()
            if count:
                # Like a mail client: the message that moved up takes the
                # deleted one's place and is opened.
                row = min(row, count - 1)
                message_id = self._model.id_at(row)
                self._set_current_quietly(row)
                self._last_row = row
                if message_id is not None:
                    self._current_id = message_id
                    self.messageOpened.emit(message_id)
                return
            self._current_id = None
        self._verify_current()

    def _verify_current(self) -> None:
        """Make the current row show ``current_id`` again after rows moved."""
        if self._current_id is None:
            return
        index = self.table.currentIndex()
        if index.isValid():
            self._last_row = index.row()
            if self._model.id_at(index.row()) == self._current_id:
                return
        row = self._model.row_of_id(self._current_id, hint=self._last_row)
        if row is None:
            # Filtered out by a search, or deleted: select nothing, keep the viewer.
            with self._quiet():
                self.table.selectionModel().clear()
            return
        self._last_row = row
        self._set_current_quietly(row)

    def select_all(self) -> None:
        count = self._model.rowCount()
        if not count:
            return
        with self._quiet():
            self.table.selectionModel().select(
                QItemSelection(
                    self._model.index(0, 0), self._model.index(count - 1, len(Column) - 1)
                ),
                QItemSelectionModel.SelectionFlag.ClearAndSelect,
            )
        self.selectionChanged.emit()

    def focus_table(self) -> None:
        self.table.setFocus(Qt.FocusReason.ShortcutFocusReason)
        if not self.table.currentIndex().isValid() and self._model.rowCount():
            self.select_row(0)

    def shortcut_for(self, action: QAction, keys: QKeySequence | str) -> None:
        """Bind ``keys`` to ``action`` only while the table has focus.

        Single-key shortcuts (Del) must not fire while the user types in the
        search field.
        """
        action.setShortcut(QKeySequence(keys))
        action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        self.table.addAction(action)
