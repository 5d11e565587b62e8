"""The targets of the "Benchmarks" issue, each making ``Check`` rows; target 6
is the HTTP API's events (``http_events``), target 7 the inspection checks'
(``checks_bench``).

Every throughput figure is a ratio against a reference measured in the same
run (the bare aiosmtpd Sink, or the same server on an empty store), over
several repetitions whose median is reported. Reference and subject runs are
interleaved so slow drift on the machine (thermal, other load) hits both.
"""

from __future__ import annotations

import shutil
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import api_bench, checks_bench, gui_probe, http_events, procs, rules_load, scale
from .report import FAIL, NOT_RUN, PASS, Check, not_run
from .stats import median, summarize_ms


@dataclass
class Config:
    quick: bool
    workdir: Path
    reps: int = 5  # headless throughput repetitions
    gui_reps: int = 3
    count: int = 10_000  # messages per headless throughput run
    gui_count: int = 20_000  # the "20,000-message burst" into the open window
    connections: int = 10
    scale_count: int = 100_000
    large_bytes: int = 25 * 1000 * 1000  # decoded size of the big attachment
    multipart_count: int = 1_000
    pipelining: str = "force"  # same client behaviour for every server
    client: str = "asyncio"
    stall_stacks: bool = False  # diagnostics: sample the GUI stack during stalls
    only: set[str] = field(default_factory=set)

    @classmethod
    def make(cls, quick: bool, workdir: Path, **overrides: Any) -> Config:
        if quick:
            base = dict(
                reps=1,
                gui_reps=1,
                count=1_000,
                gui_count=1_000,
                scale_count=2_000,
                large_bytes=3 * 1000 * 1000,
                multipart_count=50,
            )
        else:
            base = {}
        base.update({k: v for k, v in overrides.items() if v is not None})
        return cls(quick=quick, workdir=workdir, **base)


