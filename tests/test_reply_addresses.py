"""Reply, reply-all and import read addresses with the one parser for received
mail (``core.mime.addresses``), not ``email.utils.getaddresses``.

The messages go through the real ingest (SMTP capture -> SQLite -> parse).
"""

from __future__ import annotations

from datetime import UTC, datetime

from mailcatcher_gui.core.mailio.envelope import envelope_from_headers
from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.core.sending import reply_draft

MUELLER = b"=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@shop.example>"


def ingest(mailbox, raw: bytes):
    message_id = mailbox.accept_sync(
        Capture(raw, "bounce@shop.example", ("me@x.example",), datetime.now(UTC))
    )
    return mailbox.get(message_id)


def message(*headers: bytes) -> bytes:
    return b"\r\n".join([*headers, b"Subject: hello", b"", b"body", b""])


def test_an_encoded_mueller_hans_in_reply_to_is_one_mailbox_in_the_replys_to(mailbox):
    opened = ingest(
        mailbox,
        message(b"From: shop@shop.example", b"Reply-To: " + MUELLER, b"To: me@x.example"),
    )
    assert reply_draft(opened).to == '"Müller, Hans" <hans@shop.example>'


def test_an_unquoted_last_first_sender_is_one_mailbox_in_the_replys_to(mailbox):
    """``Müller, Hans <a>`` (unquoted, raw UTF-8) is one mailbox; getaddresses made
    it ``Müller`` plus ``Hans <a>`` and the reply lost the surname."""
    opened = ingest(
        mailbox,
        message("From: Müller, Hans <hans@shop.example>".encode(), b"To: me@x.example"),
    )
    assert reply_draft(opened).to == '"Müller, Hans" <hans@shop.example>'


def test_reply_all_reads_every_to_and_cc_header_with_encoded_commas(mailbox):
    opened = ingest(
        mailbox,
        message(
            b"From: boss@shop.example",
            b"To: me@x.example, " + MUELLER,
            b'To: "J\xc3\xbcrgen, Bob" <bob@x.example>',  # a second To (hostile, but seen)
            b"Cc: =?utf-8?q?Doe=2C_Jane?= <jane@x.example>",
        ),
    )
    reply = reply_draft(opened, reply_all=True)
    assert reply.to == "boss@shop.example"
    assert reply.cc == (
        '"Müller, Hans" <hans@shop.example>, "Jürgen, Bob" <bob@x.example>, '
        '"Doe, Jane" <jane@x.example>'
    )
    assert (reply.from_name, reply.from_addr) == ("", "me@x.example")


def test_an_imported_envelope_has_only_real_addresses():
    raw = message(
        b"From: " + MUELLER,
        b"To: " + MUELLER + b', "Smith, John" <j@x.example>',
        "Bcc: Müller, Hans <h2@x.example>, undisclosed-recipients:;".encode(),
    )
    sender, recipients = envelope_from_headers(raw)
    assert sender == "hans@shop.example"
    assert recipients == ["hans@shop.example", "j@x.example", "h2@x.example"]
