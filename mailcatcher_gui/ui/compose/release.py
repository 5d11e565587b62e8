"""Release captured messages to a real relay (or anywhere else), unchanged.

"Release" is what a mail catcher offers once a developer has looked at a
message and wants it to reach a real inbox: the captured bytes go out
*exactly* as they arrived (``RawMessage``: nothing parsed, re-encoded or
added), through the same backend as compose, with the transcript shown
live. Only the envelope is chosen here: by default each message's original
envelope sender and recipients, or the recipients typed in.

The "Send via" list has this app's sink and mailbox, the saved relay
profiles and the presets; it starts on the relay used last (remembered in
the profile store after a release that was accepted).

Several selected messages go out as one batch over one connection
(``send_batch``), one report each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.mailbox_protocol import MailboxProtocol
from ...core.models import MessageSummary
from ...core.sending import (
    SINK_KEY,
    DestinationError,
    Destinations,
    FailureStage,
    RawMessage,
    SendReport,
    Transport,
    send_batch,
)
from ...core.store.database import MessageNotFound
from ..viewer.transcript_view import AsyncRunner, Spawn, TranscriptPanel
from .profiles_dialog import ProfilePicker


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


class ReleaseDialog(QDialog):
    """Pick a destination and recipients, send the raw messages, show the transcript."""

    #: "Show in list" for a copy released into this app's own sink (its id)
    openMessage = Signal(int)

    def __init__(
        self,
        mailbox: MailboxProtocol,
        message_ids: Sequence[int],
        destinations: Destinations,
        *,
        spawn: Spawn | None = None,
        open_profiles: Callable[[QWidget], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("releaseDialog")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.mailbox = mailbox
        self.destinations = destinations
        self._open_profiles = open_profiles
        self.runner = AsyncRunner(spawn, self)
        self.runner.busyChanged.connect(self._busy_changed)
        self.reports: list[SendReport] = []
        self.cancelled = False
        self._shut_down = False

        self.summaries: list[MessageSummary] = []
        for message_id in message_ids:
            try:
                self.summaries.append(mailbox.summary(message_id))
            except MessageNotFound:
                continue
        n = len(self.summaries)
        self.setWindowTitle(f"Release {_plural(n, 'Message')}")

        intro = QLabel(
            f"<b>Release {_plural(n, 'message')}</b> — sent byte for byte as captured; "
            "only the envelope (who the server delivers to) is chosen here.",
            self,
        )
        intro.setWordWrap(True)

        self.message_list = QTreeWidget(self)
        self.message_list.setObjectName("releaseMessages")
        self.message_list.setHeaderLabels(["Subject", "From", "Envelope recipients", "Size"])
        self.message_list.setRootIsDecorated(False)
        header = self.message_list.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for column in (1, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        for s in self.summaries:
            item = QTreeWidgetItem(
                [
                    s.subject or "(no subject)",
                    s.from_ or s.envelope_from,
                    ", ".join(s.envelope_to),
                    f"{s.size:,} B",
                ]
            )
            self.message_list.addTopLevelItem(item)
        self.message_list.setMaximumHeight(34 + 22 * min(max(n, 1), 5))

        self.picker = ProfilePicker(destinations, self)
        # A release is for reaching a real inbox: start from the relay used
        # last (else the first saved profile), not from this app's own sink.
        self.picker.reload(select=destinations.release_default())
        profiles = QPushButton("Profiles…", self)
        profiles.clicked.connect(self.edit_profiles)
        self.profiles_button = profiles
        via = QHBoxLayout()
        via.addWidget(self.picker, 1)
        via.addWidget(profiles)

        self.recipients = QLineEdit(self)
        self.envelope_sender = QLineEdit(self)
        envelopes_to = {tuple(s.envelope_to) for s in self.summaries}
        if len(envelopes_to) == 1:
            self.recipients.setText(", ".join(next(iter(envelopes_to))))
        self.recipients.setPlaceholderText("each message's original envelope recipients")
        self.recipients.setToolTip(
            "RCPT TO addresses, comma-separated. Empty: each message's original recipients."
        )
        senders = {s.envelope_from for s in self.summaries}
        if len(senders) == 1:
            self.envelope_sender.setText(next(iter(senders)))
        self.envelope_sender.setPlaceholderText("each message's original envelope sender")
        self.envelope_sender.setToolTip("MAIL FROM. Empty: each message's original sender (or <>).")
        for edit in (self.recipients, self.envelope_sender):
            edit.textEdited.connect(lambda _t, e=edit: self._mark(e, False))

        form = QFormLayout()
        form.addRow("Send via:", via)
        form.addRow("Recipients:", self.recipients)
        form.addRow("Envelope sender:", self.envelope_sender)

        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()

        self.transcript = TranscriptPanel(
            self,
            title="SMTP transcript",
            placeholder="Release shows the SMTP conversation here, line by line.",
        )
        transcript_layout = self.transcript.layout()
        if transcript_layout is not None:
            transcript_layout.setContentsMargins(0, 0, 0, 0)
        self.transcript.summary.label.linkActivated.connect(self._summary_link)

        top = QWidget(self)
        top_layout = QVBoxLayout(top)
        top_layout.setContentsMargins(0, 0, 0, 8)
        top_layout.setSpacing(8)
        top_layout.addWidget(intro)
        top_layout.addWidget(self.message_list)
        top_layout.addLayout(form)
        top_layout.addWidget(self.error)
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(top)
        split.addWidget(self.transcript)
        split.setChildrenCollapsible(False)
        split.setStretchFactor(1, 1)

        self.buttons = QDialogButtonBox(self)
        self.release_button = self.buttons.addButton(
            "Release", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.release_button.setDefault(True)
        self.stop_button = self.buttons.addButton("Stop", QDialogButtonBox.ButtonRole.ActionRole)
        self.stop_button.setEnabled(False)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        # Not accepted/rejected: the dialog stays open to show the result.
        self.release_button.clicked.connect(self.start_release)
        self.stop_button.clicked.connect(self.runner.cancel)
        self.close_button.clicked.connect(self.close)

        layout = QVBoxLayout(self)
        layout.addWidget(split, 1)
        layout.addWidget(self.buttons)
        self.resize(820, 640)
        self.release_button.setEnabled(bool(self.summaries))

    # ---- input --------------------------------------------------------------------------

    def _mark(self, edit: QLineEdit, invalid: bool) -> None:
        edit.setStyleSheet("border: 1px solid #e5484d;" if invalid else "")

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def messages(self) -> list[RawMessage]:
        """The raw messages with the envelope chosen in the dialog."""
        rcpt = self.recipients.text()
        sender = self.envelope_sender.text()
        out = []
        for s in self.summaries:
            envelope_to = (rcpt,) if rcpt.strip() else tuple(s.envelope_to)
            envelope_from = sender.strip() if sender.strip() else s.envelope_from
            out.append(RawMessage(self.mailbox.raw(s.id), envelope_from, envelope_to))
        return out

    # ---- sending --------------------------------------------------------------------------

    def start_release(self) -> asyncio.Task[list[SendReport]] | None:
        if self.runner.busy or not self.summaries:
            return None
        self._show_error(None)
        self._mark(self.recipients, False)
        self._mark(self.envelope_sender, False)
        self.cancelled = False
        try:
            transport = self.destinations.transport_for(self.picker.current_key())
            messages = self.messages()
        except (DestinationError, MessageNotFound) as exc:
            self._show_error(f"Not sent: {exc}")
            return None
        self.transcript.begin(
            f"Releasing {_plural(len(messages), 'message')} via {self.picker.currentText()}"
        )
        return self.runner.run(self.release(messages, transport))

    async def release(self, messages: list[RawMessage], transport: Transport) -> list[SendReport]:
        try:
            reports = await send_batch(messages, transport, on_line=self.transcript.on_line)
        except asyncio.CancelledError:
            self.cancelled = True
            if not self._shut_down:
                self.transcript.summary.show_cancelled("Release")
            raise
        self.reports = reports
        if any(r.ok for r in reports):
            self.destinations.remember(self.picker.current_key())
        if self._shut_down:
            return reports
        self.transcript.summary.show_reports(reports)
        captured = self._captured_id(reports)
        if captured is not None:
            self.transcript.summary.append_html(
                f'<a href="message:{captured}">Show message #{captured} in the list</a>'
            )
        for report in reports:
            failure = report.failure
            if failure is not None and failure.stage is FailureStage.INPUT:
                self._show_error(failure.message)
                if failure.field == "envelope_to":
                    self._mark(self.recipients, True)
                elif failure.field == "envelope_from":
                    self._mark(self.envelope_sender, True)
                break
        return reports

    def _captured_id(self, reports: list[SendReport]) -> int | None:
        """Released into this app's own sink: the new copy's id."""
        if len(reports) != 1 or not reports[0].ok or self.picker.current_key() != SINK_KEY:
            return None
        queue_id = reports[0].queue_id or ""
        return int(queue_id) if queue_id.isdigit() else None

    def _summary_link(self, link: str) -> None:
        kind, _, value = link.partition(":")
        if kind == "message" and value.isdigit():
            self.openMessage.emit(int(value))

    def _busy_changed(self, busy: bool) -> None:
        self.release_button.setEnabled(not busy and bool(self.summaries))
        self.stop_button.setEnabled(busy)
        self.picker.setEnabled(not busy)
        self.profiles_button.setEnabled(not busy)

    def edit_profiles(self) -> None:
        if self._open_profiles is not None:
            dialog = self._open_profiles(self)
            finished = getattr(dialog, "finished", None)
            if finished is not None:
                finished.connect(lambda _r: self.picker.reload())

    # ---- closing ---------------------------------------------------------------------------

    def shutdown(self) -> None:
        self._shut_down = True
        self.runner.cancel()

    def done(self, result: int) -> None:  # noqa: D102 - closing stops a release in flight
        self.runner.cancel()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.runner.cancel()
        super().closeEvent(event)
