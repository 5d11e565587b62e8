"""caniemail.com's support data, shipped with the package and read once.

``data/caniemail.json`` is the ``caniemail`` npm package's data file (MIT,
``data/caniemail.LICENSE``), refreshed by ``scripts/refresh_caniemail.py``;
nothing is fetched at run time.

The data lists, per feature, every tested version of every client (family ×
platform: Gmail on iOS, Outlook on Windows, …). A score over every version
ever tested would let Outlook 2007 vote next to today's Outlook; here each
(family, platform) counts once, with its *latest* tested version (the last
key, the data being chronological). Support values are ``y`` (yes), ``a``
(partial, with note numbers such as ``a #1 #3``), ``n`` (no) and ``u``
(unknown, not counted).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .features import set_known_slugs

__all__ = [
    "MAJOR_FAMILIES",
    "ClientSupport",
    "Feature",
    "SupportData",
    "load",
]

SUPPORT_WORDS = {"y": "yes", "a": "partial", "n": "no"}
# The families a verdict weighs most (the big four of consumer mail).
MAJOR_FAMILIES = ("gmail", "outlook", "apple-mail", "yahoo")
_NOTE = re.compile(r"#(\d+)")


@dataclass(frozen=True, slots=True)
class ClientSupport:
    family: str
    platform: str
    version: str
    support: str  # "yes" | "partial" | "no"
    notes: tuple[str, ...]  # note numbers, e.g. ("1", "3")


@dataclass(frozen=True, slots=True)
class Feature:
    slug: str
    title: str
    description: str
    url: str
    category: str
    tags: tuple[str, ...]
    keywords: str
    notes_by_num: dict[str, str]
    clients: tuple[ClientSupport, ...]  # latest version per (family, platform)

    def counts(self) -> tuple[int, int, int]:
        """(yes, partial, no) over the clients."""
        y = sum(1 for c in self.clients if c.support == "yes")
        p = sum(1 for c in self.clients if c.support == "partial")
        return y, p, len(self.clients) - y - p


@dataclass(frozen=True)
class SupportData:
    version: str
    updated: str
    family_names: dict[str, str]
    platform_names: dict[str, str]
    features: dict[str, Feature]
    platforms: dict[str, list[str]]  # platform -> nice family names (Mailpit's "Platforms")

    def family_name(self, family: str) -> str:
        return self.family_names.get(family, family)

    def platform_name(self, platform: str) -> str:
        return self.platform_names.get(platform, platform)


def _latest(family: str, stats: dict[str, Any]) -> list[ClientSupport]:
    out = []
    for platform, versions in stats.items():
        if not isinstance(versions, dict) or not versions:
            continue
        version, value = list(versions.items())[-1]
        value = str(value).strip()
        word = SUPPORT_WORDS.get(value[:1])
        if word is None:
            continue
        out.append(ClientSupport(family, platform, str(version), word, tuple(_NOTE.findall(value))))
    return out


@cache
def load() -> SupportData:
    """The shipped data (parsed on first use, then kept)."""
    text = resources.files(__package__).joinpath("data/caniemail.json").read_text("utf-8")
    raw = json.loads(text)
    nice = raw.get("nicenames", {})
    features: dict[str, Feature] = {}
    platforms: dict[str, set[str]] = {}
    all_clients: dict[tuple[str, str], None] = {}
    for item in raw.get("data", []):
        clients: list[ClientSupport] = []
        for family, stats in (item.get("stats") or {}).items():
            if isinstance(stats, dict):
                clients.extend(_latest(family, stats))
                for platform in stats:
                    all_clients[(family, platform)] = None
                    platforms.setdefault(platform, set()).add(
                        nice.get("family", {}).get(family, family)
                    )
        notes = {str(k): str(v) for k, v in (item.get("notes_by_num") or {}).items()}
        features[item["slug"]] = Feature(
            slug=item["slug"],
            title=item.get("title") or item["slug"],
            description=item.get("description") or "",
            url=item.get("url") or "",
            category=item.get("category") or "",
            tags=tuple(item.get("tags") or ()),
            keywords=item.get("keywords") or "",
            notes_by_num=notes,
            clients=tuple(clients),
        )
    # Mailpit's own test: no client runs scripts in mail.
    features["html-script"] = Feature(
        slug="html-script",
        title="<script> element",
        description="JavaScript is not supported in any email client.",
        url="",
        category="html",
        tags=(),
        keywords="",
        notes_by_num={},
        clients=tuple(ClientSupport(f, p, "", "no", ()) for f, p in all_clients),
    )
    set_known_slugs(set(features))
    return SupportData(
        version=str(raw.get("api_version", "")),
        updated=str(raw.get("last_update_date", "")),
        family_names=dict(nice.get("family", {})),
        platform_names=dict(nice.get("platform", {})),
        features=features,
        platforms={k: sorted(v) for k, v in sorted(platforms.items())},
    )
