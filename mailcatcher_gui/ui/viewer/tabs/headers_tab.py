"""The Headers tab: a name | decoded value table, or the raw header block."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from ....core.models import Header
from .formatting import one_line

_Index = QModelIndex | QPersistentModelIndex


def raw_header_block(raw: bytes, limit: int = 1024 * 1024) -> str:
    """The header section exactly as received (up to the first empty line)."""
    head = raw[:limit]
    ends = [i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0]
    if ends:
        head = head[: min(ends)]
    return head.decode("utf-8", errors="replace").replace("\x00", "\u2400")


class HeadersModel(QAbstractTableModel):
    COLUMNS = ("Name", "Value")

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._headers: tuple[Header, ...] = ()

    def set_headers(self, headers: tuple[Header, ...]) -> None:
        self.beginResetModel()
        self._headers = tuple(headers)
        self.endResetModel()

    def header_at(self, row: int) -> Header:
        return self._headers[row]

    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._headers)

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else 2

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid():
            return None
        h = self._headers[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return h.name if index.column() == 0 else one_line(h.value)
        if role == Qt.ItemDataRole.ToolTipRole and index.column() == 1:
            return h.value[:4000]
        if role == Qt.ItemDataRole.UserRole:
            return h.value
        return None

    def headerData(  # noqa: N802 (Qt API)
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class HeadersTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = HeadersModel(self)
        self.table = QTableView(self)
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setWordWrap(False)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 8)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        hh.setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)

        self.raw_view = QPlainTextEdit(self)
        self.raw_view.setReadOnly(True)
        self.raw_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.raw_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.raw_view)

        self.raw_toggle = QCheckBox("Raw", self)
        self.raw_toggle.setToolTip("Show the header block exactly as received")
        self.raw_toggle.toggled.connect(lambda on: self.stack.setCurrentIndex(1 if on else 0))
        self.count_label = QLabel(self)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.count_label, 1)
        bar.addWidget(self.raw_toggle)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.stack, 1)

    def show_headers(self, headers: tuple[Header, ...], raw: bytes) -> None:
        self.model.set_headers(headers)
        self.raw_view.setPlainText(raw_header_block(raw))
        self.count_label.setText(f"{len(headers)} header fields")

    def clear(self) -> None:
        self.model.set_headers(())
        self.raw_view.clear()
        self.count_label.clear()
