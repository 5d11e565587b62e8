"""Links and images: every URL a message points at, and (on request) whether each answers.

``extract_links`` is network-free: it lists every URL with where it occurs
(``<a href>``, ``<area href>``, ``<img src>``/``srcset``, ``<link href>``, the
``background`` attribute, CSS ``url()`` in ``<style>`` and ``style=``,
``List-Unsubscribe``, and URLs in the text body). HTML is parsed with
selectolax (lexbor), CSS with tinycss2, so a URL in a comment or a string
that merely looks like one is not picked up.

``check_links`` asks each distinct http(s) URL once (see ``linkprobe``: HEAD,
GET fallback, redirects shown hop by hop, the SSRF guard), with at most
``options.link_concurrency`` requests at a time and ``options.link_timeout``
per request. It is never run automatically: opening a message must not make
this machine fetch URLs a stranger chose (and tell them the mail was read).
``cid:`` references are checked locally against the message's parts.

``FamilyResult.data``: ``"links"`` (one entry per distinct URL, see
``_link_entry``) and ``"mailpit"``, Mailpit's ``LinkCheckResponse``
(``{"Errors": n, "Links": [{"URL", "StatusCode", "Status"}]}``, http(s) only).
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import tinycss2  # type: ignore[import-untyped]  # no type information shipped
from selectolax.lexbor import LexborHTMLParser

from ... import __version__
from ..models import OpenedMessage
from .linkprobe import GuardedResolver, Probe, address_refusal, probe_url
from .model import CheckOptions, FamilyResult, Finding, Severity, worst

__all__ = ["LinkRef", "check_links", "extract_links"]

FAMILY = "links"
USER_AGENT = f"mailcatcher-gui/{__version__} (link check)"

# Plain-text URLs: Mailpit's character set, then trailing punctuation trimmed.
_TEXT_URL = re.compile(r"\bhttps?://[-\w@:%_+'!.~#?,&/=;*()\[\]$]+", re.IGNORECASE)
_ANGLE_URL = re.compile(r"<(https?://[^>]+)>", re.IGNORECASE)
_TRAILING = ".,;:!?'\")]"


@dataclass(frozen=True, slots=True)
class LinkRef:
    """One occurrence of a URL in a message."""

    url: str  # as resolved against <base href> when there is one; else as written
    kind: str  # a, area, img, srcset, link, background, css, list-unsubscribe, text
    where: str  # for people: '<img src>', 'CSS url() in <style>', 'List-Unsubscribe header'
    line: int | None = None  # 1-based line of the raw message where the URL appears, if found
    written: str = ""  # the attribute value as written (differs from ``url`` when relative)

    @property
    def scheme(self) -> str:
        return urlsplit(self.url).scheme.lower()

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "kind": self.kind, "where": self.where, "line": self.line}


def _css_urls(text: str) -> list[str]:
    found: list[str] = []

    def walk(tokens: list[Any]) -> None:
        for token in tokens:
            kind = getattr(token, "type", "")
            if kind == "url":
                found.append(token.value)
            elif kind == "function":
                if token.lower_name == "url":
                    strings = [a.value for a in token.arguments if a.type == "string"]
                    found.extend(strings[:1])
                walk(token.arguments)
            elif kind in ("() block", "[] block", "{} block"):
                walk(token.content)

    walk(tinycss2.parse_component_value_list(text, skip_comments=True))
    return [u.strip() for u in found if u.strip()]


def _srcset_urls(value: str) -> list[str]:
    urls = []
    for candidate in value.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


def _html_links(html: str) -> list[tuple[str, str, str]]:
    """(written URL, kind, where) for every URL in the HTML, in document order."""
    tree = LexborHTMLParser(html)
    out: list[tuple[str, str, str]] = []
    for node in tree.css("*"):
        tag = (node.tag or "").lower()
        attrs = {k.lower(): v for k, v in node.attributes.items() if v is not None}
        if tag in ("a", "area") and attrs.get("href"):
            out.append((attrs["href"], tag, f"<{tag} href>"))
        if tag == "link" and attrs.get("href"):
            out.append((attrs["href"], "link", "<link href>"))
        if tag in ("img", "input") and attrs.get("src"):
            out.append((attrs["src"], "img", f"<{tag} src>"))
        if tag in ("img", "source") and attrs.get("srcset"):
            out.extend((u, "srcset", f"<{tag} srcset>") for u in _srcset_urls(attrs["srcset"]))
        if attrs.get("background"):
            out.append((attrs["background"], "background", f"<{tag} background>"))
        if attrs.get("style"):
            out.extend((u, "css", f"CSS url() in <{tag} style>") for u in _css_urls(attrs["style"]))
        if tag == "style":
            css = node.text(deep=True) or ""
            out.extend((u, "css", "CSS url() in <style>") for u in _css_urls(css))
    return out


def _base_href(html: str) -> str | None:
    node = LexborHTMLParser(html).css_first("base[href]")
    href = node.attributes.get("href") if node is not None else None
    return href.strip() if href else None


def _text_links(text: str) -> list[str]:
    urls = [m.group(1).replace("\n", "").replace("\r", "") for m in _ANGLE_URL.finditer(text)]
    for match in _TEXT_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if url.count("(") < url.count(")"):
            url = url.rstrip(")")
        if url not in urls:
            urls.append(url)
    return urls


def _line_of(raw: bytes, written: str) -> int | None:
    needle = written.encode("utf-8", "replace")
    at = raw.find(needle) if needle else -1
    return raw.count(b"\n", 0, at) + 1 if at >= 0 else None


def extract_links(opened: OpenedMessage) -> list[LinkRef]:
    """Every URL occurrence in ``opened`` (HTML, text body, List-Unsubscribe), network-free."""
    raw = opened.stored.raw
    parsed = opened.parsed
    refs: list[LinkRef] = []
    for header in parsed.headers:
        if header.name.lower() == "list-unsubscribe":
            for url in re.findall(r"<([^>]+)>", header.value):
                url = url.strip()
                refs.append(
                    LinkRef(
                        url, "list-unsubscribe", "List-Unsubscribe header", _line_of(raw, url), url
                    )
                )
    if parsed.html:
        base = _base_href(parsed.html)
        for written, kind, where in _html_links(parsed.html):
            written = written.strip()
            if not written or written.startswith("#"):
                continue  # an anchor inside the message itself
            url = urljoin(base, written) if base else written
            refs.append(LinkRef(url, kind, where, _line_of(raw, written), written))
    if parsed.text:
        for url in _text_links(parsed.text):
            refs.append(LinkRef(url, "text", "text body", _line_of(raw, url), url))
    return refs


def _is_relative(url: str) -> bool:
    return not urlsplit(url).scheme and not url.startswith("//")


def _link_entry(url: str, refs: list[LinkRef], probe: Probe | None) -> dict[str, Any]:
    """One distinct URL in ``data["links"]``: the probe's facts plus every occurrence."""
    entry: dict[str, Any] = {
        "url": url,
        "occurrences": [r.to_json() for r in refs],
        "checked": probe is not None,
        "status_code": probe.status_code if probe else None,
        "status": probe.status if probe else "",
        "method": probe.method if probe else None,
        "redirects": [{"url": u, "status_code": c} for u, c in probe.hops] if probe else [],
        "final_url": probe.final_url if probe else url,
        "refused": probe.refused if probe else False,
        "error": probe.error if probe else "",
    }
    return entry


