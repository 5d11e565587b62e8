"""Compose, reply/forward/edit as new, release and relay profiles, in the real app.

Everything runs on a qasync loop with the app's real SMTP sink on port 0
(the same objects ``mailcatcher-gui`` builds), real aiosmtplib sends through
``core.sending``, and, for release and profiles, a second real aiosmtpd
server (``test_sending_servers``) on its own loop thread. The viewer and the
compose preview use the non-Chromium HTML renderer to keep this fast.
"""

from __future__ import annotations

import email
import email.policy
import gc
import time

import aiosmtplib
import pytest
import shiboken6
from gui_helpers import qasync_loop, run_app, wait_for
from keyring.backends import fail
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QColor, QDropEvent, QImage
from smtp_helpers import HOST, shared_cert_dir
from test_sending_servers import (
    PASSWORD,
    USER,
    LoopThread,
    SilentPort,
    closed_port,
    make_pki,
    smtp_server,
)
from viewer_support import WEB_ENV_PATTERNS

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.sending import (
    PRESETS,
    FailureStage,
    ProfileStore,
    RelayProfile,
    Security,
)
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.compose.composer import (
    ComposeFields,
    ComposeWindow,
    draft_from_fields,
    forward_fields,
    re_subject,
    reply_fields,
)
from mailcatcher_gui.ui.compose.profiles_dialog import LOCAL_KEY, SINK_KEY, ProfilesDialog
from mailcatcher_gui.ui.compose.release import ReleaseDialog
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.viewer.transcript_view import _COLOURS
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    # Qt's offscreen platform plugin says these for every top-level window it
    # shows or raises (a compose window comes to the front when opened); they
    # are about the test platform, not about the windows.
    pytest.mark.qt_log_ignore(
        r"^This plugin does not support propagateSizeHints\(\)$",
        r"^This plugin does not support raise\(\)$",
    ),
]


# ---- fixtures -----------------------------------------------------------------------------


@pytest.fixture
def loops():
    # Python's cyclic GC runs in whichever thread happens to allocate. Garbage
    # holding Qt objects (a closed qasync loop's timers, say) must be freed on
    # the GUI thread, never on the server thread: Qt warns "Timers cannot be
    # stopped from another thread". So: no such garbage before it starts.
    gc.collect()
    with LoopThread() as lt:
        yield lt


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def auth_server(loops, pki):
    """aiosmtpd with STARTTLS and AUTH (it refuses AUTH in clear text)."""
    return smtp_server(loops, starttls=pki.server_context(), auth=True)


@pytest.fixture
def profiles(tmp_path):
    # The explicit "no keyring" backend: what this machine (and CI) has.
    return ProfileStore(tmp_path / "config", keyring_backend=fail.Keyring())


class Prompt:
    """The injected password dialog: records who asked, answers ``answer``."""

    def __init__(self, answer: str | None = PASSWORD) -> None:
        self.answer = answer
        self.asked: list[RelayProfile] = []

    def __call__(self, profile: RelayProfile) -> str | None:
        self.asked.append(profile)
        return self.answer


@pytest.fixture
def prompt():
    return Prompt()


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path, profiles, prompt):
    made = []

    def make(auth: AuthMode | None = None):
        config = SinkConfig(
            smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=auth or AuthMode("any")
        )
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        gui = build_gui(
            qapp,
            mailbox,
            config,
            settings,
            view=MessageView(web_engine=False),
            profiles=profiles,
            ask_password=prompt,
        )
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


def png_file(path, colour="#d33"):
    image = QImage(4, 3, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(str(path), "PNG")
    return path


async def capture_via_smtp(port: int, raw: bytes, sender: str, rcpts: list[str]) -> None:
    client = aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False, timeout=10)
    await client.connect()
    try:
        await client.sendmail(sender, rcpts, raw)
    finally:
        await client.quit()


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def fg_colour(view, block_number: int, column: int) -> str:
    """Foreground colour (#rrggbb) at a position in the transcript view."""
    block = view.document().findBlockByNumber(block_number)
    for fragment_it in _fragments(block):
        start = fragment_it.position() - block.position()
        if start <= column < start + fragment_it.length():
            return fragment_it.charFormat().foreground().color().name()
    raise AssertionError("no fragment there")


def _fragments(block):
    it = block.begin()
    while not it.atEnd():
        yield it.fragment()
        it += 1


def line_block(view, predicate) -> int:
    for i, line in enumerate(view.lines):
        if predicate(line):
            return i
    raise AssertionError("no such transcript line")


