"""One address model, end to end: raw header bytes -> ingest summary -> store -> list text.

The cases are the ones users saw go wrong when the list re-parsed unquoted
display strings with ``email.utils``: a quoted name with a comma and a
parenthesis, an RFC 2047-encoded name with a comma, and a quoted name that
contains angle brackets. Both ways a row reaches the list are checked: read
from the store (a page fetch) and announced by the mailbox as new mail.
"""

from __future__ import annotations

import gc
from datetime import UTC, datetime

import pytest
from gui_helpers import capture

from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.window.list_model import Column, MessageListModel

pytestmark = pytest.mark.gui


@pytest.fixture(autouse=True)
def _no_qt_garbage_for_the_writer_thread(qapp):
    """Collect earlier tests' cyclic garbage here, on the main thread.

    These tests make the mailbox writer thread allocate (``summarize``), so
    Python's cycle collector may run *there*; had an earlier test left a
    QObject with live timers in a reference cycle (test_event_loop's loops
    do), Qt would destroy it on the wrong thread: "Timers cannot be stopped
    from another thread", or a crash. Not something these tests check.
    """
    gc.collect()


#: (From header, To header, From column text, To column text)
CASES = [
    (
        b'"Smith, John (Sales)" <j@x.com>',
        b"dev@example.com",
        "Smith, John (Sales)",
        "dev@example.com",
    ),
    (
        b"=?utf-8?q?M=C3=BCller=2C_Hans?= <hans@x.com>",
        b"dev@example.com",
        "Müller, Hans",
        "dev@example.com",
    ),
    (
        b"sender@example.com",
        b'"John <Admin>" <j@x.com>',
        "sender@example.com",
        "John <Admin>",
    ),
    (
        # Encoded names with commas in a list: base64 UTF-8 and Q latin-1,
        # one of them folded onto a second line.
        b"=?utf-8?b?w4VuZ3N0csO2bSwgQW5kZXJz?= <anders@x.com>",
        b"=?utf-8?b?w4VuZ3N0csO2bSwgQW5kZXJz?= <anders@x.com>,\r\n"
        b" =?iso-8859-1?q?Doe=2C_J=F6rg?= <joerg@x.com>, plain@x.com",
        "Ångström, Anders",
        "Ångström, Anders, Doe, Jörg, plain@x.com",
    ),
]


def _raw(i: int, from_: bytes, to: bytes) -> bytes:
    return (
        b"From: " + from_ + b"\r\nTo: " + to + b"\r\n"
        b"Subject: case " + str(i).encode() + b"\r\n\r\nbody\r\n"
    )


def _captures() -> list[Capture]:
    return [
        Capture(
            raw=_raw(i, from_, to),
            envelope_from="sender@example.com",
            envelope_to=("dev@example.com",),
            received_at=datetime(2025, 1, 1, 12, i, tzinfo=UTC),
        )
        for i, (from_, to, _f, _t) in enumerate(CASES)
    ]


def _shown(model: MessageListModel) -> dict[str, tuple[str, str]]:
    """Subject -> (From text, To text) as the list displays them."""
    out = {}
    for row in range(model.rowCount()):
        subject = model.data(model.index(row, Column.SUBJECT))
        out[subject] = (
            model.data(model.index(row, Column.FROM)),
            model.data(model.index(row, Column.TO)),
        )
    return out


EXPECTED = {f"case {i}": (f, t) for i, (_fr, _to, f, t) in enumerate(CASES)}


def test_list_shows_whole_display_names_read_from_the_store(qapp, mailbox):
    mailbox.accept_many_sync(_captures())  # summarize() runs on the writer, as for SMTP
    model = MessageListModel(mailbox)  # every row comes from a page read
    assert _shown(model) == EXPECTED


def test_list_shows_whole_display_names_announced_as_new_mail(qtbot, mailbox):
    mailbox.accept_sync(capture(0))  # a cached top row, so new mail is placed from the events
    bridge = MailboxBridge(mailbox)
    try:
        model = MessageListModel(mailbox, coalesce_ms=10)
        bridge.messagesAdded.connect(model.on_messages_added)
        assert model.id_at(0) is not None and model.page_fetches == 1
        mailbox.accept_many_sync(
            [
                Capture(
                    raw=c.raw,
                    envelope_from=c.envelope_from,
                    envelope_to=c.envelope_to,
                    received_at=datetime.now(UTC),
                )
                for c in _captures()
            ]
        )
        qtbot.waitUntil(lambda: model.rowCount() == 1 + len(CASES))
        assert model.page_fetches == 1  # the texts came from the announced summaries
        shown = _shown(model)
        del shown["Burst 0"]
        assert shown == EXPECTED
    finally:
        bridge.close()
