"""parse_message on the real corpus and on hand-built MIME.

The corpus tests assert invariants on all 397 messages (types, hashes,
unique part ids, no internal fallback ever taken), compare the MIME tree
with Python's own parser wherever Python sees nothing wrong, and check
facts read off specific files (by MANIFEST tag). The hand-built messages
pin down the rules: part numbering, which part is the body, filename
decoding, defects.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import re
from pathlib import Path

import pytest
from conftest import require_corpus

from mailcatcher_gui.core.mime.parse import parse_message, part_headers, part_payload
from mailcatcher_gui.core.models import Attachment, Header, ParsedMessage, Part


def _parse_file(rel: str) -> tuple[bytes, ParsedMessage]:
    raw = (require_corpus() / rel).read_bytes()
    return raw, parse_message(raw)


def crlf(text: str) -> bytes:
    return text.replace("\n", "\r\n").encode("utf-8")


_DEFECT = re.compile(r"^\d+(\.\d+)*: \S")


def check_invariants(pm: ParsedMessage) -> None:
    """Shape checks every parse result must pass."""
    assert isinstance(pm, ParsedMessage)
    assert all(isinstance(h, Header) for h in pm.headers)
    assert all(isinstance(h.name, str) and isinstance(h.value, str) for h in pm.headers)
    assert pm.text is None or isinstance(pm.text, str)
    assert pm.html is None or isinstance(pm.html, str)
    assert pm.parts and all(isinstance(p, Part) for p in pm.parts)
    ids = [p.part_id for p in pm.parts]
    assert len(ids) == len(set(ids)), "part ids must be unique"
    assert ids[0] == "0" and pm.parts[0].depth == 0
    by_id = {p.part_id: p for p in pm.parts}
    for p in pm.parts[1:]:
        # "1" -> "0"; "1.2" -> "1"; "2.0" (an embedded message's root) -> "2";
        # "2.1" -> "2.0" when part 2 is an embedded message.
        if p.part_id.endswith(".0"):
            parent_id = p.part_id[:-2]
        elif "." not in p.part_id:
            parent_id = "0"
        else:
            prefix = p.part_id.rsplit(".", 1)[0]
            parent_id = f"{prefix}.0" if f"{prefix}.0" in by_id else prefix
        assert parent_id in by_id, p.part_id
        assert by_id[parent_id].depth == p.depth - 1
    for n, a in enumerate(pm.attachments):
        assert isinstance(a, Attachment)
        assert a.index == n
        assert a.size == len(a.data)
        assert a.sha256 == hashlib.sha256(a.data).hexdigest()
        assert a.filename and isinstance(a.filename, str)
        assert a.part_id in by_id
        assert by_id[a.part_id].size == a.size
        assert by_id[a.part_id].filename == a.filename
        assert a.content_id is None or ("<" not in a.content_id and ">" not in a.content_id)
    for d in pm.defects:
        assert isinstance(d, str) and _DEFECT.match(d), d
        assert "parser failed" not in d and "structure scan failed" not in d, d


# ---------------------------------------------------------------------------
# the whole corpus


def test_every_corpus_message_parses(corpus: list[Path]) -> None:
    counts = {"html": 0, "text": 0, "attachments": 0, "defects": 0, "parts": 0}
    total_attachments = 0
    for path in corpus:
        pm = parse_message(path.read_bytes())
        try:
            check_invariants(pm)
        except AssertionError as exc:
            raise AssertionError(f"{path}: {exc}") from exc
        counts["html"] += pm.html is not None
        counts["text"] += pm.text is not None
        counts["attachments"] += bool(pm.attachments)
        counts["defects"] += bool(pm.defects)
        counts["parts"] += len(pm.parts)
        total_attachments += len(pm.attachments)
    print(f"\ncorpus: {len(corpus)} messages, {counts}, {total_attachments} attachments")
    assert counts["text"] >= 300
    assert counts["html"] >= 100
    assert counts["attachments"] >= 200
    assert 50 <= counts["defects"] <= 200
    assert total_attachments >= 500


_PY_EXPANDS = {
    # Python parses the bodies of these as header blocks / messages; here they
    # are leaves (shown and saved as they arrived).
    "message/delivery-status",
    "message/feedback-report",
    "message/disposition-notification",
    "message/external-body",
    "message/partial",
}
_VALID_TYPE = re.compile(r"^[a-z0-9.+_-]+/[a-z0-9.+_-]+$")


def test_tree_matches_python_email_where_python_sees_no_defect(corpus: list[Path]) -> None:
    compared = 0
    for path in corpus:
        raw = path.read_bytes()
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        if any(part.defects for part in msg.walk()):
            continue
        theirs = [part.get_content_type() for part in msg.walk()]
        if _PY_EXPANDS & set(theirs) or not all(_VALID_TYPE.match(t) for t in theirs):
            continue
        pm = parse_message(raw)
        if any("invalid Content-Type" in d for d in pm.defects):
            continue  # we map e.g. "BINARY" to application/octet-stream, Python to text/plain
        ours = [p.content_type for p in pm.parts]
        assert ours == theirs, path
        compared += 1
    print(f"\nMIME tree identical to Python's on {compared} messages")
    assert compared >= 250


# ---------------------------------------------------------------------------
# facts from specific corpus files


@pytest.mark.corpus_tagged("cid-inline")
def test_cid_references_in_html_resolve_to_inline_attachments(rel: str) -> None:
    _raw, pm = _parse_file(rel)
    refs = set(re.findall(r"""cid:([^"'\s>)]+)""", pm.html or "", re.I))
    if rel == "postal-mime/mimetorture.eml":
        # Its cid: images live inside embedded messages; the top level has a text body.
        assert pm.text is not None and not refs
        return
    assert refs, "a cid-inline message must reference a cid: image"
    for ref in refs:
        att = pm.attachment_by_cid(ref)
        assert att is not None, ref
        assert att.content_type.startswith("image/")
        assert att.inline
        assert att.size > 0


