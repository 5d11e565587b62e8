"""Showing a send attempt the way ``swaks`` does, live, plus a verdict on top.

Compose, release and "Test connection" all run the same backend
(``core.sending``) and all show the same thing: every line that crossed the
wire as it happens, client lines and server lines in different colours,
errors in red, and above it a short verdict a user can read at a glance
(accepted and refused recipients, queue id, or the failing stage with the
server's code and text). Those three windows share the pieces here:

* ``TranscriptView`` -- a read-only monospace log fed one ``TranscriptLine``
  at a time from the backend's ``on_line`` callback.
* ``ReportSummary`` -- the coloured verdict banner (``describe_reports`` is
  the pure function behind it, testable without widgets).
* ``TranscriptPanel`` -- the two together, with "Copy transcript".
* ``AsyncRunner`` -- runs one coroutine at a time on the qasync loop, keeps
  the task referenced (asyncio only holds weak references to tasks) and
  cancels it on request.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QGuiApplication,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.sending import (
    Direction,
    FailureStage,
    SendReport,
    TranscriptLine,
    render_swaks,
)
from ..theme import TRANSCRIPT_COLOURS, is_dark

log = logging.getLogger(__name__)

Spawn = Callable[[Coroutine[Any, Any, Any]], asyncio.Task[Any]]

#: (light theme, dark theme) colours per kind of line (defined in ``theme``)
_COLOURS = TRANSCRIPT_COLOURS


def line_kind(line: TranscriptLine) -> str:
    """``client`` | ``server`` | ``info`` | ``error`` (client errors and 4xx/5xx replies)."""
    if line.is_error:
        return "error"
    if line.direction is Direction.CLIENT:
        return "client"
    if line.direction is Direction.SERVER:
        return "server"
    return "info"


class TranscriptView(QPlainTextEdit):
    """A read-only, monospace, coloured SMTP transcript that grows line by line."""

    MAX_LINES = 20_000

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptView")
        self.setReadOnly(True)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setMaximumBlockCount(self.MAX_LINES)
        self.setPlaceholderText("The SMTP conversation appears here while sending.")
        self.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self._lines: list[TranscriptLine] = []
        self._timestamps = True
        # Follow the end while the user has not scrolled up (like ``tail -f``);
        # the scroll range changes after the layout catches up, or when the
        # panel is first shown, so stick on range changes rather than inserts.
        self._stick = True
        bar = self.verticalScrollBar()
        bar.rangeChanged.connect(self._range_changed)
        bar.valueChanged.connect(self._value_changed)

    # ---- content --------------------------------------------------------------------

    @property
    def lines(self) -> list[TranscriptLine]:
        """Every line shown since the last ``clear()`` (in order)."""
        return list(self._lines)

    def texts(self) -> list[str]:
        """The bare text of each line (``"EHLO host"``, ``"250 OK"``...)."""
        return [line.text for line in self._lines]

    def append_line(self, line: TranscriptLine) -> None:
        """The backend's ``on_line`` callback: show ``line`` now, scrolled into view."""
        self._lines.append(line)
        self._write(line)

    def append_separator(self, text: str) -> None:
        """A visual divider between messages of a batch (not a transcript line)."""
        self._insert([(f"--- {text} ---", "info")])

    def clear(self) -> None:  # noqa: D102 - QPlainTextEdit.clear, plus our record
        self._lines.clear()
        self._stick = True
        super().clear()

    def set_timestamps(self, on: bool) -> None:
        """Prefix each line with the seconds since the attempt started."""
        if on == self._timestamps:
            return
        self._timestamps = on
        self._rerender()

    def swaks_text(self) -> str:
        """The transcript as ``swaks`` would print it (for the clipboard)."""
        return "\n".join(render_swaks(line, timestamps=self._timestamps) for line in self._lines)

    # ---- painting -------------------------------------------------------------------

    def _write(self, line: TranscriptLine) -> None:
        pieces = []
        if self._timestamps:
            pieces.append((f"[{line.elapsed:7.3f}s] ", "time"))
        pieces.append((render_swaks(line), line_kind(line)))
        self._insert(pieces)

    def _insert(self, pieces: Sequence[tuple[str, str]]) -> None:
        dark = is_dark(self.palette())
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        if not self.document().isEmpty():
            cursor.insertBlock()
        for text, kind in pieces:
            fmt = QTextCharFormat()
            fmt.setForeground(QColor(_COLOURS[kind][1 if dark else 0]))
            if kind == "error":
                fmt.setFontWeight(700)
            cursor.insertText(text, fmt)
        if self._stick:
            self.verticalScrollBar().setValue(self.verticalScrollBar().maximum())

    def _range_changed(self, _minimum: int, maximum: int) -> None:
        if self._stick:
            self.verticalScrollBar().setValue(maximum)

    def _value_changed(self, value: int) -> None:
        self._stick = value >= self.verticalScrollBar().maximum() - 1

    def is_following(self) -> bool:
        """Whether new lines scroll into view (the user has not scrolled up)."""
        return self._stick

    def _rerender(self) -> None:
        lines = self._lines
        self._lines = []
        super().clear()
        for line in lines:
            self.append_line(line)

    def changeEvent(self, event: QEvent) -> None:  # noqa: N802 (Qt API)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and self._lines:
            self._rerender()