ORIGINAL = (
    b"From: Shop <orders@shop.example>\r\n"
    b"To: Dev User <dev@example.com>, other@example.com\r\n"
    b"Cc: boss@example.com\r\n"
    b"Subject: Your order #42\r\n"
    b"Date: Tue, 05 Mar 2024 10:00:00 +0100\r\n"
    b"Message-ID: <order-42@shop.example>\r\n"
    b"References: <thread-1@shop.example>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Content-Transfer-Encoding: 8bit\r\n"
    b"\r\n"
    b"Thanks for your order.\r\n"
    b".A line that starts with a dot\r\n"
    b"Gr\xc3\xbc\xc3\x9fe, the shop\r\n"
    b"--b1\r\n"
    b"Content-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="invoice.pdf"\r\n'
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n"
    b"JVBERi0xLjQKJcOkw7zDtsOfCg==\r\n"
    b"--b1--\r\n"
)


# ---- compose -> the app's own sink --------------------------------------------------------


def test_compose_sends_to_the_apps_own_sink_and_it_appears_in_the_list(
    qapp, mailbox, make_gui, tmp_path
):
    gui = make_gui()
    window = gui.window
    report_pdf = tmp_path / "report.pdf"
    report_pdf.write_bytes(b"%PDF-1.4\n" + bytes(range(256)) * 4)
    logo = png_file(tmp_path / "logo.png")

    async def scenario():
        port = gui.sink.port()
        assert window.act_compose.isEnabled()
        assert window.act_compose.shortcut().toString() == "Ctrl+N"
        window.act_compose.trigger()
        assert len(gui.composer.windows) == 1
        compose: ComposeWindow = gui.composer.windows[0]
        assert compose.isVisible()
        # The default destination is the running sink at its real (port 0) address.
        assert compose.picker.current_key() == SINK_KEY
        assert f"127.0.0.1:{port}" in compose.picker.currentText()

        compose.from_name.setText("Zoë Sender")
        compose.from_addr.setText("zoe@example.com")
        compose.to.setText("Dev <dev@example.com>, qa@example.com")
        compose.cc.setText("cc@example.com")
        compose.bcc.setText("hidden@example.com")
        compose.reply_to.setText("replies@example.com")
        compose.subject.setText("Welcome aboard ✓")
        compose.text_edit.setPlainText("Hello in text.\nSecond line.")
        compose.add_files([report_pdf])
        compose.html_edit.setPlainText("<h1>Hello in HTML</h1>\n")
        compose.insert_images([logo])
        assert 'src="cid:logo.png"' in compose.html_edit.toPlainText()
        compose.add_header_row("X-Campaign", "spring-2024")
        assert compose.tabs.tabText(2) == "Attachments (2)"
        assert compose.tabs.tabText(3) == "Headers (1)"

        task = compose.start_send()
        assert task is not None and compose.runner.task is task
        assert not compose.act_send.isEnabled() and compose.act_cancel.isEnabled()
        report = await task
        assert report.ok, report.failure
        assert compose.act_send.isEnabled() and not compose.act_cancel.isEnabled()
        await wait_for(lambda: window.model.rowCount() == 1)

        stored_id = window.model.id_at(0)
        assert report.queue_id == str(stored_id)
        opened = mailbox.get(stored_id)
        parsed = opened.parsed
        assert parsed.header("Subject") == "Welcome aboard ✓"
        assert parsed.header("From") == "Zoë Sender <zoe@example.com>"
        assert parsed.header("Reply-To") == "replies@example.com"
        assert parsed.header("X-Campaign") == "spring-2024"
        assert parsed.header("Bcc") is None and b"hidden@example.com" not in opened.stored.raw
        assert set(opened.stored.summary.envelope_to) == {
            "dev@example.com",
            "qa@example.com",
            "cc@example.com",
            "hidden@example.com",
        }
        assert parsed.text.replace("\r\n", "\n").rstrip("\n") == "Hello in text.\nSecond line."
        assert "<h1>Hello in HTML</h1>" in parsed.html
        by_name = {a.filename: a for a in parsed.attachments}
        assert by_name["report.pdf"].data == report_pdf.read_bytes()
        assert by_name["logo.png"].data == logo.read_bytes()
        assert by_name["logo.png"].content_id == "logo.png"

        # The transcript shows the whole conversation, swaks-style, with colours.
        view = compose.transcript.view
        texts = view.texts()
        assert any(t.startswith("EHLO ") for t in texts)
        assert any(t.startswith("MAIL FROM:<zoe@example.com>") for t in texts)
        assert sum(t.startswith("RCPT TO:") for t in texts) == 4
        assert "DATA" in texts
        assert any(t.startswith("250") and f"queued as {stored_id}" in t for t in texts)
        assert " -> EHLO" in view.toPlainText() and "<-  250" in view.toPlainText()
        light = 0
        client = line_block(view, lambda ln: ln.text == "DATA")
        server = line_block(view, lambda ln: ln.text.startswith("354"))
        column = len("[  0.000s] ") + 1
        assert fg_colour(view, client, column) == _COLOURS["client"][light]
        assert fg_colour(view, server, column) == _COLOURS["server"][light]
        summary = compose.transcript.summary
        assert summary.state == "ok"
        assert f"Queued as {stored_id}" in summary.text()
        assert "qa@example.com" in summary.text()  # accepted recipients are listed
        assert not compose.error.isVisible()

        # "Show message #N in the list" selects the captured copy.
        window.search.setText("nothing matches this")
        window.search.flush()
        assert window.model.rowCount() == 0
        assert f"Show message #{stored_id} in the list" in summary.text()
        summary.label.linkActivated.emit(f"message:{stored_id}")
        assert window.message_list.current_id == stored_id  # search cleared, selected
        assert window.view.opened is not None and window.view.opened.id == stored_id

        # The sender is remembered for the next message.
        window.act_compose.trigger()
        second = gui.composer.windows[1]
        assert second.from_addr.text() == "zoe@example.com"
        assert second.to.text() == "Dev <dev@example.com>, qa@example.com"
        second.close()
        await wait_for(lambda: len(gui.composer.windows) == 1)

    run_app(qapp, gui, scenario, require_sink=True)


