"""Unit tests for the Qt-free HTML viewer policy (core.render.policy)."""

from __future__ import annotations

import pytest

from mailcatcher_gui.core.models import Attachment, ParsedMessage
from mailcatcher_gui.core.render.policy import (
    BlockedRemote,
    MessageRegistry,
    NavigationVerdict,
    UrlKind,
    cid_url,
    classify_url,
    content_security_policy,
    decide_request,
    navigation_verdict,
    neutralize_resource_hints,
    page_url,
    parse_internal_url,
    part_url,
    prepare_html,
    rewrite_cid_references,
    text_as_html,
)


def _att(index: int, cid: str | None, data: bytes, ctype: str = "image/png") -> Attachment:
    return Attachment(
        index=index,
        filename=f"f{index}.png",
        content_type=ctype,
        size=len(data),
        sha256="",
        content_id=cid,
        inline=cid is not None,
        part_id=str(index + 2),
        data=data,
    )


def _parsed(html: str | None, text: str | None = None, atts=()) -> ParsedMessage:
    return ParsedMessage(
        headers=(), text=text, html=html, attachments=tuple(atts), parts=(), defects=()
    )


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("mailcatcher://message/abc/html", UrlKind.INTERNAL),
        ("MailCatcher://message/abc/part/1", UrlKind.INTERNAL),
        ("data:image/png;base64,AAAA", UrlKind.DATA),
        ("about:blank", UrlKind.BLANK),
        ("http://tracker.example/p.gif", UrlKind.REMOTE),
        ("HTTPS://cdn.example/a.css", UrlKind.REMOTE),
        ("cid:foo@bar", UrlKind.CID),
        ("file:///etc/passwd", UrlKind.OTHER),
        ("ftp://x/y", UrlKind.OTHER),
        ("javascript:alert(1)", UrlKind.OTHER),
        ("ws://x/", UrlKind.OTHER),
        ("relative/path.png", UrlKind.OTHER),
    ],
)
def test_classify_url(url, kind):
    assert classify_url(url) is kind


def test_internal_urls_round_trip():
    token = "0123abcd"
    assert parse_internal_url(page_url(token)).kind == "html"
    target = parse_internal_url(part_url(token, 7))
    assert (target.token, target.kind, target.arg) == (token, "part", "7")
    weird = "image001.png@01D0/../x y%"
    target = parse_internal_url(cid_url(token, weird))
    assert (target.token, target.kind, target.arg) == (token, "cid", weird)
    assert parse_internal_url("http://message/abc/html") is None
    assert parse_internal_url("mailcatcher://other/abc/html") is None
    assert parse_internal_url("mailcatcher://message/") is None


def test_cid_rewriting_only_touches_references():
    html = (
        "<img src=\"cid:a@b\"><img src=cid:plain><img SRC='cid:q%40x'>"
        "<div style=\"background: url(cid:bg@x)\"></div><td background='cid:td@x'>"
        "<p>Mentioning cid:not-a-ref in text stays.</p>"
    )
    out = rewrite_cid_references(html, "tok")
    assert 'src="mailcatcher://message/tok/cid/a%40b"' in out
    assert "src=mailcatcher://message/tok/cid/plain>" in out
    # %40 in the HTML is decoded first (RFC 2392), then re-encoded once.
    assert "SRC='mailcatcher://message/tok/cid/q%40x'" in out
    assert "url(mailcatcher://message/tok/cid/bg%40x)" in out
    assert "background='mailcatcher://message/tok/cid/td%40x'" in out
    assert "Mentioning cid:not-a-ref in text stays." in out


def test_resource_hints_are_disarmed_but_other_links_kept():
    html = (
        '<link rel="preconnect" href="https://t.example"><LINK REL=dns-prefetch href=//t>'
        '<link rel="stylesheet prefetch" href="a.css"><p>preconnect in text</p>'
    )
    out = neutralize_resource_hints(html)
    assert 'rel="x-blocked-preconnect"' in out
    assert "REL=x-blocked-dns-prefetch" in out
    assert 'rel="stylesheet x-blocked-prefetch"' in out
    assert "<p>preconnect in text</p>" in out


def test_prepare_html_has_bom_and_survives_surrogates():
    data = prepare_html("<p>caf\u00e9 \udcff</p>", "tok")
    assert data.startswith("\ufeff".encode())
    assert "café".encode() in data


def test_text_as_html_escapes():
    page = text_as_html("<script>x</script> & more")
    assert "&lt;script&gt;" in page and "<script>" not in page
    assert "no body" in text_as_html(None)


