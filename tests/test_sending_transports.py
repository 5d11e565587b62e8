"""The non-SMTP transports: this app's mailbox, .eml files, a console stream, memory."""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import io

from mailcatcher_gui.core.models import MessagesAdded
from mailcatcher_gui.core.sending import (
    ConsoleTransport,
    Draft,
    DraftAttachment,
    FailureStage,
    FileTransport,
    LocalTransport,
    MemoryTransport,
    RawMessage,
    SendRequest,
    Stage,
    send,
    send_batch_sync,
    send_sync,
)

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(100))


def rich_draft() -> Draft:
    return Draft(
        from_="Ünïcode Sender <sender@example.org>",
        to=("to@example.org",),
        cc=("cc@example.org",),
        bcc=("secret@example.org",),
        subject="Local délivery",
        text="text body\n",
        html='<p>html body <img src="cid:pic"></p>',
        attachments=(DraftAttachment("doc.pdf", PDF),),
        inline=(DraftAttachment("pic.png", PNG, content_id="pic"),),
        headers=(("X-Test-Run", "local-1"),),
    )


def test_local_round_trip_into_a_real_mailbox(mailbox):
    events = []
    mailbox.subscribe(events.append)
    report = asyncio.run(send(SendRequest(rich_draft(), LocalTransport(mailbox))))

    assert report.ok, report.failure
    assert report.transport == "local"
    assert report.stored_id is not None
    assert any(f"#{report.stored_id}" in line.text for line in report.transcript)
    assert all(line.stage is Stage.DELIVER for line in report.transcript)
    assert report.accepted == ("to@example.org", "cc@example.org", "secret@example.org")
    assert [type(e) for e in events] == [MessagesAdded]

    opened = mailbox.get(report.stored_id)
    stored = opened.stored
    assert stored.source == "local"
    assert stored.summary.envelope_from == "sender@example.org"
    assert stored.summary.envelope_to == ("to@example.org", "cc@example.org", "secret@example.org")
    assert b"secret@example.org" not in stored.raw
    parsed = opened.parsed
    assert parsed.header("Subject") == "Local délivery"
    assert parsed.header("X-Test-Run") == "local-1"
    assert parsed.header("Message-ID") == report.message_id
    assert parsed.header("Bcc") is None
    assert parsed.text.replace("\r\n", "\n") == "text body\n"
    assert 'src="cid:pic"' in parsed.html
    by_name = {a.filename: a for a in parsed.attachments}
    assert by_name["doc.pdf"].sha256 == hashlib.sha256(PDF).hexdigest()
    assert by_name["pic.png"].content_id == "pic"
    assert by_name["pic.png"].sha256 == hashlib.sha256(PNG).hexdigest()
    assert parsed.attachment_by_cid("pic") is not None


def test_local_release_of_raw_bytes(mailbox):
    raw = b"Subject: raw\r\nFrom: a@example.org\r\n\r\nunchanged \xff bytes\r\n"
    report = send_sync(
        SendRequest(RawMessage(raw, "a@example.org", ("b@example.org",)), LocalTransport(mailbox))
    )
    assert report.ok
    assert mailbox.raw(report.stored_id) == raw


def test_local_delivery_failure_is_reported(store):
    from mailcatcher_gui.core.mailbox import Mailbox

    closed = Mailbox(store)
    closed.close()
    report = send_sync(SendRequest(rich_draft(), LocalTransport(closed)))
    assert report.failure.stage is FailureStage.DELIVERY
    assert "closed" in report.failure.message
    assert not any(r.accepted for r in report.recipients)


def test_file_transport_writes_eml(tmp_path):
    folder = tmp_path / "out"
    reports = send_batch_sync([rich_draft(), rich_draft()], FileTransport(folder))
    assert [r.ok for r in reports] == [True, True]
    files = sorted(folder.glob("*.eml"))
    assert len(files) == 2
    assert sorted(r.path for r in reports) == [str(f) for f in files]
    assert not list(folder.glob("*.part"))
    msg = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert msg["Subject"] == "Local délivery"
    assert msg["Bcc"] is None


def test_file_transport_failure(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    report = send_sync(SendRequest(rich_draft(), FileTransport(blocker)))
    assert report.failure.stage is FailureStage.DELIVERY
    assert str(blocker) in report.failure.message


def test_console_transport_prints_message():
    stream = io.StringIO()
    report = send_sync(SendRequest(rich_draft(), ConsoleTransport(stream)))
    assert report.ok
    out = stream.getvalue()
    printed = email.message_from_string(out, policy=email.policy.default)
    assert printed["Subject"] == "Local délivery"
    assert out.rstrip("\n").endswith(ConsoleTransport.SEPARATOR)
    assert "\r" not in out


def test_memory_transport_and_input_errors():
    outbox = MemoryTransport()
    reports = send_batch_sync(
        [rich_draft(), Draft(from_="a@example.org", to=("b@example.org\n",))], outbox
    )
    assert reports[0].ok
    assert reports[1].failure.stage is FailureStage.INPUT
    assert reports[1].failure.field == "to"
    assert len(outbox.outbox) == 1
    sent = outbox.outbox[0]
    assert sent.envelope_to == ("to@example.org", "cc@example.org", "secret@example.org")
    assert sent.message_id == reports[0].message_id
    assert email.message_from_bytes(sent.raw)["X-Test-Run"] == "local-1"