@pytest.mark.parametrize(
    ("where", "value", "field", "label"),
    [
        ("subject", "Hello\r\nBcc: victim@example.com", "subject", "Subject"),
        ("to", "dev@example.com\nBcc: victim@example.com", "to", "To"),
        ("from_name", "Eve\r\nX-Injected: 1", "from", "From"),
        ("header", "ok\r\nBcc: victim@example.com", "headers", "custom header"),
    ],
)
def test_header_injection_is_refused_naming_the_field_and_nothing_is_sent(
    qapp, mailbox, make_gui, where, value, field, label
):
    gui = make_gui()
    window = gui.window

    async def scenario():
        compose = gui.composer.new()
        compose.to.setText("dev@example.com")
        compose.subject.setText("Fine")
        if where == "header":
            compose.add_header_row("X-Note", value)
        else:
            getattr(compose, where).setText(value)
        report = await compose.start_send()
        assert report.failure is not None
        assert report.failure.stage is FailureStage.INPUT
        assert report.failure.field == field
        assert compose.error.isVisible()
        assert label in compose.error.text() and "nothing was sent" in compose.error.text()
        marked = compose.invalid_widgets()
        assert marked and all(w.property("invalid") for w in marked)
        if field == "headers":
            assert compose.tabs.currentIndex() == 3  # the Headers tab is shown
            assert marked == [compose.header_table]
        # No SMTP session was even opened.
        assert not any(t.startswith("EHLO") for t in compose.transcript.view.texts())
        assert compose.transcript.summary.state == "error"
        assert mailbox.count() == 0 and window.model.rowCount() == 0
        # Editing the field clears the mark.
        if where != "header":
            widget = getattr(compose, where)
            widget.setFocus()
            widget.end(False)
            widget.backspace()
            widget.textEdited.emit(widget.text())
            assert not widget.property("invalid")
        # Positive control instead of a pause: a valid message from a second
        # compose window to the same sink opens a session (its transcript has
        # EHLO) and arrives. Had the refused one been sent earlier, it would
        # have been stored first; only the control is.
        control = gui.composer.new()
        control.to.setText("dev@example.com")
        control.subject.setText("Control")
        control_report = await control.start_send()
        assert control_report.ok, control_report.failure
        assert any(t.startswith("EHLO") for t in control.transcript.view.texts())
        await wait_for(lambda: window.model.rowCount() == 1)
        assert mailbox.count() == 1
        assert [s.subject for s in mailbox.list()] == ["Control"]

    run_app(qapp, gui, scenario, require_sink=True)