# ---- the verdict ------------------------------------------------------------------------


def _esc(text: object) -> str:
    return html.escape(str(text))


def _failure_title(report: SendReport) -> str:
    failure = report.failure
    assert failure is not None
    if failure.stage is FailureStage.INPUT:
        return "Nothing was sent"
    if failure.stage is FailureStage.TIMEOUT:
        during = f" during {failure.during.value.upper()}" if failure.during else ""
        return f"Timed out{during}"
    if failure.stage is FailureStage.DELIVERY:
        return "Delivery failed"
    code = f" ({failure.code})" if failure.code is not None else ""
    return f"Failed at {failure.stage.value.upper()}{code}"


def _report_lines(report: SendReport) -> list[str]:
    """HTML fragments (one per line) describing one report."""
    rows: list[str] = []
    failure = report.failure
    if failure is not None:
        rows.append(f"<b>✖ {_esc(_failure_title(report))}</b> — {_esc(failure.message)}")
        if failure.server_text and failure.server_text not in failure.message:
            rows.append(
                f"Server said: <code>{_esc(failure.code or '')} {_esc(failure.server_text)}</code>"
            )
    else:
        via = f"{report.transport} {report.target}" if report.transport == "smtp" else report.target
        rows.append(f"<b>✔ Sent</b> via {_esc(via)} in {report.duration:.2f} s")
    accepted = report.accepted
    if accepted and report.transport == "smtp":
        rows.append("Accepted: " + _esc(", ".join(accepted)))
    for refused in report.refused:
        code = f"{refused.code} " if refused.code is not None else ""
        rows.append(
            f"Refused: {_esc(refused.address)} — <code>{_esc(code)}{_esc(refused.text)}</code>"
        )
    if report.queue_id:
        rows.append(f"Queued as <b>{_esc(report.queue_id)}</b>")
    elif report.final_reply is not None and failure is None:
        rows.append(f"Server: <code>{_esc(report.final_reply)}</code>")
    if report.stored_id is not None:
        rows.append(f"Stored as message #{report.stored_id}")
    if report.path:
        rows.append(f"Written to {_esc(report.path)}")
    if report.tls is not None and report.tls.established:
        rows.append(f"TLS: {_esc(report.tls.version)} {_esc(report.tls.cipher or '')}")
    return rows


def describe_reports(reports: Sequence[SendReport]) -> tuple[str, str]:
    """``(state, html)`` for the banner: state is ``ok`` | ``warning`` | ``error``.

    ``warning`` means delivered, but some recipients (or some messages of a
    batch) were refused.
    """
    if not reports:
        return "error", "<b>✖ Nothing was sent</b>"
    failed = [r for r in reports if not r.ok]
    partial = [r for r in reports if r.ok and r.refused]
    if len(reports) == 1:
        body = "<br>".join(_report_lines(reports[0]))
    else:
        ok = len(reports) - len(failed)
        head = f"<b>{ok} of {len(reports)} messages sent</b>"
        parts = [head]
        for i, report in enumerate(reports, 1):
            parts.append(f"#{i}: " + _report_lines(report)[0])
        body = "<br>".join(parts)
    state = "error" if failed and len(failed) == len(reports) else "ok"
    if (failed and state != "error") or partial:
        state = "warning"
    return state, body


def describe_test(report: SendReport) -> tuple[str, str]:
    """The banner for "Test connection" (no message was sent)."""
    if report.failure is not None:
        return describe_reports([report])
    rows = [f"<b>✔ Connection OK</b> — {_esc(report.target)} in {report.duration:.2f} s"]
    if report.tls is not None and report.tls.established:
        rows.append(f"TLS: {_esc(report.tls.version)} {_esc(report.tls.cipher or '')}")
    if report.auth_mechanism:
        rows.append(f"Logged in with AUTH {_esc(report.auth_mechanism)}")
    if report.capabilities:
        rows.append("Server offers: " + _esc(", ".join(report.capabilities[:12])))
    return "ok", "<br>".join(rows)