@pytest.mark.corpus
def test_cid_inline_exact_attachment() -> None:
    _raw, pm = _parse_file("enmime/mail/html-mime-inline.eml")
    assert pm.text == "Test of text section"
    att = pm.attachment_by_cid("<8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet>")
    assert att is not None
    assert (att.filename, att.content_type, att.size, att.inline, att.part_id) == (
        "favicon.png",
        "image/png",
        687,
        True,
        "2.2",
    )
    assert att.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert "cid:8B8481A2-25CA-4886-9B5A-8EB9115DD064@skynet" in pm.html


@pytest.mark.corpus
def test_rfc2231_continuations_with_charset() -> None:
    _raw, pm = _parse_file("mikel-mail/multi_charset/japanese_attachment_long_name.eml")
    assert [a.filename for a in pm.attachments] == ["かきくけこ" * 5 + ".txt"]


@pytest.mark.corpus
def test_rfc2231_latin1_filename_wins_over_rfc2047_name() -> None:
    _raw, pm = _parse_file("mikel-mail/attachment_emails/attachment_with_quoted_filename.eml")
    (att,) = pm.attachments
    assert att.filename == "Eelanalüüsi päring.jpg"
    assert att.content_type == "image/jpeg" and att.inline


@pytest.mark.corpus
def test_rfc2231_utf8_filename_and_cid() -> None:
    _raw, pm = _parse_file("nodemailer-mailparser/nodemailer.eml")
    gif = pm.attachment_by_cid("nyan@example.com")
    assert gif is not None and gif.filename == "nyan cat ✔.gif"
    assert gif.data.startswith(b"GIF8")
    assert "notes.txt" in [a.filename for a in pm.attachments]


@pytest.mark.corpus
def test_unknown_charset_falls_back_and_is_reported() -> None:
    _raw, pm = _parse_file("mikel-mail/plain_emails/raw_email10.eml")
    assert pm.text is not None and pm.text.startswith("Test test. Hi. Waving.")
    assert any("unknown charset 'X-UNKNOWN'" in d for d in pm.defects), pm.defects


@pytest.mark.corpus_tagged("unknown-charset")
def test_every_unknown_charset_message_has_a_body(rel: str) -> None:
    _raw, pm = _parse_file(rel)
    check_invariants(pm)
    assert pm.text or pm.html


@pytest.mark.corpus
def test_utf8_labelled_as_x_mac_cyrillic_is_read_as_utf8() -> None:
    _raw, pm = _parse_file("php-mime-mail-parser/issue230.eml")
    assert pm.text is not None and pm.text.startswith("ACADEMIC NEWSLETTER #11")
    assert pm.html is not None and "© 2019 Science and Education" in pm.html
    assert "¬©" not in pm.html  # what decoding the UTF-8 bytes as mac-cyrillic gives
    assert "2: declared x-mac-cyrillic but the bytes are utf-8" in pm.defects


@pytest.mark.corpus
def test_address_group_headers() -> None:
    _raw, pm = _parse_file("mikel-mail/error_emails/empty_group_lists.eml")
    assert pm.header("To") == "undisclosed recipients: ;"
    _raw, pm = _parse_file("mimekit/messages/delivery-status.anonymized.eml")
    assert pm.header("to") is not None and pm.header("to").startswith("xxxxxxxxxxxxxxxxxxx:;")


