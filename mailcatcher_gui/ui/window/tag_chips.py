"""Tags in the message list: small rounded chips before the subject.

The chips are painted by a delegate of the Subject column from the model's
``TagsRole``, so the subject text and its sort key stay what they were and a
message without tags costs one role lookup per repaint. The chips take at
most half of the cell, so the subject always stays readable; the tooltip
(``list_model``) names every tag.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetrics, QPainter
from PySide6.QtWidgets import QApplication, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..theme import tag_chip_colours
from .list_model import TagsRole

#: space between the chips, and between the last chip and the subject (px)
CHIP_GAP = 4
#: padding inside a chip, each side (px)
CHIP_PADDING = 5


def chip_font(base: QFont) -> QFont:
    """The chips' font: the row's, a little smaller."""
    font = QFont(base)
    size = base.pointSizeF()
    if size > 0:
        font.setPointSizeF(max(6.0, size * 0.85))
    font.setBold(False)
    return font


def chip_widths(tags: tuple[str, ...], font: QFont, room: int) -> list[int]:
    """The width of each chip that fits into ``room`` px (in order; the rest are left out)."""
    fm = QFontMetrics(font)
    widths: list[int] = []
    used = 0
    for tag in tags:
        w = fm.horizontalAdvance(tag) + 2 * CHIP_PADDING
        if used + w + CHIP_GAP > room:
            break
        widths.append(w)
        used += w + CHIP_GAP
    return widths


class SubjectDelegate(QStyledItemDelegate):
    """The Subject column: the tags as chips, then the subject text."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        tags = index.data(TagsRole)
        if not tags:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        widget = opt.widget
        style = widget.style() if widget is not None else QApplication.style()
        rect = opt.rect
        font = chip_font(opt.font)
        widths = chip_widths(tuple(tags), font, rect.width() // 2)
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        background, foreground = tag_chip_colours(opt.palette, selected)
        height = QFontMetrics(font).height() + 2
        x = rect.left() + CHIP_GAP
        top = rect.top() + (rect.height() - height) / 2
        # The cell's background and selection first, then the chips, then the text.
        text = opt.text
        opt.text = ""
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
        painter.save()
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setFont(font)
            for tag, width in zip(tags, widths, strict=False):
                chip = QRectF(x, top, width, height)
                painter.setPen(Qt.PenStyle.NoPen)
                painter.setBrush(background)
                painter.drawRoundedRect(chip, height / 2, height / 2)
                painter.setPen(foreground)
                painter.drawText(chip, int(Qt.AlignmentFlag.AlignCenter), tag)
                x += width + CHIP_GAP
        finally:
            painter.restore()
        opt.text = text
        opt.rect = rect.adjusted(int(x) - rect.left(), 0, 0, 0)
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, widget)
