"""The viewer fits a narrow preview: no horizontal scrollbar at Full width.

The header strip's word-wrapping labels could not wrap a subject that is one
long word (a token, a URL), and the seven tabs set a minimum width of their
own, so the preview pane scrolled sideways even at Full width. Values are
now elided on one line (full text in the tooltip) and the tab row scrolls.
Real parser, real mailbox, the real main window at 1280x800.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]

#: the viewer's minimum width must stay at or below this (a narrow preview)
MAX_MIN_WIDTH = 420

TOKEN_SUBJECT = "Your-password-reset-token-3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"
LONG_FROM = (
    '"Acme Newsletter Team, Marketing and Customer Communications" '
    "<newsletter-no-reply@marketing.acme-corporation.example>"
)
RAW = (
    f"From: {LONG_FROM}\r\n"
    "To: Developer Person <developer.person@example.com>, "
    + ", ".join(f"recipient-number-{i}@example.com" for i in range(12))
    + "\r\n"
    "Cc: third.recipient.with.a.rather.long.mailbox.name@subdomain.example.com\r\n"
    "Reply-To: support-team-replies-for-all-customers@acme-corporation.example\r\n"
    f"Subject: {TOKEN_SUBJECT}\r\n"
    "Date: Tue, 03 Jun 2025 14:05:09 +0000\r\n"
    "MIME-Version: 1.0\r\n"
    'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
    "--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    '<p>Hello <img src="https://tracker.example/pixel.gif"></p>\r\n'
    "--b\r\nContent-Type: application/pdf\r\n"
    "Content-Disposition: attachment; "
    "filename=quarterly-report-2025-final-version-with-all-appendices-and-notes.pdf\r\n"
    "\r\nxx\r\n--b--\r\n"
).encode()


@pytest.fixture
def shown(qtbot, mailbox, tmp_path):
    mailbox.accept_sync(
        Capture(RAW, "bounce@acme.example", ("developer.person@example.com",), datetime.now(UTC))
    )
    view = MessageView(web_engine=False)
    bridge = MailboxBridge(mailbox)
    window = build_main_window(mailbox, bridge, AppSettings.at(tmp_path / "s.ini"), view=view)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.show()
    qtbot.waitExposed(window)
    window.message_list.select_row(0)
    qtbot.waitUntil(lambda: view.opened is not None)
    QApplication.processEvents()
    yield window, view
    window.shutdown()
    bridge.close()


def test_the_viewers_minimum_width_is_small_with_long_header_values(shown):
    _window, view = shown
    strip = view.header_strip
    assert strip.subject.text() == TOKEN_SUBJECT  # text() is the whole value
    for tab in range(view.tabs.count()):  # whichever tab is showing
        view.tabs.setCurrentIndex(tab)
        QApplication.processEvents()
        width = view.minimumSizeHint().width()
        assert width <= MAX_MIN_WIDTH, (view.tabs.tabText(tab), width)
    assert strip.minimumSizeHint().width() <= MAX_MIN_WIDTH
    assert view.tabs.tabBar().usesScrollButtons()


def test_no_horizontal_scrollbar_at_full_width_and_elided_values_have_tooltips(qtbot, shown):
    window, view = shown
    view.tabs.setCurrentWidget(view.html_tab)
    assert view.html_tab.width_preset == "full"
    pane = window.panes.preview
    QApplication.processEvents()
    assert pane.width() < 700  # the preview beside the list, as users see it
    assert not pane.horizontalScrollBar().isVisible()
    assert view.width() <= pane.viewport().width()
    strip = view.header_strip
    # The token subject cannot fit in ~500 px: shown elided, full text in the tooltip.
    assert strip.subject.is_elided()
    assert strip.subject.shown_text().endswith("…")
    assert strip.subject.toolTip() == TOKEN_SUBJECT
    assert strip.to.is_elided() and "recipient-number-11@example.com" in strip.to.toolTip()
    assert strip.shown_fields()["Cc"].startswith("third.recipient")
    # Widened, the whole subject shows and the tooltip goes away.
    strip.subject.resize(strip.subject.sizeHint().width() + 10, strip.subject.height())
    assert not strip.subject.is_elided() and strip.subject.toolTip() == ""


def test_a_narrow_preview_still_has_no_horizontal_scrollbar(qtbot, shown):
    window, view = shown
    content = window.panes.content
    total = sum(content.sizes())
    content.setSizes([total - MAX_MIN_WIDTH - 10, MAX_MIN_WIDTH + 10])
    QApplication.processEvents()
    pane = window.panes.preview
    assert pane.width() <= MAX_MIN_WIDTH + 20
    assert not pane.horizontalScrollBar().isVisible()