class Bench:
    """Runs the targets, collecting checks and the raw run data for the JSON."""

    def __init__(self, config: Config, log: Callable[[str], None] = print) -> None:
        self.cfg = config
        self.log = log
        self.checks: list[Check] = []
        self.runs: dict[str, Any] = {}
        self._ref_runs: dict[str, list[dict[str, Any]]] = {}
        self._gui_missing: str | None = None

    # ---- helpers ---------------------------------------------------------

    def add(self, check: Check) -> Check:
        # Judge only what has not been judged yet (a helper may already have failed
        # a check for lost messages, and NOT RUN rows keep their reason).
        if check.status == NOT_RUN and check.measured is not None:
            check.judge()
        self.checks.append(check)
        c = check
        shown = "-" if c.measured is None else f"{c.measured:.3g} {c.unit}"
        self.log(f"  [{c.target}] {c.name}: {shown} -> {c.status}")
        return c

    def _load(
        self,
        port: int,
        *,
        count: int,
        kind: str = "small",
        mode: str = "reuse",
        connections: int | None = None,
    ) -> dict[str, Any]:
        return procs.run_loadgen(
            port,
            count=count,
            kind=kind,
            mode=mode,
            connections=connections or self.cfg.connections,
            pipelining=self.cfg.pipelining,
            large_bytes=self.cfg.large_bytes,
            client=self.cfg.client,
        )

    def _one_reference(self, *, count: int, kind: str, mode: str) -> dict[str, Any]:
        port = procs.free_port()
        with procs.reference_server(port) as server:
            cpu0 = server.cpu()
            result = self._load(port, count=count, kind=kind, mode=mode)
            result["server_cpu_s"] = _delta(server.cpu(), cpu0)
        result["server_peak_rss_kb"] = server.peak_rss_kb
        return result

    def _one_serve(
        self,
        db: Path,
        *,
        count: int,
        kind: str,
        mode: str,
        expect_total: int | None = None,
        keep_all: bool = False,
        extra_args: list[str] | None = None,
    ) -> dict[str, Any]:
        port = procs.free_port()
        # keep_all: no retention limit (serve keeps 10,000 by default and would prune).
        extra = ["--max-messages", "0"] if keep_all else []
        extra += extra_args or []
        with procs.serve_server(port, db, extra) as server:
            cpu0, threads0 = server.cpu(), server.thread_cpu()
            result = self._load(port, count=count, kind=kind, mode=mode)
            # The server's CPU time for the load alone: independent of other load
            # on the machine, so it shows per-message cost even on a busy box.
            result["server_cpu_s"] = _delta(server.cpu(), cpu0)
            threads1 = server.thread_cpu()
            result["server_thread_cpu_s"] = {
                name: round(t - threads0.get(name, 0.0), 3) for name, t in threads1.items()
            }
            result["server_ready_s"] = server.ready_after_s
        result["server_peak_rss_kb"] = server.peak_rss_kb
        result["stored"] = _count_store(db)
        if expect_total is not None and result["stored"] != expect_total:
            result["errors"].append(
                f"store holds {result['stored']} messages, expected {expect_total}"
            )
        return result

    def reference_runs(self, mode: str = "reuse") -> list[dict[str, Any]]:
        """Reference runs for 2 KB mail (measured once per run, reused by target 2)."""
        runs = self._ref_runs.setdefault(mode, [])
        while len(runs) < self.cfg.reps:
            runs.append(self._one_reference(count=self.cfg.count, kind="small", mode=mode))
        self.runs[f"reference_{mode}"] = runs
        return runs

    def _check_exits(self, target: str, results: list[dict[str, Any]]) -> None:
        """A window process that did not exit 0 is a defect of its own: one FAIL row."""
        bad = [r.get("exit_code") for r in results if r.get("exit_code")]
        if bad:
            self.add(
                Check(
                    target,
                    "window process exit status 0",
                    "max",
                    0,
                    "bad exits",
                    measured=len(bad),
                    detail=f"exit codes {bad} (negative = killed by that signal)",
                )
            )

    def _fresh_db(self, name: str) -> Path:
        d = self.cfg.workdir / name
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
        return d / "mail.sqlite3"

    def _guard(self, target: str, fn: Callable[[], None]) -> None:
        """Run a target; a crash becomes NOT RUN rows with the reason, never a pass."""
        if self.cfg.only and target not in self.cfg.only:
            return
        self.log(f"target {target}: {fn.__doc__.strip().splitlines()[0] if fn.__doc__ else ''}")
        t0 = time.monotonic()
        try:
            fn()
        except Exception as exc:  # noqa: BLE001 - report, keep benchmarking the rest
            detail = f"{type(exc).__name__}: {exc}"
            self.log(traceback.format_exc())
            if not any(c.target == target for c in self.checks):
                self.add(not_run(target, "target crashed", "max", None, "", detail[:400]))
            else:
                self.checks[-1].detail += f" (then crashed: {detail[:300]})"
        self.runs.setdefault("durations_s", {})[target] = round(time.monotonic() - t0, 1)

    def run_all(self) -> list[Check]:
        self._guard("1", self.target1)
        self._guard("2", self.target2)
        self._guard("3", self.target3)
        self._guard("4", self.target4)
        self._guard("5", self.target5)
        self._guard("6", self.target6)
        self._guard("7", self.target7)
        return self.checks

    # ---- target 1 ----------------------------------------------------------

    def target1(self) -> None:
        """Headless serve vs bare aiosmtpd Sink (2 KB, 10 connections)."""
        cfg = self.cfg
        rules_file = rules_load.write_rules_file(cfg.workdir / "rules-50.toml")
        with_rules: list[dict[str, Any]] = []
        hooked: list[dict[str, Any]] = []  # 1e: a webhook to a receiver that never answers
        hooked_ok: list[dict[str, Any]] = []  # 1e's reference: the same webhook, answered
        for mode, label in (("reuse", "1a"), ("per-connection", "1b")):
            ours: list[dict[str, Any]] = []
            for rep in range(cfg.reps):
                # Interleave reference and subject runs against drift.
                refs = self._ref_runs.setdefault(mode, [])
                if len(refs) < cfg.reps:
                    refs.append(self._one_reference(count=cfg.count, kind="small", mode=mode))
                    self.runs[f"reference_{mode}"] = refs
                db = self._fresh_db(f"t1-{mode}-{rep}")
                ours.append(
                    self._one_serve(
                        db, count=cfg.count, kind="small", mode=mode, expect_total=cfg.count
                    )
                )
                if mode == "reuse":  # 1d: the same serve with 50 rules, right after it
                    db = self._fresh_db(f"t1-rules-{rep}")
                    with_rules.append(
                        self._one_serve(
                            db,
                            count=cfg.count,
                            kind="small",
                            mode=mode,
                            expect_total=cfg.count,
                            extra_args=["--rules", str(rules_file)],
                        )
                    )
                    for receiver, runs, tag in (
                        (rules_load.answering, hooked_ok, "ok"),
                        (rules_load.never_answering, hooked, "hung"),
                    ):
                        with receiver() as url:
                            hook_file = cfg.workdir / f"rules-webhook-{tag}.toml"
                            rules_load.write_webhook_rules_file(hook_file, url)
                            runs.append(
                                self._one_serve(
                                    self._fresh_db(f"t1-webhook-{tag}-{rep}"),
                                    count=cfg.count,
                                    kind="small",
                                    mode=mode,
                                    expect_total=cfg.count,
                                    extra_args=["--rules", str(hook_file)],
                                )
                            )
            self.runs[f"serve_{mode}"] = ours
            self.add(
                _rate_check(
                    "1",
                    f"{label} serve msgs/s, {mode.replace('-', ' ')} "
                    f"(2 KB, {cfg.connections} conn)",
                    ours,
                    refs,
                    0.9,
                )
            )
            if mode == "reuse":
                self.runs["serve_reuse_rules50"] = with_rules
                c = _rate_check(
                    "1",
                    f"1d serve msgs/s with {rules_load.RULE_COUNT} rules, none matching "
                    "(reference: serve without rules)",
                    with_rules,
                    ours,
                    0.95,
                )
                self.add(c)
                self.runs["serve_reuse_webhook_hung"] = hooked
                self.runs["serve_reuse_webhook_ok"] = hooked_ok
                name = (
                    "1e serve msgs/s, webhook to a receiver that never answers "
                    "(ref: the same webhook answered at once)"
                )
                self.add(_rate_check("1", name, hooked, hooked_ok, 0.95))
        peak = max((r["server_peak_rss_kb"] or 0) for r in self.runs["serve_reuse"]) / 1024
        ref_peak = max((r["server_peak_rss_kb"] or 0) for r in self.runs["reference_reuse"]) / 1024
        self.add(
            Check(
                "1",
                "serve peak RSS (info)",
                "info",
                None,
                "MB",
                measured=round(peak, 1),
                reference=round(ref_peak, 1),
            )
        )
        # 100 KB multipart: not a target, but shows the per-byte cost of our DATA path.
        ref = self._one_reference(count=cfg.multipart_count, kind="multipart", mode="reuse")
        db = self._fresh_db("t1-multipart")
        ours_mp = self._one_serve(
            db,
            count=cfg.multipart_count,
            kind="multipart",
            mode="reuse",
            expect_total=cfg.multipart_count,
        )
        self.runs["reference_multipart"] = [ref]
        self.runs["serve_multipart"] = [ours_mp]
        c = _rate_check("1", "serve msgs/s, 100 KB multipart (info)", [ours_mp], [ref], None)
        self.add(c)

    # ---- target 2 ----------------------------------------------------------

    def target2(self) -> None:
        """Open window (offscreen), 2 KB burst, list updating live."""
        cfg = self.cfg
        names = (
            (f"2a window msgs/s during {cfg.gui_count:,}-msg burst", "ratio", 0.7, "msgs/s"),
            ("2b UI stall p99 during burst", "max", 50.0, "ms"),
            ("2c UI stall max during burst", "max", 250.0, "ms"),
        )
        missing = gui_probe.missing_reason()
        if missing:
            for name, kind, limit, unit in names:
                self.add(not_run("2", name, kind, limit, unit, missing))
            return
        refs = self.reference_runs("reuse")
        results = []
        ticks: list[float] = []
        idle: list[float] = []
        for rep in range(cfg.gui_reps):
            db = self._fresh_db(f"t2-{rep}")
            res = gui_probe.run_burst(
                db,
                count=cfg.gui_count,
                kind="small",
                connections=cfg.connections,
                pipelining=cfg.pipelining,
                client=cfg.client,
                large_bytes=cfg.large_bytes,
                stall_stacks=cfg.stall_stacks,
                idle_s=1.0 if cfg.quick else 3.0,
            )
            results.append(res)
            ticks.extend(res["stall_lateness_s"])
            idle.extend(res["idle_lateness_s"])
        self.runs["gui_burst"] = [_strip_ticks(r) for r in results]
        self._check_exits("2", [r["probe"] for r in results])
        loads = [r["load"] for r in results]
        c = _rate_check("2", names[0][0], loads, refs, 0.7)
        c.extra["ui_rows_at_end"] = [r["probe"].get("rows") for r in results]
        self.add(c)
        stall = summarize_ms(ticks)
        base = summarize_ms(idle)
        self.runs["gui_burst_stall"] = stall
        self.runs["gui_idle_stall"] = base
        detail = (
            f"p50 {stall['p50_ms']} ms over {stall['n']} ticks of a 10 ms QTimer; "
            f"reference = the same window idle before the burst ({base['n']} ticks)"
        )
        self.add(
            Check(
                "2",
                names[1][0],
                "max",
                50.0,
                "ms",
                measured=stall["p99_ms"],
                reference=base["p99_ms"],
                detail=detail,
            )
        )
        self.add(
            Check(
                "2",
                names[2][0],
                "max",
                250.0,
                "ms",
                measured=stall["max_ms"],
                reference=base["max_ms"],
            )
        )
        rss = max(r["probe"].get("peak_rss_kb") or 0 for r in results) / 1024
        self.add(
            Check(
                "2",
                "window process peak RSS after burst (info)",
                "info",
                None,
                "MB",
                measured=round(rss, 1),
            )
        )

    # ---- target 3 ----------------------------------------------------------

    def _remote_window(self, big: Path, n: int) -> None:
        """The window attached over HTTP to a ``serve`` of the big store: first rows."""
        label = f"window over HTTP (serve --http) shows first rows ({n:,} in store)"
        missing = gui_probe.missing_reason()
        if missing:
            self.add(not_run("3", label, "max", 2.0, "s", missing))
            return
        http_port = procs.free_port()
        server = procs.serve_server(
            procs.free_port(), big, ["--http", f"127.0.0.1:{http_port}", "--max-messages", "0"]
        )
        url = f"http://127.0.0.1:{http_port}"
        with server:
            _wait_http(url + "/livez")
            res = gui_probe.run_startup(
                self._fresh_db("t3-remote-local"), searches=False, remote=url
            )
        self.runs["scale_remote_window"] = res
        self._check_exits("3", [res])
        self.add(
            Check(
                "3",
                label,
                "max",
                2.0,
                "s",
                measured=res.get("first_rows_s"),
                detail=res.get("error", "") or f"{res.get('rows', 0):,} rows in the list",
            )
        )

    def target3(self) -> None:
        """Scale: a big store (first rows, search, RSS, ingest rate)."""
        cfg = self.cfg
        n = cfg.scale_count
        big = self._fresh_db("t3-big")
        self.log(f"  building a {n:,}-message store ...")
        built = scale.build_store(big, n)
        self.runs["scale_build"] = built
        self.add(
            Check(
                "3",
                f"build {n:,}-msg store via Store.add (info)",
                "info",
                None,
                "msgs/s",
                measured=built["add_msgs_per_s"],
                detail=f"{built['db_bytes'] / 1e6:.0f} MB on disk, "
                f"{built['build_s']} s including rendering",
            )
        )

        # Search: what the list runs per query (first window + count), fresh process.
        searches = scale.run_searches(big)
        self.runs["scale_search"] = searches
        for s in searches.values():
            self.add(
                Check(
                    "3",
                    f"search p95 `{s['query']}` ({s['matches']:,} hits, store)",
                    "max",
                    100.0,
                    "ms",
                    measured=s["p95_ms"],
                    detail=f"p50 {s['p50_ms']} ms, max {s['max_ms']} ms",
                )
            )

        self._api_rows(big, n)

        # The window over the big store.
        missing = gui_probe.missing_reason()
        if missing:
            self.add(
                not_run("3", f"window shows first rows ({n:,} in store)", "max", 2.0, "s", missing)
            )
            self.add(
                not_run(
                    "3", f"window process peak RSS ({n:,} in store)", "max", 300.0, "MB", missing
                )
            )
        else:
            res = gui_probe.run_startup(big, searches=True)
            self.runs["scale_window"] = res
            self._check_exits("3", [res])
            self.add(
                Check(
                    "3",
                    f"window shows first rows ({n:,} in store)",
                    "max",
                    2.0,
                    "s",
                    measured=res.get("first_rows_s"),
                    detail=res.get("error", ""),
                )
            )
            if res.get("search"):
                for s in res["search"].values():
                    self.add(
                        Check(
                            "3",
                            f"search p95 `{s['query']}` in the window",
                            "max",
                            100.0,
                            "ms",
                            measured=s["p95_ms"],
                            detail=f"p50 {s['p50_ms']} ms, {s.get('rows')} rows shown",
                        )
                    )
            rss = res.get("peak_rss_kb")
            self.add(
                Check(
                    "3",
                    f"window process peak RSS ({n:,} in store)",
                    "max",
                    300.0,
                    "MB",
                    measured=None if rss is None else round(rss / 1024, 1),
                    detail=_children_note(res),
                )
            )
        self._remote_window(big, n)

        # Ingest into the big store vs into an empty one (same load, interleaved).
        ours, refs = [], []
        total_big = n
        for rep in range(cfg.reps):
            empty = self._fresh_db(f"t3-empty-{rep}")
            r_empty = self._one_serve(
                empty,
                count=cfg.count,
                kind="small",
                mode="reuse",
                expect_total=cfg.count,
                keep_all=True,
            )
            refs.append(r_empty)
            total_big += cfg.count
            ours.append(
                self._one_serve(
                    big,
                    count=cfg.count,
                    kind="small",
                    mode="reuse",
                    expect_total=total_big,
                    keep_all=True,
                )
            )
        self.runs["scale_ingest_big"] = ours
        self.runs["scale_ingest_empty"] = refs
        c = _rate_check("3", f"ingest msgs/s into {n:,}-msg store vs empty store", ours, refs, 0.9)
        self.add(c)

    def _api_rows(self, big: Path, n: int) -> None:
        """The HTTP API over the big store: list, search, one 100 KB message (p95)."""
        res = api_bench.run_api(big, repeats=20 if self.cfg.quick else 100)
        self.runs["scale_api"] = res
        lst = res["list"]
        self.add(
            Check(
                "3",
                f"API p95 GET /api/v1/messages?limit=50 ({n:,} in store)",
                "max",
                api_bench.LIST_LIMIT_MS,
                "ms",
                measured=lst["p95_ms"],
                detail=f"p50 {lst['p50_ms']} ms, {lst['bytes']:,} B",
            )
        )
        for s in res["search"].values():
            self.add(
                Check(
                    "3",
                    f"API p95 GET /api/v1/search `{s['query']}` ({s['matches']:,} hits)",
                    "max",
                    api_bench.SEARCH_LIMIT_MS,
                    "ms",
                    measured=s["p95_ms"],
                    detail=f"p50 {s['p50_ms']} ms",
                )
            )
        msg = res.get("message")
        name = "API p95 GET /api/v1/message/{ID} (100 KB message)"
        if msg is None:
            self.add(not_run("3", name, "max", api_bench.MESSAGE_LIMIT_MS, "ms", "empty store"))
        else:
            self.add(
                Check(
                    "3",
                    name,
                    "max",
                    api_bench.MESSAGE_LIMIT_MS,
                    "ms",
                    measured=msg["p95_ms"],
                    detail=f"p50 {msg['p50_ms']} ms, raw {msg['raw_bytes']:,} B",
                )
            )

    # ---- target 4 ----------------------------------------------------------

    def target4(self) -> None:
        """One message with a large attachment into the open window."""
        cfg = self.cfg
        mb = cfg.large_bytes / 1e6
        names = (
            (f"4a 250 after end of DATA, {mb:.0f} MB attachment", "max", 1.5, "s"),
            ("4b open it in the viewer", "max", 1.0, "s"),
            ("4c UI stall max while it arrives", "max", 250.0, "ms"),
        )
        # Headless figure first (needs no GUI): the same message into `serve`.
        db = self._fresh_db("t4-serve")
        headless = self._one_serve(db, count=1, kind="large", mode="reuse", expect_total=1)
        self.runs["large_serve"] = headless
        self.add(
            Check(
                "4",
                f"serve: 250 after end of DATA, {mb:.0f} MB attachment (info)",
                "info",
                None,
                "s",
                measured=_latency_s(headless),
                detail=_errors(headless),
            )
        )
        missing = gui_probe.missing_reason()
        if missing:
            for name, kind, limit, unit in names:
                self.add(not_run("4", name, kind, limit, unit, missing))
            return
        db = self._fresh_db("t4-gui")
        res = gui_probe.run_burst(
            db,
            count=1,
            kind="large",
            connections=1,
            pipelining=cfg.pipelining,
            client="asyncio",
            large_bytes=cfg.large_bytes,
            open_last=True,
            stall_stacks=cfg.stall_stacks,
            idle_s=1.0,
        )
        self.runs["large_gui"] = _strip_ticks(res)
        wire_mb = res["load"]["message_bytes"] / 1e6
        self._check_exits("4", [res["probe"]])
        self.add(
            Check(
                "4",
                names[0][0],
                "max",
                1.5,
                "s",
                measured=_latency_s(res["load"]),
                detail="; ".join(
                    x for x in (f"{wire_mb:.1f} MB on the wire", _errors(res["load"])) if x
                ),
            )
        )
        self.add(
            Check(
                "4",
                names[1][0],
                "max",
                1.0,
                "s",
                measured=res["probe"].get("open_s"),
                detail=res["probe"].get("open_detail", ""),
            )
        )
        stall = summarize_ms(res["stall_lateness_s"])
        base = summarize_ms(res["idle_lateness_s"])
        self.add(
            Check(
                "4",
                names[2][0],
                "max",
                250.0,
                "ms",
                measured=stall["max_ms"],
                reference=base["max_ms"],
                detail=f"p99 {stall['p99_ms']} ms; reference = the idle window before",
            )
        )
        rss = res["probe"].get("peak_rss_kb")
        if rss:
            self.add(
                Check(
                    "4",
                    "window process peak RSS after receiving and opening it (info)",
                    "info",
                    None,
                    "MB",
                    measured=round(rss / 1024, 1),
                    detail=_children_note(res["probe"]),
                )
            )

    # ---- target 5 ----------------------------------------------------------

    def target5(self) -> None:
        """Cold start of the window on an empty store."""
        missing = gui_probe.missing_reason()
        name = "5 process start to first paint (empty store)"
        if missing:
            self.add(not_run("5", name, "max", 1.5, "s", missing))
            return
        # One discarded warm-up launch: the OS file cache and the bytecode cache
        # then hold what they hold on a user's machine after the first start.
        self.runs["cold_start_warmup"] = gui_probe.run_startup(
            self._fresh_db("t5-warmup"), searches=False
        )
        results = []
        for rep in range(max(self.cfg.gui_reps, 1)):
            db = self._fresh_db(f"t5-{rep}")
            results.append(gui_probe.run_startup(db, searches=False))
        self.runs["cold_start"] = results
        self._check_exits("5", results)
        firsts = [r.get("first_paint_s") for r in results]
        valid = [f for f in firsts if f is not None]
        self.add(
            Check(
                "5",
                name,
                "max",
                1.5,
                "s",
                measured=median(valid),
                detail=f"runs: {', '.join(f'{f:.2f}' for f in valid)} s (median)"
                + "".join(f"; {r['error']}" for r in results if r.get("error")),
            )
        )

    # ---- target 6 ----------------------------------------------------------

    def target6(self) -> None:
        """HTTP API events: ingest with a WebSocket subscriber, and the events' latency."""
        http_events.run(self)

    # ---- target 7 ----------------------------------------------------------

    def target7(self) -> None:
        """Inspection checks: 100 KB / 2 MB HTML, linearity, UI stall while checking."""
        checks_bench.run(self)


