"""What the HTML viewer may load, and how a message's HTML is served to it.

This is the Qt-free half of the HTML viewer. The QtWebEngine glue in
``ui/web`` (a URL scheme handler and a request interceptor) only translates
Qt objects to strings and calls into this module, so every privacy decision
can be unit-tested without a browser.

The model:

* A message being shown is registered under a random token. Its HTML is
  served as ``mailcatcher://message/<token>/html`` and its parts as
  ``.../part/<attachment index>``; ``cid:`` references in the HTML are
  rewritten to ``.../cid/<content id>`` and resolved when requested, so
  inline images show without ever touching the network. A token rather than
  the store id is used because the viewer also shows messages that were
  never stored (``mailcatcher-gui FILE.eml``), and because a guessable URL
  would let one message reference another's parts.
* Every request the page makes is classified. Internal and ``data:`` URLs
  load; remote ``http(s)`` loads are blocked unless remote content was
  allowed for that message, and each blocked load is counted per host so the
  viewer can say what it kept out; everything else (``file:``, ``ftp:``,
  unresolvable ``cid:``...) is always blocked.
* The page is served with a strict Content-Security-Policy (no scripts, no
  plugins, no frames, no forms) as a second line of defence behind
  "JavaScript off". The policy still lets ``http(s)`` image/style/font URLs
  reach the request interceptor: a CSP block happens inside the renderer,
  where nobody could count it for the "blocked remote content" bar.
"""

from __future__ import annotations

import html as html_lib
import re
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, unquote, urlsplit

from ..models import Attachment, ParsedMessage

SCHEME = "mailcatcher"
HOST = "message"

# The HTML is served as UTF-8 with a byte order mark: per the HTML spec a BOM
# beats both the HTTP charset and any <meta charset> the message carries, and
# unlike an injected <meta> it cannot push a document into quirks mode.
_BOM = "\ufeff"


class UrlKind(StrEnum):
    INTERNAL = "internal"  # mailcatcher://message/...
    DATA = "data"  # data: (inline, never leaves the process)
    BLANK = "blank"  # about:blank and friends
    REMOTE = "remote"  # http(s): would hit the network
    CID = "cid"  # a cid: reference that was not rewritten
    OTHER = "other"  # file:, ftp:, ws:, javascript:, chrome:, ... never loaded


def classify_url(url: str) -> UrlKind:
    """Sort a URL the page wants to load into one of the kinds above."""
    scheme, _, _ = url.partition(":")
    scheme = scheme.strip().lower()
    if scheme == SCHEME:
        return UrlKind.INTERNAL
    if scheme == "data":
        return UrlKind.DATA
    if scheme == "about":
        return UrlKind.BLANK
    if scheme in ("http", "https"):
        return UrlKind.REMOTE
    if scheme in ("cid", "mid"):
        return UrlKind.CID
    return UrlKind.OTHER


def url_host(url: str) -> str:
    """The host of ``url`` for the blocked-content bar ("" if it has none)."""
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


# ---- internal URLs -------------------------------------------------------------


def new_token() -> str:
    """An unguessable id for one shown message (hex, so it is a valid path segment)."""
    return secrets.token_hex(12)


def page_url(token: str) -> str:
    return f"{SCHEME}://{HOST}/{token}/html"


def part_url(token: str, attachment_index: int) -> str:
    return f"{SCHEME}://{HOST}/{token}/part/{attachment_index}"


def cid_url(token: str, content_id: str) -> str:
    return f"{SCHEME}://{HOST}/{token}/cid/{quote(content_id, safe='')}"


@dataclass(frozen=True, slots=True)
class InternalTarget:
    """A parsed ``mailcatcher://message/<token>/<kind>[/<arg>]`` URL."""

    token: str
    kind: str  # "html" | "part" | "cid" | anything else (-> not found)
    arg: str = ""


