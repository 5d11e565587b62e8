"""The compose window against issue 10 items 7, 8, 9 and 15, with real windows.

A real ``Composer`` (the object the main window's actions call) with a real
SQLite mailbox, real sends through ``core.sending`` to this app's mailbox (the
local transport: nothing leaves the process), the real close question (a
window-modal ``QMessageBox``) answered by clicking its buttons, and the real
profile editor and release dialog.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import shiboken6
from gui_helpers import qasync_loop, wait_for
from keyring.backends import fail
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.sending import (
    LOCAL_KEY,
    SINK_KEY,
    ProfileStore,
    RelayProfile,
    SinkEndpoint,
)
from mailcatcher_gui.ui.compose.composer import Composer
from mailcatcher_gui.ui.compose.profiles_dialog import ProfilesDialog
from mailcatcher_gui.ui.compose.release import ReleaseDialog
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(
        r"^This plugin does not support propagateSizeHints\(\)$",
        r"^This plugin does not support raise\(\)$",
    ),
]

HTML_ORDER = (
    b"From: Shop Support <support@shop.example>\r\n"
    b"To: Dev User <dev@example.com>\r\n"
    b"Subject: Order shipped\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <ship-1@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
    b'--r\r\nContent-Type: multipart/alternative; boundary="a"\r\n\r\n'
    b"--a\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nYour order is on its way.\r\n"
    b"--a\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<html><body><p id="orig">Your order is <b>on its way</b>.</p>'
    b'<img src="cid:truck@shop"></body></html>\r\n'
    b"--a--\r\n"
    b"--r\r\nContent-Type: image/png\r\nContent-ID: <truck@shop>\r\n"
    b"Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    b"iVBORw0KGgo=\r\n--r--\r\n"
)


@pytest.fixture
def profiles(tmp_path):
    return ProfileStore(tmp_path / "config", keyring_backend=fail.Keyring())


@pytest.fixture
def composer(qapp, mailbox, tmp_path, profiles):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    c = Composer(
        mailbox,
        profiles,
        settings=settings,
        web_engine=False,
        ask_password=lambda _p: None,
    )
    yield c
    c.shutdown()


def ingest(mailbox, raw: bytes = HTML_ORDER) -> int:
    return mailbox.accept_sync(
        Capture(raw, "bounce@shop.example", ("dev@example.com",), datetime.now(UTC))
    )


def close_question(window) -> QMessageBox | None:
    box = window.findChild(QMessageBox, "closeQuestion")
    return box if box is not None and box.isVisible() else None


def answer(box: QMessageBox, button: QMessageBox.StandardButton) -> None:
    QTest.mouseClick(box.button(button), Qt.MouseButton.LeftButton)


def press_ctrl_w(qtbot, window) -> None:
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    QTest.keyClick(window, Qt.Key.Key_W, Qt.KeyboardModifier.ControlModifier)


def gone(composer, window) -> bool:
    return window not in composer.windows and (
        not shiboken6.isValid(window) or not window.isVisible()
    )


# ---- item 8: New Message starts from the defaults ---------------------------------------------


def test_new_message_after_a_reply_starts_from_the_defaults(qapp, qtbot, composer, mailbox):
    message_id = ingest(mailbox)
    defaults = composer.defaults()

    async def scenario():
        # Opened and closed unsent (untouched: no question).
        glance = composer.reply(message_id, reply_all=True)
        glance.close()
        await wait_for(lambda: gone(composer, glance))
        assert composer.new().fields() == defaults

        reply = composer.reply(message_id)
        assert reply.to.text() == "Shop Support <support@shop.example>"
        assert reply.from_addr.text() == "dev@example.com"
        reply.picker.select(LOCAL_KEY)
        report = await reply.start_send()
        assert report.ok, report.failure
        reply.close()  # sent: nothing unsaved, so no question
        await wait_for(lambda: gone(composer, reply))

        new = composer.new()
        assert new.fields() == defaults
        assert (new.from_name.text(), new.from_addr.text(), new.to.text()) == (
            "Test Sender",
            "sender@example.com",
            "",
        )
        QTest.keyClicks(new.to, "someone@x.example")
        assert new.to.text() == "someone@x.example"

        # Positive control: a *new* message's sender does become the default.
        new.from_addr.setText("zoe@example.com")
        new.picker.select(LOCAL_KEY)
        assert (await new.start_send()).ok
        assert composer.defaults().from_addr == "zoe@example.com"
        forward = composer.forward(message_id)
        forward.to.setText("fw@example.com")
        forward.picker.select(LOCAL_KEY)
        assert (await forward.start_send()).ok
        assert composer.defaults().to == "someone@x.example"  # not the forward's To

    with qasync_loop(qapp) as loop:
        loop.run_until_complete(scenario())


# ---- item 9: Reply quotes the HTML ----------------------------------------------------------


def test_reply_window_quotes_the_html_and_sends_it(qapp, composer, mailbox):
    message_id = ingest(mailbox)

    async def scenario():
        reply = composer.reply(message_id)
        html = reply.html_edit.toPlainText()
        assert '<blockquote type="cite"' in html and '<p id="orig">' in html
        assert [a.content_id for a in reply.inline_parts] == ["truck@shop"]
        assert reply.tabs.tabText(reply._tab_index["attachments"]) == "Attachments (1)"
        reply.picker.select(LOCAL_KEY)
        report = await reply.start_send()
        assert report.ok, report.failure
        sent = mailbox.get(report.stored_id).parsed
        assert sent.html is not None and '<p id="orig">' in sent.html
        assert sent.text is not None and "> Your order is on its way." in sent.text
        assert [a.content_id for a in sent.attachments] == ["truck@shop"]

    with qasync_loop(qapp) as loop:
        loop.run_until_complete(scenario())


# ---- item 7: closing with unsent content asks ----------------------------------------------


def test_ctrl_w_on_a_dirty_compose_asks_cancel_keeps_discard_closes(qapp, qtbot, composer):
    untouched = composer.new()
    press_ctrl_w(qtbot, untouched)
    qtbot.waitUntil(lambda: gone(composer, untouched), timeout=5000)
    # (an untouched window closes without a question: none was ever made)

    window = composer.new()
    QTest.keyClicks(window.subject, "Half written")
    window.text_edit.setPlainText("Dear customer,")
    assert window.is_dirty()
    press_ctrl_w(qtbot, window)
    qtbot.waitUntil(lambda: close_question(window) is not None, timeout=5000)
    box = close_question(window)
    assert "Half written" in box.text()
    assert box.button(QMessageBox.StandardButton.Save).text() == "Save Draft"

    answer(box, QMessageBox.StandardButton.Cancel)
    qtbot.waitUntil(lambda: close_question(window) is None, timeout=5000)
    assert window in composer.windows and window.isVisible()
    assert window.text_edit.toPlainText() == "Dear customer,"

    press_ctrl_w(qtbot, window)
    qtbot.waitUntil(lambda: close_question(window) is not None, timeout=5000)
    answer(close_question(window), QMessageBox.StandardButton.Discard)
    qtbot.waitUntil(lambda: gone(composer, window), timeout=5000)
    assert composer.drafts.list() == []  # discarded means not kept


def test_save_draft_keeps_it_on_disk_and_the_drafts_menu_reopens_it(qapp, qtbot, composer):
    window = composer.new()
    window.to.setText("later@example.com")
    window.subject.setText("Finish me")
    window.add_header_row("X-Ticket", "42")
    window.close()
    qtbot.waitUntil(lambda: close_question(window) is not None, timeout=5000)
    answer(close_question(window), QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: gone(composer, window), timeout=5000)
    [saved] = composer.drafts.list()
    assert saved.subject == "Finish me"

    other = composer.new()
    other.drafts_menu.aboutToShow.emit()
    labels = [a.text() for a in other.drafts_menu.actions()]
    assert labels[0] == "Save Draft" and any("Finish me" in t for t in labels)
    pick = next(a for a in other.drafts_menu.actions() if "Finish me" in a.text())
    pick.trigger()
    reopened = composer.windows[-1]
    assert reopened is not other
    assert reopened.to.text() == "later@example.com"
    assert reopened.custom_headers() == [("X-Ticket", "42")]
    assert composer.drafts.list() == []  # it is in a window again
    # Closing the reopened draft unsent asks again.
    reopened.close()
    qtbot.waitUntil(lambda: close_question(reopened) is not None, timeout=5000)
    answer(close_question(reopened), QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: gone(composer, reopened), timeout=5000)
    assert [d.subject for d in composer.drafts.list()] == ["Finish me"]


def test_confirm_close_all_asks_for_each_dirty_window_before_quitting(qapp, qtbot, composer):
    quits: list[int] = []
    clean = composer.new()
    assert composer.confirm_close_all(lambda: quits.append(1)) is True  # nothing to ask
    assert quits == [1]

    first = composer.new()
    first.subject.setText("one")
    second = composer.new()
    second.text_edit.setPlainText("two")
    assert composer.confirm_close_all(lambda: quits.append(2)) is False
    qtbot.waitUntil(lambda: close_question(first) is not None, timeout=5000)
    answer(close_question(first), QMessageBox.StandardButton.Cancel)
    qtbot.waitUntil(lambda: close_question(first) is None, timeout=5000)
    assert quits == [1] and first in composer.windows  # Cancel: the app keeps running
    assert close_question(second) is None

    assert composer.confirm_close_all(lambda: quits.append(3)) is False
    qtbot.waitUntil(lambda: close_question(first) is not None, timeout=5000)
    answer(close_question(first), QMessageBox.StandardButton.Discard)
    qtbot.waitUntil(lambda: close_question(second) is not None, timeout=5000)
    answer(close_question(second), QMessageBox.StandardButton.Save)
    qtbot.waitUntil(lambda: quits == [1, 3], timeout=5000)
    assert composer.windows == [clean]
    assert [d.to for d in composer.drafts.list()] == [""]


# ---- item 15: release picker and the connection-test transcript --------------------------------


def test_release_picker_lists_profiles_and_presets_and_starts_on_the_last_relay(
    qapp, composer, mailbox, profiles
):
    message_id = ingest(mailbox)
    composer.destinations.sink = lambda: SinkEndpoint("127.0.0.1", 2525)
    dialog = composer.release([message_id])
    assert isinstance(dialog, ReleaseDialog)
    keys = dialog.picker.keys()
    assert keys[:2] == [SINK_KEY, LOCAL_KEY]
    assert "preset:gmail" in keys and "preset:sendgrid" in keys
    assert dialog.picker.current_key() == SINK_KEY  # nothing saved or used yet
    dialog.close()

    profiles.save(RelayProfile("Staging", host="smtp.staging.example", port=2525))
    dialog = composer.release([message_id])
    assert "profile:Staging" in dialog.picker.keys()  # noqa: SIM118 (a method, not a dict)
    assert dialog.picker.current_key() == "profile:Staging"  # a relay, not this app
    dialog.close()

    composer.destinations.remember("preset:postmark")
    dialog = composer.release([message_id])
    assert dialog.picker.current_key() == "preset:postmark"
    dialog.close()


def test_release_remembers_the_relay_it_used(qapp, composer, mailbox, profiles):
    message_id = ingest(mailbox)

    async def scenario():
        dialog = composer.release([message_id])
        assert dialog.picker.select(LOCAL_KEY)
        assert composer.destinations.release_default() == SINK_KEY
        reports = await dialog.start_release()
        assert [r.ok for r in reports] == [True]
        assert profiles.last_relay() == ""  # this app's mailbox is not a relay
        dialog.close()

    with qasync_loop(qapp) as loop:
        loop.run_until_complete(scenario())


def test_connection_test_transcript_is_readable_and_resizable(qapp, qtbot, profiles):
    dialog = ProfilesDialog(profiles)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    view = dialog.transcript.view
    lines = view.fontMetrics().lineSpacing()
    assert view.height() >= 10 * lines, (view.height(), lines)
    sizes = dialog.splitter.sizes()
    dialog.splitter.setSizes([sizes[0] - 150, sizes[1] + 150])
    qtbot.waitUntil(lambda: view.height() >= 10 * lines + 150 - 10, timeout=5000)
    dialog.resize(dialog.width(), 600)  # a small screen: the form scrolls, the log stays
    qtbot.waitUntil(lambda: dialog.height() <= 700, timeout=5000)
    assert view.height() >= 10 * lines
    dialog.close()
