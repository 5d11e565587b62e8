"""Target 6: the HTTP API's live events must not slow SMTP ingest.

Two rows, from the same runs:

* 6a: ``serve`` msgs/s (2 KB, the target-1 load) with the HTTP API on and
  one WebSocket subscriber on ``/api/events``, against the same ``serve``
  with ``--http none``; runs interleaved, medians compared, >= 0.95x.
* 6b: for every message, the time from its ``250`` at the SMTP client to
  its ``new`` event at the subscriber, p99 <= 100 ms; a message whose event
  never arrived fails the row.

The subscriber is its own process (``benchmarks.ws_subscriber``), as is the
load generator: neither competes with the server for the GIL. Both stamp
``time.monotonic()``, one clock for every process on Linux.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import procs
from .report import FAIL, PASS, Check
from .stats import summarize_ms

if TYPE_CHECKING:
    from .targets import Bench

NAMES = (
    "6a serve msgs/s with the HTTP API on + 1 WebSocket subscriber vs --http none",
    "6b `new` event latency, 250 -> WebSocket client, p99",
)


class Subscriber:
    """``benchmarks.ws_subscriber`` in its own process, connected when ``start`` returns."""

    def __init__(self, url: str, expect: int) -> None:
        self.cmd = [sys.executable, "-m", "benchmarks.ws_subscriber", "--url", url]
        self.cmd += ["--expect", str(expect)]
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 30.0) -> Subscriber:
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=procs.REPO,
            env=procs.child_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # "ready" once the first stats frame came
        if line.strip() != "ready":
            self.proc.kill()
            _, err = self.proc.communicate(timeout=timeout)
            raise RuntimeError(f"WebSocket subscriber did not connect: {line!r} {err[-800:]}")
        return self

    def result(self, timeout: float = 120.0) -> dict[str, Any]:
        assert self.proc is not None
        out, err = self.proc.communicate(timeout=timeout)
        lines = [ln for ln in out.splitlines() if ln.startswith("{")]
        if not lines:
            raise RuntimeError(f"subscriber produced no result: {err[-800:]}")
        return json.loads(lines[-1])

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _one_run(bench: Bench, db: Path, *, with_events: bool) -> dict[str, Any]:
    cfg = bench.cfg
    port = procs.free_port()
    http_port = procs.free_port()
    extra = ["--max-messages", "0"]
    extra += ["--http", f"127.0.0.1:{http_port}"] if with_events else ["--http", "none"]
    subscriber: Subscriber | None = None
    with procs.serve_server(port, db, extra) as server:
        try:
            if with_events:
                url = f"http://127.0.0.1:{http_port}"
                subscriber = Subscriber(url, cfg.count).start()
            cpu0, threads0 = server.cpu(), server.thread_cpu()
            result = procs.run_loadgen(
                port,
                count=cfg.count,
                kind="small",
                mode="reuse",
                connections=cfg.connections,
                pipelining=cfg.pipelining,
                large_bytes=cfg.large_bytes,
                record_acks="yes" if with_events else "no",
            )
            result["server_cpu_s"] = _delta(server.cpu(), cpu0)
            threads1 = server.thread_cpu()
            result["server_thread_cpu_s"] = {
                name: round(t - threads0.get(name, 0.0), 3) for name, t in threads1.items()
            }
            if subscriber is not None:
                result["events"] = _latencies(result.pop("acks", []), subscriber.result())
        finally:
            if subscriber is not None:
                subscriber.kill()
    result["server_peak_rss_kb"] = server.peak_rss_kb
    return result


def _latencies(acks: list[list[float]], sub: dict[str, Any]) -> dict[str, Any]:
    """Per-message 250 -> event delay; messages without an event are counted as lost."""
    got = {int(mid): t for mid, t in sub["received"]}
    delays = [got[int(mid)] - t for mid, t in acks if int(mid) in got]
    lost = [int(mid) for mid, _t in acks if int(mid) not in got]
    return {
        **summarize_ms([max(0.0, d) for d in delays]),
        "acked": len(acks),
        "lost": len(lost),
        "lost_ids": lost[:10],
        "frames": sub["frames"],
        "closed": sub["closed"],
    }


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 3)


def run(bench: Bench) -> None:
    """HTTP API events: ingest with a WebSocket subscriber, and the events' latency."""
    from .targets import _rate_check

    cfg = bench.cfg
    ours: list[dict[str, Any]] = []
    refs: list[dict[str, Any]] = []
    for rep in range(cfg.reps):  # interleaved against drift
        refs.append(_one_run(bench, bench._fresh_db(f"t6-off-{rep}"), with_events=False))
        ours.append(_one_run(bench, bench._fresh_db(f"t6-on-{rep}"), with_events=True))
    bench.runs["http_off"] = refs
    bench.runs["http_events"] = ours
    bench.add(_rate_check("6", NAMES[0], ours, refs, 0.95))

    events = [r["events"] for r in ours if "events" in r]
    lost = sum(e["lost"] for e in events)
    acked = sum(e["acked"] for e in events)
    worst = max((e["p99_ms"] for e in events if e["p99_ms"] is not None), default=None)
    check = Check(
        "6",
        NAMES[1],
        "max",
        100.0,
        "ms",
        measured=worst,
        detail=(
            f"{acked:,} messages; p50 "
            + ", ".join(str(e["p50_ms"]) for e in events)
            + " ms; max "
            + ", ".join(str(e["max_ms"]) for e in events)
            + " ms (worst run's p99 shown)"
        ),
    )
    check.judge()
    if lost:
        check.status = FAIL
        check.detail += f"; LOST {lost} events (e.g. ids {events[0]['lost_ids']})"
    elif check.status == PASS and acked != cfg.count * cfg.reps:
        check.status = FAIL
        check.detail += f"; only {acked} of {cfg.count * cfg.reps} messages acknowledged"
    bench.add(check)
