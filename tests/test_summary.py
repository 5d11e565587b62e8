"""summarize(): the cheap ingest-time facts, checked against the full parse.

On the whole corpus the summary must agree with ``parse_message`` about
what the list shows (attachment count and names, has text/HTML, subject,
body text) even though it never decodes an attachment. Header decoding is
checked on files with address groups, encoded words and 8-bit headers. The
cost is measured (printed) for the three message shapes of the ingest
benchmark; the assertions are relative (summary vs full parse, memory),
never absolute timings.
"""

from __future__ import annotations

import base64
import random
import time
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from conftest import require_corpus

from mailcatcher_gui.core.mime import summary as summary_module
from mailcatcher_gui.core.mime.htmltext import html_to_text
from mailcatcher_gui.core.mime.parse import parse_message
from mailcatcher_gui.core.mime.summary import TEXT_LIMIT, summarize
from mailcatcher_gui.core.models import Summary


def _summ(rel: str) -> Summary:
    return summarize((require_corpus() / rel).read_bytes())


def _check_types(s: Summary) -> None:
    assert isinstance(s, Summary)
    assert isinstance(s.from_, str) and isinstance(s.subject, str)
    assert isinstance(s.to, tuple) and all(isinstance(a, str) and a for a in s.to)
    assert isinstance(s.cc, tuple) and all(isinstance(a, str) and a for a in s.cc)
    assert s.date is None or (isinstance(s.date, datetime) and s.date.tzinfo is not None)
    assert isinstance(s.message_id, str)
    assert isinstance(s.has_html, bool) and isinstance(s.has_text, bool)
    assert isinstance(s.attachments, int) and s.attachments == len(s.attachment_names)
    assert len(s.snippet) <= 200 and "\n" not in s.snippet and "  " not in s.snippet
    assert s.snippet == s.snippet.strip()
    assert len(s.body_text) <= TEXT_LIMIT and len(s.html_text) <= TEXT_LIMIT


# ---------------------------------------------------------------------------
# the corpus


def test_summary_agrees_with_full_parse_on_the_corpus(corpus: list[Path]) -> None:
    disagreements: list[str] = []
    counts = {"with_attachments": 0, "html": 0, "text": 0, "dated": 0}
    for path in corpus:
        raw = path.read_bytes()
        s = summarize(raw)
        _check_types(s)
        pm = parse_message(raw)
        names = tuple(a.filename for a in pm.attachments)
        if s.attachment_names != names:
            disagreements.append(f"{path}: {s.attachment_names} != {names}")
        if (s.has_text, s.has_html) != (pm.text is not None, pm.html is not None):
            disagreements.append(f"{path}: text/html flags differ")
        subject = pm.header("subject") or ""
        if len(subject) > summary_module.HEADER_LIMIT:
            # Hostile-size subjects are cut (between words) in the summary.
            if not (subject.startswith(s.subject) and len(s.subject) > 1000):
                disagreements.append(f"{path}: long subject is not a prefix")
        elif s.subject != subject:
            disagreements.append(f"{path}: subject {s.subject!r} != {subject!r}")
        if pm.text is not None and s.body_text != pm.text[:TEXT_LIMIT]:
            disagreements.append(f"{path}: body_text differs")
        if pm.html is not None and s.html_text != html_to_text(pm.html, limit=TEXT_LIMIT):
            disagreements.append(f"{path}: html_text differs")
        counts["with_attachments"] += s.attachments > 0
        counts["html"] += s.has_html
        counts["text"] += s.has_text
        counts["dated"] += s.date is not None
    print(f"\nsummary vs parse: {len(disagreements)} disagreements; {counts}")
    assert disagreements == []
    assert counts["with_attachments"] >= 200
    assert counts["dated"] >= 250


def test_dates_match_email_utils_where_it_parses(corpus: list[Path]) -> None:
    checked = 0
    for path in corpus:
        raw = path.read_bytes()
        pm = parse_message(raw)
        value = pm.header("date")
        if not value:
            continue
        try:
            expected = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            assert summarize(raw).date is None, path
            continue
        if expected.tzinfo is None:
            expected = expected.replace(tzinfo=UTC)
        assert summarize(raw).date == expected, path
        checked += 1
    assert checked >= 250


# ---------------------------------------------------------------------------
# header facts