def test_csp_forbids_scripts_frames_forms_but_lets_images_reach_interceptor():
    csp = content_security_policy()
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["script-src"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-src"] == ["'none'"]
    assert directives["form-action"] == ["'none'"]
    assert directives["default-src"] == ["'none'"]
    for d in ("img-src", "font-src", "style-src"):
        assert "mailcatcher:" in directives[d]
        assert "https:" in directives[d]
        assert "file:" not in directives[d]


def test_decide_request():
    assert decide_request("data:,x", allow_remote=False).allow
    blocked = decide_request("https://Track.Example:8443/p.gif?u=1", allow_remote=False)
    assert not blocked.allow and blocked.blocked_host == "track.example"
    assert decide_request("https://track.example/p.gif", allow_remote=True).allow
    # Never, whatever the setting:
    for url in ("file:///etc/passwd", "ftp://x/", "cid:x", "chrome://settings"):
        decision = decide_request(url, allow_remote=True)
        assert not decision.allow and decision.blocked_host is None


def test_blocked_remote_accounting():
    b = BlockedRemote()
    assert b.describe() == ""
    for host in ("b.example", "a.example", "b.example", "c.example", "d.example"):
        b.record(host, f"http://{host}/x")
    assert b.total == 5
    assert b.host_list() == ["b.example", "a.example", "c.example", "d.example"]
    assert b.describe() == (
        "Blocked 5 remote resources from b.example, a.example, c.example and 1 more"
    )
    one = BlockedRemote()
    one.record("x.example", "http://x.example/")
    assert one.describe() == "Blocked 1 remote resource from x.example"


def test_registry_serves_html_parts_and_cids():
    png = b"\x89PNG fake"
    parsed = _parsed('<img src="cid:logo@x">', atts=[_att(0, "logo@x", png)])
    reg = MessageRegistry()
    token = reg.register(parsed)
    page = reg.resolve(page_url(token))
    assert page.content_type == "text/html; charset=utf-8"
    assert f"mailcatcher://message/{token}/cid/logo%40x".encode() in page.data
    assert reg.resolve(cid_url(token, "logo@x")).data == png
    assert reg.resolve(f"mailcatcher://message/{token}/cid/%3Clogo%40x%3E").data == png
    assert reg.resolve(part_url(token, 0)).content_type == "image/png"
    assert reg.resolve(part_url(token, 5)) is None
    assert reg.resolve(part_url(token, "x")) is None  # type: ignore[arg-type]
    assert reg.resolve(cid_url(token, "missing")) is None
    assert reg.resolve(page_url("unknown")) is None
    assert reg.served(token) == [
        page_url(token),
        cid_url(token, "logo@x"),
        f"mailcatcher://message/{token}/cid/%3Clogo%40x%3E",
        part_url(token, 0),
    ]
    reg.release(token)
    assert reg.resolve(page_url(token)) is None


def test_registry_serves_text_when_there_is_no_html():
    reg = MessageRegistry()
    token = reg.register(_parsed(None, text="just <text>"))
    assert b"just &lt;text&gt;" in reg.resolve(page_url(token)).data


def test_registry_decisions_are_per_message_and_counted():
    events: list[str] = []
    reg = MessageRegistry(on_blocked=events.append)
    a = reg.register(_parsed("<p>a"))
    b = reg.register(_parsed("<p>b"), allow_remote=True)
    d = reg.decide("http://t.example/a.gif", page_url(a))
    assert not d.allow
    assert reg.blocked(a).total == 1 and reg.blocked(a).host_list() == ["t.example"]
    assert events == [a]
    assert reg.decide("http://t.example/a.gif", page_url(b)).allow
    assert reg.blocked(b).total == 0
    reg.set_allow_remote(a, True)
    assert reg.decide("http://t.example/a.gif", page_url(a)).allow
    # A message may not load another message's parts.
    assert not reg.decide(part_url(b, 0), page_url(a)).allow
    assert reg.decide(part_url(a, 0), page_url(a)).allow
    # Unknown pages never get remote access.
    assert not reg.decide("http://t.example/", "about:blank").allow
    assert not reg.decide(page_url("gone"), "").allow


@pytest.mark.parametrize(
    ("url", "kind", "main", "expected"),
    [
        ("https://example.com/", "link", True, NavigationVerdict.EXTERNAL),
        ("mailto:a@b.example", "link", True, NavigationVerdict.EXTERNAL),
        ("https://example.com/", "link", False, NavigationVerdict.EXTERNAL),
        ("file:///etc/passwd", "link", True, NavigationVerdict.BLOCK),
        ("javascript:alert(1)", "link", True, NavigationVerdict.BLOCK),
        ("mailcatcher://message/t/part/0", "link", True, NavigationVerdict.BLOCK),
        ("mailcatcher://message/t/html#top", "link", True, NavigationVerdict.ALLOW),
        ("mailcatcher://message/t/html", "typed", True, NavigationVerdict.ALLOW),
        ("about:blank", "typed", True, NavigationVerdict.ALLOW),
        ("mailcatcher://message/t/html", "reload", True, NavigationVerdict.ALLOW),
        ("https://example.com/", "typed", True, NavigationVerdict.BLOCK),
        ("https://example.com/", "redirect", True, NavigationVerdict.BLOCK),
        ("https://example.com/", "other", True, NavigationVerdict.BLOCK),
        ("https://example.com/", "form", True, NavigationVerdict.BLOCK),
        ("mailcatcher://message/t/html", "typed", False, NavigationVerdict.BLOCK),
    ],
)
def test_navigation_verdict(url, kind, main, expected):
    current = "mailcatcher://message/t/html"
    assert navigation_verdict(url, kind, main_frame=main, current=current) is expected
