"""The left pane: saved searches ("All mail", "Unread", ...) with counts.

Each entry is just a query in the search language, and choosing one puts
that query into the search field -- so the sidebar also teaches the syntax
and there is exactly one filtering mechanism.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

#: (label, query) in display order
FILTERS: tuple[tuple[str, str], ...] = (
    ("All messages", ""),
    ("Unread", "is:unread"),
    ("With attachments", "has:attachment"),
    ("HTML", "has:html"),
    ("Plain text only", "-has:html"),
)

_QueryRole = Qt.ItemDataRole.UserRole + 1
_LabelRole = Qt.ItemDataRole.UserRole + 2


class Sidebar(QWidget):
    """Quick filters; emits the chosen query."""

    filterChosen = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sidebar")
        title = QLabel("MAILBOX", self)
        title.setObjectName("sidebarTitle")
        self.list = QListWidget(self)
        self.list.setObjectName("sidebarList")
        self.list.setFrameShape(QListWidget.Shape.NoFrame)
        self.list.setIconSize(QSize(16, 16))
        self.list.setUniformItemSizes(True)
        for label, query in FILTERS:
            item = QListWidgetItem(label)
            item.setData(_QueryRole, query)
            item.setData(_LabelRole, label)
            item.setToolTip(f"Search: {query}" if query else "Every stored message")
            self.list.addItem(item)
        self.list.itemClicked.connect(self._chosen)
        self.list.itemActivated.connect(self._chosen)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 8, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(title)
        layout.addWidget(self.list, 1)
        self.list.setCurrentRow(0)

    def _chosen(self, item: QListWidgetItem) -> None:
        self.filterChosen.emit(item.data(_QueryRole))

    def show_query(self, query: str) -> None:
        """Highlight the entry matching ``query`` (none for a custom search)."""
        q = " ".join(query.split())
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(_QueryRole) == q:
                self.list.setCurrentItem(item)
                return
        self.list.clearSelection()
        self.list.setCurrentRow(-1)

    def set_counts(self, total: int, unread: int) -> None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            label = item.data(_LabelRole)
            query = item.data(_QueryRole)
            if query == "":
                item.setText(f"{label}  ({total:,})")
            elif query == "is:unread":
                item.setText(f"{label}  ({unread:,})" if unread else label)

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(170, 400)