def test_cancel_stops_a_send_to_a_server_that_never_answers(qapp, mailbox, make_gui, profiles):
    with SilentPort() as silent:
        # The send would wait this long for a greeting that never comes.
        silent_timeout = 60
        profiles.save(RelayProfile(name="Silent", port=silent.port, connect_timeout=silent_timeout))
        gui = make_gui()

        async def scenario():
            compose = gui.composer.new()
            assert compose.picker.select("profile:Silent")
            compose.to.setText("dev@example.com")
            compose.subject.setText("never arrives")
            started = time.monotonic()
            task = compose.start_send()
            # Lines stream in while the send is still running: wait until it
            # is connected, i.e. waiting for a greeting that never comes
            # within silent_timeout, so "not done" below is a real state.
            await wait_for(lambda: "Connected to 127.0.0.1." in compose.transcript.view.texts())
            # Cancelled at once: the sending path closes the socket at any instant
            # (tests/test_sending_cancel.py covers the instants one by one).
            assert not task.done() and compose.runner.busy
            assert compose.transcript.view.texts()[0].startswith("Trying 127.0.0.1")
            assert compose.transcript.summary.state == "running"
            assert compose.act_cancel.isEnabled()
            compose.act_cancel.trigger()
            await wait_for(task.done, timeout=silent_timeout / 2)
            assert task.cancelled()
            # Cancelled by the user, not ended by the timeout (the bound is
            # relative to it, so a busy machine cannot make this flake).
            assert time.monotonic() - started < silent_timeout / 2
            assert compose.cancelled
            summary = compose.transcript.summary
            assert summary.state == "cancelled" and "cancelled" in summary.text()
            assert "cancelled" in compose.statusBar().currentMessage().lower()
            assert any("cancelled" in t for t in compose.transcript.view.texts())
            assert compose.act_send.isEnabled() and not compose.act_cancel.isEnabled()
            assert mailbox.count() == 0

        run_app(qapp, gui, scenario, require_sink=True)


def test_failures_are_classified_and_errors_shown_in_red(qapp, mailbox, make_gui, profiles, loops):
    server = smtp_server(loops)
    server.handler.refuse.add("nobody@example.com")
    profiles.save(RelayProfile(name="Picky", port=server.port))
    profiles.save(RelayProfile(name="Closed", port=closed_port(), connect_timeout=3))
    gui = make_gui()

    async def scenario():
        compose = gui.composer.new()
        compose.picker.select("profile:Picky")
        compose.to.setText("dev@example.com, nobody@example.com")
        compose.subject.setText("partly refused")
        report = await compose.start_send()
        assert report.ok and report.accepted == ("dev@example.com",)
        summary = compose.transcript.summary
        assert summary.state == "warning"
        assert "Refused: nobody@example.com" in summary.text() and "550" in summary.text()
        view = compose.transcript.view
        refused = line_block(view, lambda ln: ln.code == 550)
        assert fg_colour(view, refused, len("[  0.000s] ") + 1) == _COLOURS["error"][0]
        assert len(server.handler.messages) == 1

        compose.picker.select("profile:Closed")
        report = await compose.start_send()
        assert report.failure.stage is FailureStage.CONNECT
        assert compose.transcript.summary.state == "error"
        assert "Failed at CONNECT" in compose.transcript.summary.text()
        assert "Failed at CONNECT" in compose.statusBar().currentMessage()

    run_app(qapp, gui, scenario, require_sink=True)


def test_local_mailbox_destination_and_html_only_preview(qapp, mailbox, make_gui, tmp_path):
    gui = make_gui()
    window = gui.window

    async def scenario():
        compose = gui.composer.new()
        compose.picker.select(LOCAL_KEY)
        compose.to.setText("dev@example.com")
        compose.subject.setText("HTML only")
        compose.text_edit.clear()
        compose.html_edit.setPlainText('<p>Hi <img src="https://tracker.example/pixel.gif"></p>')
        compose.tabs.setCurrentIndex(1)  # HTML: source | preview
        # The preview follows the source by itself (debounced, no refresh call),
        # with the viewer's rules: remote content is never loaded (QTextBrowser
        # asks for images when it paints them; each is refused and counted).
        await wait_for(lambda: compose.preview.blocked().total == 1)
        assert "tracker.example" in compose.preview.blocked().host_list()
        assert "Blocked 1 remote resource" in compose.preview_note.text()
        assert "Hi" in compose.preview.toPlainText()
        report = await compose.start_send()
        assert report.ok and report.transport == "local"
        await wait_for(lambda: window.model.rowCount() == 1)
        parsed = mailbox.get(report.stored_id).parsed
        assert parsed.text is None and "tracker.example" in parsed.html
        assert f"Stored as message #{report.stored_id}" in compose.transcript.summary.text()

    run_app(qapp, gui, scenario, require_sink=True)


