"""Bulk-sender readiness: Gmail's and Yahoo's 2024 rules for senders of bulk mail.

One verdict with its reasons (each reason is a finding, met ones as OK):

- ``bulk-dkim``: a DKIM signature that verifies and aligns with From's
  domain (DMARC alignment). Read from the authentication family's
  ``data["signatures"]`` (``[{"domain", "result", "aligned"}, …]``, from
  ``dkim.check_authentication``); no signature, or one that fails, is an
  error; one that could not be checked (no key, no DNS) a warning; a
  passing but unaligned one a warning (SPF could still align, which a
  catcher cannot see). When authentication was not run, a warning says so.
- ``bulk-one-click``: RFC 8058 one-click unsubscribe (``List-Unsubscribe``
  with an https URI + ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``).
  Required for marketing and subscribed mail; transactional mail (password
  resets, receipts) is exempt, which the detail says.
- ``bulk-message-id``, ``bulk-date``, ``bulk-from``: RFC 5322 form (the
  rules require a valid Message-ID, Date and a single From).
"""

from __future__ import annotations

from typing import Any

from ..mime.addresses import parse_addresses
from .headers import date_problem, message_id_problem
from .inputs import CheckInput
from .model import FamilyResult, Finding, Severity
from .results import family_result
from .unsubscribe import read_unsubscribe

__all__ = ["check_bulk", "dkim_reason"]

FAMILY = "bulk"


def _f(code: str, sev: Severity, title: str, detail: str = "", line: int | None = None) -> Finding:
    return Finding(FAMILY, code, sev, title, detail=detail, where=code[5:], line=line)


def dkim_reason(auth: FamilyResult | None) -> tuple[Severity, str]:
    """The DKIM reason from the authentication family's result."""
    if auth is None or auth.verdict is Severity.SKIPPED:
        why = auth.summary if auth is not None else "authentication checks not run"
        return Severity.WARNING, f"DKIM not checked ({why})"
    sigs: list[dict[str, Any]] = [s for s in auth.data.get("signatures", []) if isinstance(s, dict)]
    if not sigs:
        return Severity.ERROR, "No DKIM signature (Gmail and Yahoo require one for bulk mail)"
    passing = [s for s in sigs if s.get("result") == "pass"]
    if not passing:
        results = ", ".join(f"{s.get('domain')}: {s.get('result')}" for s in sigs[:3])
        if any(s.get("result") == "fail" for s in sigs):
            return Severity.ERROR, f"No DKIM signature verifies ({results})"
        return (
            Severity.WARNING,
            f"DKIM could not be verified ({results}): give the public key (--dkim-key, "
            "Settings) or allow DNS",
        )
    aligned = [s for s in passing if s.get("aligned")]
    if not aligned:
        domains = ", ".join(str(s.get("domain")) for s in passing[:3])
        return (
            Severity.WARNING,
            f"DKIM verifies ({domains}) but does not align with From's domain "
            "(DMARC needs an aligned DKIM or SPF)",
        )
    return Severity.OK, f"DKIM verifies and aligns with From ({aligned[0].get('domain')})"


def check_bulk(inp: CheckInput, auth: FamilyResult | None) -> FamilyResult:
    parsed = inp.opened.parsed
    findings: list[Finding] = []
    sev, text = dkim_reason(auth)
    findings.append(_f("bulk-dkim", sev, text, line=inp.header_line("DKIM-Signature")))

    u = read_unsubscribe(parsed.header("List-Unsubscribe"), parsed.header("List-Unsubscribe-Post"))
    exempt = "Transactional mail (password resets, receipts) is exempt."
    if u.one_click:
        findings.append(
            _f(
                "bulk-one-click",
                Severity.OK,
                "One-click unsubscribe (RFC 8058)",
                line=inp.header_line("List-Unsubscribe-Post"),
            )
        )
    elif not u.present:
        findings.append(_f("bulk-one-click", Severity.ERROR, "No List-Unsubscribe header", exempt))
    else:
        why = "; ".join(u.one_click_problems) or "no List-Unsubscribe-Post header"
        findings.append(
            _f(
                "bulk-one-click",
                Severity.ERROR,
                f"Unsubscribe is not one-click: {why}",
                f"{exempt} List-Unsubscribe alone (mailto) is accepted only for senders "
                "below the bulk threshold.",
                line=inp.header_line("List-Unsubscribe"),
            )
        )

    problem = message_id_problem(parsed.header("Message-ID"))
    findings.append(
        _f(
            "bulk-message-id",
            Severity.ERROR if problem else Severity.OK,
            problem or "Valid Message-ID",
            line=inp.header_line("Message-ID"),
        )
    )
    problem = date_problem(parsed.header("Date"))
    findings.append(
        _f(
            "bulk-date",
            Severity.ERROR if problem else Severity.OK,
            problem or "Valid Date",
            line=inp.header_line("Date"),
        )
    )
    from_raw = next((h.raw for h in parsed.headers if h.name.lower() == "from"), None)
    addrs = parse_addresses(" ".join(from_raw.split())) if from_raw is not None else []
    if len(addrs) == 1 and "@" in addrs[0].addr:
        findings.append(
            _f(
                "bulk-from",
                Severity.OK,
                f"One From address ({addrs[0].addr})",
                line=inp.header_line("From"),
            )
        )
    else:
        findings.append(
            _f(
                "bulk-from",
                Severity.ERROR,
                "From must be exactly one valid address" if addrs else "No From address",
                line=inp.header_line("From"),
            )
        )
    problems = [f for f in findings if f.severity.rank >= Severity.WARNING.rank]
    result = family_result(FAMILY, findings, "ready for Gmail's and Yahoo's bulk-sender rules")
    if problems:
        reasons = "; ".join(f.title for f in problems)
        prefix = "not ready" if result.verdict is Severity.ERROR else "check"
        return FamilyResult(
            FAMILY, result.verdict, f"{prefix}: {reasons}", result.findings, data=result.data
        )
    return result