def _chain_text(probe: Probe) -> str:
    steps = [f"{code} {u}" for u, code in probe.hops]
    steps.append(f"{probe.status_code or '-'} {probe.final_url} ({probe.status})")
    return " → ".join(steps)


def _probe_finding(url: str, refs: list[LinkRef], probe: Probe) -> Finding:
    where_list = sorted({r.where for r in refs})
    first = refs[0]
    detail = f"Found in: {', '.join(where_list)}."
    if probe.hops:
        detail += f" Redirects: {_chain_text(probe)}."
    data = {"status_code": probe.status_code, "redirects": len(probe.hops)}
    if probe.refused:
        return Finding(
            FAMILY, "link-local-target", Severity.WARNING,
            f"{url}: {probe.status}", detail, url, first.line,
            "Recipients cannot reach local or private addresses; link to a public host "
            "(or allow local targets to check a dev server).", data,
        )  # fmt: skip
    if probe.status_code == 0:
        return Finding(
            FAMILY, "link-unreachable", Severity.ERROR, f"{url}: {probe.status}",
            detail, url, first.line, "Check the host name and that the server is up.", data,
        )  # fmt: skip
    if probe.status_code >= 400:
        return Finding(
            FAMILY, "link-broken", Severity.ERROR,
            f"{url}: {probe.status_code} {probe.status}", detail, url, first.line,
            "Fix or remove the link before sending.", data,
        )  # fmt: skip
    if 300 <= probe.status_code < 400:
        return Finding(
            FAMILY, "link-redirect", Severity.INFO,
            f"{url}: {probe.status_code} {probe.status}", detail, url, first.line,
            "Redirects not followed; check again with follow to see where it ends.", data,
        )  # fmt: skip
    title = f"{url}: {probe.status_code} {probe.status}"
    if probe.hops:
        title += f" after {len(probe.hops)} redirect{'s' if len(probe.hops) > 1 else ''}"
    return Finding(FAMILY, "link-ok", Severity.OK, title, detail, url, first.line, "", data)


