"""Envelope-only (Bcc) recipient detection used by the Session tab."""

from __future__ import annotations

from mailcatcher_gui.core.mime.recipients import addresses_in, envelope_only_recipients


def test_addresses_in_handles_names_groups_and_junk():
    values = [
        '"Doe, Jane" <Jane@Example.COM>, bob@example.com',
        "Undisclosed recipients:;",
        "team: a@example.com, b@example.com;",
        "not an address, <>",
    ]
    assert addresses_in(values) == [
        "jane@example.com",
        "bob@example.com",
        "a@example.com",
        "b@example.com",
    ]


def test_envelope_only_recipients_case_insensitive_and_ordered():
    envelope = ["Jane@example.com", "audit@corp.example", "<BOB@example.com>", "AUDIT@corp.example"]
    headers = ["Jane Doe <jane@EXAMPLE.com>", "bob@example.com"]
    assert envelope_only_recipients(envelope, headers) == ["audit@corp.example"]


def test_everything_is_bcc_without_headers():
    assert envelope_only_recipients(["a@x.example"], []) == ["a@x.example"]
    assert envelope_only_recipients([], ["a@x.example"]) == []
