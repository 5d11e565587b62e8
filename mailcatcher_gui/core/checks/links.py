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
import bisect
import html as html_text
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import tinycss2  # type: ignore[import-untyped]  # no type information shipped
from selectolax.lexbor import LexborHTMLParser

from ... import __version__
from ..models import OpenedMessage
from .htmlscan import MAX_NESTING
from .htmlscan import _source_tags as _html_tags  # the compatibility scan's depth measure
from .linkprobe import GuardedResolver, Probe, address_refusal, probe_url
from .model import CheckOptions, FamilyResult, Finding, Severity, worst

__all__ = ["LinkRef", "check_links", "extract_links"]

FAMILY = "links"
USER_AGENT = f"mailcatcher-gui/{__version__} (link check)"
MAX_CHECKED = 1000  # distinct http(s) URLs asked per message; the rest are listed, not asked

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
        return _scheme(self.url)

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "kind": self.kind, "where": self.where, "line": self.line}


def _scheme(url: str) -> str:
    """The URL's scheme in lower case; "" for a relative or unparseable one."""
    try:
        return urlsplit(url).scheme.lower()
    except ValueError:  # "http://[::1" and friends
        return ""


def _join(base: str | None, written: str) -> str:
    if not base:
        return written
    try:
        return urljoin(base, written)
    except ValueError:  # a broken <base href> or URL: keep what was written
        return written


_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)\s]*))\s*\)""", re.IGNORECASE)
CSS_PARSE_LIMIT = 64 * 1024  # larger CSS: url() found by pattern (tinycss2 reads ~1 MB/s)


def _css_urls(text: str) -> list[str]:
    if len(text) > CSS_PARSE_LIMIT:
        bare = _CSS_COMMENT.sub(" ", text)
        urls = (next((g for g in m.groups() if g), "") for m in _CSS_URL.finditer(bare))
        return [u.strip() for u in urls if u.strip()]
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


def _html_links(tree: LexborHTMLParser) -> list[tuple[str, str, str]]:
    """(written URL, kind, where) for every URL in the HTML, in document order."""
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


_ATTR_URL = re.compile(
    r"""\s(href|src|background)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>"']+))""", re.IGNORECASE
)


def _flat_html_links(html: str) -> list[tuple[str, str, str]]:
    """URL attributes found without parsing, for HTML nested too deeply to parse.

    An HTML5 parser spends time quadratic in the nesting depth; past
    ``MAX_NESTING`` (as the compatibility check) the URLs still get listed.
    """
    out = []
    for m in _ATTR_URL.finditer(html):
        value = html_text.unescape(next((g for g in m.groups()[1:] if g is not None), ""))
        out.append((value, "html", f"{m.group(1).lower()}= (HTML too deeply nested to parse)"))
    return out


def _base_href(tree: LexborHTMLParser) -> str | None:
    node = tree.css_first("base[href]")
    href = node.attributes.get("href") if node is not None else None
    return href.strip() if href else None


def _text_links(text: str) -> list[str]:
    urls = [m.group(1).replace("\n", "").replace("\r", "") for m in _ANGLE_URL.finditer(text)]
    seen = set(urls)
    for match in _TEXT_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if url.count("(") < url.count(")"):
            url = url.rstrip(")")
        if url not in seen:
            seen.add(url)
            urls.append(url)
    return urls


class _Locator:
    """Finds the raw-message line of URLs met in document order, in linear time overall.

    Each search starts where the previous hit was (URLs appear in the order
    the parse meets them), so hits cost one pass over the message in total.
    A URL that is not there verbatim (quoted-printable, base64 parts) costs
    a full scan, so after ``MAX_MISSES`` of those the rest get no line:
    a 2 MB message with thousands of links stays fast.
    """

    MAX_MISSES = 16

    def __init__(self, raw: bytes, newlines: list[int]) -> None:
        self._raw = raw
        self._newlines = newlines
        self._cursor = 0
        self._misses = 0

    def line(self, written: str) -> int | None:
        needle = written.encode("utf-8", "replace")
        if not needle or self._misses >= self.MAX_MISSES:
            return None
        at = self._raw.find(needle, self._cursor)
        if at < 0 and self._cursor:
            at = self._raw.find(needle, 0, self._cursor + len(needle))
        if at < 0:
            self._misses += 1
            return None
        self._cursor = at
        return bisect.bisect_left(self._newlines, at) + 1


def _newline_offsets(raw: bytes) -> list[int]:
    return [m.start() for m in re.finditer(b"\n", raw)]


def extract_links(opened: OpenedMessage) -> list[LinkRef]:
    """Every URL occurrence in ``opened`` (HTML, text body, List-Unsubscribe), network-free."""
    raw = opened.stored.raw
    newlines = _newline_offsets(raw)
    parsed = opened.parsed
    refs: list[LinkRef] = []
    locate = _Locator(raw, newlines)
    for header in parsed.headers:
        if header.name.lower() == "list-unsubscribe":
            for url in re.findall(r"<([^>]+)>", header.value):
                url = url.strip()
                refs.append(
                    LinkRef(
                        url, "list-unsubscribe", "List-Unsubscribe header", locate.line(url), url
                    )
                )
    if parsed.html:
        _tags, deepest = _html_tags(parsed.html)
        if deepest > MAX_NESTING:
            base, found = None, _flat_html_links(parsed.html)
        else:
            tree = LexborHTMLParser(parsed.html)
            base, found = _base_href(tree), _html_links(tree)
        locate = _Locator(raw, newlines)
        for written, kind, where in found:
            written = written.strip()
            if not written or written.startswith("#"):
                continue  # an anchor inside the message itself
            url = _join(base, written)
            refs.append(LinkRef(url, kind, where, locate.line(written), written))
    if parsed.text:
        locate = _Locator(raw, newlines)
        for url in _text_links(parsed.text):
            refs.append(LinkRef(url, "text", "text body", locate.line(url), url))
    return refs


def _is_relative(url: str) -> bool:
    return not _scheme(url) and not url.startswith("//") and ":" not in url.split("/", 1)[0]


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
        advice = (
            "The chain leaves the web (mailto:, an app link ...); nothing more to check."
            if probe.hops
            else "Redirects not followed; check again with follow to see where it ends."
        )
        return Finding(
            FAMILY, "link-redirect", Severity.INFO,
            f"{url}: {probe.status_code} {probe.status}", detail, url, first.line, advice, data,
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
        elif first.scheme == "" and url.lower().startswith(("http://", "https://")):
            findings.append(
                Finding(
                    FAMILY, "link-invalid", Severity.ERROR, f"{url}: not a valid URL",
                    f"Found in: {first.where}.", url, first.line,
                    "Fix the URL (brackets, spaces or the port are malformed).",
                )
            )  # fmt: skip
        elif first.scheme == "javascript":
            findings.append(
                Finding(
                    FAMILY, "link-javascript", Severity.WARNING, f"{url[:80]}: javascript: URL",
                    f"Found in: {first.where}. Mail clients remove scripts; the link does nothing.",
                    url, first.line, "Link to a web page instead.",
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
    skipped = web[MAX_CHECKED:]
    web = web[:MAX_CHECKED]
    probes = await _probe_all(web, options, follow)
    findings = _local_findings(opened, by_url)
    if skipped:
        findings.append(
            Finding(
                FAMILY, "links-too-many", Severity.INFO,
                f"{len(skipped)} more URLs not checked (at most {MAX_CHECKED} per message)",
                f"The first not checked: {skipped[0]}", advice="",
            )
        )  # fmt: skip
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
