"""Headers and structure: each check on a message that has the problem and one that does not."""

from __future__ import annotations

import base64

import pytest
from checks_helpers import codes, finding, head, html_message, inp, line_of
from smtp_helpers import RawSmtpClient, running_sink

from mailcatcher_gui.core.checks.headers import check_headers
from mailcatcher_gui.core.checks.inputs import CheckInput
from mailcatcher_gui.core.checks.model import Severity
from mailcatcher_gui.core.checks.sniff import contradicts, sniff

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
)
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def plain(**headers: str | None) -> bytes:
    return head(**headers, Content_Type="text/plain; charset=utf-8") + b"\r\nHello.\r\n"


def test_a_correct_message_has_no_problems():
    result = check_headers(inp(plain()))
    assert result.verdict is Severity.OK, result.findings
    assert result.summary == "headers and structure look right"


@pytest.mark.parametrize(
    ("overrides", "code", "severity"),
    [
        ({"Message_ID": None}, "message-id-missing", Severity.WARNING),
        ({"Message_ID": "no-angles@example.com"}, "message-id-malformed", Severity.WARNING),
        ({"Date": None}, "date-missing", Severity.ERROR),
        ({"Date": "yesterday at noon"}, "date-malformed", Severity.ERROR),
        ({"Date": "Sun, 06 Dec 2026 04:00:00"}, "date-no-zone", Severity.WARNING),
        ({"From": None}, "from-missing", Severity.ERROR),
        ({"From": "Alice"}, "from-malformed", Severity.ERROR),
        ({"From": "a@example.com, b@example.com"}, "from-several-no-sender", Severity.WARNING),
        (
            {"From": '"support@bank.example" <x@evil.example>'},
            "from-name-is-other-address",
            Severity.WARNING,
        ),
        ({"MIME_Version": None}, "mime-version-missing", Severity.WARNING),
        ({"MIME_Version": "2.0"}, "mime-version-malformed", Severity.WARNING),
        ({"Bcc": "secret@example.com"}, "bcc-present", Severity.WARNING),
        ({"Reply_To": "nobody"}, "reply-to-malformed", Severity.WARNING),
        ({"Reply_To": "help@other.example"}, "reply-to-other-domain", Severity.INFO),
        ({"Subject": None}, "subject-missing", Severity.INFO),
    ],
)
def test_header_problem(overrides, code, severity):
    raw = plain(**overrides)
    result = check_headers(inp(raw))
    f = finding(result, code)
    assert f.severity is severity
    clean = check_headers(inp(plain()))
    assert code not in codes(clean)


def test_findings_point_at_the_header_line():
    raw = plain(Message_ID="bad-id", Bcc="x@example.com")
    result = check_headers(inp(raw))
    assert finding(result, "message-id-malformed").line == line_of(raw, b"Message-ID:")
    assert finding(result, "bcc-present").line == line_of(raw, b"Bcc:")


def test_duplicate_headers():
    raw = plain().replace(b"Subject: Test\r\n", b"Subject: Test\r\nSubject: Again\r\n")
    f = finding(check_headers(inp(raw)), "header-duplicate")
    assert f.line == line_of(raw, b"Subject: Again")
    assert "header-duplicate" not in codes(check_headers(inp(plain())))


def test_header_line_over_998_octets():
    raw = plain(X_Long="y" * 1000)
    f = finding(check_headers(inp(raw)), "header-line-too-long")
    assert f.severity is Severity.ERROR and f.line == line_of(raw, b"X-Long:")
    folded = plain(X_Long=("y" * 500) + "\r\n " + ("y" * 500))
    assert "header-line-too-long" not in codes(check_headers(inp(folded)))


def _send(sink, raw: bytes, smtputf8: bool) -> int:
    with RawSmtpClient(sink.host, sink.port) as c:
        c.reply()
        c.send(b"EHLO test\r\n")
        c.reply()
        param = b" SMTPUTF8" if smtputf8 else b""
        c.send(b"MAIL FROM:<alice@example.com>" + param + b"\r\n")
        assert c.reply()[0] == 250
        c.send(b"RCPT TO:<bob@example.com>\r\n")
        assert c.reply()[0] == 250
        c.send(b"DATA\r\n")
        assert c.reply()[0] == 354
        c.send(raw + b".\r\n")
        code, lines = c.reply()
        assert code == 250
        c.send(b"QUIT\r\n")
        c.reply()
    from smtp_helpers import queued_id

    return queued_id(" ".join(lines))


def test_raw_utf8_headers_need_smtputf8_in_the_envelope(mailbox):
    raw = plain(Subject="Grüße")
    with running_sink(mailbox) as sink:
        without = _send(sink, raw, smtputf8=False)
        with_it = _send(sink, raw, smtputf8=True)
    bad = check_headers(CheckInput.build(mailbox.get(without)))
    f = finding(bad, "header-8bit-without-smtputf8")
    assert f.line == line_of(raw, b"Subject:")
    good = check_headers(CheckInput.build(mailbox.get(with_it)))
    assert "header-8bit-without-smtputf8" not in codes(good)
    assert "header-8bit" not in codes(good)


def test_raw_utf8_headers_without_a_transcript_are_a_note():
    f = finding(check_headers(inp(plain(Subject="Grüße"))), "header-8bit")
    assert f.severity is Severity.INFO
    assert "header-8bit" not in codes(
        check_headers(inp(plain(Subject="=?utf-8?q?Gr=C3=BC=C3=9Fe?=")))
    )


