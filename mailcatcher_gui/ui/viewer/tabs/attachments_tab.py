"""The Attachments tab: list, preview, save, save all, open with the desktop."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QUrl, Signal
from PySide6.QtGui import QPixmap, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ....core.mailio import write_new_file
from ....core.mailio.saving import (
    attachment_name,
    existing_targets,
    is_risky,
    replace_file,
    save_all,
)
from ....core.models import Attachment
from ....core.units import format_size
from ...theme import mute
from .dialogs import Conflict, ViewerDialogs
from .embedded import is_embedded_message

_INDEX_ROLE = Qt.ItemDataRole.UserRole
# Decoding a huge image for a thumbnail is not worth a frozen window.
MAX_PREVIEW_BYTES = 20 * 1024 * 1024


def default_directory() -> Path:
    downloads = Path.home() / "Downloads"
    return downloads if downloads.is_dir() else Path.home()


class _Preview(QLabel):
    """Scales its pixmap to fit whenever it is resized."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._pixmap = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(QSize(120, 120))
        self.setObjectName("attachmentPreview")
        mute(self)

    def set_pixmap(self, pixmap: QPixmap | None, note: str = "") -> None:
        self._pixmap = pixmap if pixmap is not None else QPixmap()
        if self._pixmap.isNull():
            super().setPixmap(QPixmap())
            self.setText(note)
        else:
            self.setText("")
            self._rescale()

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            return
        target = self.size() - QSize(16, 16)
        pm = self._pixmap
        if pm.width() > target.width() or pm.height() > target.height():
            pm = pm.scaled(
                target,
                Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        super().setPixmap(pm)


class AttachmentsTab(QWidget):
    #: paths written by Save / Save All (for the status bar)
    saved = Signal(list)
    #: an attached message to show in the viewer: its raw bytes and file name
    openMessage = Signal(bytes, str)

    def __init__(self, dialogs: ViewerDialogs, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.dialogs = dialogs
        self.last_directory = default_directory()
        self._attachments: tuple[Attachment, ...] = ()
        self._temp_dir: Path | None = None

        self.list = QTreeWidget(self)
        self.list.setColumnCount(3)
        self.list.setHeaderLabels(["Name", "Type", "Size"])
        self.list.setRootIsDecorated(False)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformRowHeights(True)
        header = self.list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(False)
        self.list.currentItemChanged.connect(lambda *_: self._on_current())
        self.list.itemDoubleClicked.connect(lambda *_: self.open_current())

        self.preview = _Preview(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.list)
        splitter.addWidget(self.preview)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)

        self.save_button = QPushButton("Save…", self)
        self.save_all_button = QPushButton("Save All…", self)
        self.open_button = QPushButton("Open", self)
        self.open_button.setToolTip("Open with the default application")
        self.save_button.clicked.connect(self.save_current)
        self.save_all_button.clicked.connect(self.save_all)
        self.open_button.clicked.connect(self.open_current)
        self.summary = QLabel(self)

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.save_button)
        bar.addWidget(self.save_all_button)
        bar.addWidget(self.open_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        self._update_buttons()

    # ---- content ----------------------------------------------------------------

    def show_attachments(self, attachments: tuple[Attachment, ...]) -> None:
        self._attachments = tuple(attachments)
        self.list.clear()
        for att in self._attachments:
            kind = att.content_type + (" · inline" if att.inline else "")
            item = QTreeWidgetItem(self.list, [att.filename, kind, format_size(att.size)])
            item.setData(0, _INDEX_ROLE, att.index)
            item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            item.setToolTip(0, f"{att.filename}\nSHA-256 {att.sha256}")
        total = sum(a.size for a in self._attachments)
        n = len(self._attachments)
        self.summary.setText(
            f"{n} attachment{'s' if n != 1 else ''}, {format_size(total)}"
            if n
            else "No attachments"
        )
        first = self.list.topLevelItem(0)
        if first is not None:
            self.list.setCurrentItem(first)
        else:
            self.preview.set_pixmap(None, "")
        self._update_buttons()

    def clear(self) -> None:
        self.show_attachments(())

    def attachments(self) -> tuple[Attachment, ...]:
        return self._attachments

    def current(self) -> Attachment | None:
        item = self.list.currentItem()
        if item is None:
            return None
        index = item.data(0, _INDEX_ROLE)
        return next((a for a in self._attachments if a.index == index), None)

    def select(self, index: int) -> None:
        for i in range(self.list.topLevelItemCount()):
            item = self.list.topLevelItem(i)
            if item is not None and item.data(0, _INDEX_ROLE) == index:
                self.list.setCurrentItem(item)
                return

    # ---- actions ---------------------------------------------------------------

    def save_bytes(self, suggested_name: str, data: bytes) -> Path | None:
        """Ask for a file name (the dialog confirms replacing) and write."""
        path = self.dialogs.choose_save_path(self, self.last_directory / suggested_name)
        if path is None:
            return None
        try:
            replace_file(path, data)
        except OSError as exc:
            self.dialogs.show_error(self, "Save failed", f"Could not save {path}:\n{exc}")
            return None
        self.last_directory = path.parent
        self.saved.emit([path])
        return path

    def save_current(self) -> Path | None:
        att = self.current()
        if att is None:
            return None
        return self.save_bytes(attachment_name(att), att.data)

    def save_all(self) -> list[Path]:
        if not self._attachments:
            return []
        directory = self.dialogs.choose_directory(self, self.last_directory)
        if directory is None:
            return []
        replace = False
        clashes = existing_targets(directory, self._attachments)
        if clashes:
            answer = self.dialogs.resolve_conflicts(self, clashes)
            if answer is Conflict.CANCEL:
                return []
            replace = answer is Conflict.REPLACE
        try:
            written = save_all(directory, self._attachments, replace_existing=replace)
        except OSError as exc:
            self.dialogs.show_error(self, "Save failed", f"Could not save to {directory}:\n{exc}")
            return []
        self.last_directory = directory
        self.saved.emit(written)
        return written

    def open_current(self) -> Path | None:
        """Show an attached message in the viewer; hand anything else (a
        private copy) to the desktop's default application, offering "Save
        As…" when nothing there can open it. Returns the private copy."""
        att = self.current()
        if att is None:
            return None
        name = attachment_name(att)
        if is_embedded_message(att.content_type):
            self.openMessage.emit(att.data, name)
            return None
        if is_risky(name) and not self.dialogs.confirm_open_file(self, name):
            return None
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="mailcatcher-open-"))
        path = write_new_file(self._temp_dir, name, att.data)
        path.chmod(0o600)  # a private copy in a private folder, not a saved file
        opened = self.dialogs.open_url(QUrl.fromLocalFile(str(path)))
        if not opened and self.dialogs.offer_save_instead(self, name):
            self.save_bytes(name, att.data)
        return path

    def shutdown(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    # ---- internals ---------------------------------------------------------------

    def _on_current(self) -> None:
        att = self.current()
        self._update_buttons()
        if att is None:
            self.preview.set_pixmap(None, "")
            return
        if att.content_type.lower().startswith("image/") and len(att.data) <= MAX_PREVIEW_BYTES:
            pixmap = QPixmap()
            if pixmap.loadFromData(att.data):
                self.preview.set_pixmap(pixmap)
                return
            self.preview.set_pixmap(None, "Cannot preview this image")
            return
        self.preview.set_pixmap(None, "No preview")

    def _update_buttons(self) -> None:
        current = self.current()
        has_current = current is not None
        self.save_button.setEnabled(has_current)
        self.open_button.setEnabled(has_current)
        if current is not None and is_embedded_message(current.content_type):
            self.open_button.setToolTip("Show this attached message in a viewer window")
        else:
            self.open_button.setToolTip("Open with the default application")
        self.save_all_button.setEnabled(bool(self._attachments))
