"""Attachments the desktop cannot open, and attached messages read in the app
(issue 10 item 5).

* Opening an attachment with no desktop launcher (this machine has none:
  the real ``QDesktopServices.openUrl`` answers False) says so and offers
  "Save As…" instead of failing silently.
* A forwarded message (a ``message/rfc822`` part) opens in a viewer window
  of its own, with every tab, from the Attachments tab and from the
  Structure tab; a message attached inside it opens the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtWidgets import QMessageBox, QPushButton

from mailcatcher_gui.ui.viewer.message_view import MessageView, MessageWindow
from mailcatcher_gui.ui.viewer.tabs.attachments_tab import AttachmentsTab
from mailcatcher_gui.ui.viewer.tabs.dialogs import ViewerDialogs
from mailcatcher_gui.ui.viewer.tabs.embedded import embedded_opened, is_embedded_message
from tests.viewer_support import WEB_ENV_PATTERNS, RecordingDialogs, attachment

# What Qt says when it has nothing to open a file with: the offscreen
# platform has no services at all, an X session without xdg-open no launcher.
NO_LAUNCHER = (
    r"^This plugin does not support QPlatformServices::openDocument\(\) for '.*'\.$",
    r"^Unable to detect a launcher for '.*'$",
)

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(*WEB_ENV_PATTERNS, *NO_LAUNCHER)]

NESTED = (
    b"From: Dora <dora@example.com>\r\n"
    b"To: carl@example.com\r\n"
    b"Subject: The very first note\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Deepest body.\r\n"
)

INNER = (
    b"From: Carl <carl@example.com>\r\n"
    b"To: bob@example.com\r\n"
    b"Reply-To: desk@example.com\r\n"
    b"Subject: Original invoice\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="in"\r\n\r\n'
    b"--in\r\n"
    b'Content-Type: multipart/alternative; boundary="alt"\r\n\r\n'
    b"--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nInvoice text body.\r\n"
    b"--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Invoice <b>HTML</b></p>\r\n"
    b"--alt--\r\n"
    b"--in\r\n"
    b'Content-Type: application/pdf; name="invoice.pdf"\r\n'
    b'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
    b"--in\r\n"
    b"Content-Type: message/rfc822\r\n\r\n" + NESTED + b"--in--\r\n"
)

OUTER = (
    b"From: Bob <bob@example.com>\r\n"
    b"To: alice@example.com\r\n"
    b"Subject: Fwd: Original invoice\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="out"\r\n\r\n'
    b"--out\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee below.\r\n"
    b"--out\r\n"
    b'Content-Type: message/rfc822; name="invoice.eml"\r\n'
    b'Content-Disposition: attachment; filename="invoice.eml"\r\n\r\n' + INNER + b"--out--\r\n"
)

WHEN = datetime(2025, 6, 3, 14, 5, tzinfo=UTC)


def outer_opened():
    return embedded_opened(OUTER, received_at=WHEN, source="smtp")


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    yield v
    v.shutdown()


def open_window(qtbot, view, trigger) -> MessageWindow:
    with qtbot.waitSignal(view.embeddedOpened, timeout=5000) as opened:
        trigger()
    window = opened.args[0]
    assert isinstance(window, MessageWindow)
    qtbot.waitExposed(window)
    return window


# ---- no launcher -------------------------------------------------------------------


class NoLauncherDialogs(RecordingDialogs):
    """Records the prompts but opens files with the real desktop services."""

    open_url = ViewerDialogs.open_url


def test_open_without_a_launcher_offers_save_as(qtbot, tmp_path):
    probe = tmp_path / "probe.txt"
    probe.write_text("x")
    if ViewerDialogs().open_url(QUrl.fromLocalFile(str(probe))):
        pytest.skip("this machine has a desktop launcher; the failure path cannot happen")

    dialogs = NoLauncherDialogs()
    tab = AttachmentsTab(dialogs)
    qtbot.addWidget(tab)
    tab.show_attachments((attachment(0, "notes.txt", b"hello", "text/plain"),))
    tab.select(0)

    # "Close": told, nothing written
    dialogs.save_instead = False
    tab.open_current()
    assert dialogs.open_failures == ["notes.txt"]
    assert dialogs.save_suggestions == []

    # "Save As…": the usual save dialog, then the file
    dialogs.save_instead = True
    dialogs.save_path = tmp_path / "kept.txt"
    with qtbot.waitSignal(tab.saved) as saved:
        tab.open_current()
    assert dialogs.open_failures == ["notes.txt", "notes.txt"]
    assert dialogs.save_suggestions[-1].name == "notes.txt"
    assert saved.args == [[tmp_path / "kept.txt"]]
    assert (tmp_path / "kept.txt").read_bytes() == b"hello"
    tab.shutdown()


def test_the_default_prompt_names_the_file_and_offers_save_as(qapp):
    """The real dialog: its text and its two ways out (answered from the
    event loop as soon as the modal box runs)."""
    seen: dict[str, object] = {}

    def answer() -> None:
        box = next(
            w for w in qapp.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()
        )
        seen["text"] = box.text()
        seen["buttons"] = [b.text() for b in box.buttons()]
        save = next(b for b in box.buttons() if b.text() == "Save As…")
        assert isinstance(save, QPushButton)
        save.click()

    QTimer.singleShot(0, answer)
    assert ViewerDialogs().offer_save_instead(None, "report.bin") is True
    assert "report.bin" in str(seen["text"])
    assert "Save As…" in seen["buttons"]


# ---- attached messages ----------------------------------------------------------------


def test_attached_message_opens_from_the_attachments_tab_with_every_tab(qtbot, view):
    view.show_message(outer_opened())
    tab = view.attachments_tab
    [eml] = [a for a in tab.attachments() if is_embedded_message(a.content_type)]
    tab.select(eml.index)
    assert "viewer window" in tab.open_button.toolTip()

    window = open_window(qtbot, view, tab.open_current)
    assert view.dialogs.opened_urls == []  # the desktop was not asked
    assert window.windowTitle() == "Original invoice — attached message"
    inner = window.view
    assert inner.opened is not None and inner.opened.stored.raw.startswith(b"From: Carl")
    assert inner.tabs.count() == view.tabs.count() == 8  # with the Checks tab
    strip = inner.header_strip
    assert strip.subject.text() == "Original invoice"
    assert strip.from_.text() == "Carl <carl@example.com>"
    assert strip.shown_fields()["Reply-To"] == "desk@example.com"
    assert "Invoice text body." in inner.text_tab.editor.toPlainText()
    names = [a.filename for a in inner.attachments_tab.attachments()]
    assert "invoice.pdf" in names and any(n.endswith(".eml") for n in names)
    assert inner.headers_tab.model.rowCount() >= 5
    assert "Invoice text body." in inner.source_tab.editor.toPlainText()
    assert inner.structure_tab.tree.topLevelItemCount() == 1
    assert "attachment invoice.eml" in inner.session_tab.facts.text()
    assert view.windows == [window]

    # a message attached inside the attached one: from its Structure tab
    structure = inner.structure_tab
    nested_part = next(
        p.part_id for p in inner.opened.parsed.parts if is_embedded_message(p.content_type)
    )
    assert structure.select_part(nested_part)
    assert structure.open_button.isEnabled()
    deeper = open_window(qtbot, inner, structure.open_button.click)
    assert deeper.view.header_strip.subject.text() == "The very first note"
    assert "Deepest body." in deeper.view.text_tab.editor.toPlainText()

    # closing a window forgets it; shutting the viewer down closes the rest
    with qtbot.waitSignal(deeper.closed):
        deeper.close()
    assert inner.windows == []
    view.shutdown()
    assert view.windows == []
    assert not window.isVisible()


def test_attached_message_opens_from_the_structure_tab(qtbot, view):
    view.show_message(outer_opened())
    structure = view.structure_tab
    assert structure.select_part("1")  # the text part: not a message
    assert not structure.open_button.isEnabled()
    assert structure.open_current_message() is False
    assert structure.select_part("2")
    assert structure.open_button.isEnabled()
    window = open_window(
        qtbot, view, lambda: structure.tree.itemDoubleClicked.emit(structure.tree.currentItem(), 0)
    )
    assert window.view.header_strip.subject.text() == "Original invoice"
    window.close()


@pytest.mark.web
def test_attached_message_html_renders_in_chromium(qtbot):
    view = MessageView(dialogs=RecordingDialogs())
    qtbot.addWidget(view)
    view.show()
    try:
        with qtbot.waitSignal(view.html_tab.renderer.loaded, timeout=20_000):
            view.show_message(outer_opened())
        view.tabs.setCurrentWidget(view.structure_tab)
        assert view.structure_tab.select_part("2")
        with qtbot.waitSignal(view.embeddedOpened, timeout=5000) as opened:
            view.structure_tab.open_current_message()
        window = opened.args[0]
        renderer = window.view.html_tab.renderer
        assert renderer.uses_chromium
        qtbot.waitUntil(lambda: bool(renderer.served_urls()), timeout=20_000)
        assert window.view.opened.parsed.html and "Invoice" in window.view.opened.parsed.html
    finally:
        view.shutdown()