# ---- small helpers -------------------------------------------------------------


def _count_store(db: Path) -> int | None:
    from mailcatcher_gui.core.store.database import Store

    try:
        with Store(db) as s:
            return s.count()
    except Exception as exc:  # noqa: BLE001 - reported, not fatal
        print(f"cannot count {db}: {exc}", file=sys.stderr)
        return None


def _delta(after: float | None, before: float | None) -> float | None:
    return None if after is None or before is None else round(after - before, 3)


def _cpu_us_per_msg(runs: list[dict[str, Any]]) -> float | None:
    vals = [
        r["server_cpu_s"] / r["messages"] * 1e6
        for r in runs
        if r.get("server_cpu_s") is not None and r.get("messages")
    ]
    return median(vals)


def _thread_split_us(runs: list[dict[str, Any]]) -> dict[str, float]:
    """Median CPU microseconds per message for each server thread name."""
    names = {n for r in runs for n in (r.get("server_thread_cpu_s") or {})}
    out = {}
    for name in sorted(names, key=lambda n: (n != "main", n)):
        vals = [
            r["server_thread_cpu_s"][name] / r["messages"] * 1e6
            for r in runs
            if r.get("messages") and name in (r.get("server_thread_cpu_s") or {})
        ]
        if vals and (v := median(vals)) and v >= 1:
            out[name] = round(v, 1)
    return out


