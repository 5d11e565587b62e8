"""Small helpers the families share to build their results."""

from __future__ import annotations

from collections.abc import Sequence

from .model import FamilyResult, Finding, Severity, worst

__all__ = ["family_result", "problem_summary"]


def problem_summary(findings: Sequence[Finding], ok_text: str) -> str:
    """ "2 errors, 1 warning: <first title>" or ``ok_text`` when nothing is wrong."""
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    if not errors and not warnings:
        infos = sum(1 for f in findings if f.severity is Severity.INFO)
        return ok_text if not infos else f"{ok_text} ({infos} note{'s' if infos != 1 else ''})"
    bits = []
    if errors:
        bits.append(f"{errors} error{'s' if errors != 1 else ''}")
    if warnings:
        bits.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    first = next(f for f in findings if f.severity.rank >= Severity.WARNING.rank)
    return f"{', '.join(bits)}: {first.title}"


def family_result(
    family: str,
    findings: Sequence[Finding],
    ok_text: str,
    data: dict[str, object] | None = None,
    score: float | None = None,
) -> FamilyResult:
    """A family's result: findings worst first, verdict = the worst, a one-line summary."""
    ordered = tuple(sorted(findings, key=lambda f: (-f.severity.rank, f.line or 0)))
    return FamilyResult(
        family=family,
        verdict=worst(ordered),
        summary=problem_summary(ordered, ok_text),
        findings=ordered,
        score=score,
        data=dict(data or {}),
    )
