"""Spam score: ask a SpamAssassin daemon (spamd) what it thinks of a raw message.

SpamAssassin is the reference most mail teams use, and Mailpit shows its
verdict; rather than imitate its rules we speak its protocol (SPAMC/SPAMD
1.5, the ``REPORT`` command: the verdict line plus the report listing every
rule hit with its points and description) to a spamd the user runs and names
with ``--spamassassin HOST:PORT`` (or ``unix:/path/to/socket``) or the
setting. Without one the family is ``SKIPPED`` and says how to enable it;
a spamd that does not answer is also ``SKIPPED``, with the reason, because
it says nothing about the message.

``FamilyResult.data["mailpit"]`` is Mailpit's ``SpamAssassinResponse``
(``{"IsSpam", "Error", "Score", "Rules": [{"Score", "Name", "Description"}]}``,
scores floored to one decimal as Mailpit does); ``data["threshold"]`` is
spamd's required score, which (unlike Mailpit's fixed 5.0) decides ``IsSpam``.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .model import CheckOptions, FamilyResult, Finding, Severity

__all__ = [
    "SpamdError",
    "SpamdReport",
    "check_spam",
    "parse_report",
    "result_from_report",
    "spamd_report",
]

FAMILY = "spam"
PROTOCOL = "SPAMC/1.5"
HOW_TO_ENABLE = (
    "not run: no SpamAssassin configured. Start spamd and pass --spamassassin HOST:PORT "
    "(or set the SpamAssassin address in Settings)"
)
_SPAM_LINE = re.compile(r"^Spam:\s*(\w+)\s*;\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)", re.IGNORECASE)
_RULE_LINE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s+([A-Za-z0-9_]+)\s+(.*)$")
_CONTINUATION = re.compile(r"^\s{10,}(\S.*)$")


class SpamdError(Exception):
    """spamd could not be reached, or answered with an error or something unreadable."""


@dataclass(frozen=True, slots=True)
class SpamdRule:
    points: float
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class SpamdReport:
    is_spam: bool
    score: float
    threshold: float
    rules: tuple[SpamdRule, ...] = field(default=())


def parse_report(response: bytes) -> SpamdReport:
    """Read spamd's answer to ``REPORT``: status line, headers, report text."""
    head, _sep, body = response.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(None, 2)
    if len(status) < 2 or not status[0].startswith("SPAMD/"):
        raise SpamdError(f"spamd answered something else: {lines[0][:80]!r}")
    if status[1] != "0":
        raise SpamdError(f"spamd refused the message: {' '.join(status[1:])}")
    verdict = next((m for m in map(_SPAM_LINE.match, lines[1:]) if m), None)
    if verdict is None:
        raise SpamdError("spamd's answer has no Spam: line")
    return SpamdReport(
        is_spam=verdict.group(1).lower() in ("true", "yes"),
        score=float(verdict.group(2)),
        threshold=float(verdict.group(3)),
        rules=_rules(body.decode("utf-8", "replace")),
    )


def _rules(report: str) -> tuple[SpamdRule, ...]:
    """The rows under "Content analysis details" (descriptions may wrap onto indented lines)."""
    rules: list[SpamdRule] = []
    in_table = False
    for line in report.splitlines():
        if line.startswith("----"):
            in_table = True
            continue
        if not in_table or not line.strip():
            continue
        row = _RULE_LINE.match(line)
        if row:
            rules.append(SpamdRule(float(row.group(1)), row.group(2), row.group(3).strip()))
            continue
        more = _CONTINUATION.match(line)
        if more and rules:
            last = rules[-1]
            rules[-1] = SpamdRule(last.points, last.name, f"{last.description} {more.group(1)}")
    return tuple(rules)


