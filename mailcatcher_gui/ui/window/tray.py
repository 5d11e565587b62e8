"""Tray icon with the unread count, and one notification per burst of mail.

A test suite that sends 25 messages must produce one "25 new messages"
notification, not 25 toasts, so ``BurstNotifier`` collects arrivals for a
short window (started by the first message of a burst, not restarted by the
following ones, so a steady stream still notifies regularly).

``QSystemTrayIcon`` is optional: there is no tray on the offscreen platform,
on bare X servers or on some Wayland desktops. ``TrayIcon.available`` says
which; without a tray the window flashes in the task bar instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QMenu, QSystemTrayIcon, QWidget

from ...core.models import MessageSummary, address_labels


class BurstNotifier(QObject):
    """Coalesces ``MessagesAdded`` into ``notify(title, body, newest_id)``."""

    notify = Signal(str, str, int)

    def __init__(self, parent: QObject | None = None, *, window_ms: int = 1200) -> None:
        super().__init__(parent)
        self.enabled = True
        self._suppressed = 0
        self._pending: list[MessageSummary] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(window_ms)
        self._timer.timeout.connect(self.flush)

    def suppress(self) -> None:
        """Stop announcing (during an import); pair with ``resume``."""
        self._suppressed += 1

    def resume(self) -> None:
        self._suppressed = max(0, self._suppressed - 1)

    def add(self, summaries: Sequence[MessageSummary]) -> None:
        if not self.enabled or self._suppressed or not summaries:
            return
        self._pending.extend(summaries)
        if not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        self._timer.stop()
        pending, self._pending = self._pending, []
        if not pending or not self.enabled:
            return
        newest = max(pending, key=lambda s: (s.received_at, s.id))
        if len(pending) == 1:
            sender = address_labels(newest.from_addrs) or newest.envelope_from
            title = f"New message from {sender or 'unknown sender'}"
            body = newest.subject or "(no subject)"
        else:
            title = f"{len(pending)} new messages"
            body = f"Latest: {newest.subject or '(no subject)'}"
        self.notify.emit(title, body, newest.id)


def badge_icon(base: QIcon, count: int, size: int = 64) -> QIcon:
    """``base`` with a red unread-count badge in the corner (no badge for 0)."""
    pixmap = base.pixmap(size, size)
    if count <= 0:
        return QIcon(pixmap)
    pixmap = QPixmap(pixmap)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        text = str(count) if count < 1000 else "999+"
        d = size * (0.55 if len(text) <= 2 else 0.7)
        rect = QRectF(size - d, size - size * 0.55, d, size * 0.55)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#e53935"))
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        font = QFont()
        font.setBold(True)
        font.setPixelSize(int(size * (0.36 if len(text) <= 2 else 0.28)))
        painter.setFont(font)
        painter.setPen(QColor("white"))
        painter.drawText(rect, int(Qt.AlignmentFlag.AlignCenter), text)
    finally:
        painter.end()
    return QIcon(pixmap)


class TrayIcon(QObject):
    """The system tray entry, when the platform has a tray."""

    #: the user clicked the tray icon or a notification; the message id or 0
    activated = Signal(int)
    quitRequested = Signal()

    def __init__(self, base_icon: QIcon, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._base = base_icon
        self._last_notified = 0
        self._unread = -1
        self.available = QSystemTrayIcon.isSystemTrayAvailable()
        self._tray: QSystemTrayIcon | None = None
        self._menu: QMenu | None = None
        if not self.available:
            return
        self._tray = QSystemTrayIcon(base_icon, self)
        self._menu = QMenu(parent)
        show = QAction("Show mailcatcher-gui", self._menu)
        show.triggered.connect(lambda: self.activated.emit(0))
        quit_ = QAction("Quit", self._menu)
        quit_.triggered.connect(self.quitRequested.emit)
        self._menu.addAction(show)
        self._menu.addSeparator()
        self._menu.addAction(quit_)
        self._tray.setContextMenu(self._menu)
        self._tray.activated.connect(self._on_activated)
        self._tray.messageClicked.connect(lambda: self.activated.emit(self._last_notified))
        self._tray.setToolTip("mailcatcher-gui")
        self._tray.show()

    @property
    def supports_messages(self) -> bool:
        return self._tray is not None and QSystemTrayIcon.supportsMessages()

    def set_unread(self, count: int) -> None:
        if self._tray is None or count == self._unread:
            return
        self._unread = count
        self._tray.setIcon(badge_icon(self._base, count))
        self._tray.setToolTip(
            f"mailcatcher-gui — {count} unread" if count else "mailcatcher-gui — no unread mail"
        )

    def show_message(self, title: str, body: str, message_id: int) -> bool:
        """Show a notification; False when the platform cannot."""
        if not self.supports_messages:
            return False
        assert self._tray is not None
        self._last_notified = message_id
        self._tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Information, 6000)
        return True

    def _on_activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason in (
            QSystemTrayIcon.ActivationReason.Trigger,
            QSystemTrayIcon.ActivationReason.DoubleClick,
        ):
            self.activated.emit(0)

    def hide(self) -> None:
        if self._tray is not None:
            self._tray.hide()
