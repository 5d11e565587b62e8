"""Bulk-sender readiness (with real DKIM signatures), the runner, the cache, and the corpus."""

from __future__ import annotations

import base64
import quopri
import time
from pathlib import Path

import dkim
import pytest
from checks_helpers import codes, finding, head, html_message, opened
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from smtp_helpers import make_message, running_sink

from mailcatcher_gui.core.checks.bulk import check_bulk, dkim_reason
from mailcatcher_gui.core.checks.cache import ChecksCache, options_fingerprint
from mailcatcher_gui.core.checks.caniemail import load
from mailcatcher_gui.core.checks.codes import CODES
from mailcatcher_gui.core.checks.dkim import check_authentication
from mailcatcher_gui.core.checks.inputs import CheckInput
from mailcatcher_gui.core.checks.model import (
    FAMILIES,
    CheckOptions,
    ChecksReport,
    FamilyResult,
    Severity,
)
from mailcatcher_gui.core.checks.runner import LINKS_HOW, SPAM_HOW, run_local_checks

LOCAL = ("compatibility", "headers", "bulk", "size", "accessibility")
ONE_CLICK = {
    "List_Unsubscribe": "<https://example.com/unsubscribe/42>",
    "List_Unsubscribe_Post": "List-Unsubscribe=One-Click",
}


@pytest.fixture(scope="module")
def key() -> tuple[bytes, bytes]:
    """(private PEM, DKIM TXT record) of a fresh RSA key."""
    k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = k.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = k.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def signed(private: bytes, domain: bytes, **headers: str | None) -> bytes:
    raw = head(**headers, Content_Type="text/plain; charset=utf-8") + b"\r\nHello.\r\n"
    return dkim.sign(raw, b"s1", domain, private, include_headers=[b"from", b"subject"]) + raw


def options_for(record: bytes, domain: str = "example.com") -> CheckOptions:
    return CheckOptions(dkim_keys={f"s1._domainkey.{domain}": record}, resolve_dns=False)


def bulk_of(raw: bytes, options: CheckOptions):
    return check_bulk(CheckInput.build(opened(raw)), check_authentication(raw, options))


# ---- bulk-sender readiness ----


def test_ready_bulk_mail(key):
    private, record = key
    raw = signed(private, b"example.com", **ONE_CLICK)
    result = bulk_of(raw, options_for(record))
    assert result.verdict is Severity.OK, [(f.code, f.title) for f in result.findings]
    assert {f.severity for f in result.findings} == {Severity.OK}
    assert codes(result) == {
        "bulk-dkim",
        "bulk-one-click",
        "bulk-message-id",
        "bulk-date",
        "bulk-from",
    }


def test_no_dkim_and_no_one_click(key):
    raw = head(Content_Type="text/plain") + b"\r\nHello.\r\n"
    result = bulk_of(raw, options_for(key[1]))
    assert result.verdict is Severity.ERROR
    assert finding(result, "bulk-dkim").severity is Severity.ERROR
    assert finding(result, "bulk-one-click").severity is Severity.ERROR
    assert result.summary.startswith("not ready:")
    assert "No DKIM signature" in result.summary


def test_one_click_needs_the_post_header(key):
    private, record = key
    raw = signed(private, b"example.com", List_Unsubscribe="<https://example.com/u>")
    f = finding(bulk_of(raw, options_for(record)), "bulk-one-click")
    assert f.severity is Severity.ERROR
    assert "List-Unsubscribe-Post" in f.title


def test_dkim_that_fails_or_does_not_align(key):
    private, record = key
    tampered = signed(private, b"example.com", **ONE_CLICK).replace(b"Hello.", b"Changed")
    failing = bulk_of(tampered, options_for(record))
    assert finding(failing, "bulk-dkim").severity is Severity.ERROR
    other = signed(private, b"esp.example.net", **ONE_CLICK)
    unaligned = bulk_of(other, options_for(record, "esp.example.net"))
    f = finding(unaligned, "bulk-dkim")
    assert f.severity is Severity.WARNING and "align" in f.title
    assert unaligned.verdict is Severity.WARNING


