"""Crashes in the window: a dialog with the traceback, and Qt's messages in logging.

PySide reports an exception raised in a slot through ``sys.excepthook`` and
carries on; without a hook it goes to stderr, which a desktop user never
sees. ``CrashReporter`` writes the traceback to the crash log
(``crash.crash_log_path``), logs it, and shows it in a non-modal dialog that
says where the log is. The window keeps running.

``install_qt_message_handler`` routes Qt's own messages (qDebug .. qFatal,
including QtWebEngine's) into ``logging`` under the ``qt`` logger, so they
follow the app's log configuration instead of going to stderr unformatted.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QMessageLogContext, QObject, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from ..crash import ExceptHook, append_crash, format_crash, one_line

log = logging.getLogger("mailcatcher_gui.crash")
qt_log = logging.getLogger("qt")

_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


class CrashReporter(QObject):
    """``sys.excepthook`` for the window: log file + logging + a dialog."""

    #: a report was shown: the one-line summary and the full traceback text
    reported = Signal(str, str)

    def __init__(
        self,
        log_path: Path,
        parent_widget: Callable[[], QWidget | None] = lambda: None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.log_path = log_path
        self.parent_widget = parent_widget
        self.dialog: QMessageBox | None = None
        self._previous: ExceptHook | None = None

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.hook

    def uninstall(self) -> None:
        if self._previous is not None and sys.excepthook == self.hook:
            sys.excepthook = self._previous
        self._previous = None

    def hook(
        self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
    ) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            sys.__excepthook__(exc_type, exc, tb)
            return
        text = format_crash(exc_type, exc, tb)
        logged = append_crash(self.log_path, text)
        log.critical(
            "uncaught exception: %s", one_line(exc_type, exc), exc_info=(exc_type, exc, tb)
        )
        try:
            self._show(one_line(exc_type, exc), text, logged)
        except Exception:  # noqa: BLE001 - the hook itself must never raise
            sys.__excepthook__(exc_type, exc, tb)

    def _show(self, summary: str, text: str, logged: bool) -> None:
        self.reported.emit(summary, text)
        if not isinstance(QApplication.instance(), QApplication):
            return
        if self.dialog is not None and self.dialog.isVisible():
            # One dialog at a time; later errors are in the log and appended here.
            self.dialog.setDetailedText(self.dialog.detailedText() + "\n" + text)
            return
        where = (
            f"The details are in {self.log_path}."
            if logged
            else "The details could not be written to the crash log; they are below."
        )
        box = QMessageBox(
            QMessageBox.Icon.Critical,
            "Unexpected error",
            f"mailcatcher-gui hit an unexpected error: {summary}",
            QMessageBox.StandardButton.Ok,
            self.parent_widget(),
        )
        box.setObjectName("crashDialog")
        box.setInformativeText(
            f"{where}\nThe app keeps running; please report this with the log attached."
        )
        box.setDetailedText(text)
        box.finished.connect(self._closed)
        self.dialog = box
        box.open()

    def _closed(self) -> None:
        dialog, self.dialog = self.dialog, None
        if dialog is not None:
            dialog.deleteLater()


def _qt_message(kind: QtMsgType, context: QMessageLogContext, message: str) -> None:
    level = _QT_LEVELS.get(kind, logging.WARNING)
    category = context.category if context is not None else None
    if category and category != "default":
        qt_log.log(level, "%s: %s", category, message)
    else:
        qt_log.log(level, "%s", message)


def install_qt_message_handler() -> None:
    """Route Qt's messages into ``logging`` (logger ``qt``)."""
    qInstallMessageHandler(_qt_message)


def remove_qt_message_handler() -> None:
    qInstallMessageHandler(None)  # Qt's default handler again
