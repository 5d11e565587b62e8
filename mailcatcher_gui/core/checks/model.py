"""What a check reports: findings grouped in families, each family with one verdict.

A *family* is one of the eight kinds of check the viewer's Checks tab, the
CLI (``messages check``) and the HTTP API show (``FAMILIES``). A family's
result carries a colour-like ``verdict``, a one-line ``summary`` ("87% of
clients", "score 2.1 of 5.0"), the ``findings`` behind it, and ``data``: the
family's machine-readable payload (the Mailpit-shaped JSON of the
``html-check``/``link-check``/``sa-check`` endpoints comes from there).

A ``Finding`` names what it is about (``where``: an element, attribute, CSS
property, header or URL), the 1-based line of the raw message (as the Source
tab shows it) when one can be pointed at, and what to do about it.

Everything here is a frozen value, so a report made on a worker thread can be
handed to the window and cached without copies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

__all__ = [
    "FAMILIES",
    "CheckOptions",
    "ChecksReport",
    "FamilyResult",
    "Finding",
    "Severity",
    "worst",
]


class Severity(StrEnum):
    """How bad a finding (or a family's worst finding) is; ordered by ``rank``."""

    OK = "ok"  # checked, nothing wrong
    INFO = "info"  # worth knowing, nothing to fix
    WARNING = "warning"  # some clients or receivers will treat it badly
    ERROR = "error"  # broken, refused or clipped somewhere that matters
    SKIPPED = "skipped"  # not run: not configured, not asked for (the summary says how)

    @property
    def rank(self) -> int:
        return _RANK[self]


_RANK = {
    Severity.SKIPPED: -1,
    Severity.OK: 0,
    Severity.INFO: 1,
    Severity.WARNING: 2,
    Severity.ERROR: 3,
}

# Family ids, in the order the Checks tab and the CLI show them, with their labels.
FAMILIES: dict[str, str] = {
    "compatibility": "Client compatibility",
    "links": "Links and images",
    "spam": "Spam score",
    "authentication": "Authentication (DKIM, ARC)",
    "headers": "Headers and structure",
    "bulk": "Bulk-sender readiness",
    "size": "Size",
    "accessibility": "Accessibility",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a check found."""

    family: str  # a key of FAMILIES
    code: str  # stable machine id, e.g. "css-property-unsupported", "img-no-alt"
    severity: Severity
    title: str  # one line for people
    detail: str = ""  # the longer explanation (support notes, reasons)
    where: str = ""  # element / attribute / CSS property / header / URL it is about
    line: int | None = None  # 1-based line in the raw message source, if known
    advice: str = ""  # what to do about it
    data: dict[str, Any] = field(default_factory=dict)  # extra machine-readable facts


@dataclass(frozen=True, slots=True)
class FamilyResult:
    """One family's outcome: a verdict, a one-line summary and the findings."""

    family: str
    verdict: Severity
    summary: str
    findings: tuple[Finding, ...] = ()
    score: float | None = None  # 0..100 for compatibility, the spam score for spam
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return FAMILIES.get(self.family, self.family)


@dataclass(frozen=True, slots=True)
class ChecksReport:
    """Every family's result for one message (network-free ones, plus any run on request)."""

    message_id: int
    families: tuple[FamilyResult, ...]

    def family(self, name: str) -> FamilyResult | None:
        return next((f for f in self.families if f.family == name), None)

    def with_family(self, result: FamilyResult) -> ChecksReport:
        """This report with ``result`` replacing (or adding) its family, in FAMILIES order."""
        others = {f.family: f for f in self.families}
        others[result.family] = result
        order = list(FAMILIES)
        ranked = sorted(
            others.values(),
            key=lambda f: order.index(f.family) if f.family in order else len(order),
        )
        return ChecksReport(self.message_id, tuple(ranked))


@dataclass(frozen=True, slots=True)
class CheckOptions:
    """What the user configured for the checks (Settings, CLI flags).

    ``dkim_keys`` maps ``SELECTOR._domainkey.DOMAIN`` (lower case) to the
    public key record or PEM the user gave (``--dkim-key``); ``resolve_dns``
    allows DNS lookups for keys not given. ``spamassassin`` is ``HOST:PORT``
    of a spamd, or None. Link checks refuse loopback/private targets unless
    ``allow_local_links``.
    """

    dkim_keys: dict[str, bytes] = field(default_factory=dict)
    resolve_dns: bool = True
    spamassassin: str | None = None
    spam_timeout: float = 30.0
    allow_local_links: bool = False
    link_timeout: float = 10.0
    link_concurrency: int = 8


def worst(
    findings: tuple[Finding, ...] | list[Finding], default: Severity = Severity.OK
) -> Severity:
    """The most severe of ``findings`` (``default`` when there are none)."""
    return max((f.severity for f in findings), key=lambda s: s.rank, default=default)
