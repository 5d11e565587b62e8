"""The compose window's editable parts: the address block, body editors, custom headers.

Split out of the compose window so that each piece is small enough to read;
the window (``compose_window``) assembles them and keeps the attribute names
tests and the composer use (``window.to``, ``window.header_table``...).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)


def local_files(mime: QMimeData) -> list[Path]:
    """The dropped local files, or [] when the drop is anything else (text, URLs)."""
    if not mime.hasUrls():
        return []
    urls = mime.urls()
    if not urls or not all(u.isLocalFile() for u in urls):
        return []
    return [Path(u.toLocalFile()) for u in urls]


class BodyEdit(QPlainTextEdit):
    """A body editor where dropped *files* become attachments (text drops stay text)."""

    filesDropped = Signal(list)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 (Qt API)
        return bool(local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt API)
        files = local_files(source)
        if files:
            self.filesDropped.emit(files)
            return
        super().insertFromMimeData(source)


class AddressFields(QWidget):
    """From (name + address), To, Cc, Bcc, Reply-To and Subject in a grid."""

    #: the user edited a field (the widget): its "invalid" mark is cleared
    edited = Signal(QWidget)

    def __init__(self, parent: QWidget | None = None, *, drop_filter: QObject | None = None):
        super().__init__(parent)
        self.setObjectName("composeFields")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)
        self.from_name = self._edit("Display name")
        self.from_addr = self._edit("sender@example.com")
        self.to = self._edit("recipient@example.com, Name <other@example.com>")
        self.cc = self._edit("")
        self.bcc = self._edit("", "Envelope-only recipients: never written to the headers")
        self.reply_to = self._edit("")
        self.subject = self._edit("Subject")
        from_row = QHBoxLayout()
        from_row.setSpacing(6)
        from_row.addWidget(self.from_name, 2)
        from_row.addWidget(self.from_addr, 3)
        rows: list[tuple[str, QWidget | QLayout]] = [
            ("From:", from_row),
            ("To:", self.to),
            ("Cc:", self.cc),
            ("Bcc:", self.bcc),
            ("Reply-To:", self.reply_to),
            ("Subject:", self.subject),
        ]
        for row, (label, widget) in enumerate(rows):
            lab = QLabel(label, self)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(lab, row, 0)
            if isinstance(widget, QLayout):
                grid.addLayout(widget, row, 1)
            else:
                grid.addWidget(widget, row, 1)
        grid.setColumnStretch(1, 1)
        #: the backend's field names -> the widgets to mark
        self.widgets_for: dict[str, list[QWidget]] = {
            "from": [self.from_name, self.from_addr],
            "envelope_from": [self.from_addr],
            "to": [self.to],
            "cc": [self.cc],
            "bcc": [self.bcc],
            "reply_to": [self.reply_to],
            "subject": [self.subject],
        }
        if drop_filter is not None:
            # Files dropped on a one-line field are attachments, not text.
            for e in self.edits():
                e.installEventFilter(drop_filter)

    def _edit(self, placeholder: str, tip: str = "") -> QLineEdit:
        e = QLineEdit(self)
        e.setPlaceholderText(placeholder)
        if tip:
            e.setToolTip(tip)
        e.textEdited.connect(lambda _t, w=e: self.edited.emit(w))
        return e

    def edits(self) -> list[QLineEdit]:
        return [
            self.from_name,
            self.from_addr,
            self.to,
            self.cc,
            self.bcc,
            self.reply_to,
            self.subject,
        ]


class HeadersPane(QWidget):
    """Custom headers as an editable two-column table."""

    #: the set of headers changed (their number)
    changed = Signal(int)
    #: a new row is being edited (the window shows this tab)
    editing = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.table = QTableWidget(0, 2, self)
        self.table.setObjectName("customHeaders")
        self.table.setHorizontalHeaderLabels(["Name", "Value"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setColumnWidth(0, 200)
        self.table.verticalHeader().hide()
        self.table.itemChanged.connect(lambda _i: self._rows_changed())
        add_header = QPushButton("Add Header", self)
        add_header.clicked.connect(lambda: self.add_row("X-", ""))
        remove_header = QPushButton("Remove", self)
        remove_header.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(add_header)
        buttons.addWidget(remove_header)
        buttons.addStretch(1)
        hint = QLabel("Date and Message-ID are added unless you set them here.", self)
        hint.setObjectName("hint")
        buttons.addWidget(hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)

    def set_headers(self, headers: list[tuple[str, str]]) -> None:
        self.table.blockSignals(True)
        self.table.setRowCount(0)
        self.table.blockSignals(False)
        for name, value in headers:
            self.add_row(name, value)
        self._rows_changed()

    def add_row(self, name: str, value: str) -> int:
        row = self.table.rowCount()
        self.table.blockSignals(True)
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        self.table.setItem(row, 1, QTableWidgetItem(value))
        self.table.blockSignals(False)
        self._rows_changed()
        if name == "X-":
            self.editing.emit()
            self.table.setCurrentCell(row, 0)
            item = self.table.item(row, 0)
            if item is not None:
                self.table.editItem(item)
        return row

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
        self._rows_changed()

    def headers(self) -> list[tuple[str, str]]:
        result = []
        for row in range(self.table.rowCount()):
            name_item = self.table.item(row, 0)
            value_item = self.table.item(row, 1)
            name = name_item.text().strip() if name_item else ""
            value = value_item.text() if value_item else ""
            if name in ("", "X-") and not value.strip():
                continue  # an untouched new row
            result.append((name, value))
        return result

    def _rows_changed(self) -> None:
        self.changed.emit(len(self.headers()))
