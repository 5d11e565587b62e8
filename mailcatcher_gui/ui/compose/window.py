"""One message being written: the compose window.

A top-level window (several can be open: one per reply) with the fields a
developer needs to exercise a mail-handling application: From with a display
name, To/Cc/Bcc/Reply-To, Subject, a text body, an HTML body as source with a
live preview, attachments (button or drag and drop), inline images referenced
by ``cid:``, and custom headers. The parts live in ``compose_fields``,
``compose_attachments`` and ``compose_preview``; this module assembles them.

Sending goes through the one backend (``core.sending.send``) on the qasync
loop: ``send_message`` is a coroutine run as a task the window keeps (and the
app tracks, so quitting cancels it), the transcript streams into the window
line by line through the backend's ``on_line`` callback, and Cancel cancels
the task. Bad input (a line break in a header, an address that is not one)
comes back from the backend as an ``input`` failure naming the field: the
field is marked, the error shown, and nothing is sent.

Closing a window whose content differs from what it opened with (or from
what it last sent) asks Discard / Save Draft / Cancel, without a nested event
loop: the question is a window-modal box answered through its ``finished``
signal, so sends and the SMTP sink keep running while it is open. A saved
draft is a file in the config folder (``core.sending.DraftStore``) that the
"Drafts" menu reopens.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import (
    QLabel,
    QLineEdit,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTabWidget,
    QToolButton,
    QTreeWidget,
    QWidget,
)

from ...core.sending import (
    SINK_KEY,
    ComposeFields,
    DestinationError,
    Destinations,
    Draft,
    DraftAttachment,
    DraftStore,
    DraftStoreError,
    FailureStage,
    SendReport,
    SendRequest,
    draft_from_fields,
    new_fields,
    send,
)
from ...core.sending.drafting import one_line
from ..theme import themed_style_sheet
from ..viewer.transcript_view import AsyncRunner, Spawn, TranscriptPanel
from .attachments import AttachmentsPane
from .chrome import build_editor, build_toolbar, close_question, compose_style, fill_drafts_menu
from .fields import AddressFields, BodyEdit, HeadersPane, local_files
from .preview import HtmlPane
from .profiles_dialog import ProfilePicker

# The backend's field names -> the tab holding their widget.
_FIELD_TAB = {"headers": "headers", "attachments": "attachments", "inline": "attachments"}
_DROP_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


class ComposeWindow(QMainWindow):
    """One message being written; see the module docstring."""

    #: a send finished (the ``SendReport``)
    sent = Signal(object)
    #: the window closed (the composer forgets it)
    closed = Signal()
    #: the user clicked "Show in list" for the captured copy (its mailbox id)
    openMessage = Signal(int)
    #: the user picked a saved draft in the Drafts menu (its id)
    openDraft = Signal(str)
    #: the close question was answered: True (closed) or False (kept open)
    closeAnswered = Signal(bool)

    # Set by ``compose_chrome.build_toolbar``:
    act_send: QAction
    act_cancel: QAction
    act_attach: QAction
    act_close: QAction
    act_save_draft: QAction
    picker: ProfilePicker
    profiles_button: QPushButton
    drafts_button: QToolButton
    drafts_menu: QMenu
    # Set by ``compose_chrome.build_editor``:
    editor: QWidget
    fields_box: AddressFields
    from_name: QLineEdit
    from_addr: QLineEdit
    to: QLineEdit
    cc: QLineEdit
    bcc: QLineEdit
    reply_to: QLineEdit
    subject: QLineEdit
    text_edit: BodyEdit
    html_split: HtmlPane
    html_edit: BodyEdit
    preview: QWidget
    preview_note: QLabel
    insert_image_button: QPushButton
    attachments_pane: AttachmentsPane
    attachment_list: QTreeWidget
    headers_pane: HeadersPane
    header_table: QTableWidget
    tabs: QTabWidget
    error: QLabel
    _tab_index: dict[str, int]
    _field_widgets: dict[str, list[QWidget]]

    def __init__(
        self,
        destinations: Destinations,
        *,
        spawn: Spawn | None = None,
        web_engine: bool = True,
        open_profiles: Callable[[QWidget], object] | None = None,
        drafts: DraftStore | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("composeWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        themed_style_sheet(self, compose_style)
        self.setAcceptDrops(True)
        self.destinations = destinations
        self.drafts = drafts
        self._open_profiles = open_profiles
        self.runner = AsyncRunner(spawn, self)
        self.runner.busyChanged.connect(self._busy_changed)
        self.last_report: SendReport | None = None
        self.cancelled = False
        self._invalid: list[QWidget] = []
        self._shut_down = False
        self._closing = False  # the close question was answered "close"
        self._baseline = ComposeFields()
        self._sending = ComposeFields()  # what the send in flight was started with
        self.close_question: QMessageBox | None = None

        self._build_toolbar()
        self._build_editor(web_engine)

        self.transcript = TranscriptPanel(
            self,
            title="SMTP transcript",
            placeholder="Send shows the SMTP conversation here, line by line.",
        )
        self.transcript.summary.label.linkActivated.connect(self._summary_link)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("composeSplitter")
        self.splitter.addWidget(self.editor)
        self.splitter.addWidget(self.transcript)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.transcript.hide()
        self.setCentralWidget(self.splitter)
        self.statusBar().setSizeGripEnabled(True)
        self.subject.textChanged.connect(self._update_title)
        self.resize(980, 860)
        self.load(new_fields())

    # ---- construction ---------------------------------------------------------------

    def _build_toolbar(self) -> None:
        self.toolbar = build_toolbar(self)
        self.drafts_menu.aboutToShow.connect(
            lambda: fill_drafts_menu(
                self.drafts_menu, self.act_save_draft, self.drafts, self.openDraft.emit
            )
        )

    def _build_editor(self, web_engine: bool) -> None:
        build_editor(self, web_engine=web_engine)

    # ---- fields in and out --------------------------------------------------------------

    def load(self, f: ComposeFields) -> None:
        """Show ``f`` (replacing everything in the window); it is the new "unchanged"."""
        for edit, value in zip(self.fields_box.edits(), self._address_values(f), strict=True):
            edit.setText(value)
        self.text_edit.setPlainText(f.text)
        self.html_edit.setPlainText(f.html)
        self.attachments_pane.set_parts(f.attachments, f.inline)
        self.headers_pane.set_headers(list(f.headers))
        self._clear_all_invalid()
        self.tabs.setCurrentIndex(self._tab_index["html" if f.html and not f.text else "text"])
        self.text_edit.moveCursor(self.text_edit.textCursor().MoveOperation.Start)
        self._update_title()
        self.update_preview()
        self._baseline = self.fields()

    @staticmethod
    def _address_values(f: ComposeFields) -> list[str]:
        """``f``'s values in the order of ``AddressFields.edits``."""
        return [f.from_name, f.from_addr, f.to, f.cc, f.bcc, f.reply_to, f.subject]

    def set_baseline(self, f: ComposeFields) -> None:
        """Compare against ``f`` when deciding whether closing must ask (a reopened
        draft is compared with an empty message, so closing it asks again)."""
        self._baseline = f

    def fields(self) -> ComposeFields:
        return ComposeFields(
            from_name=self.from_name.text(),
            from_addr=self.from_addr.text(),
            to=self.to.text(),
            cc=self.cc.text(),
            bcc=self.bcc.text(),
            reply_to=self.reply_to.text(),
            subject=self.subject.text(),
            text=self.text_edit.toPlainText(),
            html=self.html_edit.toPlainText(),
            attachments=self.attachments,
            inline=self.inline_parts,
            headers=self.custom_headers(),
        )

    def draft(self) -> Draft:
        return draft_from_fields(self.fields())

    def is_dirty(self) -> bool:
        """Content typed (or attached) since the window opened or last sent."""
        return self.fields() != self._baseline

    def _update_title(self) -> None:
        subject = one_line(self.subject.text())
        self.setWindowTitle(f"{subject or 'New Message'} — Compose")

    # ---- parts (delegated to the panes) ------------------------------------------------------

    def add_header_row(self, name: str, value: str) -> int:
        return self.headers_pane.add_row(name, value)

    def remove_selected_headers(self) -> None:
        self.headers_pane.remove_selected()

    def custom_headers(self) -> list[tuple[str, str]]:
        return self.headers_pane.headers()

    def _headers_changed(self, n: int) -> None:
        self.tabs.setTabText(self._tab_index["headers"], f"Headers ({n})" if n else "Headers")
        self._clear_invalid(self.header_table)

    @property
    def attachments(self) -> list[DraftAttachment]:
        return self.attachments_pane.attachments

    @property
    def inline_parts(self) -> list[DraftAttachment]:
        return self.attachments_pane.inline

    def add_files(self, paths: Sequence[str | Path], *, inline: bool = False) -> list[str]:
        """Attach files (or add them as inline parts); returns the Content-IDs if inline."""
        return self.attachments_pane.add_files(paths, inline=inline)

    def attach_interactive(self) -> None:
        self.attachments_pane.attach_interactive()

    def insert_images(self, paths: Sequence[str | Path]) -> None:
        """Add images as inline parts and put ``<img src="cid:…">`` at the cursor."""
        cids = self.add_files(paths, inline=True)
        if cids:
            self.html_split.insert_tags(cids)
            self.tabs.setCurrentIndex(self._tab_index["html"])

    def remove_selected_attachments(self) -> None:
        self.attachments_pane.remove_selected()

    def toggle_inline_selected(self) -> None:
        self.attachments_pane.toggle_inline_selected()

    def _attachments_changed(self, n: int, inline_changed: bool) -> None:
        self.tabs.setTabText(
            self._tab_index["attachments"], f"Attachments ({n})" if n else "Attachments"
        )
        self._clear_invalid(self.attachment_list)
        if inline_changed:
            self.update_preview()

    def update_preview(self) -> None:
        self.html_split.update_preview()

    # ---- drag and drop ---------------------------------------------------------------------

    def _drop_files(self, files: list[Path]) -> None:
        self.add_files(files)
        self.tabs.setCurrentIndex(self._tab_index["attachments"])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 (Qt API)
        if local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        files = local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self._drop_files(files)
        else:
            event.ignore()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() in _DROP_EVENTS:
            files = local_files(event.mimeData())  # type: ignore[attr-defined]  # drag events
            if files:
                event.acceptProposedAction()  # type: ignore[attr-defined]
                if event.type() == QEvent.Type.Drop:
                    self._drop_files(files)
                return True
        return super().eventFilter(watched, event)

    # ---- errors -------------------------------------------------------------------------------

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def mark_invalid(self, field_name: str | None) -> list[QWidget]:
        """Mark the widgets for a backend field name; returns them."""
        if not field_name:
            return []
        widgets = self._field_widgets.get(field_name, [])
        for w in widgets:
            w.setProperty("invalid", True)
            w.style().unpolish(w)
            w.style().polish(w)
            self._invalid.append(w)
        tab = _FIELD_TAB.get(field_name)
        if tab is not None:
            self.tabs.setCurrentIndex(self._tab_index[tab])
        if widgets:
            widgets[0].setFocus(Qt.FocusReason.OtherFocusReason)
        return widgets

    def invalid_widgets(self) -> list[QWidget]:
        return [w for w in self._invalid if w.property("invalid")]

    def _clear_invalid(self, widget: QWidget) -> None:
        if widget.property("invalid"):
            widget.setProperty("invalid", False)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _clear_all_invalid(self) -> None:
        for w in self._invalid:
            self._clear_invalid(w)
        self._invalid.clear()
        self.show_error(None)

    # ---- sending --------------------------------------------------------------------------------

    def start_send(self) -> asyncio.Task[SendReport] | None:
        """Build the request and start ``send_message`` as a task (None if not started)."""
        if self.runner.busy:
            return None
        self._clear_all_invalid()
        self.cancelled = False
        key = self.picker.current_key()
        try:
            transport = self.destinations.transport_for(key)
        except DestinationError as exc:
            self.show_error(f"Not sent: {exc}")
            self.mark_invalid("password")
            return None
        request = SendRequest(self.draft(), transport)
        self._sending = self.fields()
        self._show_transcript()
        self.transcript.begin(f"Sending via {self.picker.currentText()}")
        self.statusBar().showMessage("Sending…")
        return self.runner.run(self.send_message(request))

    async def send_message(self, request: SendRequest) -> SendReport:
        """Send through the backend, streaming the transcript; the window stays live."""
        try:
            report = await send(request, on_line=self.transcript.on_line)
        except asyncio.CancelledError:
            self.cancelled = True
            if not self._shut_down:
                self.transcript.summary.show_cancelled()
                self.statusBar().showMessage("Sending cancelled", 8000)
            raise
        self.last_report = report
        if self._shut_down:
            return report
        self.transcript.summary.show_reports([report])
        captured = self.captured_id(report)
        if captured is not None:
            self.transcript.summary.append_html(
                f'<a href="message:{captured}">Show message #{captured} in the list</a>'
            )
        failure = report.failure
        if failure is None:
            where = f"queued as {report.queue_id}" if report.queue_id else "accepted"
            self.statusBar().showMessage(f"Sent — {where}", 10000)
            # What was sent is safe: closing asks again only after new edits.
            self._baseline = self._sending
            self.destinations.remember(self.picker.current_key())
        elif failure.stage is FailureStage.INPUT:
            self.show_error(f"Nothing was sent: {failure.message}")
            self.mark_invalid(failure.field)
            self.statusBar().showMessage("Not sent: fix the marked field", 10000)
        else:
            self.statusBar().showMessage(f"Failed at {failure.stage.value.upper()}", 10000)
        self.sent.emit(report)
        return report

    def captured_id(self, report: SendReport) -> int | None:
        """This app's mailbox id of what was just sent (sink or local), if any."""
        if not report.ok:
            return None
        if report.stored_id is not None:
            return report.stored_id
        key = self.picker.current_key()
        if key == SINK_KEY and report.queue_id and report.queue_id.isdigit():
            return int(report.queue_id)
        return None

    def _summary_link(self, link: str) -> None:
        kind, _, value = link.partition(":")
        if kind == "message" and value.isdigit():
            self.openMessage.emit(int(value))

    def cancel_send(self) -> bool:
        return self.runner.cancel()

    def _busy_changed(self, busy: bool) -> None:
        self.act_send.setEnabled(not busy)
        self.act_cancel.setEnabled(busy)
        self.picker.setEnabled(not busy)
        self.profiles_button.setEnabled(not busy)

    def _show_transcript(self) -> None:
        if not self.transcript.isVisible():
            self.transcript.show()
            total = max(self.splitter.height(), 600)
            self.splitter.setSizes([total * 3 // 5, total * 2 // 5])

    def edit_profiles(self) -> None:
        """Open the profile editor; the picker reloads when it closes."""
        if self._open_profiles is not None:
            self._open_profiles(self)

    # ---- drafts and closing -------------------------------------------------------------------

    def save_draft(self) -> bool:
        """Write the content to the draft store; False (error shown) if it failed."""
        if self.drafts is None:
            return False
        try:
            saved = self.drafts.save(self.fields())
        except DraftStoreError as exc:
            self.show_error(f"Draft not saved: {exc}")
            return False
        self._baseline = self.fields()
        self.statusBar().showMessage(f"Draft saved: {saved.label}", 6000)
        return True

    def save_draft_and_close(self) -> None:
        if self.save_draft():
            self.close()

    def ask_close(self) -> None:
        """Ask Discard / Save Draft / Cancel (window-modal, no nested loop);
        the answer closes the window or keeps it, and emits ``closeAnswered``."""
        if self.close_question is not None:
            self.close_question.raise_()
            return
        box = close_question(self, one_line(self.subject.text()), self.drafts is not None)
        box.finished.connect(lambda _r, b=box: self._close_answered(b))
        self.close_question = box
        box.open()

    def _close_answered(self, box: QMessageBox) -> None:
        self.close_question = None
        clicked = box.standardButton(box.clickedButton()) if box.clickedButton() else None
        box.deleteLater()
        close = clicked == QMessageBox.StandardButton.Discard or (
            clicked == QMessageBox.StandardButton.Save and self.save_draft()
        )
        if close:
            self._closing = True
            self.close()
        self.closeAnswered.emit(bool(close))

    def shutdown(self) -> None:
        """Stop a send, release the preview (Chromium). Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self.runner.cancel()
        self.html_split.shutdown()
        if self.close_question is not None:
            self.close_question.reject()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        if not (self._closing or self._shut_down) and self.is_dirty():
            event.ignore()
            self.ask_close()
            return
        self.shutdown()
        self.closed.emit()
        super().closeEvent(event)
