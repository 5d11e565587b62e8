"""The window's file work with dialogs: import, export, save one message.

The work itself is ``ui.window.file_actions`` (the shared import/export functions over
the ``Mailbox`` and ``core.mailio``); this pane-less controller adds what a
window needs around it: file and folder pickers, a progress dialog that can
cancel, a problem report, and a status line. The window forwards drops and
menu commands here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QFileDialog, QMessageBox, QProgressDialog, QWidget

from ...core import mailio
from ...core.mailbox_protocol import MailboxProtocol
from .file_actions import (
    BackgroundJob,
    Cancelled,
    JobResult,
    Report,
    export_eml_folder,
    export_mbox,
    import_paths,
)

IMPORT_FILTER = "Messages and mailboxes (*.eml *.mbox *.mbx *.msg *.txt);;All files (*)"


#: how long the "Saved …" status message stays (ms), as long as the viewer's notice
SAVED_MESSAGE_MS = 8000


class FileJobs(QObject):
    """Import/export in the background, with progress and a problem report."""

    #: a job finished (JobResult) -- for status and tests
    jobFinished = Signal(object)
    #: a short message for the status bar, and how long to show it (ms)
    status = Signal(str, int)
    #: an import starts (True) / ends (False): new-mail notifications pause meanwhile
    importing = Signal(bool)

    def __init__(self, mailbox: MailboxProtocol, window: QWidget) -> None:
        super().__init__(window)
        self.mailbox = mailbox
        self.window = window
        self.jobs: list[BackgroundJob] = []
        self.progress: dict[BackgroundJob, QProgressDialog] = {}

    # ---- import -------------------------------------------------------------------------

    def import_paths(self, paths: Sequence[str | Path], *, progress: bool = True) -> BackgroundJob:
        """Import files, mbox files and folders (Maildir or .eml) in the background."""
        items = [str(p) for p in paths]
        self.importing.emit(True)
        job = BackgroundJob(
            lambda report, cancelled: import_paths(self.mailbox, items, report, cancelled),
            self,
            name="import",
        )
        job.finished.connect(lambda result, j=job: self._import_done(j, result))
        self._start(job, "Importing…", "Imported {n:,} messages…", progress)
        return job

    def _import_done(self, job: BackgroundJob, result: JobResult) -> None:
        self.importing.emit(False)
        note = " (cancelled)" if result.cancelled else ""
        if result.skipped:
            note = f", {result.skipped:,} empty skipped{note}"
        self.status.emit(
            f"Imported {result.done:,} message{'s' if result.done != 1 else ''}{note}", 6000
        )
        self._finish(job, result, "Import")

    def import_files_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self.window, "Import Messages", "", IMPORT_FILTER)
        if files:
            self.import_paths(files)

    def import_folder_interactive(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window, "Import a Maildir or a Folder of .eml Files"
        )
        if folder:
            self.import_paths([folder])

    # ---- export -------------------------------------------------------------------------

    def export_ids(
        self,
        kind: str,
        ids: Sequence[int],
        target: str | Path,
        *,
        progress: bool = True,
        overwrite: bool = False,
    ) -> BackgroundJob:
        """Export ``ids`` as one mbox file (``kind="mbox"``) or a folder of .eml files.

        An existing mbox is replaced only with ``overwrite`` (the save dialog confirmed).
        """
        ids = list(ids)

        def work(report: Report, cancelled: Cancelled) -> JobResult:
            if kind == "mbox":
                return export_mbox(
                    self.mailbox, ids, target, report, cancelled, overwrite=overwrite
                )
            return export_eml_folder(self.mailbox, ids, target, report, cancelled)

        job = BackgroundJob(
            work,
            self,
            name="export",
        )

        def done(result: JobResult, j: BackgroundJob = job) -> None:
            self.status.emit(f"Exported {result.done:,} to {target}", 6000)
            self._finish(j, result, "Export")

        job.finished.connect(done)
        self._start(job, "Exporting…", "Exported {n:,} messages…", progress)
        return job

    def export_interactive(self, kind: str, ids: Sequence[int]) -> None:
        if not ids:
            self.status.emit("Select the messages to export first.", 4000)
            return
        if kind == "mbox":
            target, _ = QFileDialog.getSaveFileName(
                self.window, "Export as mbox", "messages.mbox", "mbox files (*.mbox);;All files (*)"
            )
        else:
            target = QFileDialog.getExistingDirectory(self.window, "Export to Folder")
        if target:
            # getSaveFileName has already asked whether to replace an existing file.
            self.export_ids(kind, ids, target, overwrite=True)

    # ---- one message ----------------------------------------------------------------------

    def save_eml(self, message_id: int, path: str | Path) -> Path:
        target = Path(path)
        target.write_bytes(self.mailbox.raw(message_id))
        return target

    def save_eml_interactive(self, message_id: int, subject: str) -> None:
        suggested = mailio.export_filename(message_id, subject)
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Save Message", suggested, "Email message (*.eml);;All files (*)"
        )
        if not path:
            return
        try:
            saved = self.save_eml(message_id, path)
        except OSError as exc:
            QMessageBox.warning(self.window, "Save failed", f"{path}: {exc.strerror or exc}")
            return
        # The full path, as the viewer's saves say it: the name alone does not
        # tell which folder the dialog was in.
        self.status.emit(f"Saved {saved.absolute()}", SAVED_MESSAGE_MS)

    # ---- running ----------------------------------------------------------------------------

    def _start(self, job: BackgroundJob, title: str, template: str, progress: bool) -> None:
        self.jobs.append(job)
        if progress:
            dialog = QProgressDialog(title, "Cancel", 0, 0, self.window)
            dialog.setWindowTitle(title.rstrip("…"))
            dialog.setWindowModality(Qt.WindowModality.WindowModal)
            dialog.setMinimumDuration(500)
            dialog.setAutoClose(False)
            dialog.setAutoReset(False)
            dialog.canceled.connect(job.cancel)

            def update(n: int, _detail: str, d: QProgressDialog = dialog) -> None:
                d.setLabelText(template.format(n=n))

            job.progress.connect(update)
            self.progress[job] = dialog
        job.start()

    def _finish(self, job: BackgroundJob, result: JobResult, what: str) -> None:
        dialog = self.progress.pop(job, None)
        if dialog is not None:
            dialog.canceled.disconnect()
            dialog.close()
            dialog.deleteLater()
        if job in self.jobs:
            self.jobs.remove(job)
        job.deleteLater()
        if result.errors:
            box = QMessageBox(
                QMessageBox.Icon.Warning,
                f"{what} problems",
                f"{what} finished with {len(result.errors)} problem(s).",
                QMessageBox.StandardButton.Ok,
                self.window,
            )
            box.setDetailedText("\n".join(result.errors))
            box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            box.open()
        self.jobFinished.emit(result)

    def shutdown(self) -> None:
        """Cancel running jobs and wait a little for them."""
        for job in list(self.jobs):
            job.cancel()
        for job in list(self.jobs):
            job.wait(10)
