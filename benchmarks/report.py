"""Results: one ``Check`` per measured figure, a readable table, and JSON.

A check is PASS/FAIL only when it was actually measured. Anything that
could not run (a GUI piece missing, a crash) is ``NOT RUN`` with the reason:
the harness never reports a pass it did not measure.
"""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PASS, FAIL, NOT_RUN, INFO = "PASS", "FAIL", "NOT RUN", "INFO"

TARGET_TITLES = {
    "1": "Headless serve, on-disk store, 2 KB, 10 connections",
    "2": "Open window (offscreen), same load, list updating live",
    "3": "Scale: large store",
    "4": "Large message (single big attachment)",
    "5": "Cold start of the window (empty store)",
    "6": "HTTP API: ingest with a WebSocket subscriber, event latency",
    "7": "Inspection checks (network-free) and the window while they run",
}


@dataclass
class Check:
    """One figure compared with its target.

    ``kind`` is ``ratio`` (measured / reference >= limit), ``max``
    (measured <= limit) or ``info`` (reported, not judged).
    """

    target: str
    name: str
    kind: str
    limit: float | None
    unit: str
    measured: float | None = None
    reference: float | None = None
    status: str = NOT_RUN
    detail: str = ""
    ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def judge(self) -> Check:
        if self.measured is None:
            self.status = NOT_RUN
            return self
        if self.kind == "ratio":
            if not self.reference:
                self.status = NOT_RUN
                self.detail = self.detail or "no reference figure"
                return self
            self.ratio = round(self.measured / self.reference, 3)
            self.status = PASS if self.ratio >= (self.limit or 0) else FAIL
        elif self.kind == "max":
            assert self.limit is not None
            self.status = PASS if self.measured <= self.limit else FAIL
        else:
            self.status = INFO
            if self.reference and self.measured is not None:
                self.ratio = round(self.measured / self.reference, 3)
        return self

    @property
    def target_text(self) -> str:
        if self.kind == "ratio":
            return f">= {self.limit:.2f}x"
        if self.kind == "max":
            return f"<= {_fmt(self.limit)} {self.unit}"
        return "-"


def not_run(
    target: str, name: str, kind: str, limit: float | None, unit: str, reason: str
) -> Check:
    return Check(target, name, kind, limit, unit, status=NOT_RUN, detail=f"NOT RUN: {reason}")


def _fmt(v: float | None) -> str:
    if v is None:
        return "-"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def machine_info() -> dict[str, Any]:
    cpu_model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        load = [round(x, 2) for x in os.getloadavg()]
    except OSError:
        load = None
    return {
        "loadavg_start": load,
        "date": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "cpu_count": os.cpu_count(),
        "cpu_model": cpu_model,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
    }


def render_table(checks: list[Check], meta: dict[str, Any]) -> str:
    head = ("#", "check", "measured", "reference", "ratio", "target", "result")
    rows: list[tuple[str, ...]] = []
    for c in checks:
        unit = "" if c.kind == "ratio" else f" {c.unit}"
        measured = f"{_fmt(c.measured)}{unit}" if c.measured is not None else "-"
        if c.kind == "ratio" and c.measured is not None:
            measured = f"{_fmt(c.measured)} {c.unit}"
        reference = f"{_fmt(c.reference)} {c.unit}" if c.reference is not None else "-"
        ratio = f"{c.ratio:.2f}x" if c.ratio is not None else "-"
        rows.append((c.target, c.name, measured, reference, ratio, c.target_text, c.status))
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    out = [
        f"mailcatcher-gui benchmarks — {meta.get('date', '')} — {meta.get('cpu_count')} CPU(s)"
        f" {meta.get('cpu_model', '')} — Python {meta.get('python', '')}"
        + (
            " — QUICK mode (small counts; figures are indicative only)" if meta.get("quick") else ""
        ),
        "",
    ]
    busy = [
        la[0]
        for la in (meta.get("loadavg_start"), meta.get("loadavg_end"))
        if la and la[0] > (meta.get("cpu_count") or 1)
    ]
    if busy:
        out += [
            f"WARNING: the machine was busy (1-min load average up to {max(busy):.1f} on "
            f"{meta.get('cpu_count')} CPUs): msgs/s and latencies are depressed by other load;",
            "the 'server CPU/msg' figures in the notes do not depend on it.",
            "",
        ]
    sep = "  "
    out.append(sep.join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    out.append(sep.join("-" * w for w in widths))
    for r in rows:
        out.append(sep.join(v.ljust(w) for v, w in zip(r, widths, strict=True)))
    notes = [c for c in checks if c.detail]
    if notes:
        out.append("")
        for c in notes:
            out.append(f"[{c.target}] {c.name}: {c.detail}")
    counts = {s: sum(1 for c in checks if c.status == s) for s in (PASS, FAIL, NOT_RUN)}
    out.append("")
    out.append(
        f"{counts[PASS]} passed, {counts[FAIL]} failed, {counts[NOT_RUN]} not run"
        f" ({len(checks)} checks)"
    )
    return "\n".join(out)


def render_markdown(checks: list[Check], meta: dict[str, Any]) -> str:
    """The table for RESULTS.md / the README, with the run's machine facts and notes."""
    load = meta.get("loadavg_start"), meta.get("loadavg_end")
    lines = [
        f"Run {meta.get('date', '')}: {meta.get('cpu_count')} CPUs ({meta.get('cpu_model', '')}), "
        f"Python {meta.get('python', '')}, {meta.get('platform', '')}; "
        f"1-min load average {load[0][0] if load[0] else '?'} at start, "
        f"{load[1][0] if load[1] else '?'} at end; took {meta.get('duration_s', '?')} s"
        + (" (QUICK mode)" if meta.get("quick") else "")
        + ".",
        "",
        "| # | check | measured | reference | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for c in checks:
        measured = f"{_fmt(c.measured)} {c.unit}" if c.measured is not None else "-"
        reference = f"{_fmt(c.reference)} {c.unit}" if c.reference is not None else "-"
        ratio = f"{c.ratio:.2f}x" if c.ratio is not None else "-"
        lines.append(
            f"| {c.target} | {c.name} | {measured} | {reference} | {ratio} | "
            f"{c.target_text} | **{c.status}** |"
        )
    notes = [c for c in checks if c.detail]
    if notes:
        lines.append("")
        lines.extend(f"- [{c.target}] {c.name}: {c.detail}" for c in notes)
    return "\n".join(lines)


def to_json(checks: list[Check], meta: dict[str, Any], runs: dict[str, Any]) -> dict[str, Any]:
    targets = []
    for tid, title in TARGET_TITLES.items():
        mine = [c for c in checks if c.target == tid]
        statuses = {c.status for c in mine}
        if not mine or statuses == {NOT_RUN}:
            overall = NOT_RUN
        elif FAIL in statuses:
            overall = FAIL
        elif NOT_RUN in statuses:
            overall = "PARTIAL"
        else:
            overall = PASS
        targets.append(
            {"id": tid, "title": title, "status": overall, "checks": [asdict(c) for c in mine]}
        )
    return {"meta": meta, "targets": targets, "runs": runs}


def write_json(path: str | os.PathLike, data: dict[str, Any]) -> None:
    Path(path).write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