def test_compose_follows_the_sink_when_its_port_changes(qapp, mailbox, make_gui):
    from smtp_helpers import free_port

    from mailcatcher_gui.ui.window.settings import Preferences

    gui = make_gui()
    window = gui.window

    async def scenario():
        compose = gui.composer.new()
        compose.to.setText("dev@example.com")
        old = gui.sink.port()
        assert f":{old}" in compose.picker.currentText()
        new = free_port()
        window.preferencesChosen.emit(Preferences(smtp_port=new))  # as the Settings dialog does
        await wait_for(lambda: gui.sink is not None and gui.sink.port() == new)
        assert f":{new}" in compose.picker.currentText()
        assert compose.picker.current_key() == SINK_KEY
        report = await compose.start_send()
        assert report.ok and report.target == f"127.0.0.1:{new}"
        await wait_for(lambda: window.model.rowCount() == 1)

    run_app(qapp, gui, scenario, require_sink=True)


def test_dropped_files_become_attachments(qapp, mailbox, make_gui, tmp_path):
    gui = make_gui()
    notes = tmp_path / "notes.txt"
    notes.write_text("dropped\n")

    async def scenario():
        compose = gui.composer.new()
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(notes))])

        def drop_event():
            return QDropEvent(
                QPoint(10, 10).toPointF(),
                Qt.DropAction.CopyAction,
                mime,
                Qt.MouseButton.LeftButton,
                Qt.KeyboardModifier.NoModifier,
            )

        compose.dropEvent(drop_event())  # on the window
        assert compose.eventFilter(compose.to, drop_event())  # on a one-line field
        compose.text_edit.insertFromMimeData(mime)  # on the text body
        assert compose.text_edit.toPlainText() == ""  # a file, not its path as text
        assert [a.filename for a in compose.attachments] == ["notes.txt"] * 3
        assert compose.tabs.tabText(2) == "Attachments (3)"
        assert compose.tabs.currentIndex() == 2
        for row in (1, 2):
            compose.attachment_list.topLevelItem(row).setSelected(True)
        compose.remove_selected_attachments()
        compose.attachment_list.topLevelItem(0).setSelected(True)
        compose.toggle_inline_selected()
        assert compose.attachments == [] and compose.inline_parts[0].content_id == "notes.txt"

    run_app(qapp, gui, scenario, require_sink=True)


# ---- from a captured message ------------------------------------------------------------------


def test_reply_forward_and_edit_as_new_prefill_from_the_selected_message(qapp, mailbox, make_gui):
    gui = make_gui()
    window = gui.window

    async def scenario():
        await capture_via_smtp(
            gui.sink.port(), ORIGINAL, "bounce@shop.example", ["dev@example.com"]
        )
        await wait_for(lambda: window.model.rowCount() == 1)
        assert not window.act_reply.isEnabled()
        window.message_list.select_row(0)
        original_id = window.model.id_at(0)
        assert window.act_reply.isEnabled() and window.act_release.isEnabled()
        message_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Message")
        assert {
            window.act_reply,
            window.act_forward,
            window.act_edit_as_new,
            window.act_release,
        } <= set(message_menu.actions())
        assert window.context_actions()[:5] == [
            window.act_reply,
            window.act_reply_all,
            window.act_forward,
            window.act_edit_as_new,
            window.act_release,
        ]
        assert window.act_compose in window.toolbar.actions()
        assert window.act_reply in window.toolbar.actions()

        window.act_reply.trigger()
        reply = gui.composer.windows[-1]
        assert reply.subject.text() == "Re: Your order #42"
        assert reply.to.text() == "Shop <orders@shop.example>"
        assert reply.from_addr.text() == "dev@example.com"
        assert reply.from_name.text() == "Dev User"
        headers = dict(reply.custom_headers())
        assert headers["In-Reply-To"] == "<order-42@shop.example>"
        assert headers["References"] == "<thread-1@shop.example> <order-42@shop.example>"
        body = reply.text_edit.toPlainText()
        assert "wrote:\n> Thanks for your order." in body
        assert "> Grüße, the shop" in body
        assert reply.attachments == []

        # The reply goes through the same backend and threads correctly.
        sent = await reply.start_send()
        assert sent.ok
        await wait_for(lambda: window.model.rowCount() == 2)
        threaded = mailbox.get(int(sent.queue_id)).parsed
        assert threaded.header("In-Reply-To") == "<order-42@shop.example>"
        assert threaded.header("Subject") == "Re: Your order #42"

        window.message_list.select_id(original_id)
        window.act_reply_all.trigger()
        reply_all = gui.composer.windows[-1]
        assert reply_all.cc.text() == "other@example.com, boss@example.com"

        window.act_forward.trigger()
        fwd = gui.composer.windows[-1]
        assert fwd.subject.text() == "Fwd: Your order #42"
        assert fwd.to.text() == ""
        assert "---------- Forwarded message ---------" in fwd.text_edit.toPlainText()
        assert "Subject: Your order #42" in fwd.text_edit.toPlainText()
        assert [(a.filename, a.data) for a in fwd.attachments] == [
            ("invoice.pdf", b"%PDF-1.4\n%\xc3\xa4\xc3\xbc\xc3\xb6\xc3\x9f\n")
        ]

        window.act_edit_as_new.trigger()
        again = gui.composer.windows[-1]
        assert again.from_addr.text() == "orders@shop.example"
        assert again.to.text() == "Dev User <dev@example.com>, other@example.com"
        assert again.subject.text() == "Your order #42"
        assert [a.filename for a in again.attachments] == ["invoice.pdf"]
        assert "References" in dict(again.custom_headers())
        assert "Message-ID" not in dict(again.custom_headers())

    run_app(qapp, gui, scenario, require_sink=True)


