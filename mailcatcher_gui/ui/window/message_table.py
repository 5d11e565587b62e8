"""The message table: column widths that keep Subject usable, the empty state.

Subject stretches; Received and Size fit their content; From (and To, shown
automatically when the list is wide enough) take a share of the rest and give
way first when the list gets narrow, so the Subject column stays readable in
every layout (preview beside or below the list, any window width).
"""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QEvent,
    QModelIndex,
    QPersistentModelIndex,
    QPoint,
    QRect,
    Qt,
    Signal,
)
from PySide6.QtGui import (
    QAction,
    QFont,
    QFontMetrics,
    QKeyEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QResizeEvent,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QMenu,
    QTableView,
    QWidget,
)

from .list_model import Column
from .tag_chips import SubjectDelegate

#: Subject never gets narrower than this while other columns can give way (px)
SUBJECT_MIN = 240
#: the To column appears automatically from this list width on (px)
TO_COLUMN_MIN_LIST_WIDTH = 760
#: columns whose width follows their content, not the list's width
_FIXED_COLUMNS = (Column.ATTACHMENT, Column.RECEIVED, Column.SIZE)
#: From/To: (minimum px, maximum px, share of the room left by fixed columns)
_FLEX_COLUMNS = {Column.FROM: (110, 260, 0.3), Column.TO: (100, 220, 0.22)}


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
        self.subject_delegate = SubjectDelegate(self)
        self.setItemDelegateForColumn(int(Column.SUBJECT), self.subject_delegate)
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
        #: the user's own choice for the To column (header menu); None = automatic
        self.to_column_choice: bool | None = None
        self._proportional_next = True

    # ---- model hookup ------------------------------------------------------------

    def setModel(self, model: QAbstractItemModel | None) -> None:  # noqa: N802 (Qt API)
        super().setModel(model)
        if model is None:
            return
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

        hh.setSectionResizeMode(Column.ATTACHMENT, QHeaderView.ResizeMode.Fixed)
        hh.resizeSection(Column.ATTACHMENT, 30)
        hh.resizeSection(Column.RECEIVED, fit("Wed 23:59", "2024-12-31", header="Received"))
        hh.resizeSection(Column.SIZE, fit("999 KB", "1023 B", header="Size"))
        hh.setSectionResizeMode(Column.SUBJECT, QHeaderView.ResizeMode.Stretch)
        hh.setSortIndicator(Column.RECEIVED, Qt.SortOrder.DescendingOrder)
        self.setSortingEnabled(True)
        self.fit_columns(proportional=True)

    # ---- column widths --------------------------------------------------------------

    def fit_columns(self, *, proportional: bool = False) -> None:
        """Keep the Subject column usable at this width; show To when there is room.

        ``proportional`` sets From (and To) to a share of the width (first
        start, a layout change); otherwise they only shrink, down to their
        minimum, when Subject would get narrower than ``SUBJECT_MIN``, so a
        width the user dragged stays as long as it fits.
        """
        hh = self.horizontalHeader()
        width = self.viewport().width()
        if width <= 0 or self.model() is None:
            return
        if self.to_column_choice is None:
            hh.setSectionHidden(Column.TO, width < TO_COLUMN_MIN_LIST_WIDTH)
        shown = [c for c in Column if not hh.isSectionHidden(c)]
        fixed = sum(hh.sectionSize(c) for c in shown if c in _FIXED_COLUMNS)
        flexible = [c for c in (Column.FROM, Column.TO) if c in shown]
        room = max(0, width - fixed)
        subject_min = min(SUBJECT_MIN, room // 2)
        if proportional:
            for col in flexible:
                low, high, share = _FLEX_COLUMNS[col]
                hh.resizeSection(col, int(min(high, max(low, room * share))))
        excess = sum(hh.sectionSize(c) for c in flexible) + subject_min - room
        for col in reversed(flexible):  # To gives way first, then From
            if excess <= 0:
                break
            low = _FLEX_COLUMNS[col][0]
            give = min(excess, max(0, hh.sectionSize(col) - low))
            hh.resizeSection(col, hh.sectionSize(col) - give)
            excess -= give

    def refit_on_next_resize(self) -> None:
        """The layout changes shape: share the width out afresh at the next resize."""
        self._proportional_next = True

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 (Qt API)
        super().resizeEvent(event)
        if event.oldSize().width() != event.size().width():
            self.fit_columns(proportional=self._proportional_next)
            self._proportional_next = self.viewport().width() <= 0

    def _before_insert(self, parent: QModelIndex, first: int, last: int) -> None:
        # Rows landing above the viewport push the content down; remember
        # where we were so rowsInserted can keep the same messages in view.
        value = self.verticalScrollBar().value()
        self._anchor = value if first == 0 and value > 0 else None

    def rowsInserted(  # noqa: N802 (Qt API)
        self, parent: QModelIndex | QPersistentModelIndex, first: int, last: int
    ) -> None:
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

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 (Qt API)
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
            action.toggled.connect(lambda on, c=col: self._column_chosen(c, on))
            menu.addAction(action)
        menu.exec(hh.mapToGlobal(pos))

    def _column_chosen(self, col: Column, visible: bool) -> None:
        if col is Column.TO:
            self.to_column_choice = visible
        self.horizontalHeader().setSectionHidden(col, not visible)
        self.fit_columns()
