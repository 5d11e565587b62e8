"""The left pane: saved searches ("All mail", "Unread", ...) and the tags, with counts.

Each entry is just a query in the search language, and choosing one puts
that query into the search field -- so the sidebar also teaches the syntax
and there is exactly one filtering mechanism. Below the filters, under a
TAGS heading, every tag in use with its message count (``set_tags``, called
whenever the window refreshes its counts); choosing one searches
``tag:NAME``. The heading is there only while some message has a tag. One
list holds both, so the highlight, the keyboard and the style are shared.
"""

from __future__ import annotations

from collections.abc import Mapping

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QVBoxLayout, QWidget

from ...core.tag_names import tag_query

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
_TagRole = Qt.ItemDataRole.UserRole + 3


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
        self._tags: dict[str, int] = {}
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
        query = item.data(_QueryRole)
        if query is not None:  # not the TAGS heading
            self.filterChosen.emit(query)

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

    @property
    def tags(self) -> dict[str, int]:
        """The tags shown, with their counts."""
        return dict(self._tags)

    def set_tags(self, counts: Mapping[str, int]) -> None:
        """Show ``counts`` (tag -> messages, in display order) under TAGS."""
        counts = dict(counts)
        if counts == self._tags:
            return
        self._tags = counts
        current = self.list.currentItem()
        current_query = current.data(_QueryRole) if current is not None else None
        while self.list.count() > len(FILTERS):
            self.list.takeItem(self.list.count() - 1)
        if not counts:
            return
        heading = QListWidgetItem("TAGS")
        heading.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(self.list.font())
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        heading.setFont(font)
        self.list.addItem(heading)
        for tag, n in counts.items():
            query = tag_query(tag)
            item = QListWidgetItem(f"{tag}  ({n:,})")
            item.setData(_QueryRole, query)
            item.setData(_LabelRole, tag)
            item.setData(_TagRole, tag)
            item.setToolTip(f"Search: {query}")
            self.list.addItem(item)
            if query == current_query:
                self.list.setCurrentItem(item)

    def item_for_tag(self, tag: str) -> QListWidgetItem | None:
        """The entry of ``tag`` (None when no message has it)."""
        for i in range(len(FILTERS), self.list.count()):
            item = self.list.item(i)
            if item.data(_TagRole) == tag:
                return item
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(170, 400)
