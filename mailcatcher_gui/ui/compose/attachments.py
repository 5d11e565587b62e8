"""The compose window's Attachments tab: files and inline images (``cid:``).

Two lists are kept: attachments, and inline parts (each with a Content-ID
the HTML refers to as ``<img src="cid:…">``). A row moves between them with
"Inline ↔ Attachment". Files come from the button, or from a drop anywhere
on the window (the window forwards drops to ``add_files``).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.sending import DraftAttachment
from ...core.units import format_size


def cid_for(filename: str, taken: set[str]) -> str:
    """A Content-ID from a file name: no spaces or brackets, unique in this message."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.") or "image"
    cid, n = base, 2
    while cid.lower() in taken:
        stem, dot, ext = base.rpartition(".")
        cid = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
        n += 1
    return cid


class AttachmentsPane(QWidget):
    """The list of attachments and inline parts, with add / remove / inline buttons."""

    #: the parts changed: (number of parts, whether inline parts changed)
    changed = Signal(int, bool)
    #: something could not be attached (the message)
    problem = Signal(str)
    #: files were added (a status line)
    added = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._attachments: list[DraftAttachment] = []
        self._inline: list[DraftAttachment] = []
        self.list = QTreeWidget(self)
        self.list.setObjectName("attachmentList")
        self.list.setHeaderLabels(["File", "Type", "Size", "Inline as (Content-ID)"])
        self.list.setRootIsDecorated(False)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setAcceptDrops(True)
        header = self.list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        add = QPushButton("Add Files…", self)
        add.clicked.connect(self.attach_interactive)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self.remove_selected)
        self.inline_button = QPushButton("Inline ↔ Attachment", self)
        self.inline_button.setToolTip(
            'Send the selected files as inline parts (for <img src="cid:…">) or as attachments'
        )
        self.inline_button.clicked.connect(self.toggle_inline_selected)
        hint = QLabel("Drop files anywhere on this window to attach them.", self)
        hint.setObjectName("hint")
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(self.remove_button)
        buttons.addWidget(self.inline_button)
        buttons.addStretch(1)
        buttons.addWidget(hint)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addWidget(self.list, 1)
        layout.addLayout(buttons)

    # ---- contents -------------------------------------------------------------------------

    @property
    def attachments(self) -> list[DraftAttachment]:
        return list(self._attachments)

    @property
    def inline(self) -> list[DraftAttachment]:
        return list(self._inline)

    def set_parts(
        self, attachments: Sequence[DraftAttachment], inline: Sequence[DraftAttachment]
    ) -> None:
        self._attachments = list(attachments)
        self._inline = list(inline)
        self._refresh(inline_changed=True)

    def _taken_cids(self) -> set[str]:
        return {(a.content_id or "").lower() for a in self._inline}

    def add_files(self, paths: Sequence[str | Path], *, inline: bool = False) -> list[str]:
        """Attach files (or add them as inline parts); returns the Content-IDs if inline."""
        cids: list[str] = []
        problems: list[str] = []
        for path in paths:
            p = Path(path)
            if p.is_dir():
                problems.append(f"{p.name}: folders cannot be attached")
                continue
            try:
                if inline:
                    cid = cid_for(p.name, self._taken_cids())
                    self._inline.append(DraftAttachment.from_path(p, content_id=cid))
                    cids.append(cid)
                else:
                    self._attachments.append(DraftAttachment.from_path(p))
            except OSError as exc:
                problems.append(f"{p.name}: {exc.strerror or exc}")
        self._refresh(inline_changed=inline)
        if problems:
            self.problem.emit("Could not attach " + "; ".join(problems))
        elif paths:
            what = "inline image" if inline else "attachment"
            n = len(paths)
            self.added.emit(f"Added {n} {what}{'s' if n != 1 else ''}")
        return cids

    def attach_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Attach Files")
        if files:
            self.add_files(files)

    def _selected_rows(self) -> list[tuple[str, int]]:
        rows = []
        for item in self.list.selectedItems():
            kind, index = item.data(0, Qt.ItemDataRole.UserRole)
            rows.append((kind, index))
        return rows

    def remove_selected(self) -> None:
        for kind, index in sorted(self._selected_rows(), key=lambda r: -r[1]):
            (self._inline if kind == "inline" else self._attachments).pop(index)
        self._refresh(inline_changed=True)

    def toggle_inline_selected(self) -> None:
        moved_in, moved_out = [], []
        for kind, index in self._selected_rows():
            if kind == "inline":
                moved_out.append(self._inline[index])
            else:
                moved_in.append(self._attachments[index])
        self._inline = [a for a in self._inline if not any(a is m for m in moved_out)]
        self._attachments = [a for a in self._attachments if not any(a is m for m in moved_in)]
        for a in moved_out:
            self._attachments.append(replace(a, content_id=None))
        for a in moved_in:
            self._inline.append(replace(a, content_id=cid_for(a.filename, self._taken_cids())))
        self._refresh(inline_changed=True)

    def _refresh(self, *, inline_changed: bool) -> None:
        self.list.clear()
        for kind, items in (("attachment", self._attachments), ("inline", self._inline)):
            for index, a in enumerate(items):
                ctype = (
                    a.content_type
                    or mimetypes.guess_type(a.filename)[0]
                    or "application/octet-stream"
                )
                cid = f"cid:{a.content_id}" if kind == "inline" else "—"
                item = QTreeWidgetItem([a.filename, ctype, format_size(len(a.data)), cid])
                item.setData(0, Qt.ItemDataRole.UserRole, (kind, index))
                item.setToolTip(0, a.filename)
                self.list.addTopLevelItem(item)
        self.changed.emit(len(self._attachments) + len(self._inline), inline_changed)
