"""The Structure tab's columns (issue 10 item 10, viewer part): deep part
numbers are shown whole and Size stays on screen, measured in pixels."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QModelIndex
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QTreeWidget

from mailcatcher_gui.core.models import Part
from mailcatcher_gui.ui.viewer.tabs.structure_tab import (
    MIN_FILENAME,
    MIN_PART,
    MIN_TYPE,
    StructureTab,
    fit_column_widths,
)
from tests.viewer_support import make_opened

pytestmark = [pytest.mark.gui]

PART, TYPE, SIZE = 0, 1, 4


def deep_parts(depth: int) -> tuple[Part, ...]:
    """A chain of nested multiparts ``depth`` deep with a leaf at the bottom."""
    parts = [Part("0", 0, "multipart/mixed", None, None, 0)]
    ids: list[str] = []
    for level in range(1, depth):
        ids.append("1")
        parts.append(Part(".".join(ids), level, "multipart/mixed", None, None, 0))
    ids.append("2")
    parts.append(
        Part(
            ".".join(ids),
            depth,
            "application/vnd.ms-excel",
            None,
            "base64",
            123_456_789,
            filename="quarterly-figures.xls",
        )
    )
    return tuple(parts)


def show(qtbot, width: int, depth: int) -> StructureTab:
    tab = StructureTab(lambda name, data: None)
    qtbot.addWidget(tab)
    tab.resize(width, 400)
    tab.show()
    qtbot.waitExposed(tab)
    tab.show_parsed(make_opened(parts=deep_parts(depth)).parsed, b"")
    QApplication.processEvents()
    return tab


def wanted_width(tree: QTreeWidget, index: QModelIndex) -> int:
    option = QStyleOptionViewItem()
    option.initFrom(tree)
    return tree.itemDelegate().sizeHint(option, index).width()


def all_indexes(tree: QTreeWidget, column: int) -> list[QModelIndex]:
    model = tree.model()
    out: list[QModelIndex] = []

    def walk(parent: QModelIndex) -> None:
        for row in range(model.rowCount(parent)):
            index = model.index(row, column, parent)
            out.append(index)
            walk(model.index(row, 0, parent))

    walk(QModelIndex())
    return out


def right_edge(tree: QTreeWidget, column: int) -> int:
    header = tree.header()
    return header.sectionViewportPosition(column) + header.sectionSize(column)


@pytest.mark.parametrize("depth", [3, 9])
def test_deep_part_numbers_fit_and_size_stays_visible(qtbot, depth):
    tab = show(qtbot, 900, depth)
    tree = tab.tree
    deepest = all_indexes(tree, PART)[-1]
    assert deepest.data() == ".".join(["1"] * (depth - 1) + ["2"])
    for index in all_indexes(tree, PART):
        cell = tree.visualRect(index)  # starts after the indentation
        assert cell.left() + wanted_width(tree, index) <= right_edge(tree, PART), index.data()
    for index in all_indexes(tree, SIZE):
        assert wanted_width(tree, index) <= tree.header().sectionSize(SIZE)
    assert right_edge(tree, SIZE) <= tree.viewport().width()
    assert tree.horizontalScrollBar().maximum() == 0


def test_a_narrow_window_squeezes_part_and_type_but_keeps_size(qtbot):
    tab = show(qtbot, 640, 40)  # hostile nesting in a small window
    tree = tab.tree
    header = tree.header()
    assert right_edge(tree, SIZE) <= tree.viewport().width()
    assert tree.horizontalScrollBar().maximum() == 0  # Filename keeps its minimum
    for index in all_indexes(tree, SIZE):
        assert wanted_width(tree, index) <= header.sectionSize(SIZE)
    assert header.sectionSize(PART) >= MIN_PART
    # the full part number is one hover away
    deepest = tree.topLevelItem(0)
    while deepest.childCount():
        deepest = deepest.child(0)
    assert deepest.toolTip(0) == f"Part {deepest.text(0)}"
    # widening the window gives the columns their room back
    tab.resize(1400, 400)
    QApplication.processEvents()
    assert header.sectionSize(PART) > MIN_PART
    assert right_edge(tree, SIZE) <= tree.viewport().width()


def test_fit_column_widths_numbers():
    wanted = [80, 200, 60, 80, 70]
    # room enough: what the content wants
    assert fit_column_widths(wanted, 1000) == wanted
    # Part gives way first, down to 40% of the room...
    narrow = fit_column_widths([600, 200, 60, 80, 70], 900)
    assert narrow[2:] == [60, 80, 70]
    assert sum(narrow) + MIN_FILENAME <= 900
    assert narrow[0] >= (900 - MIN_FILENAME) * 2 // 5 and narrow[1] == 200
    # ...then Type, then Part down to its minimum
    tight = fit_column_widths([600, 200, 60, 80, 70], 450)
    assert tight[1] == MIN_TYPE and tight[0] >= MIN_PART
    assert sum(tight) + MIN_FILENAME <= 450
    # never below the minimums even when nothing fits (a scroll bar then)
    assert fit_column_widths([600, 200, 60, 80, 70], 100)[:2] == [MIN_PART, MIN_TYPE]
