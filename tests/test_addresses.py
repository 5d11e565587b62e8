"""The one address model (no Qt): header text -> (display name, address) pairs.

``core.mime.addresses`` splits a raw header once; the pairs travel through
the ingest summary and the store unchanged, and the ``"Name <addr>"`` text
of the JSON CLI contract is only ever *made* from them. These tests pin the
pairs for the cases that a re-parse of display text got wrong, the store's
encoding (including rows written before the pairs were kept), and the
helpers other parts call instead of ``email.utils``.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.mime.addresses import (
    addr_specs,
    header_addresses,
    parse_address_list,
    parse_addresses,
    parse_header_values,
)
from mailcatcher_gui.core.mime.parse import parse_message
from mailcatcher_gui.core.mime.recipients import envelope_only_recipients
from mailcatcher_gui.core.mime.summary import summarize
from mailcatcher_gui.core.models import (
    Address,
    Capture,
    MessageSummary,
    Summary,
    address_from_display,
    address_labels,
    format_addresses,
)
from mailcatcher_gui.core.store.database import Store

A = Address


@pytest.mark.parametrize(
    ("header", "pairs"),
    [
        ('"Smith, John (Sales)" <j@x.com>', [A("Smith, John (Sales)", "j@x.com")]),
        ("=?utf-8?q?M=C3=BCller=2C_Hans?= <h@x.com>", [A("Müller, Hans", "h@x.com")]),
        ('"John <Admin>" <j@x.com>', [A("John <Admin>", "j@x.com")]),
        (
            "=?utf-8?b?w4VuZ3N0csO2bSwgQW5kZXJz?= <a@x.com>, =?iso-8859-1?q?Doe=2C_J=F6rg?= <d@x>",
            [A("Ångström, Anders", "a@x.com"), A("Doe, Jörg", "d@x")],
        ),
        ('"Doe, Jane" <jane@x>, bob@x', [A("Doe, Jane", "jane@x"), A("", "bob@x")]),
        ("Doe, Jane <jane@x>", [A("Doe, Jane", "jane@x")]),  # the unquoted mistake
        ("team: a@x, B <b@x>;", [A("", "a@x"), A("B", "b@x")]),
        ("undisclosed-recipients:;", [A("", "undisclosed-recipients:;")]),
        ("jane@x (Jane Doe)", [A("Jane Doe", "jane@x")]),
        ("a@x <a@x>", [A("", "a@x")]),
        ("<@relay:user@host>", [A("", "user@host")]),
        ("", []),
    ],
)
def test_header_text_becomes_pairs(header: str, pairs: list[Address]) -> None:
    assert parse_addresses(header) == pairs
    # The display text is made from the pairs, exactly as before the pairs existed.
    assert parse_address_list(header) == [p.formatted() for p in pairs]


def test_formatting_and_labels() -> None:
    addrs = [A("Smith, John", "j@x"), A("", "b@x"), A("", "undisclosed-recipients:;")]
    assert format_addresses(addrs) == "Smith, John <j@x>, b@x, undisclosed-recipients:;"
    assert address_labels(addrs) == "Smith, John, b@x, undisclosed-recipients:;"
    assert A("John <Admin>", "j@x").formatted() == "John <Admin> <j@x>"


@pytest.mark.parametrize(
    "pair",
    [
        A("John <Admin>", "j@x.com"),
        A("Smith, John (Sales)", "j@x.com"),
        A("", "bob@x"),
        A("", "undisclosed-recipients:;"),
        A("", "<odd"),
    ],
)
def test_text_only_values_are_read_back_by_inverting_the_format(pair: Address) -> None:
    assert address_from_display(pair.formatted()) == pair


def test_value_objects_keep_text_and_pairs_in_step() -> None:
    from_pairs = (A("Smith, John", "j@x"),)
    s = Summary(from_addrs=from_pairs, to_addrs=(A("", "a@x"), A("B", "b@x")))
    assert s.from_ == "Smith, John <j@x>" and s.to == ("a@x", "B <b@x>")
    t = Summary(from_="Smith, John <j@x>", cc=("John <Admin> <c@x>",))
    assert t.from_addrs == from_pairs and t.cc_addrs == (A("John <Admin>", "c@x"),)
    assert Summary().from_addrs == () and Summary().from_ == ""


def test_summary_pairs_from_raw_bytes() -> None:
    raw = (
        b'From: "Smith, John (Sales)" <j@x.com>\r\n'
        b"To: =?utf-8?q?M=C3=BCller=2C_Hans?= <h@x.com>,\r\n"
        b'  "John <Admin>" <admin@x.com>\r\n'
        b"Cc: J\xc3\xbcrgen <jue@x.com>\r\n"  # 8-bit UTF-8, no encoded word
        b"To: second@x.com\r\n"  # a second To header counts too
        b"\r\nbody\r\n"
    )
    s = summarize(raw)
    assert s.from_addrs == (A("Smith, John (Sales)", "j@x.com"),)
    assert s.to_addrs == (
        A("Müller, Hans", "h@x.com"),
        A("John <Admin>", "admin@x.com"),
        A("", "second@x.com"),
    )
    assert s.cc_addrs == (A("Jürgen", "jue@x.com"),)
    # The JSON contract's text, unchanged in form:
    assert s.from_ == "Smith, John (Sales) <j@x.com>"
    assert s.to == ("Müller, Hans <h@x.com>", "John <Admin> <admin@x.com>", "second@x.com")


def test_a_from_without_any_mailbox_is_kept_as_text() -> None:
    s = summarize(b"From: (nobody at all)\r\n\r\nx\r\n")
    assert s.from_ == "(nobody at all)" and s.from_addrs == (A("", "(nobody at all)"),)


# ---- the store ---------------------------------------------------------------------


def _capture(raw: bytes) -> Capture:
    return Capture(
        raw=raw,
        envelope_from="env@x.com",
        envelope_to=("rcpt@x.com",),
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
    )


RAW = (
    b'From: "Smith, John (Sales)" <j@x.com>\r\n'
    b'To: "John <Admin>" <admin@x.com>, =?iso-8859-1?q?Doe=2C_J=F6rg?= <d@x.com>\r\n'
    b"Cc: undisclosed-recipients:;\r\n"
    b"Subject: s\r\n\r\nbody\r\n"
)


def test_store_keeps_the_pairs_and_the_json_contract(tmp_path) -> None:
    with Store(tmp_path / "m.sqlite3") as store:
        (announced,), _ = store.add([(_capture(RAW), summarize(RAW))])
        (listed,) = store.list()
    for s in (announced, listed):
        assert s.from_addrs == (A("Smith, John (Sales)", "j@x.com"),)
        assert s.to_addrs == (A("John <Admin>", "admin@x.com"), A("Doe, Jörg", "d@x.com"))
        assert s.cc_addrs == (A("", "undisclosed-recipients:;"),)
    assert listed == announced
    js = listed.to_json()
    assert (js["from"], js["to"], js["cc"]) == (
        "Smith, John (Sales) <j@x.com>",
        ["John <Admin> <admin@x.com>", "Doe, Jörg <d@x.com>"],
        ["undisclosed-recipients:;"],
    )


def test_rows_stored_before_the_pairs_still_read(tmp_path) -> None:
    path = tmp_path / "m.sqlite3"
    with Store(path) as store:
        (s,), _ = store.add([(_capture(RAW), summarize(RAW))])
    # What the store wrote before: the display text, no pairs.
    with sqlite3.connect(path) as db:
        db.execute(
            "UPDATE messages SET header_from = ?, header_to = ?, header_cc = ? WHERE id = ?",
            (
                "Smith, John (Sales) <j@x.com>",
                json.dumps(["John <Admin> <admin@x.com>", "Doe, Jörg <d@x.com>"]),
                json.dumps([]),
                s.id,
            ),
        )
    db.close()
    with Store(path) as store:
        (old,) = store.list()
    assert old.from_ == "Smith, John (Sales) <j@x.com>"
    assert old.from_addrs == (A("Smith, John (Sales)", "j@x.com"),)
    assert old.to_addrs == (A("John <Admin>", "admin@x.com"), A("Doe, Jörg", "d@x.com"))
    assert old.to == ("John <Admin> <admin@x.com>", "Doe, Jörg <d@x.com>")
    assert old.cc == () and old.cc_addrs == ()


def test_a_from_text_that_looks_like_json_is_not_mistaken(tmp_path) -> None:
    path = tmp_path / "m.sqlite3"
    with Store(path) as store:
        (s,), _ = store.add([(_capture(RAW), summarize(RAW))])
    with sqlite3.connect(path) as db:
        db.execute("UPDATE messages SET header_from = '[[not json' WHERE id = ?", (s.id,))
    db.close()
    with Store(path) as store:
        (old,) = store.list()
    assert old.from_ == "[[not json" and old.from_addrs == (A("", "[[not json"),)


# ---- helpers for the other consumers -------------------------------------------------------


MESSAGE = (
    b"From: =?utf-8?q?M=C3=BCller=2C_Hans?= <h@x.com>\r\n"
    b"Reply-To: =?utf-8?q?Support=2C_Team?= <support@x.com>\r\n"
    b"To: =?utf-8?q?Doe=2C_Jane?= <jane@x.com>, undisclosed-recipients:;\r\n"
    b"Cc: J\xc3\xbcrgen <jue@x.com>\r\n"
    b"Return-Path: <>\r\n"
    b"Subject: s\r\n\r\nbody\r\n"
)


def test_header_addresses_of_a_parsed_message() -> None:
    parsed = parse_message(MESSAGE)
    assert parsed.header("To") == "Doe, Jane <jane@x.com>, undisclosed-recipients:;"  # decoded
    assert header_addresses(parsed, "Reply-To") == [A("Support, Team", "support@x.com")]
    assert header_addresses(parsed, "to", "CC") == [
        A("Doe, Jane", "jane@x.com"),
        A("Jürgen", "jue@x.com"),
    ]
    assert header_addresses(parsed, "Bcc") == []


def test_parse_header_values_reads_raw_values_not_decoded_ones() -> None:
    parsed = parse_message(MESSAGE)
    raw_to = [h.raw for h in parsed.headers if h.name == "To"]
    assert parse_header_values(raw_to)[0] == A("Doe, Jane", "jane@x.com")
    # Folded values are unfolded; several values are one list.
    assert parse_header_values(["A <a@x>,\r\n B <b@x>", "c@x"]) == [
        A("A", "a@x"),
        A("B", "b@x"),
        A("", "c@x"),
    ]


def test_addr_specs_for_an_envelope() -> None:
    assert addr_specs(["<>"]) == []
    assert addr_specs(['"Doe, Jane" <jane@x>, team: a@x, b@x;', "junk, <>", "c@x"]) == [
        "jane@x",
        "a@x",
        "b@x",
        "c@x",
    ]


def test_bcc_check_takes_pairs() -> None:
    summary = summarize(MESSAGE)
    listed = MessageSummary(
        id=1,
        received_at=datetime(2025, 1, 1, tzinfo=UTC),
        envelope_from="",
        envelope_to=("JANE@x.com", "jue@x.com", "audit@x.com"),
        from_="",
        to=(),
        cc=(),
        subject="",
        message_id="",
        size=0,
        has_html=False,
        has_text=False,
        attachments=0,
        read=False,
        to_addrs=summary.to_addrs,
        cc_addrs=summary.cc_addrs,
    )
    shown = [*listed.to_addrs, *listed.cc_addrs]
    assert envelope_only_recipients(listed.envelope_to, shown) == ["audit@x.com"]
    # A decoded name with a comma no longer hides a recipient behind a bogus one.
    assert envelope_only_recipients(["jane@x.com"], ["Doe, Jane <jane@x.com>"]) == []
