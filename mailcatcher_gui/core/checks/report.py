"""Run the checks a front end asked for, and the one JSON shape of a report.

``run_checks`` is what the CLI (``messages check``) and the API
(``/api/v1/message/{ID}/checks``) call: the network-free families
(``runner.run_local_checks``, in a worker thread: parsing and CSS work is
CPU-bound), then the network families only when asked for (``links``,
``spam``), each replacing its SKIPPED placeholder.

``report_json`` is a public contract (README, "Checks"): fields are only
ever added, never renamed or re-typed. ``SCHEMA_VERSION`` changes only if
that promise is ever broken.
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..models import OpenedMessage
from .links import check_links
from .model import FAMILIES, CheckOptions, ChecksReport, FamilyResult, Finding, Severity
from .spam import check_spam

__all__ = [
    "SCHEMA_VERSION",
    "add_network_checks",
    "family_json",
    "finding_json",
    "report_json",
    "run_checks",
]

SCHEMA_VERSION = 1


def _local(opened: OpenedMessage, options: CheckOptions) -> ChecksReport:
    from .runner import run_local_checks

    return run_local_checks(opened, options)


async def run_checks(
    opened: OpenedMessage,
    options: CheckOptions,
    *,
    links: bool = False,
    spam: bool = False,
    follow: bool = True,
) -> ChecksReport:
    """Every network-free family, plus links and/or spam when asked (network)."""
    report = await asyncio.to_thread(_local, opened, options)
    return await add_network_checks(report, opened, options, links=links, spam=spam, follow=follow)


async def add_network_checks(
    report: ChecksReport,
    opened: OpenedMessage,
    options: CheckOptions,
    *,
    links: bool = False,
    spam: bool = False,
    follow: bool = True,
) -> ChecksReport:
    """``report`` with the links and/or spam families run (concurrently) in place of theirs."""
    extra: list[asyncio.Task[FamilyResult]] = []
    async with asyncio.TaskGroup() as group:
        if links:
            extra.append(group.create_task(check_links(opened, options, follow=follow)))
        if spam:
            extra.append(group.create_task(check_spam(opened.stored.raw, options)))
    for task in extra:
        report = report.with_family(task.result())
    return report


def finding_json(finding: Finding) -> dict[str, Any]:
    return {
        "code": finding.code,
        "severity": finding.severity.value,
        "title": finding.title,
        "detail": finding.detail,
        "where": finding.where,
        "line": finding.line,
        "advice": finding.advice,
        "data": finding.data,
    }


def family_json(result: FamilyResult) -> dict[str, Any]:
    return {
        "family": result.family,
        "label": result.label,
        "verdict": result.verdict.value,
        "summary": result.summary,
        "score": result.score,
        "findings": [finding_json(f) for f in result.findings],
        "data": result.data,
    }


def report_json(report: ChecksReport) -> dict[str, Any]:
    """The report as the CLI prints it (``--json``) and ``/checks`` answers it."""
    ran = [f.verdict for f in report.families if f.verdict is not Severity.SKIPPED]
    overall = max(ran, key=lambda s: s.rank, default=Severity.SKIPPED)
    order = list(FAMILIES)
    families = sorted(
        report.families,
        key=lambda f: order.index(f.family) if f.family in order else len(order),
    )
    return {
        "schema": SCHEMA_VERSION,
        "message_id": str(report.message_id),
        "verdict": overall.value,
        "families": [family_json(f) for f in families],
    }