def test_missing_message_id_and_date_fail_the_rules(key):
    private, record = key
    raw = signed(private, b"example.com", Message_ID=None, Date=None, **ONE_CLICK)
    result = bulk_of(raw, options_for(record))
    assert finding(result, "bulk-message-id").severity is Severity.ERROR
    assert finding(result, "bulk-date").severity is Severity.ERROR


def test_authentication_not_run_is_said():
    skipped = FamilyResult("authentication", Severity.SKIPPED, "DKIM off")
    sev, text = dkim_reason(skipped)
    assert sev is Severity.WARNING and "DKIM off" in text


# ---- the runner ----


def test_every_family_in_order_with_links_and_spam_skipped():
    raw = html_message('<p><a href="https://example.com/a">Our report</a></p>')
    report = run_local_checks(opened(raw), CheckOptions(resolve_dns=False))
    assert [f.family for f in report.families] == list(FAMILIES)
    links, spam = report.family("links"), report.family("spam")
    assert links is not None and links.verdict is Severity.SKIPPED and LINKS_HOW in links.summary
    assert spam is not None and spam.verdict is Severity.SKIPPED and spam.summary == SPAM_HOW
    for fam in ("compatibility", "headers", "bulk", "size", "accessibility", "authentication"):
        result = report.family(fam)
        assert result is not None and not result.summary.startswith("check failed"), result


def test_spamd_configured_is_named():
    raw = html_message("<p>x</p>")
    report = run_local_checks(opened(raw), CheckOptions(spamassassin="127.0.0.1:783"))
    spam = report.family("spam")
    assert spam is not None and "127.0.0.1:783" in spam.summary


def test_a_stored_message_from_the_sink(mailbox):
    from smtp_helpers import RawSmtpClient, queued_id

    raw = make_message(subject="stored", body=b"Hi.\r\n")
    with running_sink(mailbox) as sink, RawSmtpClient(sink.host, sink.port) as c:
        c.reply()
        for cmd in (b"EHLO t", b"MAIL FROM:<a@example.com>", b"RCPT TO:<b@example.com>"):
            c.send(cmd + b"\r\n")
            assert c.reply()[0] == 250
        c.send(b"DATA\r\n")
        assert c.reply()[0] == 354
        c.send(raw + b".\r\n")
        code, lines = c.reply()
        assert code == 250
        message_id = queued_id(" ".join(lines))
    report = run_local_checks(mailbox.get(message_id), CheckOptions(resolve_dns=False))
    assert report.message_id == message_id
    headers = report.family("headers")
    assert headers is not None and "date-missing" in codes(headers)


@pytest.mark.parametrize("cte", ["8bit", "quoted-printable"])
def test_large_message_is_linear_enough(cte):
    """A coarse guard, not a benchmark: 20x the HTML must not cost 100x the time.

    Minified HTML (one line): quoted-printable makes it one logical line of
    thousands of soft-broken raw lines, which the line mapping must bisect.
    """
    row = '<tr><td style="padding:{i}px;color:#333"><a href="https://e.example/{i}">x</a></td></tr>'

    def timed(n: int) -> float:
        html = "<table>" + "".join(row.format(i=i) for i in range(n)) + "</table>"
        if cte == "quoted-printable":
            html = quopri.encodestring(html.encode()).replace(b"\n", b"\r\n").decode()
        om = opened(html_message(html, cte=cte))
        start = time.perf_counter()
        run_local_checks(om, CheckOptions(resolve_dns=False))
        return time.perf_counter() - start

    timed(50)  # warm caches (data load)
    small = max(timed(1000), 0.005)
    large = timed(20000)
    assert large < small * 100, (small, large)


# ---- the cache ----


def _report(message_id: int, tag: str) -> ChecksReport:
    return ChecksReport(message_id, (FamilyResult("size", Severity.OK, tag),))


