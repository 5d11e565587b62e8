"""Target 6: the inspection checks.

* 7a/7b: every network-free check (``core.checks.runner.run_local_checks``)
  on a 100 KB and on a 2 MB HTML newsletter (``messages.newsletter``): the
  median wall time of several runs, in this process, on a message already
  parsed the way the viewer opens it. Limits: 300 ms and 3 s.
* 7c: the same on 1 MB divided by 100 KB: linear cost gives about 10; the
  limit (15) leaves room for noise, a quadratic step would give ~100. The
  ratio uses each size's fastest run (like ``timeit``): on a shared machine
  the median of a 10 ms figure moves by half, the minimum does not.
* 7d/7e: the real window (``gui_probe --open-all-checks``) receives a burst
  of 100 KB newsletters, then opens them one by one with the Checks tab in
  front, waiting for each one's checks; the 10 ms tick timer of target 2
  measures the GUI thread's stalls meanwhile. Limit: p99 <= 50 ms; the
  reference is the same window idle before the burst.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from . import gui_probe
from .report import Check, not_run
from .stats import median, summarize_ms

TARGET = "7"


def newsletter_raw(nbytes: int) -> bytes:
    from .messages import newsletter

    return (newsletter(nbytes) % (1, 1)).encode("utf-8")


def time_local_checks(raw: bytes, reps: int) -> dict[str, Any]:
    """Median seconds of ``run_local_checks`` over ``reps`` runs (after one warm-up)."""
    from mailcatcher_gui.core.checks.model import CheckOptions
    from mailcatcher_gui.core.checks.runner import run_local_checks
    from mailcatcher_gui.core.mailio.local import unstored_message

    opened = unstored_message(raw, received_at=datetime.now(UTC), source="benchmark")
    # No DNS: the figure is the checks' own cost, not a resolver's.
    options = CheckOptions(resolve_dns=False)
    report = run_local_checks(opened, options)  # warm-up: imports, feature tables
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        report = run_local_checks(opened, options)
        times.append(time.perf_counter() - t)
    findings = sum(len(f.findings) for f in report.families)
    return {
        "bytes": len(raw),
        "runs_s": times,
        "median_s": median(times),
        "min_s": min(times),
        "findings": findings,
    }


def run(bench: Any) -> None:
    """Target 6 rows into ``bench`` (a ``targets.Bench``)."""
    cfg = bench.cfg
    reps = 5 if cfg.quick else 11
    small = time_local_checks(newsletter_raw(100_000), reps)
    ten = time_local_checks(newsletter_raw(1_000_000), reps)
    big = time_local_checks(newsletter_raw(2_000_000), max(3, reps // 2))
    bench.runs["checks_local"] = {"100KB": small, "1MB": ten, "2MB": big}

    def detail(r: dict[str, Any]) -> str:
        runs = ", ".join(f"{x * 1000:.0f}" for x in r["runs_s"])
        return f"{r['bytes'] / 1000:.0f} KB, {r['findings']} findings; runs {runs} ms"

    bench.add(
        Check(
            TARGET,
            "7a network-free checks, 100 KB HTML",
            "max",
            300.0,
            "ms",
            measured=round(small["median_s"] * 1000, 1),
            detail=detail(small),
        )
    )
    bench.add(
        Check(
            TARGET,
            "7b network-free checks, 2 MB HTML",
            "max",
            3.0,
            "s",
            measured=round(big["median_s"], 3),
            detail=detail(big),
        )
    )
    ratio = ten["min_s"] / small["min_s"] if small["min_s"] else None
    bench.add(
        Check(
            TARGET,
            "7c checks time 10x input / 1x (1 MB vs 100 KB; linear = 10)",
            "max",
            15.0,
            "x",
            measured=None if ratio is None else round(ratio, 2),
            detail=f"fastest runs {ten['min_s'] * 1000:.0f} ms vs {small['min_s'] * 1000:.0f} ms "
            f"(medians {ten['median_s'] * 1000:.0f} vs {small['median_s'] * 1000:.0f})",
        )
    )
    window_rows(bench)


def window_rows(bench: Any) -> None:
    cfg = bench.cfg
    names = (
        ("7d UI stall p99 opening messages and running their checks", 50.0),
        ("7e UI stall max opening messages and running their checks (info)", None),
    )
    missing = gui_probe.missing_reason()
    if missing:
        for name, limit in names:
            bench.add(not_run(TARGET, name, "max" if limit else "info", limit, "ms", missing))
        return
    count = 5 if cfg.quick else 30
    res = gui_probe.run_burst(
        bench._fresh_db("t6-checks"),
        count=count,
        kind="newsletter",
        connections=1,
        pipelining=cfg.pipelining,
        client="asyncio",
        large_bytes=cfg.large_bytes,
        open_all_checks=True,
        stall_stacks=cfg.stall_stacks,
        idle_s=1.0,
    )
    probe = res["probe"]
    ticks = probe.pop("checks_lateness_s", [])
    stall = summarize_ms(ticks)
    base = summarize_ms(res["idle_lateness_s"])
    opened = probe.get("checks_open_to_report_s") or []
    bench.runs["checks_window"] = {
        "stall": stall,
        "idle": base,
        "opened": probe.get("checks_opened"),
        "missed": probe.get("checks_missed"),
        "open_to_report_s": opened,
        "error": probe.get("error"),
        "stall_stacks": probe.get("stall_stacks"),
    }
    bench._check_exits(TARGET, [probe])
    missed = probe.get("checks_missed") or []
    note = (
        f"{probe.get('checks_opened', 0)} of {count} 100 KB newsletters opened, checks shown "
        f"after median {(median(opened) or 0) * 1000:.0f} ms; {stall['n']} ticks of a 10 ms QTimer"
    )
    if missed:
        note += f"; NO REPORT for ids {missed[:5]}"
    check = Check(
        TARGET,
        names[0][0],
        "max",
        50.0,
        "ms",
        measured=stall["p99_ms"] if ticks else None,
        reference=base["p99_ms"],
        detail=note + (f"; {probe['error']}" if probe.get("error") else ""),
    )
    bench.add(check)
    if missed and check.status == "PASS":
        check.status = "FAIL"  # a message whose checks never showed is not a pass
    bench.add(
        Check(
            TARGET,
            names[1][0],
            "info",
            None,
            "ms",
            measured=stall["max_ms"] if ticks else None,
            reference=base["max_ms"],
        )
    )
