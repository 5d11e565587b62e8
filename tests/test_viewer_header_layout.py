"""Viewer details (issue 10 item 12): Reply-To in the header, a tab row that
stays put with and without a Cc line, and no message opening on an empty
Attachments tab."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.ui.viewer.message_view import MessageView
from tests.viewer_support import RecordingDialogs, attachment, make_opened

pytestmark = [pytest.mark.gui]

BASE = (
    ("From", "Alice <alice@example.com>"),
    ("To", "Bob <bob@example.com>"),
    ("Subject", "Hello"),
    ("Date", "Tue, 03 Jun 2025 14:05:09 +0000"),
)
CC = (("Cc", "Carol <carol@example.com>"),)
REPLY_TO = (("Reply-To", "Help Desk <help@example.com>"),)


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    qtbot.waitExposed(v)
    yield v
    v.shutdown()


def tab_row_top(view: MessageView, headers) -> int:
    view.show_message(make_opened(headers=headers))
    QApplication.processEvents()
    return view.tabs.tabBar().mapTo(view, QPoint(0, 0)).y()


def test_reply_to_is_shown_in_the_header(view):
    view.show_message(make_opened(headers=BASE + REPLY_TO))
    strip = view.header_strip
    assert strip.shown_fields()["Reply-To"] == "Help Desk <help@example.com>"
    assert strip.reply_to.isVisible() and strip.keys["Reply-To"].isVisible()
    # with a Cc as well, both are there
    view.show_message(make_opened(headers=BASE + CC + REPLY_TO))
    QApplication.processEvents()
    fields = strip.shown_fields()
    assert fields["Cc"] == "Carol <carol@example.com>"
    assert fields["Reply-To"] == "Help Desk <help@example.com>"
    assert strip.cc.isVisible() and strip.reply_to.isVisible()
    assert strip.reply_to.y() > strip.cc.y()
    # and gone again for a message without one
    view.show_message(make_opened(headers=BASE))
    assert "Reply-To" not in strip.shown_fields()
    assert not strip.reply_to.isVisible()


def test_the_tab_row_does_not_move_when_a_cc_line_appears(view):
    plain = tab_row_top(view, BASE)
    with_cc = tab_row_top(view, BASE + CC)
    with_reply_to = tab_row_top(view, BASE + REPLY_TO)
    again = tab_row_top(view, BASE)
    assert view.header_strip.cc.isVisible() is False
    assert plain == with_cc == with_reply_to == again
    # positive control: the measurement does see a change of the strip
    both = tab_row_top(view, BASE + CC + REPLY_TO)
    assert both > plain


def test_no_message_opens_on_an_empty_attachments_tab(view):
    with_files = make_opened(attachments=(attachment(0, "a.txt", b"x", "text/plain"),))
    view.show_message(with_files)
    view.tabs.setCurrentWidget(view.attachments_tab)
    # a message with attachments keeps the user's tab
    view.show_message(with_files)
    assert view.tabs.currentWidget() is view.attachments_tab
    # one without falls back to the first tab with something in it
    view.show_message(make_opened(html="<p>hi</p>", text="hi"))
    assert view.tabs.currentWidget() is view.html_tab
    view.tabs.setCurrentWidget(view.attachments_tab)
    view.show_message(make_opened(text="only text"))
    assert view.tabs.currentWidget() is view.text_tab
    view.tabs.setCurrentWidget(view.attachments_tab)
    view.show_message(make_opened(text=None))
    assert view.tabs.currentWidget() is view.source_tab
    # other tabs are left alone
    view.tabs.setCurrentWidget(view.headers_tab)
    view.show_message(make_opened(text="x"))
    assert view.tabs.currentWidget() is view.headers_tab
