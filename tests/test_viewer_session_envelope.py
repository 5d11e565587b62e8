"""The Session tab: what it says about the envelope, and who it calls Bcc.

* A message opened from a file, or an attached message, never went through
  SMTP: the tab says so instead of "MAIL FROM <> (null sender)", which
  claims a bounce that never happened. A real bounce keeps "<>".
* Bcc (envelope only) compares address pairs read from the raw headers,
  never re-parsed decoded text: an RFC 2047 name that spells an address is a
  name, so a recipient who is only in the envelope is still flagged.
* Attached messages are built by the same core function as opened files.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.mailio.local import open_local_message, unstored_message
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.viewer.tabs.embedded import embedded_opened
from mailcatcher_gui.ui.viewer.tabs.session_tab import session_html
from tests.viewer_support import RecordingDialogs

pytestmark = [pytest.mark.gui]

PLAIN = (
    b"From: Ann <ann@example.com>\r\nTo: bob@example.com\r\nSubject: Hi\r\n"
    b"Date: Tue, 03 Jun 2025 14:05:09 +0000\r\n\r\nHello\r\n"
)

# The To name decodes to "boss@corp.example, the boss": a display name, not a recipient.
NAME_SPELLS_AN_ADDRESS = (
    b"From: a@example.com\r\n"
    b"To: =?utf-8?q?boss=40corp.example=2C_the_boss?= <assistant@corp.example>\r\n"
    b"Subject: Minutes\r\n\r\nSee attached.\r\n"
)


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    yield v
    v.shutdown()


def facts(view: MessageView, opened) -> str:
    view.show_message(opened)
    QApplication.processEvents()
    return view.session_tab.facts.text()


def test_a_file_opened_from_disk_has_no_smtp_envelope(view, tmp_path):
    path = tmp_path / "hi.eml"
    path.write_bytes(PLAIN)
    text = facts(view, open_local_message(path))
    assert "Opened from a file: no SMTP envelope" in text
    assert "null sender" not in text and "MAIL FROM" not in text
    assert "none (plain text)" not in text  # no connection, so no TLS claim either
    assert view.session_tab.bcc == []


def test_an_attached_message_has_no_smtp_envelope(view):
    opened = embedded_opened(PLAIN, received_at=datetime.now(UTC), source="attachment fwd.eml")
    text = facts(view, opened)
    assert "Attached message: no SMTP envelope" in text
    assert "null sender" not in text


def test_a_real_bounce_keeps_the_null_sender(view, mailbox):
    message_id = mailbox.accept_sync(
        Capture(PLAIN, "", ("bob@example.com",), datetime.now(UTC), peer="127.0.0.1:4000")
    )
    text = facts(view, mailbox.get(message_id))
    assert "&lt;&gt; (null sender)" in text
    assert "no SMTP envelope" not in text


def test_bcc_is_found_by_address_pairs_not_by_decoded_names(view, mailbox):
    message_id = mailbox.accept_sync(
        Capture(
            NAME_SPELLS_AN_ADDRESS,
            "a@example.com",
            ("assistant@corp.example", "boss@corp.example"),
            datetime.now(UTC),
        )
    )
    opened = mailbox.get(message_id)
    text = facts(view, opened)
    assert view.session_tab.bcc == ["boss@corp.example"]
    assert "Bcc (envelope only)" in text and "boss@corp.example" in session_html(opened)


def test_attached_messages_and_files_are_built_alike(tmp_path):
    path = tmp_path / "hi.eml"
    path.write_bytes(PLAIN)
    from_file = open_local_message(path)
    attached = embedded_opened(
        PLAIN, received_at=from_file.stored.summary.received_at, source="attachment x"
    )
    assert attached.stored.summary == from_file.stored.summary
    assert attached.stored.source == "attachment x" and from_file.stored.source == "file"
    same = unstored_message(PLAIN, received_at=from_file.stored.summary.received_at, source="file")
    assert same.stored == from_file.stored