@pytest.mark.corpus_tagged("python-email-api-raises")
def test_messages_where_python_email_raises(rel: str) -> None:
    raw, pm = _parse_file(rel)
    check_invariants(pm)
    assert pm.headers or rel.startswith("stalwart-mail-parser/malformed/")
    assert pm.parts[0].size == 0 or pm.parts[0].content_type != "multipart/mixed"


@pytest.mark.corpus
def test_from_header_that_makes_python_raise_value_error() -> None:
    _raw, pm = _parse_file("enmime/mail/qp-utf8-header-recursed.eml")
    assert pm.header("From").startswith("James Hillyerd <jamehi03@jamehi03lx.noa.com>")
    assert pm.header("Subject") == "MIME UTF8 Test ¢ More Text"


@pytest.mark.corpus
def test_broken_multiparts_where_python_get_content_raises_keyerror() -> None:
    _raw, pm = _parse_file("stalwart-mail-parser/malformed/013.eml")
    assert pm.text == "hello, world"
    assert "2: StartBoundaryNotFound (multipart/mixed shown as text/plain)" in pm.defects
    assert "0: CloseBoundaryNotFound" in pm.defects
    _raw, pm = _parse_file("stalwart-mail-parser/malformed/001.eml")
    assert "1: StartBoundaryNotFound (multipart/mixed shown as text/plain)" in pm.defects


@pytest.mark.corpus
def test_path_traversal_filename_is_reported_as_written() -> None:
    raw, pm = _parse_file("php-mime-mail-parser/m0124.eml")
    (att,) = pm.attachments
    assert att.filename == "1234/../../1234.txt"  # sanitising happens when saving
    assert att.part_id == "0" and att.content_type == "application/txt"
    assert pm.header("Subject") == "1234 / 1234"
    assert pm.header("From") == 'ФГУП "СибНИА им.С.А.Чаплыгина"" <user@domain.ru>'


@pytest.mark.corpus
def test_slash_in_filename() -> None:
    _raw, pm = _parse_file("php-mime-mail-parser/issue133.eml")
    assert [a.filename for a in pm.attachments] == ["attach/01"]


@pytest.mark.corpus
def test_nested_rfc822_is_one_attachment_with_its_parts_in_the_tree() -> None:
    raw, pm = _parse_file("mikel-mail/attachment_emails/attachment_message_rfc822.eml")
    assert [(p.part_id, p.content_type) for p in pm.parts] == [
        ("0", "multipart/mixed"),
        ("1", "text/plain"),
        ("2", "message/rfc822"),
        ("2.0", "multipart/mixed"),
        ("2.1", "text/plain"),
        ("2.2", "application/pdf"),
    ]
    assert pm.text == "This is the first part.\r\n"
    (att,) = pm.attachments
    assert (att.part_id, att.filename, att.content_type) == (
        "2",
        "ForwardedMessage.eml",
        "message/rfc822",
    )
    inner = parse_message(att.data)  # the attachment is a complete message
    assert [a.filename for a in inner.attachments] == ["broken.pdf"]
    headers = part_headers(raw, "2.0")
    assert headers is not None
    assert {h.name.lower() for h in headers} >= {"from", "subject", "content-type"}
    assert part_payload(raw, "2.2") == inner.attachments[0].data
    assert part_headers(raw, "9.9") is None and part_payload(raw, "9.9") is None


@pytest.mark.corpus
def test_message_that_is_only_an_embedded_message_uses_its_body() -> None:
    _raw, pm = _parse_file("cpython/msg_11.eml")
    assert pm.parts[0].content_type == "message/rfc822"
    assert pm.text == "Here is the body of the message.\n"
    assert [a.filename for a in pm.attachments] == ["An enclosed message.eml"]


@pytest.mark.corpus
def test_base64_encoded_embedded_message_is_expanded() -> None:
    _raw, pm = _parse_file("james-mime4j/base64encoded-rfc822message-nested.eml")
    assert [p.content_type for p in pm.parts] == ["message/rfc822", "message/rfc822", "text/plain"]
    assert pm.text is not None and pm.text.startswith("Text body")


@pytest.mark.corpus
def test_outlook_msg_ole_file_is_one_binary_attachment() -> None:
    raw, pm = _parse_file("spamscope-mail-parser/mail_outlook_1.eml")
    assert raw.startswith(b"\xd0\xcf\x11\xe0")
    assert pm.text is None and pm.html is None and pm.headers == ()
    (att,) = pm.attachments
    assert att.content_type == "application/vnd.ms-outlook"
    assert att.filename == "part-0.msg"
    assert att.data == raw and att.sha256 == hashlib.sha256(raw).hexdigest()
    assert any("Outlook .msg" in d for d in pm.defects)


