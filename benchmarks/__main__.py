"""``python -m benchmarks [--quick] [--json FILE] [--only 1,3] ...``

Runs the targets of the "Benchmarks" issue, prints a table with PASS/FAIL
per target (measured figure, reference figure, ratio) and optionally writes
the full results as JSON. Exit status: 0 when every check that ran passed,
1 when any failed, 2 when nothing could be judged.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from .report import FAIL, PASS, machine_info, render_markdown, render_table, to_json, write_json
from .targets import Bench, Config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    ap.add_argument(
        "--quick", action="store_true", help="small counts: runs in well under a minute"
    )
    ap.add_argument("--json", metavar="FILE", help="write the results as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="also write the table as Markdown")
    ap.add_argument("--only", metavar="1,2,...", help="run only these targets")
    ap.add_argument("--reps", type=int, help="headless repetitions (default 5; quick 1)")
    ap.add_argument("--gui-reps", type=int, help="GUI repetitions (default 3; quick 1)")
    ap.add_argument("--count", type=int, help="messages per headless throughput run")
    ap.add_argument("--gui-count", type=int, help="messages in the burst into the window")
    ap.add_argument("--scale-count", type=int, help="messages in the big store (default 100000)")
    ap.add_argument("--large-bytes", type=int, help="size of the big attachment in bytes")
    ap.add_argument(
        "--pipelining",
        choices=("force", "auto", "off"),
        help="client pipelining; 'force' (default) treats every server alike",
    )
    ap.add_argument(
        "--client",
        choices=("asyncio", "smtp-source"),
        help="load generator: the built-in asyncio client (default) or Postfix smtp-source",
    )
    ap.add_argument("--workdir", help="where stores are built (default: a temp dir, removed)")
    ap.add_argument(
        "--stall-stacks",
        action="store_true",
        help="diagnostics: record the GUI thread's stack whenever the loop stalls >= 50 ms "
        "(adds a watchdog thread, so figures shift slightly)",
    )
    args = ap.parse_args(argv)
    if args.client == "smtp-source" and shutil.which("smtp-source") is None:
        ap.error("--client smtp-source: smtp-source is not installed (it comes with Postfix)")

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="mcg-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cfg = Config.make(
        args.quick,
        workdir,
        reps=args.reps,
        gui_reps=args.gui_reps,
        count=args.count,
        gui_count=args.gui_count,
        scale_count=args.scale_count,
        large_bytes=args.large_bytes,
        pipelining=args.pipelining,
        client=args.client,
        stall_stacks=args.stall_stacks or None,
        only=set(args.only.split(",")) if args.only else None,
    )
    meta = machine_info()
    meta.update(
        quick=cfg.quick,
        config={
            k: (sorted(v) if isinstance(v, set) else str(v) if isinstance(v, Path) else v)
            for k, v in vars(cfg).items()
        },
    )

    def log(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    t0 = time.monotonic()
    bench = Bench(cfg, log=log)
    try:
        checks = bench.run_all()
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    meta["duration_s"] = round(time.monotonic() - t0, 1)
    meta["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]

    print(render_table(checks, meta))
    if args.json:
        write_json(args.json, to_json(checks, meta, bench.runs))
    if args.markdown:
        Path(args.markdown).write_text(render_markdown(checks, meta) + "\n", encoding="utf-8")
    statuses = {c.status for c in checks}
    if FAIL in statuses:
        return 1
    return 0 if PASS in statuses else 2


if __name__ == "__main__":
    sys.exit(main())