@pytest.mark.corpus
def test_address_groups() -> None:
    s = _summ("mikel-mail/error_emails/empty_group_lists.eml")
    assert s.to == ("undisclosed recipients:;",)
    assert s.from_ == "Cecil Edwards <ceciledwards@sbcglobal.net>"
    s = _summ("mimekit/messages/delivery-status-no-blank-line.eml")
    assert s.to == ("unlisted-recipients:;",)  # the trailing comment is not a mailbox
    assert s.cc == ("The Postmaster <postmaster@mm1.sprynet.com>",)


@pytest.mark.corpus
def test_one_entry_per_address_decoded() -> None:
    s = _summ("nodemailer-mailparser/nodemailer.eml")
    assert s.from_ == "Andris Kreata <andris@kreata.ee>"
    assert s.to == ("Andris Reinman <andris+123@kreata.ee>", "andris.reinman@gmail.com")
    assert s.subject == "Nodemailer is unicode friendly ✔ (1476358788189)"
    assert s.date == datetime(2016, 10, 13, 11, 39, 48, tzinfo=UTC)


@pytest.mark.corpus
def test_rfc2047_display_name_and_missing_date() -> None:
    s = _summ("php-mime-mail-parser/m0124.eml")
    assert s.from_ == 'ФГУП "СибНИА им.С.А.Чаплыгина"" <user@domain.ru>'
    assert s.subject == "1234 / 1234"
    assert s.date is None and s.message_id == ""
    assert s.attachment_names == ("1234/../../1234.txt",)


@pytest.mark.corpus
def test_8bit_from_header() -> None:
    s = _summ("flanker/from-encoding.eml")
    assert s.from_ == "Ingo Lütkebohle <ingo@blank.pages.de>"


@pytest.mark.corpus
def test_malformed_address_lists_are_split() -> None:
    s = _summ("enmime/mail/malformed-multiple-address-header-values.eml")
    assert s.from_ == "Bob Dunite <bob@extern>, Bobby Dunite <bobby@extern>"
    s = _summ("mikel-mail/plain_emails/raw_email_with_at_display_name.eml")
    assert s.to == ("smith@gmail.com", "Mikel@Lindsaar <raasdnil@gmail.com>", "tom@gmail.com")
    s = _summ("mikel-mail/rfc2822/example11.eml")
    assert s.to[0] == "Mary Smith <mary@example.net>"  # obsolete source route dropped


@pytest.mark.corpus
def test_message_id_and_timezone() -> None:
    s = _summ("mikel-mail/rfc2822/example01.eml")
    assert s.message_id == "<1234@local.machine.example>"
    assert s.date == datetime(1997, 11, 21, 9, 55, 6, tzinfo=timezone(timedelta(hours=-6)))


@pytest.mark.corpus
def test_snippet_from_html_when_there_is_no_text() -> None:
    s = _summ("enmime/mail/html-only-inline.eml")
    assert not s.has_text and s.has_html
    assert s.snippet == "Test of HTML section"
    assert s.attachment_names == ("favicon.png",)


@pytest.mark.corpus
def test_outlook_msg_file() -> None:
    s = _summ("spamscope-mail-parser/mail_outlook_1.eml")
    assert (s.subject, s.from_, s.to, s.has_text, s.has_html) == ("", "", (), False, False)
    assert s.attachment_names == ("part-0.msg",)


def test_summary_of_constructed_message() -> None:
    raw = (
        b'From: "Doe, Jane" <jane@example.com>\r\n'
        b"To: a@example.com, =?utf-8?q?B=C3=B6b?= <b@example.com>\r\n"
        b"Cc: Team: x@example.com, y@example.com;\r\n"
        b"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n"
        b" =?utf-8?q?_aus_Berlin?=\r\n"
        b"Date: Tue, 04 Mar 2025 10:15:00 -0000\r\n"
        b"Message-ID:\r\n <abc@example.com>\r\n"
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"\r\n"
        b"  Hello\r\n\r\n   world \x00 \r\n"
    )
    s = summarize(raw)
    assert s.from_ == "Doe, Jane <jane@example.com>"
    assert s.to == ("a@example.com", "Böb <b@example.com>")
    assert s.cc == ("x@example.com", "y@example.com")
    assert s.subject == "Grüße aus Berlin"
    assert s.date == datetime(2025, 3, 4, 10, 15, tzinfo=UTC)
    assert s.message_id == "<abc@example.com>"
    assert s.snippet == "Hello world"
    assert s.body_text.startswith("  Hello")
    assert (s.has_text, s.has_html, s.attachments) == (True, False, 0)