@pytest.mark.corpus
def test_mbox_from_line_is_not_a_header() -> None:
    raw, pm = _parse_file("flanker/bounce/zed.eml")
    assert raw.startswith(b"From ")
    assert pm.headers[0].name != "From " and all(" " not in h.name for h in pm.headers)
    assert pm.text is not None


@pytest.mark.corpus
def test_8bit_header_bytes_are_decoded_without_surrogates_in_values() -> None:
    raw, pm = _parse_file("zbateson-mail-mime-parser/invalid-charset.eml")
    assert pm.header("To") == '"Jürgen Schmürgen" <schmuergen@example.com>'
    for h in pm.headers:
        h.value.encode("utf-8")  # no lone surrogates in decoded values
        assert h.raw.encode("utf-8", "surrogateescape") in raw


# ---------------------------------------------------------------------------
# hand-built messages: the rules


NESTED = crlf(
    """From: =?utf-8?q?J=C3=BCrgen?= <j@example.com>
To: a@example.com,
 b@example.com
Subject: =?utf-8?B?SGVsbG8g4pyU?= world
Content-Type: multipart/mixed; boundary="outer"

preamble
--outer
Content-Type: multipart/alternative; boundary="alt"

--alt
Content-Type: text/plain; charset=utf-8

plain body
--alt
Content-Type: text/html; charset=utf-8

<p>html body</p>
--alt--
--outer
Content-Type: message/rfc822

From: inner@example.com
Subject: Inner
Content-Type: multipart/mixed; boundary="in"

--in
Content-Type: text/plain

inner text
--in
Content-Type: image/png
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--in--
--outer
Content-Type: application/pdf; name="=?utf-8?Q?r=C3=A9sum=C3=A9.pdf?="
Content-Disposition: attachment
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--outer--
epilogue
"""
)


def test_part_ids_depths_and_bodies() -> None:
    pm = parse_message(NESTED)
    check_invariants(pm)
    assert [(p.part_id, p.depth, p.content_type) for p in pm.parts] == [
        ("0", 0, "multipart/mixed"),
        ("1", 1, "multipart/alternative"),
        ("1.1", 2, "text/plain"),
        ("1.2", 2, "text/html"),
        ("2", 1, "message/rfc822"),
        ("2.0", 2, "multipart/mixed"),
        ("2.1", 3, "text/plain"),
        ("2.2", 3, "image/png"),
        ("3", 1, "application/pdf"),
    ]
    assert pm.text == "plain body"
    assert pm.html == "<p>html body</p>"
    assert [(a.part_id, a.filename, a.size) for a in pm.attachments] == [
        ("2", "Inner.eml", len(pm.attachments[0].data)),
        ("3", "résumé.pdf", 9),
    ]
    assert pm.attachments[1].data == b"%PDF-1.4\n"
    assert pm.parts[7].size == 8  # decoded PNG signature
    assert pm.defects == ()


def test_headers_ordered_decoded_and_raw() -> None:
    pm = parse_message(NESTED)
    assert [h.name for h in pm.headers] == ["From", "To", "Subject", "Content-Type"]
    assert pm.header("from") == "Jürgen <j@example.com>"
    assert pm.header("Subject") == "Hello ✔ world"
    to = pm.headers[1]
    assert to.value == "a@example.com, b@example.com"
    assert to.raw == " a@example.com,\r\n b@example.com"


def test_embedded_message_text_is_not_the_body_when_the_top_has_one() -> None:
    pm = parse_message(NESTED)
    assert "inner text" not in (pm.text or "")
    assert all(a.part_id in ("2", "3") for a in pm.attachments)


def test_attachment_disposition_excludes_a_text_part_from_the_body() -> None:
    raw = crlf(
        """Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; name=log.txt
Content-Disposition: attachment; filename=log.txt

log line
--b
Content-Type: text/plain

real body
--b--
"""
    )
    pm = parse_message(raw)
    assert pm.text == "real body"
    assert [(a.filename, a.data) for a in pm.attachments] == [("log.txt", b"log line")]


def test_alternative_wins_over_an_earlier_inline_text() -> None:
    raw = crlf(
        """Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain

note
--b
Content-Type: multipart/alternative; boundary=a

--a
Content-Type: text/plain

alt text
--a
Content-Type: text/html

<b>alt html</b>
--a--
--b--
"""
    )
    pm = parse_message(raw)
    assert (pm.text, pm.html) == ("alt text", "<b>alt html</b>")
    assert [(a.part_id, a.filename) for a in pm.attachments] == [("1", "part-1.txt")]


