"""Building messages: MIME structure, headers, i18n, attachments, injection guard."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime

import pytest

from mailcatcher_gui.core.sending import (
    Draft,
    DraftAttachment,
    DraftError,
    HeaderInjectionError,
    RawMessage,
    build_message,
    parse_header_line,
    prepare_raw,
)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def base(**kw) -> Draft:
    kw.setdefault("from_", "Ann <ann@example.org>")
    kw.setdefault("to", ("bob@example.org",))
    return Draft(**kw)


@pytest.mark.parametrize(
    ("text", "html", "structure"),
    [
        ("t", None, ["text/plain"]),
        (None, "<p>h</p>", ["text/html"]),
        ("t", "<p>h</p>", ["multipart/alternative", "text/plain", "text/html"]),
        (None, None, ["text/plain"]),
    ],
)
def test_body_structure(text, html, structure):
    out = build_message(base(text=text, html=html))
    assert [p.get_content_type() for p in parse(out.raw).walk()] == structure


def test_full_structure_and_headers():
    out = build_message(
        base(
            cc=("Cy <cy@example.org>",),
            bcc=("dee@example.org", "BOB@example.org"),
            reply_to=("help@example.org",),
            subject="S",
            text="t",
            html='<img src="cid:i1">',
            inline=(DraftAttachment("i.gif", b"GIF89a", content_id="<i1>"),),
            attachments=(DraftAttachment("a.pdf", b"%PDF"),),
            headers=(("X-A", "1"), ("X-A", "2"), ("List-Unsubscribe", "<mailto:u@example.org>")),
        ),
        now=datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),
    )
    msg = parse(out.raw)
    assert [p.get_content_type() for p in msg.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "multipart/related",
        "text/html",
        "image/gif",
        "application/pdf",
    ]
    assert msg["From"] == "Ann <ann@example.org>"
    assert msg["Cc"] == "Cy <cy@example.org>"
    assert msg["Reply-To"] == "help@example.org"
    assert msg["Bcc"] is None
    assert b"dee@example.org" not in out.raw
    assert msg.get_all("X-A") == ["1", "2"]
    assert msg["List-Unsubscribe"] == "<mailto:u@example.org>"
    assert msg["Date"] == "Mon, 06 May 2024 07:08:09 +0000"
    assert re.fullmatch(r"<[^@\s]+@example\.org>", msg["Message-ID"])
    assert out.message_id == msg["Message-ID"]
    # Envelope: To + Cc + Bcc, duplicates (case-insensitive) removed.
    assert out.envelope_from == "ann@example.org"
    assert out.envelope_to == ("bob@example.org", "cy@example.org", "dee@example.org")
    # Only the top level says MIME-Version; lines end in CRLF.
    assert out.raw.count(b"MIME-Version:") == 1
    assert b"\n" not in out.raw.replace(b"\r\n", b"")
    gif = next(p for p in msg.walk() if p.get_content_type() == "image/gif")
    assert gif["Content-ID"] == "<i1>"
    assert gif.get_content_disposition() == "inline"
    assert out.raw.isascii() and not out.smtputf8


def test_date_and_message_id_can_be_set_explicitly():
    out = build_message(
        base(headers=(("Date", "Tue, 01 Jan 2030 00:00:00 +0000"), ("Message-ID", "<x@y.z>")))
    )
    msg = parse(out.raw)
    assert msg.get_all("Date") == ["Tue, 01 Jan 2030 00:00:00 +0000"]
    assert msg.get_all("Message-ID") == ["<x@y.z>"]
    assert out.message_id == "<x@y.z>"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Bcc", "envelope-only"),
        ("bcc", "envelope-only"),
        ("Content-Type", "MIME structure"),
        ("MIME-Version", "MIME structure"),
        ("From", "From field"),
        ("Subject", "Subject field"),
        ("Bad Name", "not valid"),
        ("Bad:Name", "not valid"),
        ("Ünï", "not valid"),
    ],
)
def test_reserved_or_invalid_custom_headers(name, reason):
    with pytest.raises(DraftError, match=reason) as info:
        build_message(base(headers=((name, "v"),)))
    assert info.value.field == "headers"


def test_parse_header_line():
    assert parse_header_line("X-Thing:  a: b ") == ("X-Thing", "a: b")
    with pytest.raises(DraftError):
        parse_header_line("no colon here")


def test_internationalised_names_and_subject_use_rfc2047():
    out = build_message(base(from_="Jürgen <j@example.org>", subject="Grüße 🎉", text="ü"))
    assert out.raw.isascii() and not out.smtputf8
    msg = parse(out.raw)
    assert msg["Subject"] == "Grüße 🎉"
    assert msg["From"].addresses[0].display_name == "Jürgen"
    assert msg.get_content().replace("\r\n", "\n") == "ü\n"


def test_non_ascii_address_needs_smtputf8():
    out = build_message(base(to=("Zoë <zoë@exämple.org>",), subject="ü"))
    assert out.smtputf8
    assert out.envelope_to == ("zoë@exämple.org",)
    msg = email.message_from_bytes(out.raw, policy=email.policy.SMTPUTF8)
    assert "zoë@exämple.org" in str(msg["To"])
    assert "Zoë <zoë@exämple.org>".encode() in out.raw  # raw UTF-8 header under SMTPUTF8


def test_display_names_with_specials_are_quoted():
    out = build_message(base(to=('"Doe, John" <john@example.org>', "a@example.org, b@example.org")))
    msg = parse(out.raw)
    assert [a.addr_spec for a in msg["To"].addresses] == [
        "john@example.org",
        "a@example.org",
        "b@example.org",
    ]
    assert msg["To"].addresses[0].display_name == "Doe, John"


@pytest.mark.parametrize(
    ("filename", "data", "expected"),
    [
        ("report.pdf", b"%PDF", "application/pdf"),
        ("table.csv", "a,b\r\nü,ß\n".encode(), "text/csv"),
        ("legacy.txt", "caf\xe9".encode("latin-1"), "application/octet-stream"),
        ("photo.JPG", b"\xff\xd8\xff", "image/jpeg"),
        ("blob.unknownext", b"\x00\x01", "application/octet-stream"),
        ("noext", b"x", "application/octet-stream"),
    ],
)
def test_attachment_types_and_bytes_survive(filename, data, expected):
    out = build_message(base(text="t", attachments=(DraftAttachment(filename, data),)))
    part = next(p for p in parse(out.raw).walk() if p.get_filename())
    assert part.get_content_type() == expected
    assert part.get_filename() == filename
    assert part.get_payload(decode=True) == data


def test_explicit_content_type_and_non_ascii_file_name():
    att = DraftAttachment("résumé.bin", b"\x00\x01", content_type="application/x-custom")
    part = next(
        p for p in parse(build_message(base(attachments=(att,))).raw).walk() if p.get_filename()
    )
    assert part.get_content_type() == "application/x-custom"
    assert part.get_filename() == "résumé.bin"
    with pytest.raises(DraftError, match="not a MIME type"):
        build_message(base(attachments=(DraftAttachment("a", b"", content_type="nonsense"),)))


def test_from_path(tmp_path):
    f = tmp_path / "logo.png"
    f.write_bytes(b"\x89PNG")
    a = DraftAttachment.from_path(f)
    assert (a.filename, a.data, a.content_id) == ("logo.png", b"\x89PNG", None)
    i = DraftAttachment.inline_from_path(f)
    assert i.content_id == "logo.png"
    with pytest.raises(OSError):
        DraftAttachment.from_path(tmp_path / "missing")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"from_": "not an address"}, "from"),
        ({"from_": "a@example.org, b@example.org"}, "from"),
        ({"to": ("bob",)}, "to"),
        ({"to": ()}, "to"),
        ({"cc": ("a@@b",)}, "cc"),
        ({"html": None, "inline": (DraftAttachment("i.png", b"", content_id="i"),)}, "inline"),
        ({"html": "<p>", "inline": (DraftAttachment("i.png", b""),)}, "inline"),
        ({"html": "<p>", "inline": (DraftAttachment("i.png", b"", content_id="a b"),)}, "inline"),
    ],
)
def test_invalid_drafts_name_the_field(kwargs, field):
    with pytest.raises(DraftError) as info:
        build_message(base(**kwargs))
    assert info.value.field == field
    assert not isinstance(info.value, HeaderInjectionError)


@pytest.mark.parametrize("breaker", ["\r", "\n", "\r\n", "\x00"])
@pytest.mark.parametrize(
    ("field", "make"),
    [
        ("from", lambda b: {"from_": f"a@example.org{b}Bcc: x@example.org"}),
        ("to", lambda b: {"to": (f"b@example.org{b}",)}),
        ("cc", lambda b: {"cc": (f"c@example.org{b}X: y",)}),
        ("bcc", lambda b: {"bcc": (f"d@example.org{b}",)}),
        ("reply_to", lambda b: {"reply_to": (f"r@example.org{b}",)}),
        ("subject", lambda b: {"subject": f"Hi{b}Bcc: x@example.org"}),
        ("envelope_from", lambda b: {"envelope_from": f"e@example.org{b}"}),
        ("headers", lambda b: {"headers": (("X-Ok", f"v{b}Bcc: x@example.org"),)}),
        ("attachments", lambda b: {"attachments": (DraftAttachment(f"a{b}.txt", b""),)}),
        (
            "inline",
            lambda b: {"html": "x", "inline": (DraftAttachment("i", b"", content_id=f"c{b}"),)},
        ),
    ],
)
def test_header_injection_names_the_field(field, make, breaker):
    with pytest.raises(HeaderInjectionError) as info:
        build_message(base(**make(breaker)))
    assert info.value.field == field
    assert "line break" in str(info.value)


def test_raw_messages_are_left_alone():
    raw = b"Message-ID: <m1@example.org>\r\nX:  odd  \r\n\r\nbody\r\n.\r\n"
    out = prepare_raw(RawMessage(raw, "", ("a@example.org", "A@example.org", "b@example.org")))
    assert out.raw is raw
    assert out.envelope_from == ""  # the null sender
    assert out.envelope_to == ("a@example.org", "b@example.org")
    assert out.message_id == "<m1@example.org>"
    assert not out.smtputf8
    assert prepare_raw(RawMessage(raw, "ü@example.org", ("b@example.org",))).smtputf8
    with pytest.raises(DraftError):
        prepare_raw(RawMessage(raw, "a@example.org", ()))
    with pytest.raises(HeaderInjectionError) as info:
        prepare_raw(RawMessage(raw, "a@example.org", ("b@example.org\r\nRCPT TO:<c@d>",)))
    assert info.value.field == "envelope_to"
    with pytest.raises(DraftError):
        prepare_raw(RawMessage(b"", "a@example.org", ("b@example.org",)))
