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
    QByteArray,
    QItemSelection,
    QItemSelectionModel,
    QModelIndex,
    QPoint,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QVBoxLayout,
    QWidget,
)

from ...core.store.database import StoreError
from ...core.store.search import QueryError
from .list_model import Column, MessageListModel
from .message_table import MessageTable
from .search_field import SEARCH_HELP, SEARCH_HELP_HTML, SearchField

__all__ = ["SEARCH_HELP", "SEARCH_HELP_HTML", "MessageList", "MessageTable", "SearchField"]


class MessageList(QWidget):
    """Search error banner + message table, with selection kept by message id."""

    #: the user moved to a message (int id); not emitted for programmatic re-selection
    messageOpened = Signal(int)
    #: the selection changed (list of ids may be long; use ``selected_ids``)
    selectionChanged = Signal()
    #: a right click on the table at this global position
    contextMenuRequested = Signal(QPoint)
    #: the open message (id) is no longer in the list (a search left it out, or it went)
    currentFiltered = Signal(int)

    def __init__(self, model: MessageListModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._model = model
        self._current_id: int | None = None
        self._last_row = 0
        self._restoring = 0
        self._reselect_row_after_delete: int | None = None
        self._listen_hint = ""

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
            return list(self._model.mailbox.ids(self._model.query))
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
        except (QueryError, StoreError) as exc:  # StoreError: a remote catcher out of reach
            self.error_label.setText(str(exc))
            self.error_label.show()
            return False
        self.error_label.clear()
        self.error_label.hide()
        self._update_empty_text()
        return True

    def set_empty_hint(self, hint: str) -> None:
        """What to say under "No messages yet" (where to send mail)."""
        self._listen_hint = hint
        self._update_empty_text()

    def _update_empty_text(self) -> None:
        query = self._model.query
        if query:
            self.table.empty_text = f"No messages match “{query}”"
            self.table.empty_hint = "Press Esc in the search field to see all messages."
        else:
            self.table.empty_text = "No messages yet"
            self.table.empty_hint = self._listen_hint
        self.table.viewport().update()

    def restore_header(self, state: QByteArray) -> None:
        """Column order, widths and sort from a saved header state, refitted."""
        hh = self.table.horizontalHeader()
        hh.restoreState(state)
        hh.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        self._model.sort(hh.sortIndicatorSection(), hh.sortIndicatorOrder())
        self.table.fit_columns()

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

    def _maybe_open(self, *_args: object) -> None:
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

    def _begin_model_change(self, *args: object) -> None:
        # Qt moves the current index itself while rows vanish; that is not the
        # user opening a message.
        self._restoring += 1

    def _end_model_change(self, *args: object) -> None:
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
            # Filtered out by a search, or deleted: select nothing; the window
            # decides about the viewer.
            with self._quiet():
                self.table.selectionModel().clear()
            self.currentFiltered.emit(self._current_id)
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
