"""List-Unsubscribe (RFC 2369) and one-click unsubscribe (RFC 8058), read once.

Shared by the headers family (syntax) and the bulk-sender family (Gmail's
and Yahoo's 2024 rule: one-click unsubscribe for bulk mail). RFC 8058
one-click needs both: an ``https`` URI in ``List-Unsubscribe`` and
``List-Unsubscribe-Post: List-Unsubscribe=One-Click``; the POST then goes
to that https URI. A ``mailto:`` alone is a valid List-Unsubscribe but not
one-click.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["Unsubscribe", "read_unsubscribe"]

_ANGLED = re.compile(r"<([^<>]*)>")


@dataclass(frozen=True)
class Unsubscribe:
    present: bool
    uris: tuple[str, ...] = ()
    https: tuple[str, ...] = ()
    http: tuple[str, ...] = ()
    mailto: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # syntax problems, as sentences
    post: str | None = None  # the List-Unsubscribe-Post value, if any
    one_click: bool = False
    one_click_problems: tuple[str, ...] = field(default=())


def read_unsubscribe(value: str | None, post: str | None) -> Unsubscribe:
    """Parse the two header values (decoded, unfolded)."""
    if value is None:
        problems: tuple[str, ...] = ()
        if post is not None:
            problems = ("List-Unsubscribe-Post is present without List-Unsubscribe",)
        return Unsubscribe(False, post=post, one_click_problems=problems)
    problems_l: list[str] = []
    uris = [u.strip() for u in _ANGLED.findall(value)]
    rest = _ANGLED.sub("", value).replace(",", "").strip()
    if not uris:
        problems_l.append("no URI in angle brackets (RFC 2369 wants <https://…> or <mailto:…>)")
    elif rest:
        problems_l.append(f"text outside the angle brackets: {rest[:60]!r}")
    https, http, mailto = [], [], []
    for uri in uris:
        try:
            parts = urlsplit(uri)
        except ValueError:
            problems_l.append(f"not a URI: {uri[:80]!r}")
            continue
        scheme = parts.scheme.lower()
        if scheme == "https" and parts.netloc:
            https.append(uri)
        elif scheme == "http" and parts.netloc:
            http.append(uri)
        elif scheme == "mailto" and "@" in parts.path:
            mailto.append(uri)
        else:
            problems_l.append(f"not an http(s) or mailto URI: {uri[:80]!r}")
    oc_problems: list[str] = []
    one_click = False
    if post is not None:
        if post.strip().replace(" ", "").lower() != "list-unsubscribe=one-click":
            oc_problems.append(
                f"List-Unsubscribe-Post is {post.strip()[:60]!r}, "
                "not 'List-Unsubscribe=One-Click' (RFC 8058)"
            )
        elif not https:
            oc_problems.append("one-click (RFC 8058) needs an https URI in List-Unsubscribe")
        else:
            one_click = True
    return Unsubscribe(
        present=True,
        uris=tuple(uris),
        https=tuple(https),
        http=tuple(http),
        mailto=tuple(mailto),
        problems=tuple(problems_l),
        post=post,
        one_click=one_click,
        one_click_problems=tuple(oc_problems),
    )