def test_prefill_functions_on_html_and_hostile_headers(mailbox):
    raw = (
        b"From: =?utf-8?q?Evil=0D=0ABcc=3A_x=40y?= <evil@example.com>\r\n"
        b"To: dev@example.com\r\n"
        b"Subject: =?utf-8?q?RE=3A_hi=0D=0AX-Injected=3A_1?=\r\n"
        b"Message-ID: <m1@example.com>\r\n"
        b"MIME-Version: 1.0\r\n"
        b'Content-Type: multipart/related; boundary="r"\r\n\r\n'
        b"--r\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
        b'<html><body><p>Logo:</p><img src="cid:logo@x"></body></html>\r\n'
        b"--r\r\nContent-Type: image/png\r\nContent-ID: <logo@x>\r\n"
        b"Content-Disposition: inline\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"iVBORw0KGgo=\r\n--r--\r\n"
    )
    from datetime import UTC, datetime

    from mailcatcher_gui.core.models import Capture

    message_id = mailbox.accept_sync(
        Capture(raw, "evil@example.com", ("dev@example.com",), datetime.now(UTC))
    )
    opened = mailbox.get(message_id)
    reply = reply_fields(opened)
    assert reply.subject == "RE: hi X-Injected: 1"  # one line, no second "Re:"
    assert "\n" not in reply.to and "> Logo:" in reply.text
    draft = draft_from_fields(replace_fields(reply))
    assert draft.subject == reply.subject
    fwd = forward_fields(opened)
    assert fwd.inline and fwd.inline[0].content_id == "logo@x"
    assert fwd.html.index("Forwarded message") > fwd.html.index("<body>")
    assert re_subject("Re: x") == "Re: x" and re_subject("x") == "Re: x"


def replace_fields(fields: ComposeFields) -> ComposeFields:
    fields.to = fields.to or "a@example.com"
    return fields


# ---- release ----------------------------------------------------------------------------------


