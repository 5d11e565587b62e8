"""Links and images: extraction from HTML/CSS/text/headers, and the check against real
loopback HTTP servers (200, 404, redirect chains, HEAD refused, timeouts) and the SSRF guard."""

from __future__ import annotations

import asyncio
import base64
import socket
import ssl
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mailcatcher_gui.core.checks import CheckOptions, FamilyResult, Severity
from mailcatcher_gui.core.checks.linkprobe import GuardedResolver, Probe, address_refusal, probe_url
from mailcatcher_gui.core.checks.links import check_links, extract_links
from mailcatcher_gui.core.mailio.local import unstored_message
from mailcatcher_gui.core.models import OpenedMessage
from tests.link_helpers import http_server
from tests.tls_helpers import make_test_ca

LOCAL_OK = CheckOptions(allow_local_links=True, link_timeout=2.0, link_concurrency=3)


def message(html: str = "", text: str = "", extra_headers: str = "") -> OpenedMessage:
    parts = []
    if text:
        parts.append("--b\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + text + "\r\n")
    if html:
        parts.append("--b\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + html + "\r\n")
    raw = (
        "From: a@example.com\r\nTo: b@example.com\r\nSubject: links\r\n" + extra_headers
        + 'MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary="b"\r\n\r\n'
        + "".join(parts) + "--b--\r\n"
    )  # fmt: skip
    return unstored_message(raw.encode(), received_at=datetime.now(UTC), source="test")


def run(check: Callable[[], Awaitable[FamilyResult]]) -> FamilyResult:
    return asyncio.run(check())  # type: ignore[arg-type]


def by_url(result: FamilyResult) -> dict[str, dict[str, Any]]:
    return {link["url"]: link for link in result.data["links"]}


def test_extract_every_kind_with_where_and_line() -> None:
    html = (
        '<html><head><style>.h{background:url("https://cdn.example.com/bg.png")}'
        "/* url(https://comment.example.com/x) */</style></head><body>"
        '<a href="https://example.com/a">a</a><map><area href="https://example.com/area"></map>'
        '<img src="https://img.example.com/1.png" srcset="https://img.example.com/1x.png 1x, '
        'https://img.example.com/2x.png 2x">'
        '<table background="https://example.com/tbg.gif"><tr><td style="background-image: '
        'url(https://example.com/cell.png)">x</td></tr></table>'
        '<a href="#top">top</a><img src="cid:logo@x"></body></html>'
    )
    text = "See https://example.com/text-link. Or <https://example.com/angle>."
    opened = message(
        html, text, "List-Unsubscribe: <https://example.com/unsub>, <mailto:u@example.com>\r\n"
    )
    refs = extract_links(opened)
    kinds = {(r.url, r.kind) for r in refs}
    assert ("https://cdn.example.com/bg.png", "css") in kinds
    assert ("https://example.com/a", "a") in kinds
    assert ("https://example.com/area", "area") in kinds
    assert ("https://img.example.com/1.png", "img") in kinds
    assert ("https://img.example.com/2x.png", "srcset") in kinds
    assert ("https://example.com/tbg.gif", "background") in kinds
    assert ("https://example.com/cell.png", "css") in kinds
    assert ("https://example.com/unsub", "list-unsubscribe") in kinds
    assert ("mailto:u@example.com", "list-unsubscribe") in kinds
    assert ("https://example.com/text-link", "text") in kinds
    assert ("https://example.com/angle", "text") in kinds
    assert ("cid:logo@x", "img") in kinds
    urls = [r.url for r in refs]
    assert not any("comment.example.com" in u for u in urls)  # CSS comments are not links
    assert "#top" not in urls
    area = next(r for r in refs if r.kind == "area")
    assert area.where == "<area href>"
    raw_lines = opened.stored.raw.split(b"\n")
    assert area.line is not None and b"example.com/area" in raw_lines[area.line - 1]


def test_base_href_resolves_relative_and_relative_without_base_warns() -> None:
    with_base = message('<base href="https://site.example/dir/"><a href="page.html">p</a>')
    assert [r.url for r in extract_links(with_base)] == ["https://site.example/dir/page.html"]
    without = message('<a href="page.html">p</a><img src="cid:nothere">')
    result = run(lambda: check_links(without, LOCAL_OK))
    codes = {f.code for f in result.findings}
    assert codes == {"link-relative", "cid-missing"}
    assert result.verdict is Severity.ERROR
    assert result.data["mailpit"] == {"Errors": 0, "Links": []}


def test_status_per_link_redirect_chain_and_get_fallback() -> None:
    async def scenario() -> tuple[FamilyResult, FamilyResult, list[tuple[str, str]], str]:
        async with http_server() as (base, seen):
            html = (
                f'<a href="{base}/ok">ok</a><a href="{base}/missing">gone</a>'
                f'<a href="{base}/r1">moved</a><a href="{base}/nohead">get</a>'
                f'<img src="{base}/ok">'
            )
            opened = message(html)
            followed = await check_links(opened, LOCAL_OK, follow=True)
            unfollowed = await check_links(opened, LOCAL_OK, follow=False)
            return followed, unfollowed, seen, base

    result, unfollowed, seen, base = asyncio.run(scenario())
    links = by_url(result)
    assert links[f"{base}/ok"]["status_code"] == 200
    assert len(links[f"{base}/ok"]["occurrences"]) == 2  # <a> and <img>, asked once
    assert links[f"{base}/missing"]["status_code"] == 404
    chain = links[f"{base}/r1"]
    assert chain["status_code"] == 200 and chain["final_url"] == f"{base}/ok"
    assert chain["redirects"] == [
        {"url": f"{base}/r1", "status_code": 301},
        {"url": f"{base}/r2", "status_code": 302},
    ]
    assert links[f"{base}/nohead"]["status_code"] == 200
    assert links[f"{base}/nohead"]["method"] == "GET"
    assert ("HEAD", "/nohead") in seen and ("GET", "/nohead") in seen
    assert (
        seen.count(("HEAD", "/ok")) == 3
    )  # once directly, once as the redirect target, once unfollowed
    redirect_finding = next(f for f in result.findings if f.where == f"{base}/r1")
    assert "301" in redirect_finding.detail and "302" in redirect_finding.detail
    assert "after 2 redirects" in redirect_finding.title
    broken = next(f for f in result.findings if f.where == f"{base}/missing")
    assert broken.severity is Severity.ERROR and broken.code == "link-broken"
    assert result.verdict is Severity.ERROR
    mp = result.data["mailpit"]
    assert mp["Errors"] == 1
    assert {"URL": f"{base}/missing", "StatusCode": 404, "Status": "Not Found"} in mp["Links"]
    assert "1 broken" in result.summary
    # follow=False shows the first answer, like Mailpit
    assert by_url(unfollowed)[f"{base}/r1"]["status_code"] == 301
    assert by_url(unfollowed)[f"{base}/r1"]["redirects"] == []


def test_all_good_is_ok() -> None:
    async def scenario() -> tuple[FamilyResult, str]:
        async with http_server() as (base, _seen):
            return await check_links(message(f'<a href="{base}/ok">ok</a>'), LOCAL_OK), base

    result, base = asyncio.run(scenario())
    assert result.verdict is Severity.OK
    assert result.summary == "1 URL checked, all answer"
    assert result.data["mailpit"] == {
        "Errors": 0,
        "Links": [{"URL": f"{base}/ok", "StatusCode": 200, "Status": "OK"}],
    }


def test_timeout_and_redirect_loop_are_errors() -> None:
    options = CheckOptions(allow_local_links=True, link_timeout=0.5)

    async def scenario() -> tuple[FamilyResult, str]:
        async with http_server() as (base, _seen):
            html = f'<a href="{base}/slow">slow</a><a href="{base}/loop">loop</a>'
            return await check_links(message(html), options), base

    result, base = asyncio.run(scenario())
    links = by_url(result)
    assert links[f"{base}/slow"]["status_code"] == 0
    assert links[f"{base}/slow"]["error"] == "timed out after 0.5 s"
    assert links[f"{base}/loop"]["status_code"] == 0
    assert "more than 10 redirects" in links[f"{base}/loop"]["error"]
    assert result.data["mailpit"]["Errors"] == 2


def test_ssrf_guard_refuses_loopback_literal_and_name_without_connecting() -> None:
    options = CheckOptions(allow_local_links=False, link_timeout=2.0)

    async def scenario() -> tuple[FamilyResult, list[tuple[str, str]], str]:
        async with http_server() as (base, seen):
            port = base.rsplit(":", 1)[1]
            html = f'<a href="{base}/ok">ip</a><a href="http://localhost:{port}/ok">name</a>'
            return await check_links(message(html), options), seen, port

    result, seen, port = asyncio.run(scenario())
    assert seen == []  # nothing reached the server
    links = by_url(result)
    literal = links[f"http://127.0.0.1:{port}/ok"]
    assert literal["refused"] is True and literal["status_code"] == 0
    assert "127.0.0.1 is a loopback address" in literal["error"]
    name = links[f"http://localhost:{port}/ok"]
    assert name["refused"] is True
    assert "localhost resolves to" in name["error"] and "loopback" in name["error"]
    assert {f.code for f in result.findings} == {"link-local-target"}
    assert result.verdict is Severity.WARNING
    assert "2 local (not checked)" in result.summary


def loopback_only(address: str) -> str | None:
    """The real policy, except that 127.0.0.1 stands in for a public host."""
    return None if address == "127.0.0.1" else address_refusal(address)


def test_ssrf_guard_rechecks_every_redirect_hop() -> None:
    """A first hop that passes the guard cannot bounce the checker onto a refused address."""

    async def scenario(target: str) -> Probe:
        async with http_server() as (base, _seen):
            resolver = GuardedResolver(loopback_only)
            connector = aiohttp.TCPConnector(resolver=resolver, use_dns_cache=False)
            async with aiohttp.ClientSession(connector=connector) as session:
                return await probe_url(
                    session, resolver, f"{base}/to-local?target={target}",
                    timeout=2.0, follow=True, policy=loopback_only,
                )  # fmt: skip

    metadata = asyncio.run(scenario("http://169.254.169.254/latest/meta-data/"))
    assert metadata.refused is True
    assert "169.254.169.254 is a cloud metadata address" in metadata.error
    assert [code for _url, code in metadata.hops] == [302]
    private = asyncio.run(scenario("http://10.0.0.1/admin"))
    assert private.refused and "10.0.0.1 is a private address" in private.error
    # a name is judged on every address it resolves to: localhost is 127.0.0.1 (allowed
    # here) and, where IPv6 is configured, ::1 (refused)
    named = asyncio.run(scenario("http://localhost:9/x"))
    if any(":" in a for a in _addresses("localhost")):
        assert named.refused and "::1 is a loopback address" in named.error
    else:
        assert not named.refused and named.status_code == 0  # allowed, nothing listens on :9
    assert [code for _url, code in named.hops] == [302]


def _addresses(host: str) -> set[str]:
    return {str(info[4][0]) for info in socket.getaddrinfo(host, 80, type=socket.SOCK_STREAM)}


def test_address_refusal_rules() -> None:
    assert address_refusal("93.184.216.34") is None
    assert address_refusal("2606:2800:220:1:248:1893:25c8:1946") is None
    assert "loopback" in (address_refusal("127.0.0.1") or "")
    assert "loopback" in (address_refusal("::1") or "")
    assert "loopback" in (address_refusal("::ffff:127.0.0.1") or "")
    assert "private" in (address_refusal("10.1.2.3") or "")
    assert "private" in (address_refusal("192.168.0.1") or "")
    assert "link-local" in (address_refusal("169.254.10.10") or "")
    assert "metadata" in (address_refusal("169.254.169.254") or "")
    assert "metadata" in (address_refusal("fd00:ec2::254") or "")
    assert "not a public address" in (address_refusal("100.64.0.1") or "")
    assert "unspecified" in (address_refusal("0.0.0.0") or "")
    assert "not a public address" in (address_refusal("224.0.0.1") or "")


def test_hostile_urls_never_crash_and_never_connect() -> None:
    async def scenario() -> tuple[FamilyResult, list[tuple[str, str]], str]:
        async with http_server() as (base, seen):
            port = base.rsplit(":", 1)[1]
            html = (
                '<base href="http://[::1"><a href="http://[::1/x">a</a>'
                '<a href="javascript:alert(1)">j</a><img srcset=",, ,">'
                '<div style="background:url(">x</div>'
                f'<a href="http://2130706433:{port}/ok">decimal</a>'
                f'<a href="http://127.1:{port}/ok">short</a>'
                f'<a href="http://[::ffff:127.0.0.1]:{port}/ok">mapped</a>'
                f'<a href="http://0.0.0.0:{port}/ok">unspecified</a>'
            )
            result = await check_links(message(html), CheckOptions(link_timeout=2.0))
            return result, seen, port

    result, seen, port = asyncio.run(scenario())
    assert seen == []  # no spelling of this machine got through
    links = by_url(result)
    for url in (
        f"http://2130706433:{port}/ok",
        f"http://127.1:{port}/ok",
        f"http://[::ffff:127.0.0.1]:{port}/ok",
        f"http://0.0.0.0:{port}/ok",
    ):
        assert links[url]["status_code"] == 0, url
    assert links[f"http://[::ffff:127.0.0.1]:{port}/ok"]["refused"] is True
    assert "unspecified" in links[f"http://0.0.0.0:{port}/ok"]["error"]
    codes = {f.where: f.code for f in result.findings}
    assert codes["http://[::1/x"] == "link-invalid"
    assert codes["javascript:alert(1)"] == "link-javascript"


def test_untrusted_certificate_is_reported_not_ignored(tmp_path: Path) -> None:
    """HTTPS is verified: a certificate no public CA signed is an error with that reason."""
    _ca, cert, key = make_test_ca(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)

    async def hello(_request: web.Request) -> web.Response:
        return web.Response(text="hi")

    async def scenario() -> tuple[FamilyResult, str]:
        app = web.Application()
        app.router.add_get("/", hello)
        runner = web.AppRunner(app, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
        await site.start()
        url = f"https://127.0.0.1:{runner.addresses[0][1]}/"
        try:
            return await check_links(message(f'<a href="{url}">tls</a>'), LOCAL_OK), url
        finally:
            await runner.cleanup()

    result, url = asyncio.run(scenario())
    link = by_url(result)[url]
    assert link["status_code"] == 0
    assert "certificate" in link["error"].lower()
    assert result.verdict is Severity.ERROR


def test_extraction_is_linear_on_a_large_message() -> None:
    """32,000 links in a 2 MB message: located line by line in well under a second or two."""
    import time

    html = "".join(
        f'<p>{i} <a href="https://example.com/p/{i}">l</a><img src="https://img.example/{i}.png"></p>\n'
        for i in range(16000)
    )
    opened = message(html)
    started = time.perf_counter()
    refs = extract_links(opened)
    elapsed = time.perf_counter() - started
    assert len(refs) == 32000
    assert elapsed < 5.0, elapsed  # quadratic location took ~30 s here
    raw_lines = opened.stored.raw.split(b"\n")
    last = refs[-1]
    assert last.line is not None and b"img.example/15999.png" in raw_lines[last.line - 1]


def test_lines_for_encoded_bodies_are_left_out_not_guessed() -> None:
    raw = (
        "From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: text/html\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\n"
        + base64.b64encode(b'<a href="https://example.com/hidden">x</a>').decode()
        + "\r\n"
    ).encode()
    opened = unstored_message(raw, received_at=datetime.now(UTC), source="test")
    [ref] = extract_links(opened)
    assert ref.url == "https://example.com/hidden" and ref.line is None


def test_at_most_max_checked_urls_are_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from mailcatcher_gui.core.checks import links

    monkeypatch.setattr(links, "MAX_CHECKED", 2)

    async def scenario(count: int) -> tuple[FamilyResult, list[tuple[str, str]]]:
        async with http_server() as (base, seen):
            html = "".join(f'<a href="{base}/ok?{i}">{i}</a>' for i in range(count))
            return await check_links(message(html), LOCAL_OK), seen

    within, seen = asyncio.run(scenario(2))
    assert len(seen) == 2 and not any(f.code == "links-too-many" for f in within.findings)
    result, seen = asyncio.run(scenario(3))
    assert len(seen) == 2
    assert [f.code for f in result.findings if f.code == "links-too-many"] == ["links-too-many"]
    assert "1 more URLs not checked" in next(
        f.title for f in result.findings if f.code == "links-too-many"
    )


def test_redirect_out_of_the_web_stops_there() -> None:
    async def scenario() -> tuple[FamilyResult, str]:
        async with http_server() as (base, _seen):
            url = f"{base}/to-local?target=mailto:list@example.com"
            return await check_links(message(f'<a href="{url}">x</a>'), LOCAL_OK), url

    result, url = asyncio.run(scenario())
    link = by_url(result)[url]
    assert link["status_code"] == 302
    assert link["status"] == "redirects to mailto:list@example.com (not checked)"
    [finding] = result.findings
    assert finding.code == "link-redirect" and "leaves the web" in finding.advice


def test_deeply_nested_html_still_lists_its_links_quickly() -> None:
    import time

    depth = 60000
    html = "<div>" * depth + '<a href="https://x.example/?a=1&amp;b=2">x</a>' + "</div>" * depth
    shallow = message('<div><a href="https://x.example/?a=1&amp;b=2">x</a></div>')
    started = time.perf_counter()
    [ref] = extract_links(message(html))
    assert time.perf_counter() - started < 3.0
    assert ref.url == "https://x.example/?a=1&b=2"
    assert "too deeply nested" in ref.where
    [normal] = extract_links(shallow)
    assert normal.url == ref.url and normal.where == "<a href>"


def test_large_css_urls_found_by_pattern_and_small_by_parser() -> None:
    filler = ".x{color:red}\n" * 8000  # over 64 KB of CSS
    for css in ("", filler):
        html = (
            f"<style>{css}.a{{background:url('https://a.example/1.png')}}"
            "/* url(https://comment.example/x) */ .b{background:url(https://b.example/2.png)}"
            "</style>"
        )
        urls = [r.url for r in extract_links(message(html))]
        assert urls == ["https://a.example/1.png", "https://b.example/2.png"], len(css)
