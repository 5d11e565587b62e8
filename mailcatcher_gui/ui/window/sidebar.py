"""The left pane: saved searches ("All mail", "Unread", ...), the mailboxes and the tags.

Each entry is just a query in the search language, and choosing one puts
that query into the search field -- so the sidebar also teaches the syntax
and there is exactly one filtering mechanism. Below the filters, under a
TAGS heading, every tag in use with its message count (``set_tags``, called
whenever the window refreshes its counts); choosing one searches
``tag:NAME``. The heading is there only while some message has a tag.
Between the two, under MAILBOXES, every mailbox (rules and listeners route
mail into them, see core/rules) with its unread and total counts
(``set_mailboxes``); choosing one searches ``mailbox:NAME``. That section
shows only once some message is outside the default mailbox ("Inbox"). One
list holds everything, so the highlight, the keyboard and the style are
shared.
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
_MailboxRole = Qt.ItemDataRole.UserRole + 4

#: what the default mailbox ("" in the store) is called
INBOX = "Inbox"


def mailbox_query(name: str) -> str:
    """The search for the messages in mailbox ``name`` ("" = the default one)."""
    shown = name or INBOX
    return f'mailbox:"{shown}"' if " " in shown else f"mailbox:{shown}"


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
        self._mailboxes: dict[str, tuple[int, int]] = {}
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
        if query is not None:  # not a heading
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

    @property
    def mailboxes(self) -> dict[str, tuple[int, int]]:
        """The mailboxes shown: name ("" = Inbox) -> (total, unread)."""
        return dict(self._mailboxes)

    def set_tags(self, counts: Mapping[str, int]) -> None:
        """Show ``counts`` (tag -> messages, in display order) under TAGS."""
        counts = dict(counts)
        if counts != self._tags:
            self._tags = counts
            self._rebuild()

    def set_mailboxes(self, counts: Mapping[str, tuple[int, int]]) -> None:
        """Show ``counts`` (mailbox -> (total, unread), the default "" first) under
        MAILBOXES; nothing while every message is in the default mailbox."""
        counts = {name: (int(t), int(u)) for name, (t, u) in counts.items() if t or name}
        if not any(counts):
            counts = {}
        if counts != self._mailboxes:
            self._mailboxes = counts
            self._rebuild()

    def _rebuild(self) -> None:
        current = self.list.currentItem()
        current_query = current.data(_QueryRole) if current is not None else None
        while self.list.count() > len(FILTERS):
            self.list.takeItem(self.list.count() - 1)
        if self._mailboxes:
            self._heading("MAILBOXES")
            for name, (total, unread) in self._mailboxes.items():
                query = mailbox_query(name)
                label = name or INBOX
                item = QListWidgetItem(
                    f"{label}  ({unread:,}/{total:,})" if unread else f"{label}  ({total:,})"
                )
                item.setData(_QueryRole, query)
                item.setData(_LabelRole, label)
                item.setData(_MailboxRole, name)
                if unread:
                    font = QFont(self.list.font())
                    font.setBold(True)
                    item.setFont(font)
                item.setToolTip(f"{unread:,} unread of {total:,}. Search: {query}")
                self._add(item, current_query)
        if self._tags:
            self._heading("TAGS")
            for tag, n in self._tags.items():
                query = tag_query(tag)
                item = QListWidgetItem(f"{tag}  ({n:,})")
                item.setData(_QueryRole, query)
                item.setData(_LabelRole, tag)
                item.setData(_TagRole, tag)
                item.setToolTip(f"Search: {query}")
                self._add(item, current_query)

    def _heading(self, text: str) -> None:
        heading = QListWidgetItem(text)
        heading.setFlags(Qt.ItemFlag.NoItemFlags)
        font = QFont(self.list.font())
        font.setBold(True)
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.85))
        heading.setFont(font)
        self.list.addItem(heading)

    def _add(self, item: QListWidgetItem, current_query: object) -> None:
        self.list.addItem(item)
        if item.data(_QueryRole) == current_query:
            self.list.setCurrentItem(item)

    def item_for_mailbox(self, name: str) -> QListWidgetItem | None:
        """The entry of mailbox ``name`` ("" = Inbox; None when not shown)."""
        for i in range(len(FILTERS), self.list.count()):
            item = self.list.item(i)
            if item.data(_MailboxRole) == name:
                return item
        return None

    def item_for_tag(self, tag: str) -> QListWidgetItem | None:
        """The entry of ``tag`` (None when no message has it)."""
        for i in range(len(FILTERS), self.list.count()):
            item = self.list.item(i)
            if item.data(_TagRole) == tag:
                return item
        return None

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt API)
        return QSize(170, 400)