def test_cache_is_a_bounded_lru():
    cache = ChecksCache(maxsize=2)
    opts = CheckOptions()
    a, b, c = (opened(make_message(subject=s)) for s in "abc")
    cache.put(a, opts, _report(1, "a"))
    cache.put(b, opts, _report(2, "b"))
    assert cache.get(a, opts) is not None  # a is now the most recent
    cache.put(c, opts, _report(3, "c"))
    assert len(cache) == 2
    assert cache.get(b, opts) is None  # b was the least recently used
    assert cache.get(a, opts) is not None and cache.get(c, opts) is not None


def test_cache_key_includes_options_and_content():
    cache = ChecksCache()
    om = opened(make_message(subject="k"))
    cache.put(om, CheckOptions(), _report(0, "x"))
    assert cache.get(om, CheckOptions(resolve_dns=False)) is None
    assert cache.get(om, CheckOptions(dkim_keys={"s._domainkey.x": b"k"})) is None
    other_bytes = opened(make_message(subject="other"))  # same id 0, other message
    assert cache.get(other_bytes, CheckOptions()) is None
    assert options_fingerprint(CheckOptions()) == options_fingerprint(CheckOptions())
    calls = []

    def run(o, opts):
        calls.append(1)
        return run_local_checks(o, opts)

    first = cache.get_or_run(other_bytes, CheckOptions(), run)
    second = cache.get_or_run(other_bytes, CheckOptions(), run)
    assert first is second and len(calls) == 1
    cache.invalidate(0)
    assert len(cache) == 0
    with pytest.raises(ValueError):
        ChecksCache(maxsize=0)


# ---- the corpus ----


def test_every_corpus_message_gets_its_checks(corpus: list[Path]):
    options = CheckOptions(resolve_dns=False)
    failures = []
    unknown: set[tuple[str, str]] = set()
    slugs = set(load().features)
    for path in corpus:
        report = run_local_checks(opened(path.read_bytes()), options)
        assert [f.family for f in report.families] == list(FAMILIES)
        for fam in report.families:
            if fam.summary.startswith("check failed"):
                failures.append((path.name, fam.family, fam.summary))
            for f in fam.findings:
                assert f.line is None or f.line >= 1
                if fam.family in LOCAL and f.code not in CODES and f.code not in slugs:
                    unknown.add((fam.family, f.code))
    assert not failures, failures[:10]
    assert not unknown, sorted(unknown)[:10]


@pytest.mark.parametrize(
    "html",
    [
        "<style>" + "@media screen{" * 3000 + "a{color:red}" + "}" * 3000 + "</style><p>x</p>",
        '<p style="width:' + "calc(" * 5000 + "1px" + ")" * 5000 + '">x</p>',
        "<div>" * 50000 + "x",
        "<table><tr><td>" * 3000 + "x",
        '<a href="https://e.example/">here</a>' * 20000,
        "<p style='color:" + "#" * 100000 + "'>",
    ],
    ids=["deep-media", "deep-calc", "deep-divs", "deep-tables", "many-links", "junk-colour"],
)
def test_hostile_html_never_fails_a_family(html):
    start = time.perf_counter()
    report = run_local_checks(opened(html_message(html)), CheckOptions(resolve_dns=False))
    assert time.perf_counter() - start < 20
    failed = [f.family for f in report.families if f.summary.startswith("check failed")]
    assert not failed


def test_html_nested_too_deep_is_said_not_parsed():
    result = run_local_checks(opened(html_message("<div>" * 5000 + "x")), CheckOptions())
    compat = result.family("compatibility")
    assert compat is not None and "html-too-deep" in codes(compat)
    normal = run_local_checks(opened(html_message("<div>" * 50 + "x")), CheckOptions())
    assert "html-too-deep" not in codes(normal.family("compatibility"))


def test_dkim_without_a_key_is_a_warning_not_a_failure(key):
    private, _record = key
    raw = signed(private, b"example.com", **ONE_CLICK)
    result = bulk_of(raw, CheckOptions(resolve_dns=False))  # no key given, no DNS
    f = finding(result, "bulk-dkim")
    assert f.severity is Severity.WARNING and "could not be verified" in f.title


def test_codes_name_their_family():
    assert all(fam in LOCAL for fam, _meaning in CODES.values())
