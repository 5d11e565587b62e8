"""Switching the theme while the app runs keeps every pane readable (issue 10 item 3).

The real main window (list + viewer with its fallback HTML view) and a
transcript panel are built once, then the theme goes light -> dark -> light
through ``theme.apply_theme``, exactly as Settings does. After each switch
the window is grabbed and every region is measured on the pixels actually
painted: the background must belong to the new scheme, and the text must
stand out from it by WCAG's 4.5:1. Before the fix a style-sheeted window
kept its old palette: the list stayed white in dark mode and labels went
dark-on-dark.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest
from gui_helpers import fill_store
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QImage, QPalette
from PySide6.QtWidgets import QLabel, QWidget

from mailcatcher_gui.core.models import Capture, Summary
from mailcatcher_gui.core.sending import Direction, Stage, TranscriptLine
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.theme import (
    TRANSCRIPT_COLOURS,
    apply_theme,
    contrast_ratio,
    follow_system_scheme,
    relative_luminance,
    tones,
)
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.viewer.tabs.session_tab import session_html
from mailcatcher_gui.ui.viewer.transcript_view import TranscriptPanel
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.settings import AppSettings
from tests.viewer_support import make_opened

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]

MIN_CONTRAST = 4.5


@pytest.fixture
def restore_theme(qapp):
    palette, style = qapp.palette(), qapp.style().name()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def grab_region(window: QWidget, widget: QWidget, rect: QRect | None = None) -> QImage:
    """What ``widget`` (or ``rect`` in its coordinates) looks like inside ``window``
    on screen: rendered through the window, so parents paint the background."""
    r = rect if rect is not None else widget.rect()
    top_left = widget.mapTo(window, r.topLeft())
    return (
        window.grab(QRect(top_left, r.size())).toImage().convertToFormat(QImage.Format.Format_RGB32)
    )


def background_and_text(image: QImage) -> tuple[QColor, QColor]:
    """The commonest colour (background) and the pixel most unlike it (text)."""
    data = bytes(image.constBits())[: image.sizeInBytes()]
    counts = Counter(data[i : i + 4] for i in range(0, len(data), 4))
    bg_bytes = counts.most_common(1)[0][0]
    bg = QColor(bg_bytes[2], bg_bytes[1], bg_bytes[0])
    text = max(
        (QColor(b[2], b[1], b[0]) for b in counts),
        key=lambda c: contrast_ratio(c, bg),
    )
    return bg, text


def assert_readable(what: str, window: QWidget, widget: QWidget, dark: bool, rect=None) -> None:
    bg, text = background_and_text(grab_region(window, widget, rect))
    lum = relative_luminance(bg)
    scheme = "dark" if dark else "light"
    assert (lum < 0.1) if dark else (lum > 0.5), (
        f"{what}: background {bg.name()} does not belong to the {scheme} theme"
    )
    ratio = contrast_ratio(text, bg)
    assert ratio >= MIN_CONTRAST, (
        f"{what}: text {text.name()} on {bg.name()} is {ratio:.2f}:1 in the {scheme} theme"
    )


def declared_colours(rich_text: str) -> list[QColor]:
    return [QColor(c) for c in re.findall(r"#[0-9a-fA-F]{6}\b", rich_text)]


def settle(qtbot, qapp) -> None:
    qapp.processEvents()
    qtbot.wait(0)


def transcript_lines() -> list[TranscriptLine]:
    at = datetime.now(UTC)
    return [
        TranscriptLine(Direction.INFO, "Connected", at, 0.0, Stage.CONNECT),
        TranscriptLine(Direction.SERVER, "220 ready", at, 0.01, Stage.CONNECT, code=220),
        TranscriptLine(Direction.CLIENT, "EHLO me", at, 0.02, Stage.EHLO),
        TranscriptLine(Direction.SERVER, "550 no", at, 0.03, Stage.RCPT, code=550),
    ]


def test_live_theme_switch_keeps_every_pane_readable(qtbot, qapp, mailbox, tmp_path, restore_theme):
    apply_theme(qapp, "light")
    fill_store(mailbox.store, 3)
    mailbox.store.add(
        [
            (
                Capture(
                    raw=(
                        b"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\n"
                        b"Cc: carol@example.com\r\nSubject: Themed\r\n\r\nBody\r\n"
                    ),
                    envelope_from="ann@example.com",
                    envelope_to=("bob@example.com", "carol@example.com", "hidden@example.com"),
                    received_at=datetime.now(UTC),
                    transcript=("S: 220 ready", "C: EHLO x", "S: 250 ok"),
                ),
                Summary(
                    from_="Ann <ann@example.com>",
                    to=("bob@example.com",),
                    cc=("carol@example.com",),
                    subject="Themed",
                    has_text=True,
                ),
            )
        ]
    )
    bridge = MailboxBridge(mailbox)
    view = MessageView(web_engine=False)
    window = build_main_window(mailbox, bridge, AppSettings.at(tmp_path / "s.ini"), view=view)
    qtbot.addWidget(window)
    panel = TranscriptPanel(title="Transcript")
    qtbot.addWidget(panel)
    try:
        window.resize(1300, 800)
        window.show()
        qtbot.waitExposed(window)
        window.message_list.select_row(0)
        qtbot.waitUntil(lambda: view.opened is not None)
        assert view.header_strip.subject.text() == "Themed"
        panel.resize(500, 300)
        panel.show()
        for line in transcript_lines():
            panel.on_line(line)

        table = window.message_list.table
        strip = view.header_strip
        for dark in (False, True, False):
            apply_theme(qapp, "dark" if dark else "light")
            settle(qtbot, qapp)
            # the list: an unselected row, the bold subject and a muted column
            model = table.model()
            for col in range(model.columnCount()):
                index = model.index(1, col)
                if not model.data(index):
                    continue
                rect = table.visualRect(index).intersected(table.viewport().rect())
                if rect.width() < 20:  # hidden or scrolled-away column
                    continue
                assert_readable(f"list column {col}", window, table.viewport(), dark, rect)
            # the header strip above the tabs
            labels = [lb for lb in strip.findChildren(QLabel) if lb.isVisible() and lb.text()]
            assert len(labels) >= 9  # subject, 3 keys, 3 values, date, size
            for label in labels:
                assert_readable(f"header {label.text()!r}", window, label, dark)
            # the tab row (a tab that is not the current one)
            bar = view.tabs.tabBar()
            assert_readable("tab bar", window, bar, dark, bar.tabRect(2))
            # the simplified-HTML note on the HTML tab
            view.tabs.setCurrentWidget(view.html_tab)
            settle(qtbot, qapp)
            note = view.html_tab.fallback_note.label
            assert_readable("fallback note", window, note, dark)
            # the Session tab: the facts table and the SMTP transcript
            view.tabs.setCurrentWidget(view.session_tab)
            settle(qtbot, qapp)
            facts = view.session_tab.facts
            assert_readable("session facts", window, facts, dark)
            bg = window.palette().color(QPalette.ColorRole.Window)
            for colour in declared_colours(facts.text()):
                assert contrast_ratio(colour, bg) >= MIN_CONTRAST, (colour.name(), bg.name())
            transcript = view.session_tab.transcript
            assert_readable("session transcript", window, transcript.viewport(), dark)
            # compose/release/test-connection transcript: every kind of line
            assert_readable("transcript panel", panel, panel.view.viewport(), dark)
            base = panel.view.palette().color(QPalette.ColorRole.Base)
            assert (relative_luminance(base) < 0.1) == dark
            for kind, pair in TRANSCRIPT_COLOURS.items():
                ratio = contrast_ratio(QColor(pair[1 if dark else 0]), base)
                assert ratio >= MIN_CONTRAST, (kind, ratio)
            block = panel.view.document().findBlockByNumber(2)  # the client line
            fmt = block.begin().fragment().charFormat()
            assert fmt.foreground().color().name() in (
                TRANSCRIPT_COLOURS["time"][1 if dark else 0],
                TRANSCRIPT_COLOURS["client"][1 if dark else 0],
            )
            view.tabs.setCurrentWidget(view.html_tab)
    finally:
        window.shutdown()
        bridge.close()


def test_session_table_colours_follow_the_theme(qapp, restore_theme):
    opened = make_opened(envelope_to=("bob@example.com", "secret@example.com"))
    for theme in ("light", "dark"):
        apply_theme(qapp, theme)
        html_text = session_html(opened)
        bg = qapp.palette().color(QPalette.ColorRole.Window)
        assert tones().danger.name() in html_text  # the Bcc line
        for colour in declared_colours(html_text):
            assert contrast_ratio(colour, bg) >= MIN_CONTRAST, (theme, colour.name())


def test_every_tone_is_readable_in_both_schemes(qapp, restore_theme):
    for theme in ("light", "dark"):
        apply_theme(qapp, theme)
        pal = qapp.palette()
        window, base = pal.color(QPalette.ColorRole.Window), pal.color(QPalette.ColorRole.Base)
        t = tones()
        for name in ("secondary", "danger", "warning"):
            assert contrast_ratio(getattr(t, name), window) >= MIN_CONTRAST, (theme, name)
        assert contrast_ratio(t.notice_fg, t.notice_bg) >= MIN_CONTRAST, theme
        assert contrast_ratio(t.caution_fg, t.caution_bg) >= MIN_CONTRAST, theme
        placeholder = pal.color(QPalette.ColorRole.PlaceholderText)
        for bg_role in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase):
            assert contrast_ratio(placeholder, pal.color(bg_role)) >= MIN_CONTRAST, theme
        assert contrast_ratio(pal.color(QPalette.ColorRole.Text), base) >= 7


def test_the_system_scheme_change_is_followed(qapp, restore_theme):
    """``colorSchemeChanged`` re-applies the theme with the scheme it reports;
    a forced choice stays. (The offscreen platform cannot switch its scheme,
    so the signal is emitted as the platform would.)"""
    choice = ["system"]
    apply_theme(qapp, "light")
    hints = qapp.styleHints()
    connection = follow_system_scheme(qapp, lambda: choice[0])
    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
        choice[0] = "light"
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        hints.disconnect(connection)