def test_release_sends_the_captured_bytes_unchanged_to_another_server(
    qapp, mailbox, make_gui, profiles, loops
):
    second = smtp_server(loops)
    profiles.save(RelayProfile(name="Staging relay", port=second.port))
    gui = make_gui()
    window = gui.window

    async def scenario():
        await capture_via_smtp(
            gui.sink.port(), ORIGINAL, "bounce@shop.example", ["dev@example.com", "b@example.com"]
        )
        await wait_for(lambda: window.model.rowCount() == 1)
        window.message_list.select_row(0)
        captured = mailbox.raw(window.model.id_at(0))
        dialog = window.release_selected()
        assert isinstance(dialog, ReleaseDialog) and dialog.isVisible()
        # Defaults: the original envelope.
        assert dialog.recipients.text() == "dev@example.com, b@example.com"
        assert dialog.envelope_sender.text() == "bounce@shop.example"
        assert dialog.picker.select("profile:Staging relay")
        task = dialog.start_release()
        assert task is not None and dialog.runner.task is task
        reports = await task
        assert [r.ok for r in reports] == [True]
        assert len(second.handler.messages) == 1
        received = second.handler.messages[0]
        assert received.content == captured  # byte for byte
        assert received.mail_from == "bounce@shop.example"
        assert received.rcpt_tos == ["dev@example.com", "b@example.com"]
        texts = dialog.transcript.view.texts()
        assert any(t.startswith("RCPT TO:<b@example.com>") for t in texts)
        assert any(t.startswith("250") and "queued as Q1" in t for t in texts)
        assert dialog.transcript.summary.state == "ok"
        assert "Queued as Q1" in dialog.transcript.summary.text()

        # Other recipients; a bad one is refused before anything is sent.
        dialog.recipients.setText("qa@example.com")
        reports = await dialog.start_release()
        assert reports[0].ok and second.handler.messages[1].rcpt_tos == ["qa@example.com"]
        dialog.recipients.setText("not an address")
        reports = await dialog.start_release()
        assert reports[0].failure.stage is FailureStage.INPUT
        assert dialog.error.isVisible() and "not a valid" in dialog.error.text()
        assert len(second.handler.messages) == 2
        dialog.close()
        await wait_for(lambda: not gui.composer.dialogs)

    run_app(qapp, gui, scenario, require_sink=True)


# ---- passwords and profiles ----------------------------------------------------------------------


def test_password_is_asked_per_send_without_a_keyring(
    qapp, mailbox, make_gui, profiles, prompt, loops, pki
):
    server = auth_server(loops, pki)
    profiles.save(
        RelayProfile(
            name="Auth relay",
            port=server.port,
            security=Security.STARTTLS,
            ca_file=str(pki.ca_file),
            username=USER,
        )
    )
    gui = make_gui()

    async def scenario():
        compose = gui.composer.new()
        compose.picker.select("profile:Auth relay")
        compose.to.setText("dev@example.com")
        compose.subject.setText("with login")
        report = await compose.start_send()
        assert report.ok, report.failure
        assert [p.name for p in prompt.asked] == ["Auth relay"]
        assert server.handler.messages[0].auth_user == USER
        assert server.handler.messages[0].tls
        assert "TLS: TLSv1.3" in compose.transcript.summary.text()
        assert PASSWORD not in compose.transcript.view.toPlainText()  # redacted

        prompt.answer = None  # the user cancels the dialog
        assert compose.start_send() is None
        assert len(prompt.asked) == 2
        assert compose.error.isVisible() and "no password given" in compose.error.text()
        assert len(server.handler.messages) == 1

    run_app(qapp, gui, scenario, require_sink=True)


def test_sink_requiring_auth_is_reached_with_its_own_credentials(qapp, mailbox, make_gui, prompt):
    gui = make_gui(AuthMode("required", "app", "sink-secret"))

    async def scenario():
        compose = gui.composer.new()
        compose.to.setText("dev@example.com")
        report = await compose.start_send()
        assert report.ok, report.failure
        assert report.auth_mechanism is not None
        assert prompt.asked == []  # the sink's own login, no prompt
        await wait_for(lambda: mailbox.count() == 1)

    run_app(qapp, gui, scenario, require_sink=True)