async def _open(address: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    if address.startswith("unix:"):
        return await asyncio.open_unix_connection(address[5:])
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise SpamdError(f"{address!r} is not HOST:PORT (or unix:/path)")
    return await asyncio.open_connection(host.strip("[]"), int(port))


async def spamd_report(raw: bytes, address: str, timeout: float) -> SpamdReport:
    """Send ``raw`` to the spamd at ``address`` with ``REPORT``; SpamdError on any trouble."""
    request = (
        f"REPORT {PROTOCOL}\r\nContent-length: {len(raw)}\r\nUser: mailcatcher-gui\r\n\r\n"
    ).encode("ascii") + raw
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await _open(address)
            writer.write(request)
            await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()
            response = await reader.read()
    except TimeoutError:
        raise SpamdError(f"spamd at {address} did not answer within {timeout:g} s") from None
    except OSError as exc:
        reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
        raise SpamdError(f"cannot reach spamd at {address}: {reason}") from None
    finally:
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                async with asyncio.timeout(1):
                    await writer.wait_closed()
    if not response:
        raise SpamdError(f"spamd at {address} closed the connection without an answer")
    return parse_report(response)


def _floor1(value: float) -> float:
    """Mailpit's rounding: floor to one decimal."""
    return math.floor(value * 10) / 10


def _mailpit(report: SpamdReport | None, error: str = "") -> dict[str, Any]:
    if report is None:
        return {"IsSpam": False, "Error": error, "Score": 0, "Rules": []}
    return {
        "IsSpam": report.score >= report.threshold,
        "Error": "",
        "Score": _floor1(report.score),
        "Rules": [
            {"Score": _floor1(r.points), "Name": r.name, "Description": r.description}
            for r in report.rules
        ],
    }


def _rule_finding(rule: SpamdRule) -> Finding:
    """One rule hit; its severity is only a hint (the family's verdict follows the total)."""
    if rule.points >= 1.0:
        severity = Severity.WARNING
    elif rule.points > 0:
        severity = Severity.INFO
    else:
        severity = Severity.OK
    return Finding(
        FAMILY,
        "spam-rule",
        severity,
        f"{rule.name} ({rule.points:+g}): {rule.description}",
        where=rule.name,
        data={"points": rule.points, "rule": rule.name},
    )


def result_from_report(report: SpamdReport, address: str) -> FamilyResult:
    """The spam family for a spamd answer (exposed for the API and tests)."""
    if report.score >= report.threshold:
        verdict = Severity.ERROR
    elif report.score >= report.threshold / 2:
        verdict = Severity.WARNING
    else:
        verdict = Severity.OK
    findings = tuple(_rule_finding(r) for r in sorted(report.rules, key=lambda r: -r.points))
    summary = f"score {report.score:g} of {report.threshold:g}"
    summary += " — spamd calls it spam" if report.score >= report.threshold else ""
    data = {
        "score": report.score,
        "threshold": report.threshold,
        "is_spam": report.score >= report.threshold,
        "spamd": address,
        "rules": [
            {"name": r.name, "points": r.points, "description": r.description} for r in report.rules
        ],
        "mailpit": _mailpit(report),
    }
    return FamilyResult(FAMILY, verdict, summary, findings, score=report.score, data=data)


async def check_spam(raw: bytes, options: CheckOptions) -> FamilyResult:
    """Ask the configured spamd (network; on request only); SKIPPED when there is none."""
    address = (options.spamassassin or "").strip()
    if not address:
        return FamilyResult(
            FAMILY,
            Severity.SKIPPED,
            HOW_TO_ENABLE,
            data={
                "configured": False,
                "mailpit": _mailpit(None, "no SpamAssassin service defined"),
            },
        )
    try:
        report = await spamd_report(raw, address, options.spam_timeout)
    except SpamdError as exc:
        finding = Finding(
            FAMILY,
            "spamd-unavailable",
            Severity.SKIPPED,
            str(exc),
            where=address,
            advice="Check that spamd runs and listens there (spamd --listen=HOST:PORT).",
        )
        return FamilyResult(
            FAMILY,
            Severity.SKIPPED,
            f"not run: {exc}",
            (finding,),
            data={"configured": True, "spamd": address, "mailpit": _mailpit(None, str(exc))},
        )
    return result_from_report(report, address)