def parse_internal_url(url: str) -> InternalTarget | None:
    """Split an internal URL; ``None`` if it is not one of ours."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() != SCHEME or (parts.hostname or "") != HOST:
        return None
    segments = parts.path.split("/")
    # "/<token>/<kind>[/<arg>]" -> ["", token, kind, arg?]
    if len(segments) < 3 or segments[0] != "" or not segments[1] or not segments[2]:
        return None
    arg = unquote("/".join(segments[3:])) if len(segments) > 3 else ""
    return InternalTarget(token=segments[1], kind=segments[2], arg=arg)


def token_of(url: str) -> str | None:
    target = parse_internal_url(url)
    return target.token if target else None


# ---- cid: rewriting -----------------------------------------------------------

# A cid: URL in an attribute value (src=, href=, background=, quoted or not)
# or in a CSS url(...). Text that merely mentions "cid:" is left alone.
_CID_REF = re.compile(
    r"""(?P<lead>(?:=|url\()\s*["']?\s*)cid:(?P<cid>[^\s"'<>()]+)""",
    re.IGNORECASE,
)


def rewrite_cid_references(html: str, token: str) -> str:
    """Point every ``cid:`` reference at the message's own parts.

    The Content-ID is URL-decoded first (RFC 2392 says ``cid:`` URLs carry it
    percent-encoded, e.g. ``cid:image001.png%4001D0...``), then re-encoded as
    one path segment, so the handler gets back exactly the id.
    """

    def repl(m: re.Match[str]) -> str:
        cid = html_lib.unescape(unquote(m.group("cid")))
        return m.group("lead") + cid_url(token, cid)

    return _CID_REF.sub(repl, html)


# ---- Content-Security-Policy --------------------------------------------------


def content_security_policy(
    loadable: str = f"{SCHEME}: data: http: https:", *, frame_ancestors: str | None = None
) -> str:
    """The policy every served message document gets (see module doc).

    ``loadable`` is where images, styles, fonts and media may come from;
    everything that runs or connects is refused whatever it is. The viewer
    uses the default (its scheme, and remote URLs that its request
    interceptor then decides on); the HTTP API's ``/view/{ID}.html`` passes
    its own sources and ``frame_ancestors``.
    """
    extra = [f"frame-ancestors {frame_ancestors}"] if frame_ancestors else []
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'none'",
            "object-src 'none'",
            "frame-src 'none'",
            "child-src 'none'",
            "worker-src 'none'",
            "connect-src 'none'",
            "manifest-src 'none'",
            "form-action 'none'",
            "base-uri 'none'",
            *extra,
            f"img-src {loadable}",
            f"style-src 'unsafe-inline' {loadable}",
            f"font-src {loadable}",
            f"media-src {loadable}",
        ]
    )


# ---- documents ----------------------------------------------------------------


