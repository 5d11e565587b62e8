"""The compose window's HTML tab: source on the left, a live preview on the right.

The preview follows the viewer's privacy rules: it renders with the
viewer's own renderer (Chromium without JavaScript and with remote loads
blocked, or the ``QTextBrowser`` fallback that never fetches anything), fed a
``ParsedMessage`` made from the source and the inline images.
"""

from __future__ import annotations

import hashlib
import html as html_lib
import logging
import mimetypes
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.models import Attachment, ParsedMessage
from ...core.sending import DraftAttachment
from .fields import BodyEdit

log = logging.getLogger(__name__)

PREVIEW_NOTE = "— scripts off, remote content never loaded"
_EMPTY = (
    '<p style="color:#888;font-family:sans-serif">No HTML body: the message is '
    "sent as plain text.</p>"
)


def make_preview(parent: QWidget, *, web_engine: bool) -> QWidget:
    """The viewer's HTML renderer: Chromium (no JS, remote blocked) or the fallback."""
    if web_engine:
        try:
            from ..web.html_view import WebMessageView
        except ImportError as exc:  # QtWebEngine missing on this system
            log.warning("compose preview uses the simplified renderer: %s", exc)
        else:
            return WebMessageView(parent, allow_remote_default=False)
    from ..viewer.tabs.fallback_html import FallbackHtmlView

    return FallbackHtmlView(parent, allow_remote_default=False)


def preview_message(html: str, inline: Sequence[DraftAttachment]) -> ParsedMessage:
    """A ``ParsedMessage`` holding just the HTML and its inline images."""
    attachments = []
    for i, part in enumerate(inline):
        ctype = (
            part.content_type
            or mimetypes.guess_type(part.filename)[0]
            or "application/octet-stream"
        )
        attachments.append(
            Attachment(
                index=i,
                filename=part.filename,
                content_type=ctype,
                size=len(part.data),
                sha256=hashlib.sha256(part.data).hexdigest(),
                content_id=(part.content_id or "").strip("<>"),
                inline=True,
                part_id=str(i + 2),
                data=part.data,
            )
        )
    return ParsedMessage(
        headers=(), text=None, html=html, attachments=tuple(attachments), parts=(), defects=()
    )


def _titled(parent: QWidget, title: str, extra: QWidget, body: QWidget, stretch: int) -> QWidget:
    box = QWidget(parent)
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 4, 0, 0)
    layout.setSpacing(4)
    head = QHBoxLayout()
    head.setContentsMargins(0, 0, 0, 0)
    head.addWidget(QLabel(f"<b>{title}</b>", parent))
    if stretch:
        head.addStretch(1)
        head.addWidget(extra)
    else:
        head.addWidget(extra, 1)
    head_box = QWidget(parent)
    head_box.setLayout(head)
    head_box.setFixedHeight(30)
    layout.addWidget(head_box)
    layout.addWidget(body, 1)
    return box


class HtmlPane(QSplitter):
    """HTML source | preview. ``inline`` supplies the inline parts to show."""

    #: images were chosen with "Insert Image…" or dropped on the source (paths)
    imagesChosen = Signal(list)

    def __init__(
        self,
        parent: QWidget | None,
        *,
        web_engine: bool,
        inline: Callable[[], Sequence[DraftAttachment]],
    ) -> None:
        super().__init__(Qt.Orientation.Horizontal, parent)
        self._inline = inline
        self._shut_down = False
        self.edit = BodyEdit(self)
        self.edit.setObjectName("htmlSource")
        self.edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.edit.setPlaceholderText(
            "<p>HTML body.</p>\n\nInline images: Insert Image…, or drop an image here; "
            'refer to them as <img src="cid:name">.'
        )
        self.edit.filesDropped.connect(self.imagesChosen)
        self.preview = make_preview(self, web_engine=web_engine)
        self.preview.setObjectName("htmlPreview")
        self.insert_image_button = QPushButton("Insert Image…", self)
        self.insert_image_button.setToolTip("Attach an image inline and refer to it by cid:")
        self.insert_image_button.clicked.connect(self.insert_image_interactive)
        self.note = QLabel(PREVIEW_NOTE, self)
        self.note.setObjectName("previewNote")
        self.note.setToolTip(
            "Rendered like the message viewer: JavaScript is off and nothing is fetched "
            "from the network; inline images come from the parts you attached inline."
        )
        blocked = getattr(self.preview, "blocked_changed", None)
        if blocked is not None:
            blocked.connect(self._blocked_changed)
        self.addWidget(_titled(self, "Source", self.insert_image_button, self.edit, 1))
        self.addWidget(_titled(self, "Preview", self.note, self.preview, 0))
        self.setChildrenCollapsible(False)
        self.setSizes([500, 500])
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.update_preview)
        self.edit.textChanged.connect(self.timer.start)

    def insert_tags(self, cids: Sequence[str]) -> None:
        """Put ``<img src="cid:…">`` for each Content-ID at the cursor."""
        tags = "\n".join(f'<img src="cid:{cid}" alt="{html_lib.escape(cid)}">' for cid in cids)
        self.edit.insertPlainText(tags)

    def insert_image_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Insert Inline Image",
            "",
            "Images (*.png *.jpg *.jpeg *.gif *.svg *.webp);;All files (*)",
        )
        if files:
            self.imagesChosen.emit(files)

    def update_preview(self) -> None:
        if self._shut_down:
            return
        self.timer.stop()
        html = self.edit.toPlainText()
        show = self.preview.show_parsed  # type: ignore[attr-defined]  # both renderers have it
        if html.strip():
            show(preview_message(html, self._inline()))
        else:
            show(preview_message(_EMPTY, ()))

    def _blocked_changed(self) -> None:
        blocked = self.preview.blocked()  # type: ignore[attr-defined]  # both renderers have it
        text = PREVIEW_NOTE
        if blocked.total:
            text = f"— scripts off · {blocked.describe()} (never loaded)"
        self.note.setText(text)
        self.note.setProperty("blocked", bool(blocked.total))
        self.note.style().unpolish(self.note)
        self.note.style().polish(self.note)

    def shutdown(self) -> None:
        """Stop the timer and release the preview (Chromium). Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.timer.stop()
        stop = getattr(self.preview, "shutdown", None)
        if callable(stop):
            stop()
