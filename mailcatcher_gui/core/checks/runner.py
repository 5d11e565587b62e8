"""Run every network-free check family on one message: ``run_local_checks``.

Network-free: compatibility, headers (and structure), bulk-sender
readiness, size and accessibility read only the message. Authentication
(DKIM, from ``dkim.check_authentication``) reads keys the user gave and, if
``options.resolve_dns``, DNS; it runs here too because bulk readiness needs
its verdict. Links and spam need the network or a spamd and run only on
request: here they are SKIPPED placeholders whose summary says how to run
them (``ChecksReport.with_family`` puts their real result in later).

The message is parsed for the checks once (``CheckInput``): one MIME tree,
one HTML parse, one line index, shared by all families. A family whose
code fails is reported as SKIPPED with the exception, so the other families
still show, and a message never breaks the checks.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from ..models import OpenedMessage
from .accessibility import check_accessibility
from .bulk import check_bulk
from .compatibility import check_compatibility
from .headers import check_headers
from .inputs import CheckInput
from .model import FAMILIES, CheckOptions, ChecksReport, FamilyResult, Severity
from .size import check_size

__all__ = ["LINKS_HOW", "SPAM_HOW", "run_local_checks"]

LINKS_HOW = (
    "Not run: checking links fetches every URL in the message. Run it on request "
    "(the Checks tab, `messages check` in the CLI, or the API's link-check)."
)
SPAM_HOW = (
    "Not run: needs SpamAssassin's spamd. Set its HOST:PORT in Settings (or the CLI's "
    "and API's spam options), then run it on request."
)


def _failed(family: str, exc: BaseException) -> FamilyResult:
    return FamilyResult(
        family,
        Severity.SKIPPED,
        f"check failed: {type(exc).__name__}: {exc}"[:300],
        data={"error": type(exc).__name__},
    )


def _guard(family: str, fn: Callable[[], FamilyResult]) -> FamilyResult:
    try:
        return fn()
    except Exception as exc:  # noqa: BLE001 - one family's bug must not hide the others
        return _failed(family, exc)


def _authentication(raw: bytes, options: CheckOptions) -> FamilyResult:
    try:
        module: Any = importlib.import_module(f"{__package__}.dkim")
    except ImportError:
        return FamilyResult(
            "authentication",
            Severity.SKIPPED,
            "DKIM verification is not available in this build",
        )
    result: FamilyResult = module.check_authentication(raw, options)
    return result


def _links() -> FamilyResult:
    return FamilyResult("links", Severity.SKIPPED, LINKS_HOW)


def _spam(options: CheckOptions) -> FamilyResult:
    if options.spamassassin:
        return FamilyResult(
            "spam",
            Severity.SKIPPED,
            f"Not run yet: spamd at {options.spamassassin}; run it on request.",
            data={"spamassassin": options.spamassassin},
        )
    return FamilyResult("spam", Severity.SKIPPED, SPAM_HOW)


def run_local_checks(opened: OpenedMessage, options: CheckOptions) -> ChecksReport:
    """Every network-free family for ``opened``; never raises on any message."""
    try:
        inp = CheckInput.build(opened)
    except Exception as exc:  # noqa: BLE001
        failed = tuple(_failed(f, exc) for f in FAMILIES)
        return ChecksReport(opened.id, failed)
    raw = opened.stored.raw
    results: dict[str, FamilyResult] = {
        "compatibility": _guard("compatibility", lambda: check_compatibility(inp)),
        "links": _links(),
        "spam": _spam(options),
        "authentication": _guard("authentication", lambda: _authentication(raw, options)),
        "headers": _guard("headers", lambda: check_headers(inp)),
        "size": _guard("size", lambda: check_size(inp)),
        "accessibility": _guard("accessibility", lambda: check_accessibility(inp)),
    }
    auth = results["authentication"]
    results["bulk"] = _guard("bulk", lambda: check_bulk(inp, auth))
    return ChecksReport(opened.id, tuple(results[f] for f in FAMILIES))