_PLAIN_PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><style>
body {{ margin: 16px; font: 13px/1.45 sans-serif; color: #222; background: #fff; }}
pre {{ white-space: pre-wrap; word-wrap: break-word; font: 13px/1.45 monospace; margin: 0; }}
.note {{ color: #777; font-style: italic; }}
</style></head><body>{body}</body></html>"""


def text_as_html(text: str | None) -> str:
    """A page for messages without an HTML body: their text, escaped."""
    if not text:
        return _PLAIN_PAGE.format(body='<p class="note">This message has no body.</p>')
    return _PLAIN_PAGE.format(body=f"<pre>{html_lib.escape(text)}</pre>")


# <link rel=preconnect|dns-prefetch> make Chromium open a socket (or resolve
# a name) without a URL request, i.e. behind the request interceptor's back:
# merely displaying the message would tell a tracker it was opened. The hint
# words are renamed so the browser ignores them; the prefetch family goes
# with them (those do pass the interceptor, but a mail has no use for them).
_LINK_TAG = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_RESOURCE_HINT = re.compile(
    r"\b(preconnect|dns-prefetch|prefetch|prerender|preload|modulepreload)\b", re.IGNORECASE
)


def neutralize_resource_hints(html: str) -> str:
    """Rename resource-hint ``rel`` words inside ``<link>`` tags (see above)."""
    return _LINK_TAG.sub(lambda m: _RESOURCE_HINT.sub(r"x-blocked-\1", m.group(0)), html)


def prepare_html(html: str, token: str) -> bytes:
    """The bytes served for the message document: hints disarmed, cids
    rewritten, BOM, UTF-8."""
    body = rewrite_cid_references(neutralize_resource_hints(html), token)
    # Parsed HTML may carry lone surrogates (surrogateescape'd 8-bit junk).
    return (_BOM + body).encode("utf-8", errors="replace")


# ---- requests -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestDecision:
    allow: bool
    kind: UrlKind
    # Set when a *remote* load was blocked, for the "blocked remote content" bar.
    blocked_host: str | None = None


def decide_request(url: str, *, allow_remote: bool) -> RequestDecision:
    """May the page load ``url``? Pure; the registry does the accounting."""
    kind = classify_url(url)
    if kind in (UrlKind.INTERNAL, UrlKind.DATA, UrlKind.BLANK):
        return RequestDecision(True, kind)
    if kind is UrlKind.REMOTE:
        if allow_remote:
            return RequestDecision(True, kind)
        return RequestDecision(False, kind, blocked_host=url_host(url) or "(unknown host)")
    return RequestDecision(False, kind)


@dataclass
class BlockedRemote:
    """What was kept out of one message: a count per host, first URLs kept."""

    hosts: Counter[str] = field(default_factory=Counter)
    urls: list[str] = field(default_factory=list)
    max_urls: int = 200

    @property
    def total(self) -> int:
        return sum(self.hosts.values())

    def record(self, host: str, url: str) -> None:
        self.hosts[host] += 1
        if len(self.urls) < self.max_urls:
            self.urls.append(url)

    def host_list(self) -> list[str]:
        """Hosts, most-blocked first, ties alphabetical (stable for display)."""
        return [h for h, _ in sorted(self.hosts.items(), key=lambda kv: (-kv[1], kv[0]))]

    def describe(self, max_hosts: int = 3) -> str:
        """One line for the bar: "Blocked 4 remote resources from a.com, b.net"."""
        n = self.total
        if not n:
            return ""
        hosts = self.host_list()
        shown = ", ".join(hosts[:max_hosts])
        more = f" and {len(hosts) - max_hosts} more" if len(hosts) > max_hosts else ""
        noun = "resource" if n == 1 else "resources"
        return f"Blocked {n} remote {noun} from {shown}{more}"


@dataclass(frozen=True, slots=True)
class Resource:
    """One response for the scheme handler."""

    content_type: str  # with "; charset=..." for text
    data: bytes


@dataclass
class _Entry:
    parsed: ParsedMessage
    allow_remote: bool
    blocked: BlockedRemote = field(default_factory=BlockedRemote)
    served: list[str] = field(default_factory=list)  # internal URLs served, in order


class MessageRegistry:
    """The messages a view currently shows, keyed by token.

    Owned by one HTML view (no global state): the scheme handler resolves its
    URLs here, the request interceptor asks it what may load and records what
    was blocked. ``on_blocked`` is called with the token after each blocked
    remote load so the UI can update its bar.
    """

    def __init__(self, *, on_blocked: Callable[[str], None] | None = None) -> None:
        self._entries: dict[str, _Entry] = {}
        self.on_blocked = on_blocked

    # -- lifetime --
    def register(self, parsed: ParsedMessage, *, allow_remote: bool = False) -> str:
        token = new_token()
        self._entries[token] = _Entry(parsed=parsed, allow_remote=allow_remote)
        return token

    def release(self, token: str) -> None:
        self._entries.pop(token, None)

    def clear(self) -> None:
        self._entries.clear()

    def __contains__(self, token: object) -> bool:
        return token in self._entries

    def __len__(self) -> int:
        return len(self._entries)

    # -- per-message state --
    def allow_remote(self, token: str) -> bool:
        entry = self._entries.get(token)
        return bool(entry and entry.allow_remote)

    def set_allow_remote(self, token: str, allow: bool) -> None:
        entry = self._entries.get(token)
        if entry is not None:
            entry.allow_remote = allow

    def blocked(self, token: str) -> BlockedRemote:
        entry = self._entries.get(token)
        return entry.blocked if entry else BlockedRemote()

    def reset_blocked(self, token: str) -> None:
        entry = self._entries.get(token)
        if entry is not None:
            entry.blocked = BlockedRemote()

    def served(self, token: str) -> list[str]:
        entry = self._entries.get(token)
        return list(entry.served) if entry else []

    # -- the request interceptor's question --
    def decide(self, url: str, first_party_url: str) -> RequestDecision:
        """Decide a load for the page whose document is ``first_party_url``.

        A load from a page we do not know (a message already released, or
        no page at all) never gets remote access.
        """
        token = token_of(first_party_url) or token_of(url)
        allow = self.allow_remote(token) if token else False
        decision = decide_request(url, allow_remote=allow)
        if decision.kind is UrlKind.INTERNAL:
            # A message may only load its own parts.
            own = token_of(url)
            if own is None or own not in self._entries or (token and own != token):
                return RequestDecision(False, decision.kind)
        if decision.blocked_host and token and token in self._entries:
            self._entries[token].blocked.record(decision.blocked_host, url)
            if self.on_blocked is not None:
                self.on_blocked(token)
        return decision

    # -- the scheme handler's question --
    def resolve(self, url: str) -> Resource | None:
        """The response for an internal URL, or ``None`` (-> "not found")."""
        target = parse_internal_url(url)
        if target is None:
            return None
        entry = self._entries.get(target.token)
        if entry is None:
            return None
        resource = _resolve_in(entry.parsed, target)
        if resource is not None:
            entry.served.append(url)
        return resource


def _attachment_resource(att: Attachment) -> Resource:
    ctype = (att.content_type or "application/octet-stream").strip().lower()
    return Resource(content_type=ctype, data=att.data)


def _resolve_in(parsed: ParsedMessage, target: InternalTarget) -> Resource | None:
    if target.kind == "html" and not target.arg:
        if parsed.html is not None:
            data = prepare_html(parsed.html, target.token)
        else:
            data = prepare_html(text_as_html(parsed.text), target.token)
        return Resource("text/html; charset=utf-8", data)
    if target.kind == "part":
        try:
            index = int(target.arg)
        except ValueError:
            return None
        for att in parsed.attachments:
            if att.index == index:
                return _attachment_resource(att)
        return None
    if target.kind == "cid":
        by_cid = parsed.attachment_by_cid(target.arg)
        return _attachment_resource(by_cid) if by_cid is not None else None
    return None


# ---- navigation ---------------------------------------------------------------


class NavigationVerdict(StrEnum):
    ALLOW = "allow"  # let the page load it (our own document, a reload, an in-page anchor)
    EXTERNAL = "external"  # a link the user clicked: offer to open it in the system browser
    BLOCK = "block"  # never (meta refresh, form posts, frames, scripts' redirects, odd schemes)


# What the system may open for a clicked link. Anything else (file:, javascript:,
# custom app schemes, ...) is refused: an email must not be able to launch
# local programs through a click.
EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto"})


def _same_document(url: str, current: str) -> bool:
    return bool(current) and url.split("#", 1)[0] == current.split("#", 1)[0] and "#" in url


def navigation_verdict(url: str, kind: str, *, main_frame: bool, current: str) -> NavigationVerdict:
    """Where the message view may go. ``kind`` names Qt's navigation type:
    "link", "typed", "reload", "form", "back_forward", "redirect" or "other".

    The view only ever shows documents the app itself loaded ("typed" loads of
    our own URLs, or about:blank). A clicked link never navigates the view:
    it is handed to the user to open elsewhere.
    """
    url_kind = classify_url(url)
    if kind == "link":
        if _same_document(url, current):
            return NavigationVerdict.ALLOW
        scheme = url.partition(":")[0].strip().lower()
        return NavigationVerdict.EXTERNAL if scheme in EXTERNAL_SCHEMES else NavigationVerdict.BLOCK
    if kind in ("typed", "reload") and main_frame and url_kind in (UrlKind.INTERNAL, UrlKind.BLANK):
        return NavigationVerdict.ALLOW
    return NavigationVerdict.BLOCK