def _children_note(probe: dict[str, Any]) -> str:
    kb = probe.get("children_rss_kb")
    if not kb:
        return ""
    return f"the main process; QtWebEngine's helper processes hold another {kb / 1024:.0f} MB"


def _join(values: list[float]) -> str:
    return ", ".join(f"{x:,.0f}" for x in values)


def _errors(result: dict[str, Any]) -> str:
    errs = result.get("errors") or []
    failed = result.get("failed") or 0
    if not errs and not failed:
        return ""
    return f"{failed} failed; " + "; ".join(errs[:3])


def _latency_s(result: dict[str, Any]) -> float | None:
    if result.get("failed") or not result.get("messages"):
        return None
    ms = result["latency"]["max_ms"]
    return None if ms is None else round(ms / 1000.0, 3)


def _rate_check(
    target: str,
    name: str,
    ours: list[dict[str, Any]],
    refs: list[dict[str, Any]],
    limit: float | None,
) -> Check:
    """Median msgs/s vs median reference msgs/s; any lost message fails the check.

    The detail line adds each side's server CPU time per message: unlike
    msgs/s it does not depend on what else the machine is doing.
    """
    rates = [r["msgs_per_s"] for r in ours if r.get("msgs_per_s")]
    ref_rates = [r["msgs_per_s"] for r in refs if r.get("msgs_per_s")]
    problems = [e for r in ours + refs if (e := _errors(r))]
    c = Check(
        target,
        name,
        "ratio" if limit is not None else "info",
        limit,
        "msgs/s",
        measured=median(rates),
        reference=median(ref_rates),
    )
    cpu_ours, cpu_ref = _cpu_us_per_msg(ours), _cpu_us_per_msg(refs)
    c.extra = {
        "runs": rates,
        "reference_runs": ref_rates,
        "server_cpu_us_per_msg": cpu_ours,
        "reference_cpu_us_per_msg": cpu_ref,
    }
    notes = [f"runs {_join(rates)} vs {_join(ref_rates)}"]
    if cpu_ours is not None and cpu_ref is not None:
        notes.append(f"server CPU/msg {cpu_ours:,.0f} us vs {cpu_ref:,.0f} us")
        split = _thread_split_us(ours)
        if split:
            c.extra["server_thread_cpu_us_per_msg"] = split
            notes[-1] += " (" + ", ".join(f"{k} {v:,.0f}" for k, v in split.items()) + ")"
    client = [r["client_cpu_pct"] for r in ours + refs if r.get("client_cpu_pct") is not None]
    if client:
        notes.append(f"client CPU <= {max(client):.0f}%")
    if problems:
        notes.append("ERRORS: " + " | ".join(problems[:2]))
    c.detail = "; ".join(notes)
    c.judge()
    if problems and c.status == PASS:
        c.status = FAIL
    return c


def _strip_ticks(res: dict[str, Any]) -> dict[str, Any]:
    out = dict(res)
    ticks = out.pop("stall_lateness_s", [])
    out["stall"] = summarize_ms(ticks)
    return out


def _wait_http(url: str, timeout: float = 60.0) -> None:
    """Until ``url`` answers 2xx (the API of a just-started ``serve``)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if 200 <= response.status < 300:
                    return
        except (OSError, urllib.error.URLError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer in {timeout} s")
        time.sleep(0.1)
