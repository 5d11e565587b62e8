"""The strip above the tabs: subject, sender, recipients, date, like a mail client.

The third address row is always there: it shows Cc, else Reply-To, else
nothing, so the tabs below stay put while the user walks through messages
with and without a Cc. Only a message with both Cc and Reply-To gets a
fourth row (Reply-To).

Every value is one line, elided when it does not fit, with the full text in
its tooltip (``ElidedLabel``): a long subject or recipient list never makes
the viewer wider than the pane (no horizontal scrollbar at Full width) and
never pushes the tabs down.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QSizePolicy, QWidget

from ....core.models import OpenedMessage
from ....core.units import format_size
from ...theme import mute
from .elided_label import ElidedLabel
from .formatting import format_datetime, one_line


def message_date(opened: OpenedMessage) -> str:
    """The Date header in local time; the receive time if it is missing or junk."""
    raw = opened.parsed.header("Date")
    if raw:
        try:
            return format_datetime(parsedate_to_datetime(raw))
        except (TypeError, ValueError, IndexError, OverflowError):
            return one_line(raw, 80)
    return format_datetime(opened.stored.summary.received_at)


class HeaderStrip(QFrame):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("headerStrip")
        self.subject = ElidedLabel(self)
        self.subject.setObjectName("subject")
        font = self.subject.font()
        font.setPointSizeF(font.pointSizeF() * 1.45)
        font.setBold(True)
        self.subject.setFont(font)
        self.subject.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.from_ = self._value()
        self.to = self._value()
        self.cc = self._value()
        self.reply_to = self._value()
        self.date = self._value()
        self.meta = self._value()
        for label in (self.date, self.meta):
            # Always as wide as their text: the address columns give way.
            label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
            label.setWordWrap(False)
            label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Preferred)
        mute(self.date)
        mute(self.meta)

        grid = QGridLayout(self)
        grid.setContentsMargins(14, 10, 14, 10)
        grid.setHorizontalSpacing(10)
        grid.setVerticalSpacing(3)
        grid.addWidget(self.subject, 0, 0, 1, 3)
        #: the field-name labels, by name
        self.keys = {name: self._key(name) for name in ("From", "To", "Cc", "Reply-To")}
        self._cc_key = self.keys["Cc"]
        self._grid = grid
        rows = ((self.keys["From"], self.from_), (self.keys["To"], self.to))
        for row, (key, value) in enumerate(rows, start=1):
            grid.addWidget(key, row, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(value, row, 1)
        grid.addWidget(self._cc_key, 3, 0, Qt.AlignmentFlag.AlignTop)
        grid.addWidget(self.cc, 3, 1)
        self._reply_row = 0
        self._place_reply_to(4)
        # Row 3 keeps one line even when empty, so the tabs do not move: a
        # blank widget holds it (a row with only hidden widgets collapses,
        # spacing and all).
        self._row_keeper = QWidget(self)
        self._row_keeper.setFixedSize(0, self.fontMetrics().height())
        grid.addWidget(self._row_keeper, 3, 2)
        grid.addWidget(self.date, 1, 2)
        grid.addWidget(self.meta, 2, 2)
        grid.setColumnStretch(1, 1)
        self.clear()

    def _key(self, text: str) -> QLabel:
        label = QLabel(text, self)
        mute(label)
        return label

    def _value(self) -> ElidedLabel:
        label = ElidedLabel(self)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        return label

    def show_opened(self, opened: OpenedMessage) -> None:
        s = opened.stored.summary
        parsed = opened.parsed
        subject = one_line(parsed.header("Subject") or s.subject, 500)
        self.subject.setText(subject or "(no subject)")
        self.from_.setText(one_line(parsed.header("From") or s.from_ or s.envelope_from, 500))
        to = one_line(", ".join(s.to) or parsed.header("To") or "", 500)
        self.to.setText(to or ", ".join(s.envelope_to))
        cc = one_line(", ".join(s.cc) or parsed.header("Cc") or "", 500)
        reply_to = one_line(parsed.header("Reply-To") or "", 500)
        self._show_optional(cc, reply_to)
        self.date.setText(message_date(opened))
        extras = [format_size(s.size)]
        if parsed.attachments:
            n = len(parsed.attachments)
            extras.append(f"{n} attachment{'s' if n != 1 else ''}")
        self.meta.setText(" · ".join(extras))

    def _show_optional(self, cc: str, reply_to: str) -> None:
        """Cc in the reserved third row; Reply-To there too if there is no Cc,
        else in a fourth row."""
        self.cc.setText(cc)
        self.cc.setVisible(bool(cc))
        self._cc_key.setVisible(bool(cc))
        self.reply_to.setText(reply_to)
        self._place_reply_to(4 if cc else 3)
        self.reply_to.setVisible(bool(reply_to))
        self.keys["Reply-To"].setVisible(bool(reply_to))

    def _place_reply_to(self, row: int) -> None:
        if row == self._reply_row:
            return
        key = self.keys["Reply-To"]
        for widget in (key, self.reply_to):
            self._grid.removeWidget(widget)
        self._grid.addWidget(key, row, 0, Qt.AlignmentFlag.AlignTop)
        self._grid.addWidget(self.reply_to, row, 1)
        self._reply_row = row

    def shown_fields(self) -> dict[str, str]:
        """The address rows on screen, by field name (what the user sees)."""
        out = {"From": self.from_.text(), "To": self.to.text()}
        if self.cc.text():
            out["Cc"] = self.cc.text()
        if self.reply_to.text():
            out["Reply-To"] = self.reply_to.text()
        return out

    def clear(self) -> None:
        self.subject.setText("")
        for label in (self.from_, self.to, self.date, self.meta):
            label.setText("")
        self._show_optional("", "")
