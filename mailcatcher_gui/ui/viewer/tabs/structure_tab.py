"""The Structure tab: the MIME tree, rebuilt from the parser's flat part list."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ....core.mailio import safe_filename
from ....core.mime.bodies import extension_for
from ....core.mime.parse import part_payload
from ....core.models import ParsedMessage, Part
from ....core.units import format_size
from ...theme import css, themed_style_sheet
from .embedded import is_embedded_message

COLUMNS = ("Part", "Type", "Charset", "Encoding", "Size", "Filename")
_PART_ROLE = Qt.ItemDataRole.UserRole
_PART, _TYPE, _SIZE, _FILENAME = 0, 1, 4, 5
#: the narrowest Part / Type / Filename columns squeezing may leave
MIN_PART, MIN_TYPE, MIN_FILENAME = 60, 90, 80


def fit_column_widths(wanted: list[int], available: int) -> list[int]:
    """Widths for the first five columns (Filename takes what is left).

    Every column gets what its content wants. When that does not fit in
    ``available`` pixels next to ``MIN_FILENAME``, Part (deep part numbers
    of a hostile message can be very wide) and then Type give way, down to
    their minimums, so Charset, Encoding and Size stay on screen. No Qt here:
    the numbers are tested directly.
    """
    widths = list(wanted[:_FILENAME])
    excess = sum(widths) + MIN_FILENAME - available
    if excess > 0:
        # Part first, but never below the larger of its minimum and 40% of the room.
        floor = min(widths[_PART], max(MIN_PART, (available - MIN_FILENAME) * 2 // 5))
        cut = min(excess, widths[_PART] - floor)
        widths[_PART] -= cut
        excess -= cut
    if excess > 0:
        cut = min(excess, max(0, widths[_TYPE] - MIN_TYPE))
        widths[_TYPE] -= cut
        excess -= cut
    if excess > 0:
        cut = min(excess, max(0, widths[_PART] - MIN_PART))
        widths[_PART] -= cut
    return widths


def build_tree(tree: QTreeWidget, parts: tuple[Part, ...]) -> list[QTreeWidgetItem]:
    """Fill ``tree`` from a depth-annotated flat list; returns items in order.

    A part deeper than its predecessor is its child; a jump of more than one
    level (malformed input) is attached to the deepest open ancestor instead
    of failing.
    """
    tree.clear()
    items: list[QTreeWidgetItem] = []
    stack: list[tuple[int, QTreeWidgetItem]] = []
    for part in parts:
        while stack and stack[-1][0] >= part.depth:
            stack.pop()
        values = [
            part.part_id,
            part.content_type,
            part.charset or "",
            part.transfer_encoding or "",
            format_size(part.size)
            if part.size or not part.content_type.startswith("multipart/")
            else "",
            part.filename or "",
        ]
        item = QTreeWidgetItem(stack[-1][1], values) if stack else QTreeWidgetItem(tree, values)
        item.setData(0, _PART_ROLE, part.part_id)
        item.setTextAlignment(4, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        tip = [f"{part.content_type}"]
        if part.disposition:
            tip.append(f"Disposition: {part.disposition}")
        if part.content_id:
            tip.append(f"Content-ID: <{part.content_id}>")
        item.setToolTip(1, "\n".join(tip))
        item.setToolTip(0, f"Part {part.part_id}")
        stack.append((part.depth, item))
        items.append(item)
    tree.expandAll()
    return items


def payload_of(parsed: ParsedMessage, raw: bytes, part_id: str) -> tuple[str, bytes] | None:
    """(suggested file name, decoded bytes) of a leaf part; None for multiparts.

    Attachments are already decoded; any other leaf (a text body, a nested
    message) is decoded from the raw bytes on demand, when the user saves.
    """
    for att in parsed.attachments:
        if att.part_id == part_id:
            return att.filename, att.data
    part = next((p for p in parsed.parts if p.part_id == part_id), None)
    if part is None or part.content_type.startswith("multipart/"):
        return None
    data = part_payload(raw, part_id)
    if data is None:
        return None
    return part.filename or f"part-{part_id}{extension_for(part.content_type)}", data


class StructureTab(QWidget):
    #: an embedded message part to show in the viewer: its raw bytes and a name
    openMessage = Signal(bytes, str)

    def __init__(
        self,
        save_bytes: Callable[[str, bytes], Path | None],
        parent: QWidget | None = None,
    ) -> None:
        """``save_bytes(suggested_name, data)`` asks where and writes (shared
        with the Attachments tab so both save the same careful way)."""
        super().__init__(parent)
        self._save_bytes = save_bytes
        self._parsed: ParsedMessage | None = None
        self._raw = b""
        self.tree = QTreeWidget(self)
        # Sections start at the default size and the stretched Filename
        # column never shrinks below its first size: make that the minimum.
        self.tree.header().setDefaultSectionSize(MIN_FILENAME)
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(14)  # deep trees stay readable
        header = self.tree.header()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        self.tree.viewport().installEventFilter(self)  # its width excludes the scroll bar
        self.fit_columns()
        self.tree.currentItemChanged.connect(lambda *_: self._update_buttons())

        self.tree.itemDoubleClicked.connect(lambda *_: self.open_current_message())

        self.save_button = QPushButton("Save Part…", self)
        self.save_button.clicked.connect(self.save_current_part)
        self.open_button = QPushButton("Open Message", self)
        self.open_button.setToolTip("Show the selected attached message in a viewer window")
        self.open_button.clicked.connect(self.open_current_message)
        self.defects = QLabel(self)
        self.defects.setObjectName("defects")
        self.defects.setWordWrap(True)
        themed_style_sheet(self.defects, lambda t: f"#defects {{ color: {css(t.warning)}; }}")

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.defects, 1)
        bar.addWidget(self.open_button)
        bar.addWidget(self.save_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.tree, 1)
        self._update_buttons()

    def show_parsed(self, parsed: ParsedMessage, raw: bytes) -> None:
        self._parsed = parsed
        self._raw = raw
        build_tree(self.tree, parsed.parts)
        self.fit_columns()
        if parsed.defects:
            shown = "; ".join(parsed.defects[:3])
            more = f" (+{len(parsed.defects) - 3} more)" if len(parsed.defects) > 3 else ""
            self.defects.setText(f"⚠ Parser found problems: {shown}{more}")
            self.defects.setToolTip("\n".join(parsed.defects[:50]))
        else:
            self.defects.clear()
            self.defects.setToolTip("")
        self._update_buttons()

    def clear(self) -> None:
        self._parsed = None
        self._raw = b""
        self.tree.clear()
        self.defects.clear()
        self._update_buttons()

    def fit_columns(self) -> None:
        """Size the columns to their content and the tab's width (see
        ``fit_column_widths``); runs for each message and on every resize."""
        tree = self.tree
        header = tree.header()
        wanted = [
            max(header.sectionSizeHint(col), tree.sizeHintForColumn(col))
            for col in range(_FILENAME)
        ]
        for col, width in enumerate(fit_column_widths(wanted, tree.viewport().width())):
            tree.setColumnWidth(col, width)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if watched is self.tree.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
        return super().eventFilter(watched, event)

    def select_part(self, part_id: str) -> bool:
        for item in self._all_items():
            if item.data(0, _PART_ROLE) == part_id:
                self.tree.setCurrentItem(item)
                return True
        return False

    def current_part(self) -> Part | None:
        item = self.tree.currentItem()
        if item is None or self._parsed is None:
            return None
        part_id = item.data(0, _PART_ROLE)
        return next((p for p in self._parsed.parts if p.part_id == part_id), None)

    def current_payload(self) -> tuple[str, bytes] | None:
        part = self.current_part()
        if part is None or self._parsed is None:
            return None
        return payload_of(self._parsed, self._raw, part.part_id)

    def save_current_part(self) -> Path | None:
        payload = self.current_payload()
        if payload is None:
            return None
        name, data = payload
        item = self.tree.currentItem()
        fallback = f"part-{item.data(0, _PART_ROLE)}" if item is not None else "part"
        return self._save_bytes(safe_filename(name, fallback=fallback), data)

    def open_current_message(self) -> bool:
        """Show the selected ``message/rfc822`` part in the viewer."""
        part = self.current_part()
        if part is None or not is_embedded_message(part.content_type):
            return False
        payload = self.current_payload()
        if payload is None:
            return False
        name, data = payload
        self.openMessage.emit(data, safe_filename(name, fallback=f"part-{part.part_id}.eml"))
        return True

    def _all_items(self) -> list[QTreeWidgetItem]:
        out: list[QTreeWidgetItem] = []

        def walk(item: QTreeWidgetItem | None) -> None:
            if item is None:
                return
            out.append(item)
            for i in range(item.childCount()):
                walk(item.child(i))

        for i in range(self.tree.topLevelItemCount()):
            walk(self.tree.topLevelItem(i))
        return out

    def _update_buttons(self) -> None:
        # Decoding waits for the click; a leaf part is always saveable.
        part = self.current_part()
        has = part is not None and not part.content_type.startswith("multipart/")
        self.save_button.setEnabled(has)
        self.open_button.setEnabled(part is not None and is_embedded_message(part.content_type))
        self.save_button.setToolTip(
            "Save the decoded content of the selected part"
            if has
            else "Select a leaf part to save it"
        )
