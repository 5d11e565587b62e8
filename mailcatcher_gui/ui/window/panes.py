"""The window's panes and their arrangement: sidebar | message list | preview.

``WindowPanes`` is the central widget: two splitters, the preview beside or
below the list, and the saved sizes. The preview sits in a ``PreviewPane``,
a scroll area: a viewer that asks for more width than the pane has (the HTML
tab's Tablet and Phone presets fix the page width) scrolls inside the preview
instead of pushing the splitter into the list. Width presets change the
preview, never the list.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, Qt
from PySide6.QtWidgets import QFrame, QScrollArea, QSplitter, QWidget

from .message_list import MessageList
from .sidebar import Sidebar

#: the list never gets narrower than this from the splitter's own accord
LIST_MIN_WIDTH = 360
#: beside the preview, the list gets this much if the window allows (Subject ~250 px)
LIST_IDEAL_WIDTH = 580


def side_sizes(total: int) -> list[int]:
    """List and preview widths side by side: half each, the list at least ``LIST_IDEAL``."""
    list_width = max(total // 2, min(LIST_IDEAL_WIDTH, total - 360))
    return [list_width, total - list_width]


class PreviewPane(QScrollArea):
    """Holds the viewer; scrolls it when the viewer is wider than the pane."""

    def __init__(self, view: QWidget, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewPane")
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        # The viewer scrolls its own content vertically.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setWidget(view)
        self.setMinimumWidth(240)


class WindowPanes(QSplitter):
    """Sidebar | (list, preview); the preview beside or below the list."""

    def __init__(
        self,
        sidebar: Sidebar,
        message_list: MessageList,
        view: QWidget,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setObjectName("mainSplitter")
        self.sidebar = sidebar
        self.message_list = message_list
        self.preview = PreviewPane(view, self)
        message_list.setMinimumWidth(LIST_MIN_WIDTH)

        self.content = QSplitter(Qt.Orientation.Horizontal, self)
        self.content.setObjectName("contentSplitter")
        self.content.addWidget(message_list)
        self.content.addWidget(self.preview)
        self.content.setStretchFactor(0, 2)
        self.content.setStretchFactor(1, 3)
        self.content.setChildrenCollapsible(False)
        self.addWidget(sidebar)
        self.addWidget(self.content)
        self.setStretchFactor(0, 0)
        self.setStretchFactor(1, 1)
        self.setCollapsible(1, False)

    @property
    def below(self) -> bool:
        return self.content.orientation() == Qt.Orientation.Vertical

    def set_below(self, below: bool) -> None:
        """Put the preview below (True) or beside (False) the list."""
        orientation = Qt.Orientation.Vertical if below else Qt.Orientation.Horizontal
        if self.content.orientation() == orientation:
            return
        self.content.setOrientation(orientation)
        if below:
            total = self.content.height() or 800
            self.content.setSizes([total * 2 // 5, total * 3 // 5])
        else:
            total = self.content.width() or 1100
            self.content.setSizes(side_sizes(total))
        # New shape, new column shares (From/To proportional again).
        table = self.message_list.table
        if table.isVisible():
            table.fit_columns(proportional=True)
        else:
            table.refit_on_next_resize()

    def save_state(self) -> tuple[QByteArray, QByteArray]:
        return self.saveState(), self.content.saveState()

    def restore_state(self, main: QByteArray | None, content: QByteArray | None) -> None:
        if main is not None:
            self.restoreState(main)
        else:
            self.setSizes([180, 1100])
        if content is not None:
            self.content.restoreState(content)
        else:
            self.content.setSizes(side_sizes(1100))