def test_summary_keeps_early_fields_when_a_later_step_fails(monkeypatch) -> None:
    # Fault injection: the body selection breaks; subject and sender must survive.
    def broken(tree):
        raise RuntimeError("injected")

    monkeypatch.setattr(summary_module, "select_bodies", broken)
    s = summarize(b"From: a@example.com\r\nSubject: still here\r\n\r\nbody")
    assert (s.subject, s.from_) == ("still here", "a@example.com")
    assert s.attachments == 0 and s.snippet == ""


@pytest.mark.parametrize(
    "raw",
    [b"", b"\x00" * 64, b"Subject", b"Subject:", b":\r\n\r\n", b"\r\n", b"\xff\xfe\xfd", b"--"],
)
def test_degenerate_inputs(raw: bytes) -> None:
    _check_types(summarize(raw))


# ---------------------------------------------------------------------------
# cost: the ingest-time shapes


def _small_message() -> bytes:
    rnd = random.Random(1)
    words = ["invoice", "shipment", "password", "reset", "welcome", "account", "order", "report"]
    lines: list[str] = []
    while sum(len(x) + 2 for x in lines) < 1650:
        lines.append(" ".join(rnd.choice(words) for _ in range(10)))
    body = "\r\n".join(lines)
    return (
        "From: Alice Sender <alice@example.com>\r\nTo: Bob Receiver <bob@example.net>\r\n"
        "Subject: Your weekly report #1\r\nDate: Tue, 04 Mar 2025 10:15:00 +0000\r\n"
        "Message-ID: <bench-1@loadgen.example>\r\nMIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\n"
        f"{body}\r\n"
    ).encode()


def _multipart_message(attachment_bytes: int) -> bytes:
    rnd = random.Random(2)
    words = [
        "meeting",
        "agenda",
        "project",
        "update",
        "review",
        "release",
        "notes",
        "build",
        "deploy",
    ]
    text = "\r\n".join(" ".join(rnd.choice(words) for _ in range(10)) for _ in range(40))
    html = "<html><body>" + "".join(f"<p>{line}</p>\r\n" for line in text.split("\r\n"))
    payload = base64.encodebytes(rnd.randbytes(attachment_bytes)).replace(b"\n", b"\r\n")
    return (
        (
            "From: Alice <alice@example.com>\r\nTo: bob@example.net\r\nSubject: Invoice\r\n"
            "Date: Tue, 04 Mar 2025 10:15:00 +0000\r\nMIME-Version: 1.0\r\n"
            'Content-Type: multipart/mixed; boundary="mixed"\r\n\r\n'
            '--mixed\r\nContent-Type: multipart/alternative; boundary="alt"\r\n\r\n'
            "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
            f"{text}\r\n--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
            f"{html}</body></html>\r\n--alt--\r\n--mixed\r\n"
            'Content-Type: application/pdf; name="report.pdf"\r\n'
            'Content-Disposition: attachment; filename="report.pdf"\r\n'
            "Content-Transfer-Encoding: base64\r\n\r\n"
        ).encode()
        + payload
        + b"--mixed--\r\n"
    )


def _best_us(fn, raw: bytes, rounds: int) -> float:
    """CPU microseconds per call (best of 3): other processes on the box do not count."""
    best = float("inf")
    for _ in range(3):
        t = time.process_time()
        for _ in range(rounds):
            fn(raw)
        best = min(best, (time.process_time() - t) / rounds)
    return best * 1e6


def test_summary_cost_per_message_shape() -> None:
    small = _small_message()
    multipart = _multipart_message(70 * 1024)
    large = _multipart_message(18_750_000)  # ~25 MB on the wire
    assert 1900 < len(small) < 2200 and 90_000 < len(multipart) < 120_000
    assert len(large) > 25_000_000
    results = {}
    for name, raw, rounds in (("2 KB", small, 200), ("100 KB", multipart, 20), ("25 MB", large, 1)):
        results[name] = (_best_us(summarize, raw, rounds), _best_us(parse_message, raw, rounds))
    for name, (s_us, p_us) in results.items():
        print(f"\n{name:>6}: summarize {s_us:10.1f} us   parse_message {p_us:10.1f} us")
    s = summarize(large)
    assert s.attachment_names == ("report.pdf",) and s.has_text and s.has_html
    # The summary never decodes the attachment: far cheaper than a full parse...
    assert results["25 MB"][0] * 2 < results["25 MB"][1]
    # ...and it allocates almost nothing on a 25 MB message.
    tracemalloc.start()
    try:
        summarize(large)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    print(f"\nsummarize(25 MB) peak allocation: {peak / 1e6:.2f} MB")
    assert peak < 3_000_000