def test_generated_names_and_inline_flag() -> None:
    raw = crlf(
        """Content-Type: multipart/related; boundary=r

--r
Content-Type: text/html

<img src="cid:logo">
--r
Content-Type: image/png
Content-ID: <logo>
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--r
Content-Type: text/calendar; method=REQUEST

BEGIN:VCALENDAR
--r
Content-Type: application/ms-tnef

TNEF
--r--
"""
    )
    pm = parse_message(raw)
    assert [(a.filename, a.inline, a.content_id) for a in pm.attachments] == [
        ("part-2.png", True, "logo"),
        ("part-3.ics", False, None),
        ("part-4.dat", False, None),
    ]
    assert pm.attachment_by_cid("cid-does-not-exist") is None


def test_rfc2231_continuations_out_of_order_and_mixed_encoding() -> None:
    raw = crlf(
        """Content-Type: application/octet-stream
Content-Disposition: attachment; filename*2="-end.bin";
 filename*0*=iso-8859-1'de'Gr%FC%DFe; filename*1=" und Ku"; filename="fallback.bin"

data"""
    )
    pm = parse_message(raw)
    assert pm.attachments[0].filename == "Grüße und Ku-end.bin"


def test_unknown_charset_in_body_and_encoded_word() -> None:
    raw = (
        b"Subject: =?x-foo?q?caf=E9?=\r\nContent-Type: text/plain; charset=x-foo\r\n\r\ncaf\xe9\r\n"
    )
    pm = parse_message(raw)
    assert pm.text == "café\r\n"
    assert pm.header("Subject") == "café"
    assert "0: unknown charset 'x-foo', decoded as windows-1252" in pm.defects


def test_declared_utf8_with_latin1_bytes() -> None:
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\nna\xefve"
    pm = parse_message(raw)
    assert pm.text == "naïve"
    assert any("not valid utf-8" in d for d in pm.defects)


def test_html_meta_charset_is_used_when_the_part_has_none() -> None:
    html = b'<html><head><meta charset="koi8-r"></head><body>' + "Привет".encode("koi8-r")
    pm = parse_message(b"Content-Type: text/html\r\n\r\n" + html)
    assert pm.html is not None and "Привет" in pm.html


def test_transfer_encodings() -> None:
    raw = crlf(
        """Content-Type: multipart/mixed; boundary=b

--b
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

caf=C3=A9 soft=
break
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: x-uuencode

begin 644 hello.txt
%:&5L;&\\`
`
end
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: Base64;

aGVsbG8=
--b
Content-Type: application/octet-stream
Content-Transfer-Encoding: base9000

raw bytes
--b--
"""
    )
    pm = parse_message(raw)
    assert pm.text == "café softbreak"
    assert [a.data for a in pm.attachments] == [b"hello", b"hello", b"raw bytes"]
    assert [p.transfer_encoding for p in pm.parts[1:]] == [
        "quoted-printable",
        "x-uuencode",
        "base64;",
        "base9000",
    ]
    assert "4: unknown Content-Transfer-Encoding 'base9000', body left as is" in pm.defects


def test_broken_base64_is_decoded_as_far_as_possible() -> None:
    raw = crlf(
        """Content-Type: application/octet-stream
Content-Transfer-Encoding: base64

aGVsbG8gd29ybGQ
!!"""
    )
    pm = parse_message(raw)
    assert pm.attachments[0].data == b"hello world"
    assert any("base64" in d for d in pm.defects)


def test_missing_boundary_and_missing_start_boundary_show_the_body_as_text() -> None:
    pm = parse_message(b"Content-Type: multipart/mixed\r\n\r\nno boundary here\r\n")
    assert pm.text == "no boundary here\r\n"
    assert pm.defects == ("0: NoBoundaryInMultipart (multipart/mixed shown as text/plain)",)
    pm = parse_message(b"Content-Type: multipart/mixed; boundary=zz\r\n\r\nnever delimited\r\n")
    assert pm.text == "never delimited\r\n"
    assert pm.defects == ("0: StartBoundaryNotFound (multipart/mixed shown as text/plain)",)


def test_bare_lf_and_transport_padding_on_delimiters() -> None:
    raw = (
        b"Content-Type: multipart/mixed; boundary=q\n\n"
        b"--q  \nContent-Type: text/plain\n\none\n--q--\t\n"
    )
    pm = parse_message(raw)
    assert pm.text == "one"
    assert pm.defects == ()
