"""Inspection checks: what is wrong with a message, by family (see ``model.FAMILIES``).

Plain Python, no Qt and no network unless asked (links, spam; DKIM keys from
DNS when allowed). The window, the CLI and the HTTP API all call the same
functions here and show the same ``ChecksReport``.
"""

from .model import FAMILIES, CheckOptions, ChecksReport, FamilyResult, Finding, Severity, worst

__all__ = [
    "FAMILIES",
    "CheckOptions",
    "ChecksReport",
    "FamilyResult",
    "Finding",
    "Severity",
    "worst",
]