def test_profiles_dialog_edits_presets_and_tests_connections(qapp, profiles, prompt, loops, pki):
    server = auth_server(loops, pki)

    dialog = ProfilesDialog(profiles, ask_password=prompt)
    dialog.show()

    async def scenario():
        assert dialog.list.count() == 0 and dialog.dirty  # starts a new profile
        assert not dialog.form.password.isEnabled()  # no keyring on this machine
        assert "No system keyring" in dialog.keyring_note.text()

        dialog.new_profile(PRESETS["sendgrid"])
        assert dialog.form.host.text() == "smtp.sendgrid.net"
        assert dialog.form.username.text() == "apikey"
        assert dialog.save_current()
        assert dialog.names() == ["SendGrid"]
        saved = profiles.get("SendGrid")
        assert saved.security is Security.STARTTLS and saved.port == 587

        dialog.new_profile()
        dialog.form.name.setText("Local test")
        dialog.form.host.setText("127.0.0.1")
        dialog.form.port.setValue(server.port)
        dialog.form.security.setCurrentIndex(dialog.form.security.findData("starttls"))
        dialog.form.ca_file.setText(str(pki.ca_file))
        dialog.form.username.setText(USER)
        assert dialog.save_current()
        assert dialog.names() == ["SendGrid", "Local test"]
        assert PASSWORD not in profiles.path.read_text()

        task = dialog.start_test()
        report = await task
        assert report.ok, report.failure
        assert [p.name for p in prompt.asked] == ["Local test"]
        texts = dialog.transcript.view.texts()
        assert any(t.startswith("EHLO") for t in texts) and "QUIT" in texts
        assert not any(t.startswith("MAIL FROM") for t in texts)
        assert dialog.transcript.summary.state == "ok"
        assert "Connection OK" in dialog.transcript.summary.text()
        assert "AUTH PLAIN" in dialog.transcript.summary.text()
        assert server.handler.messages == []

        # A bad name is refused with the backend's message.
        dialog.form.host.setText("")
        assert not dialog.save_current()
        assert "host is empty" in dialog.error.text()
        dialog.form.host.setText("127.0.0.1")
        dialog.form.name.setText("SendGrid")
        assert not dialog.save_current() and "already exists" in dialog.error.text()

        dialog.list.setCurrentRow(0)
        dialog.delete_current()
        assert [p.name for p in profiles.list()] == ["Local test"]

    try:
        with qasync_loop(qapp) as loop:
            loop.run_until_complete(scenario())
    finally:
        dialog.close()
        shiboken6.delete(dialog)  # now, on this thread (see ``loops``)
        gc.collect()


# ---- the transcript view on its own ------------------------------------------------------------


def test_transcript_follows_the_end_until_the_user_scrolls_up(qtbot):
    from datetime import UTC, datetime

    from mailcatcher_gui.core.sending import Direction, Stage, TranscriptLine
    from mailcatcher_gui.ui.viewer.transcript_view import TranscriptPanel

    panel = TranscriptPanel(title="t")
    qtbot.addWidget(panel)
    panel.resize(500, 200)
    panel.show()
    view = panel.view
    bar = view.verticalScrollBar()

    def line(i: int, direction=Direction.CLIENT, code=None) -> TranscriptLine:
        return TranscriptLine(
            direction, f"line {i}", datetime.now(UTC), i / 100, Stage.DATA, code=code
        )

    panel.begin("Sending")
    for i in range(60):
        view.append_line(line(i))
    assert bar.maximum() > 0 and bar.value() == bar.maximum() and view.is_following()
    bar.setValue(0)  # the user scrolls up to read
    assert not view.is_following()
    view.append_line(line(60, Direction.SERVER, 550))
    assert bar.value() == 0
    bar.setValue(bar.maximum())  # ... and back down: following again
    view.append_line(line(61, Direction.ERROR))
    assert bar.value() == bar.maximum()
    assert view.texts()[-2:] == ["line 60", "line 61"]
    assert view.swaks_text().splitlines()[-2].endswith("<** line 60")
    assert view.swaks_text().splitlines()[-1].endswith("*** line 61")
    panel.timestamps.setChecked(False)  # re-rendered without timings
    assert view.toPlainText().splitlines()[0] == " -> line 0"
    assert panel.summary.state == "running"


# ---- the real (Chromium) preview -----------------------------------------------------------------


@pytest.mark.web
@pytest.mark.qt_log_ignore(*WEB_ENV_PATTERNS, r"^This plugin does not support raise\(\)$")
def test_chromium_preview_shows_inline_images_and_blocks_remote(
    qtbot, qapp, mailbox, profiles, tmp_path
):
    from PySide6.QtCore import QCoreApplication, QEvent

    from mailcatcher_gui.ui.compose.composer import Composer

    composer = Composer(mailbox, profiles, web_engine=True)
    try:
        compose = composer.new()
        assert getattr(compose.preview, "uses_chromium", False)
        compose.tabs.setCurrentIndex(1)
        compose.html_edit.setPlainText(
            '<p>Logo:</p><img src="https://tracker.example/open.gif" width="1" height="1">\n'
        )
        compose.insert_images([png_file(tmp_path / "logo.png")])
        qtbot.waitUntil(
            lambda: any("logo.png" in url for url in compose.preview.served_urls()), timeout=20000
        )
        qtbot.waitUntil(lambda: compose.preview.blocked().total == 1, timeout=20000)
        assert compose.preview.blocked().host_list() == ["tracker.example"]
        assert "Blocked 1 remote resource" in compose.preview_note.text()
    finally:
        composer.shutdown()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        gc.collect()
    assert composer.windows == []