def _local_findings(opened: OpenedMessage, by_url: dict[str, list[LinkRef]]) -> list[Finding]:
    findings: list[Finding] = []
    for url, refs in by_url.items():
        first = refs[0]
        if first.scheme == "cid":
            cid = url[4:]
            if opened.parsed.attachment_by_cid(cid) is None:
                findings.append(
                    Finding(
                        FAMILY, "cid-missing", Severity.ERROR,
                        f"{url}: no part with this Content-ID", f"Found in: {first.where}.",
                        url, first.line, "Attach the image with that Content-ID, or fix it.",
                    )
                )  # fmt: skip
        elif _is_relative(url) and first.kind not in ("text", "list-unsubscribe"):
            findings.append(
                Finding(
                    FAMILY, "link-relative", Severity.WARNING,
                    f"{url}: relative URL", f"Found in: {first.where}. A relative URL has no "
                    "site to point at inside an email.", url, first.line,
                    "Use absolute https:// URLs in email.",
                )
            )  # fmt: skip
    return findings


async def check_links(
    opened: OpenedMessage, options: CheckOptions, follow: bool = True
) -> FamilyResult:
    """Ask every distinct http(s) URL of ``opened`` for its status (network; on request only)."""
    refs = extract_links(opened)
    by_url: dict[str, list[LinkRef]] = {}
    for ref in refs:
        by_url.setdefault(ref.url, []).append(ref)
    web = [u for u, rs in by_url.items() if rs[0].scheme in ("http", "https")]
    probes = await _probe_all(web, options, follow)
    findings = _local_findings(opened, by_url)
    findings.extend(_probe_finding(u, by_url[u], probes[u]) for u in web)
    links = [_link_entry(u, rs, probes.get(u)) for u, rs in by_url.items()]
    mailpit_links: list[dict[str, Any]] = [
        {"URL": u, "StatusCode": probes[u].status_code, "Status": probes[u].status} for u in web
    ]
    errors = sum(1 for u in web if probes[u].status_code == 0 or probes[u].status_code >= 400)
    data = {"links": links, "mailpit": {"Errors": errors, "Links": mailpit_links}, "follow": follow}
    return FamilyResult(
        FAMILY, worst(findings), _summary(len(by_url), web, probes), tuple(findings), data=data
    )


def _summary(distinct: int, web: list[str], probes: dict[str, Probe]) -> str:
    if not distinct:
        return "no links or images"
    broken = sum(
        1
        for u in web
        if probes[u].status_code >= 400 or (probes[u].status_code == 0 and not probes[u].refused)
    )
    refused = sum(1 for u in web if probes[u].refused)
    text = f"{len(web)} URL{'s' if len(web) != 1 else ''} checked"
    if broken:
        text += f", {broken} broken"
    if refused:
        text += f", {refused} local (not checked)"
    if not broken and not refused and web:
        text += ", all answer"
    if distinct > len(web):
        text += f"; {distinct - len(web)} other reference{'s' if distinct - len(web) != 1 else ''}"
    return text


async def _probe_all(urls: list[str], options: CheckOptions, follow: bool) -> dict[str, Probe]:
    if not urls:
        return {}
    policy = None if options.allow_local_links else address_refusal
    resolver = GuardedResolver(policy) if policy is not None else None
    connector = aiohttp.TCPConnector(
        resolver=resolver, limit=max(1, options.link_concurrency), ssl=True, use_dns_cache=False
    )
    gate = asyncio.Semaphore(max(1, options.link_concurrency))
    headers = {"User-Agent": USER_AGENT, "Accept": "*/*"}

    async def one(url: str) -> tuple[str, Probe]:
        async with gate:
            probe = await probe_url(
                session, resolver, url, timeout=options.link_timeout, follow=follow, policy=policy
            )
            return url, probe

    async with aiohttp.ClientSession(
        connector=connector, headers=headers, trust_env=False
    ) as session:
        results = await asyncio.gather(*(one(u) for u in urls))
    return dict(results)