def test_html_without_text_alternative():
    raw = html_message("<p>Hi</p>", text=None)
    f = finding(check_headers(inp(raw)), "html-without-text")
    assert f.line == line_of(raw, b"Content-Type: text/html")
    assert "html-without-text" not in codes(check_headers(inp(html_message("<p>Hi</p>"))))


def test_empty_and_short_text_alternatives():
    long_html = "<p>" + "This is a long newsletter paragraph. " * 40 + "</p>"
    empty = check_headers(inp(html_message(long_html, text="  ")))
    assert "text-alternative-empty" in codes(empty)
    short = check_headers(inp(html_message(long_html, text="See the HTML.")))
    f = finding(short, "text-alternative-short")
    assert f.data["html_chars"] > 1000
    same = check_headers(inp(html_message(long_html, text="This is a long paragraph. " * 40)))
    assert not {"text-alternative-empty", "text-alternative-short"} & codes(same)


def test_charsets_missing_and_unknown():
    raw = head(Content_Type="text/plain") + b"\r\nCaf\xc3\xa9\r\n"
    assert "charset-missing" in codes(check_headers(inp(raw)))
    ascii_raw = head(Content_Type="text/plain") + b"\r\nCafe\r\n"
    assert "charset-missing" not in codes(check_headers(inp(ascii_raw)))
    unknown = head(Content_Type="text/plain; charset=klingon-8") + b"\r\nqapla\r\n"
    f = finding(check_headers(inp(unknown)), "charset-unknown")
    assert "klingon-8" in f.title
    assert "charset-unknown" not in codes(check_headers(inp(plain())))


def _with_attachment(ctype: str, data: bytes, name: str) -> bytes:
    return (
        head(Content_Type='multipart/mixed; boundary="m"')
        + b"\r\n--m\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee attached.\r\n"
        + f"--m\r\nContent-Type: {ctype}\r\n".encode()
        + f'Content-Disposition: attachment; filename="{name}"\r\n'.encode()
        + b"Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(data).replace(b"\n", b"\r\n")
        + b"--m--\r\n"
    )


def test_attachment_whose_bytes_contradict_its_type():
    raw = _with_attachment("application/pdf", PNG, "invoice.pdf")
    f = finding(check_headers(inp(raw)), "attachment-type-mismatch")
    assert f.data == {"declared": "application/pdf", "sniffed": "png"}
    assert f.line == line_of(raw, b"Content-Type: application/pdf")
    fine = _with_attachment("application/pdf", PDF, "invoice.pdf")
    assert "attachment-type-mismatch" not in codes(check_headers(inp(fine)))
    neutral = _with_attachment("application/octet-stream", PNG, "x.bin")
    assert "attachment-type-mismatch" not in codes(check_headers(inp(neutral)))


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (PDF, "pdf"),
        (PNG, "png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"GIF89a\x01\x00", "gif"),
        (b"PK\x03\x04\x14\x00", "zip"),
        (b"BMW annual report", None),
        (b"hello", None),
    ],
)
def test_sniffing(data, kind):
    assert sniff(data) == kind
    assert not contradicts("application/octet-stream", kind)


def test_zip_suits_office_documents():
    assert not contradicts(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", "zip"
    )
    assert contradicts("image/png", "zip")


def test_list_unsubscribe_one_click():
    raw = plain(
        List_Unsubscribe="<https://example.com/u/1>, <mailto:u@example.com>",
        List_Unsubscribe_Post="List-Unsubscribe=One-Click",
    )
    result = check_headers(inp(raw))
    assert finding(result, "list-unsubscribe-one-click").severity is Severity.OK
    assert result.verdict is Severity.OK


def test_list_unsubscribe_without_the_post_header_is_not_one_click():
    raw = plain(List_Unsubscribe="<https://example.com/u/1>")
    result = check_headers(inp(raw))
    assert "list-unsubscribe-no-one-click" in codes(result)
    assert "list-unsubscribe-one-click" not in codes(result)


@pytest.mark.parametrize(
    ("lu", "post", "code"),
    [
        ("https://example.com/u", None, "list-unsubscribe-malformed"),
        ("<ftp://example.com/u>", None, "list-unsubscribe-malformed"),
        ("<http://example.com/u>", None, "list-unsubscribe-http"),
        ("<mailto:u@example.com>", "List-Unsubscribe=One-Click", "list-unsubscribe-post-invalid"),
        ("<https://example.com/u>", "unsubscribe=yes", "list-unsubscribe-post-invalid"),
        (None, "List-Unsubscribe=One-Click", "list-unsubscribe-post-invalid"),
    ],
)
def test_list_unsubscribe_problems(lu, post, code):
    result = check_headers(inp(plain(List_Unsubscribe=lu, List_Unsubscribe_Post=post)))
    assert code in codes(result)
    assert result.verdict.rank >= Severity.WARNING.rank


def test_mime_defects_are_notes():
    raw = head(Content_Type='multipart/mixed; boundary="nope"') + b"\r\nno parts here\r\n"
    f = finding(check_headers(inp(raw)), "mime-defect")
    assert f.severity is Severity.INFO
    assert "mime-defect" not in codes(check_headers(inp(plain())))