# ---------------------------------------------------------------------------
# html_to_text


def test_html_to_text_rendering_rules() -> None:
    html = (
        "<html><head><title>T</title><style>p{color:red}</style>"
        "<script>alert(1)</script></head><body>"
        "<h1>Title</h1><p>Hello&nbsp;<b>World</b> &amp; &lt;you&gt;</p>"
        "<ul><li>one<li>two</ul>"
        '<p><a href="https://example.com/x">click here</a> '
        '<a href="https://example.com/y">https://example.com/y</a> '
        '<a href="mailto:a@example.com">a@example.com</a></p>'
        "line<br>break<pre>  keep\n    spacing</pre>"
        '<table><tr><td>a</td><td>b</td></tr></table><img src="x.png" alt="Logo">'
        "<!-- hidden --><p>&zwnj;&#8203;end   of    text</p></body></html>"
    )
    assert html_to_text(html) == (
        "Title\n\nHello World & <you>\n\n- one\n- two\n\n"
        "click here <https://example.com/x> https://example.com/y a@example.com\n\n"
        "line\nbreak\n\n  keep\n    spacing\n\na b\n\nLogo\n\nend of text"
    )


def test_html_to_text_limit_and_odd_input() -> None:
    assert html_to_text("<p>" + "word " * 10_000, limit=100) == ("word " * 20).strip()[:100]
    assert len(html_to_text("<p>" + "word " * 10_000, limit=100)) <= 100
    assert html_to_text("a < b > c <3 </ x") == "a < b > c <3 </ x"
    assert html_to_text("<p unclosed='x") == ""
    assert html_to_text("") == ""
    assert html_to_text(None) == ""  # type: ignore[arg-type]
    assert html_to_text("<div>one</div><div>two</div>") == "one\ntwo"


@pytest.mark.parametrize(
    "unit",
    ['<a b="', "<!--", "<![CDATA[", "</", "<", "<a", '<a href="https://x">y', "<script>", "&#"],
)
def test_html_to_text_is_linear_on_unclosed_constructs(unit: str) -> None:
    # html.parser on Python 3.11 is quadratic on several of these (tens of
    # seconds at 120 KB); here 8x the input must cost well under 8^2 = 64x.
    def cost(chars: int) -> float:
        text = unit * (chars // len(unit))
        return min(_timed(html_to_text, text) for _ in range(3))

    small, big = cost(40_000), cost(320_000)
    assert big < max(small, 2e-3) * 24, (small, big)


def _timed(fn, arg) -> float:
    # CPU time of this process: other processes on a loaded CI box do not count.
    t = time.process_time()
    fn(arg)
    return time.process_time() - t


def test_big_encoded_embedded_message_is_named_without_being_expanded() -> None:
    inner = (
        b"Subject: Forwarded report\r\nFrom: x@example.com\r\n\r\n" + b"line of text\r\n" * 120_000
    )
    raw = (
        b"Subject: fwd\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n"
        b"--b\r\nContent-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        + base64.encodebytes(inner)
        + b"--b--\r\n"
    )
    assert len(raw) > summary_module.NESTED_DECODE_LIMIT
    pm = parse_message(raw)
    assert [a.filename for a in pm.attachments] == ["Forwarded report.eml"]
    assert pm.attachments[0].data == inner
    s = summarize(raw)
    assert s.attachment_names == ("Forwarded report.eml",)
    assert s.snippet == "see attached"


def test_truncated_utf8_body_is_not_decoded_as_mojibake() -> None:
    unit = "naïve café ".encode()
    limit = summary_module.DECODE_LIMIT
    pad = next(k for k in range(len(unit)) if (b"x" * k + unit * 40_000)[limit - 1] == 0xC3)
    body = b"x" * pad + unit * 40_000  # the summary reads `limit` bytes: cut inside "é"/"ï"
    raw = b"Content-Type: text/plain; charset=utf-8\r\n\r\n" + body
    s = summarize(raw)
    assert s.body_text.startswith("x" * pad + "naïve café naïve")
    assert "Ã" not in s.body_text and len(s.body_text) == TEXT_LIMIT