_SUMMARY_STYLE = """
#reportSummary { border-radius: 6px; padding: 2px; }
#reportSummary[state="running"] { background: rgba(127,127,127,0.10);
    border: 1px solid rgba(127,127,127,0.35); }
#reportSummary[state="ok"] { background: rgba(46,160,67,0.12);
    border: 1px solid rgba(46,160,67,0.55); }
#reportSummary[state="warning"] { background: rgba(210,153,34,0.14);
    border: 1px solid rgba(210,153,34,0.6); }
#reportSummary[state="cancelled"] { background: rgba(210,153,34,0.14);
    border: 1px solid rgba(210,153,34,0.6); }
#reportSummary[state="error"] { background: rgba(229,72,77,0.10);
    border: 1px solid rgba(229,72,77,0.5); }
#reportSummary QLabel { background: transparent; border: none; padding: 6px 8px; }
"""


class ReportSummary(QFrame):
    """The verdict above the transcript; hidden until something ran."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("reportSummary")
        self.setStyleSheet(_SUMMARY_STYLE)
        self.label = QLabel(self)
        self.label.setObjectName("reportSummaryText")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.LinksAccessibleByMouse
        )
        self.label.setOpenExternalLinks(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        self.state = ""
        self.hide()

    def text(self) -> str:
        """The banner as plain text (for tests and the clipboard)."""
        doc = self.label.text().replace("<br>", "\n")
        from ...core.mime.htmltext import html_to_text

        return html_to_text(doc)

    def show_state(self, state: str, body_html: str) -> None:
        self.state = state
        self.setProperty("state", state)
        self.style().unpolish(self)
        self.style().polish(self)
        self.label.setText(body_html)
        self.show()

    def append_html(self, fragment: str) -> None:
        """Add a line (e.g. a link) below the verdict."""
        self.label.setText(self.label.text() + "<br>" + fragment)

    def show_running(self, what: str) -> None:
        self.show_state("running", f"<b>⏳ {_esc(what)}…</b>")

    def show_reports(self, reports: Sequence[SendReport]) -> None:
        self.show_state(*describe_reports(reports))

    def show_test(self, report: SendReport) -> None:
        self.show_state(*describe_test(report))

    def show_cancelled(self, what: str = "Sending") -> None:
        self.show_state(
            "cancelled",
            f"<b>■ {_esc(what)} cancelled</b> — the connection was closed; "
            "the server did not confirm the message, so it was not delivered.",
        )

    def show_problem(self, message: str) -> None:
        self.show_state("error", f"<b>✖ Nothing was sent</b> — {_esc(message)}")

    def reset(self) -> None:
        self.state = ""
        self.label.clear()
        self.hide()


class TranscriptPanel(QWidget):
    """Verdict banner + live transcript + "Copy transcript"."""

    def __init__(
        self,
        parent: QWidget | None = None,
        *,
        title: str = "Transcript",
        placeholder: str = "",
    ) -> None:
        super().__init__(parent)
        self.setObjectName("transcriptPanel")
        self.summary = ReportSummary(self)
        self.view = TranscriptView(self)
        if placeholder:
            self.view.setPlaceholderText(placeholder)
        self.title = QLabel(f"<b>{_esc(title)}</b>", self)
        self.timestamps = QCheckBox("Timings", self)
        self.timestamps.setChecked(True)
        self.timestamps.setToolTip("Show the seconds since the attempt started on each line")
        self.timestamps.toggled.connect(self.view.set_timestamps)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the transcript as swaks prints it")
        self.copy_button.clicked.connect(self.copy)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.timestamps)
        head.addWidget(self.copy_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.summary)
        layout.addLayout(head)
        layout.addWidget(self.view, 1)

    def begin(self, what: str) -> None:
        """A new attempt: clear the log and say what is running."""
        self.view.clear()
        self.summary.show_running(what)

    def on_line(self, line: TranscriptLine) -> None:
        self.view.append_line(line)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.view.swaks_text())


# ---- running one coroutine ----------------------------------------------------------------


class AsyncRunner(QObject):
    """One coroutine at a time on the running (qasync) loop, cancellable.

    ``spawn`` is how the task is created; the app passes ``GuiApp.spawn`` so
    quitting cancels a send in flight. ``busyChanged`` drives the Send and
    Cancel buttons.
    """

    busyChanged = Signal(bool)

    def __init__(self, spawn: Spawn | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._spawn: Spawn = spawn or asyncio.ensure_future
        self.task: asyncio.Task[Any] | None = None

    @property
    def busy(self) -> bool:
        return self.task is not None and not self.task.done()

    def run(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        if self.busy:
            coro.close()
            raise RuntimeError("already running")
        task = self._spawn(coro)
        self.task = task
        task.add_done_callback(self._done)
        self.busyChanged.emit(True)
        return task

    def cancel(self) -> bool:
        """Ask the running task to stop; True when there was one."""
        if not self.busy:
            return False
        assert self.task is not None
        self.task.cancel()
        return True

    def _done(self, task: asyncio.Task[Any]) -> None:
        if task is self.task:
            self.busyChanged.emit(False)
