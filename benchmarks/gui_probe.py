"""Measure the real window: a probe process plus the parent-side drivers.

The probe (``python -m benchmarks.gui_probe --mode ...``) runs the *real*
application path: it calls ``mailcatcher_gui.cli.main(["gui", ...])`` with
``QT_QPA_PLATFORM=offscreen``, exactly what a user's ``mailcatcher-gui``
does. The only addition is a wrapper around ``app.build_gui`` (the app's own
testable builder) that attaches instruments to the ``GuiApp`` it returns;
app.py needs no benchmark code. The instruments are:

* a 10 ms repeating ``QTimer`` (precise) on the Qt loop; how late each tick
  fires is the UI stall, since the sink, the model updates and painting all
  share that loop;
* an application event filter that notes the first paint of the window and
  the first paint of the message list with rows in it (removed once seen);
* a ``Mailbox`` listener counting captured messages.

It prints ``READY <port>`` once the window has painted and the SMTP sink is
listening, and finally ``RESULT <json>``. Timestamps are ``time.monotonic()``
(one clock for every process on Linux), so the parent can put the stall
samples next to the load generator's start and end and compute startup times
from the moment it spawned the process.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# ---------------------------------------------------------------------------
# Parent side
# ---------------------------------------------------------------------------


def missing_reason() -> str | None:
    """Why the GUI targets cannot run here, or None when they can."""
    import importlib.util

    for mod in ("PySide6.QtWidgets", "qasync", "mailcatcher_gui.app", "mailcatcher_gui.cli"):
        try:
            if importlib.util.find_spec(mod) is None:
                return f"{mod} is not available"
        except ModuleNotFoundError as exc:
            return f"{mod} is not available ({exc})"
    return None


def _probe_env(home: Path) -> dict[str, str]:
    from .procs import child_env

    env = child_env(
        {
            "QT_QPA_PLATFORM": "offscreen",
            # A private home: no user settings, geometry or certificates leak in.
            "MAILCATCHER_GUI_HOME": str(home),
        }
    )
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    env.setdefault(
        "QTWEBENGINE_CHROMIUM_FLAGS",
        "--disable-gpu --disable-background-networking --disable-component-update",
    )
    env.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")
    return env


class _Probe:
    """A running probe process (parent side)."""

    def __init__(self, db: Path, mode: str, *, extra: list[str] | None = None) -> None:
        from .procs import REPO

        self.home = Path(tempfile.mkdtemp(prefix="mcg-probe-home-"))
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - lives as long as the probe
            prefix="bench-gui-", suffix=".log", delete=False
        )
        self.t0 = time.monotonic()
        cmd = [sys.executable, "-m", "benchmarks.gui_probe", "--mode", mode, "--db", str(db)]
        cmd += ["--t0", repr(self.t0)] + list(extra or [])
        self.proc = subprocess.Popen(
            cmd,
            cwd=REPO,
            env=_probe_env(self.home),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
        )

    def read_until(self, prefix: str, timeout: float) -> str | None:
        """The rest of the first stdout line starting with ``prefix`` (None on EOF)."""
        import selectors

        assert self.proc.stdout is not None
        sel = selectors.DefaultSelector()
        sel.register(self.proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if not sel.select(timeout=max(0.0, deadline - time.monotonic())):
                    break
                line = self.proc.stdout.readline()
                if not line:
                    return None
                if line.startswith(prefix):
                    return line[len(prefix) :].strip()
        finally:
            sel.close()
        raise TimeoutError(f"probe printed no {prefix.strip()!r} within {timeout:.0f} s")

    def finish(self, timeout: float) -> dict[str, Any]:
        try:
            text = self.read_until("RESULT ", timeout)
        except TimeoutError as exc:
            self.kill()
            raise RuntimeError(f"{exc}\n{self.log_tail()}") from None
        if text is None:
            self.proc.wait(10)
            raise RuntimeError(
                f"probe exited ({self.proc.returncode}) without a result:\n{self.log_tail()}"
            )
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        result = json.loads(text)
        result["exit_code"] = self.proc.returncode
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log_tail(self, n: int = 3000) -> str:
        self.log.flush()
        try:
            return Path(self.log.name).read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def close(self) -> None:
        self.kill()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.log.close()
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)
        with contextlib.suppress(OSError):
            os.unlink(self.log.name)


def run_burst(
    db: Path,
    *,
    count: int,
    kind: str,
    connections: int,
    pipelining: str,
    client: str,
    large_bytes: int,
    open_last: bool = False,
    open_all_checks: bool = False,
    keep_all: bool = False,
    idle_s: float = 2.0,
    stall_stacks: bool = False,
    timeout: float = 900.0,
) -> dict[str, Any]:
    """Open the window, drive ``count`` messages into it, return load + probe stats.

    ``stall_lateness_s`` holds the lateness of every 10 ms tick from the start
    of the burst until the list had caught up with the store;
    ``idle_lateness_s`` the same for ``idle_s`` seconds *before* the burst,
    with the window open and nothing arriving: the stall this machine causes
    by itself (scheduling under other load), the reference for the figures.
    """
    from .procs import run_loadgen

    extra = ["--expect", str(count)]
    if open_last:
        extra.append("--open-last")
    if open_all_checks:
        extra.append("--open-all-checks")
    if keep_all:
        extra += ["--max-messages", "0"]
    if stall_stacks:
        extra.append("--stall-stacks")
    probe = _Probe(db, "burst", extra=extra)
    try:
        port_text = probe.read_until("READY ", 120)
        if port_text is None:
            raise RuntimeError(f"probe exited before it was ready:\n{probe.log_tail()}")
        idle_from = time.monotonic()
        time.sleep(idle_s)
        idle_to = time.monotonic()
        load = run_loadgen(
            int(port_text),
            count=count,
            kind=kind,
            connections=connections,
            pipelining=pipelining,
            client=client,
            large_bytes=large_bytes,
        )
        result = probe.finish(timeout)
    finally:
        probe.close()
    done_at = result.get("done_at") or load["end_monotonic"]
    ticks = result.pop("ticks", [])
    lateness = [late for t, late in ticks if load["start_monotonic"] <= t <= done_at]
    idle = [late for t, late in ticks if idle_from <= t <= idle_to]
    if open_all_checks and result.get("checks_from"):
        # Target 6: the ticks while messages were opened and checked, one by one.
        lo, hi = result["checks_from"], result["checks_to"]
        result["checks_lateness_s"] = [late for t, late in ticks if lo <= t <= hi]
    # The window process's CPU time for the burst (all its threads), like serve's.
    load["server_cpu_s"] = result.get("cpu_s")
    load["server_thread_cpu_s"] = result.get("thread_cpu_s") or {}
    return {
        "load": load,
        "probe": result,
        "stall_lateness_s": lateness,
        "idle_lateness_s": idle,
    }


def run_startup(
    db: Path,
    *,
    searches: bool,
    keep_all: bool = True,
    timeout: float = 300.0,
    remote: str | None = None,
) -> dict[str, Any]:
    """Start the window on ``db``; startup times from spawn, optional UI searches, RSS.

    ``remote``: the window shows that catcher (``--remote URL``) instead of ``db``.
    """
    extra = ["--searches"] if searches else []
    if keep_all:
        extra += ["--max-messages", "0"]
    if remote:
        extra += ["--remote", remote]
    probe = _Probe(db, "startup", extra=extra)
    try:
        result = probe.finish(timeout)
    finally:
        probe.close()
    result.pop("ticks", None)
    return result


# ---------------------------------------------------------------------------
# Probe side (runs inside the GUI process)
# ---------------------------------------------------------------------------


def _peak_rss_kb() -> int | None:
    from .procs import proc_status_kb

    return proc_status_kb(os.getpid(), "VmHWM")


def _children_rss_kb(root: int) -> int:
    """Current RSS of every descendant (QtWebEngine's Chromium processes)."""
    from .procs import proc_status_kb

    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    total = 0
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid:
                total += proc_status_kb(child, "VmRSS") or 0
                frontier.append(child)
    return total


def proc_thread_cpu_s(pid: int) -> dict[str, float]:
    from .procs import proc_thread_cpu_s as impl

    return impl(pid)


class _Instruments:
    """Attached to the ``GuiApp`` the real ``run_gui`` builds."""

    def __init__(self, gui: Any, opts: argparse.Namespace) -> None:
        from PySide6.QtCore import QObject, Qt, QTimer

        self.gui = gui
        self.opts = opts
        self.t_built = time.monotonic()
        self.ticks: list[tuple[float, float]] = []
        self.first_paint: float | None = None
        self.first_rows: float | None = None
        self.first_list_paint: float | None = None
        self.shown_at: float | None = None
        self.ready_sent = False
        self.cpu_at_ready = self.cpu_at_done = 0.0
        self.threads_at_ready: dict[str, float] = {}
        self.threads_at_done: dict[str, float] = {}
        self.messages_seen = 0
        self.last_id: int | None = None
        self.all_seen_at: float | None = None
        self.done_at: float | None = None
        self.result: dict[str, Any] = {}
        self.finished = False

        window = gui.window
        self.table = window.message_list.table
        self.viewport = self.table.viewport()
        self.model = window.model

        outer = self

        class Filter(QObject):
            def eventFilter(self, obj, event):  # noqa: N802 (Qt API)
                from PySide6.QtCore import QEvent

                if event.type() == QEvent.Type.Paint:
                    outer._on_paint(obj)
                return False

        self._filter = Filter()
        gui.qapp.installEventFilter(self._filter)

        self._last_tick = time.monotonic()
        self.tick_timer = QTimer()
        self.tick_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.tick_timer.setInterval(10)
        self.tick_timer.timeout.connect(self._tick)
        self.tick_timer.start()

        self.poll = QTimer()
        self.poll.setInterval(5)
        self.poll.timeout.connect(self._poll)
        self.poll.start()

        self.deadline = QTimer()
        self.deadline.setSingleShot(True)
        self.deadline.timeout.connect(lambda: self.finish(error="probe timed out"))
        self.deadline.start(int(opts.timeout * 1000))

        gui.mailbox.subscribe(self._on_mailbox_event)
        self.stalls: dict[str, list[float]] = {}
        if opts.stall_stacks:
            self._start_watchdog()

    # ---- instruments ---------------------------------------------------------------

    def _start_watchdog(self) -> None:
        """Diagnostics: when the loop is >= 50 ms overdue, note the main thread's stack.

        Costs a thread waking every 10 ms, so it is off unless asked for; the
        result names the code that holds the loop (``stall_stacks`` in the JSON).
        """
        import sys
        import threading
        import traceback

        main_id = threading.main_thread().ident

        def watch() -> None:
            seen_tick = None
            while not self.finished:
                time.sleep(0.01)
                last = self._last_tick
                overdue = time.monotonic() - last - 0.010
                if overdue < 0.050 or last == seen_tick:
                    continue
                seen_tick = last  # one sample per stall
                frame = sys._current_frames().get(main_id)
                if frame is None:
                    continue
                stack = traceback.extract_stack(frame)[-12:]
                key = " <- ".join(
                    f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in reversed(stack)
                )
                self.stalls.setdefault(key, []).append(round(overdue, 3))

        threading.Thread(target=watch, name="stall-watchdog", daemon=True).start()

    def _tick(self) -> None:
        now = time.monotonic()
        self.ticks.append((now, max(0.0, now - self._last_tick - 0.010)))
        self._last_tick = now

    def _on_paint(self, obj: Any) -> None:
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QWidget

        if not isinstance(obj, QWidget) or obj.window() is not self.gui.window:
            return
        # Stamp *after* this paint and its flush: the next loop iteration.
        if self.first_paint is None:
            self.first_paint = -1.0
            QTimer.singleShot(0, self._stamp_first_paint)
        if obj is self.viewport and self.first_list_paint is None:
            self.first_list_paint = -1.0
            QTimer.singleShot(0, self._stamp_list_paint)
        if obj is self.viewport and self.first_rows is None and self.model.rowCount() > 0:
            self.first_rows = -1.0
            QTimer.singleShot(0, self._stamp_first_rows)

    def _stamp_first_paint(self) -> None:
        self.first_paint = time.monotonic()

    def _stamp_list_paint(self) -> None:
        self.first_list_paint = time.monotonic()

    def _stamp_first_rows(self) -> None:
        self.first_rows = time.monotonic()

    def _on_mailbox_event(self, event: Any) -> None:
        from mailcatcher_gui.core.models import MessagesAdded

        if isinstance(event, MessagesAdded):
            self.messages_seen += len(event.summaries)
            if event.summaries:
                self.last_id = event.summaries[-1].id
            if self.all_seen_at is None and self.messages_seen >= self.opts.expect > 0:
                self.all_seen_at = time.monotonic()

    def _painted(self) -> bool:
        return self.first_paint is not None and self.first_paint > 0

    def _poll(self) -> None:
        if self.finished:
            return
        gui, opts = self.gui, self.opts
        if self.shown_at is None and gui.window.isVisible():
            self.shown_at = time.monotonic()
        if opts.mode == "startup":
            want_rows = self.model.rowCount() > 0
            ready = (self.first_rows or 0) > 0 if want_rows else self._painted()
            if ready and (self.first_list_paint or 0) > 0:
                self.poll.stop()
                self._after_startup()
            return
        # burst mode
        if not self.ready_sent and self._painted() and gui.sink is not None:
            self.ready_sent = True
            self.cpu_at_ready = time.process_time()
            self.threads_at_ready = proc_thread_cpu_s(os.getpid())
            self._remove_filter()
            self.poll.setInterval(20)  # cheap from here on: the burst is what we measure
            print(f"READY {gui.sink.port()}", flush=True)
        # The list has caught up when its coalesced sync ran after the last add.
        if (
            self.all_seen_at is not None
            and self.done_at is None
            and not self.model.sync_pending()
            and self.model.rowCount() == gui.mailbox.count()
        ):
            from PySide6.QtCore import QTimer

            self.done_at = time.monotonic()
            self.cpu_at_done = time.process_time()
            self.threads_at_done = proc_thread_cpu_s(os.getpid())
            self.poll.stop()
            # Keep sampling a little: late work (counts, notifications) counts too.
            QTimer.singleShot(250, self._after_burst)

    def _remove_filter(self) -> None:
        if self._filter is not None:
            self.gui.qapp.removeEventFilter(self._filter)
            self._filter = None

    # ---- phases --------------------------------------------------------------------

    def _after_startup(self) -> None:
        self._remove_filter()
        t0 = self.opts.t0
        self.result.update(
            first_paint_s=round(self.first_paint - t0, 4),
            first_list_paint_s=round(self.first_list_paint - t0, 4),
            first_rows_s=round(self.first_rows - t0, 4) if (self.first_rows or 0) > 0 else None,
            rows=self.model.rowCount(),
        )
        if self.opts.searches:
            self.result["search"] = self._searches()
        self.finish()

    def _searches(self) -> dict[str, Any]:
        """Each query the way the search box applies it, including the repaint."""
        from .scale import SEARCHES
        from .stats import summarize_ms

        out: dict[str, Any] = {}
        window = self.gui.window
        for label, query in SEARCHES:
            times = []
            rows = 0
            for _ in range(self.opts.search_repeats):
                t = time.perf_counter()
                ok = window.apply_search(query)
                self.viewport.repaint()
                times.append(time.perf_counter() - t)
                rows = self.model.rowCount()
                window.apply_search("")
                self.viewport.repaint()
                if not ok:
                    out[label] = {"query": query, "error": "query rejected"}
                    break
            else:
                out[label] = {"query": query, "rows": rows, **summarize_ms(times)}
        return out

    def _after_burst(self) -> None:
        self.result.update(
            rows=self.model.rowCount(),
            store_count=self.gui.mailbox.count(),
            done_at=self.done_at,
            all_seen_at=self.all_seen_at,
            list_lag_s=round(self.done_at - self.all_seen_at, 4),
            cpu_s=round(self.cpu_at_done - self.cpu_at_ready, 3),
            thread_cpu_s={
                name: round(t - self.threads_at_ready.get(name, 0.0), 3)
                for name, t in self.threads_at_done.items()
            },
        )
        if self.opts.open_last and self.last_id is not None:
            self._open_last()
        if self.opts.open_all_checks:
            from .checks_probe import open_all_with_checks

            self.result.update(open_all_with_checks(self))
        self.finish()

    def _open_last(self) -> None:
        """Select the newest row like a click would; time until the viewer has painted."""
        view = self.gui.window.view
        shown: list[float] = []
        view.messageShown.connect(lambda _id: shown.append(time.monotonic()))
        t = time.monotonic()
        ok = self.gui.window.message_list.select_id(self.last_id)
        view.repaint()
        end = time.monotonic()
        if not ok or not shown:
            self.result["open_detail"] = f"select_id({self.last_id}) -> {ok}, shown {bool(shown)}"
            return
        self.result["open_s"] = round(end - t, 4)
        self.result["open_detail"] = (
            f"messageShown after {shown[0] - t:.3f} s, painted after {end - t:.3f} s"
        )
        # Let the loop run a moment so the HTML tab's asynchronous load can
        # show up as stall ticks too.
        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(300, loop.quit)
        loop.exec()

    def finish(self, error: str | None = None) -> None:
        if self.finished:
            return
        self.finished = True
        self.tick_timer.stop()
        self.poll.stop()
        self.deadline.stop()
        self._remove_filter()
        if error:
            self.result["error"] = error
        self.result.update(
            messages_seen=self.messages_seen,
            build_s=round(self.t_built - self.opts.t0, 4),
            shown_s=None if self.shown_at is None else round(self.shown_at - self.opts.t0, 4),
            peak_rss_kb=_peak_rss_kb(),
            children_rss_kb=_children_rss_kb(os.getpid()),
            ticks=self.ticks,
        )
        if self.opts.stall_stacks:
            top = sorted(self.stalls.items(), key=lambda kv: -sum(kv[1]))[:15]
            self.result["stall_stacks"] = [
                {"samples": len(v), "overdue_max_s": max(v), "stack": k} for k, v in top
            ]
        print("RESULT " + json.dumps(self.result), flush=True)
        self.gui.request_quit()


def probe_main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.gui_probe")
    ap.add_argument("--mode", choices=("startup", "burst"), required=True)
    ap.add_argument("--db", required=True)
    ap.add_argument("--t0", type=float, default=None, help="parent's monotonic spawn time")
    ap.add_argument("--expect", type=int, default=0, help="burst: messages to wait for")
    ap.add_argument("--open-last", action="store_true")
    ap.add_argument("--open-all-checks", action="store_true", help="target 7 (checks_probe)")
    ap.add_argument("--searches", action="store_true")
    ap.add_argument("--search-repeats", type=int, default=20)
    ap.add_argument("--max-messages", type=int, default=None)
    ap.add_argument("--remote", default=None, help="the window shows this catcher's URL")
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--stall-stacks", action="store_true", help="diagnostics (see _Instruments)")
    opts = ap.parse_args(argv)
    if opts.t0 is None:
        opts.t0 = time.monotonic()

    from mailcatcher_gui import app as app_module
    from mailcatcher_gui import cli

    original = app_module.build_gui
    holder: dict[str, _Instruments] = {}

    def build_gui(*args: Any, **kwargs: Any) -> Any:
        gui = original(*args, **kwargs)
        holder["i"] = _Instruments(gui, opts)
        return gui

    app_module.build_gui = build_gui
    argv_gui = ["gui", "--smtp", "127.0.0.1:0", "--db", opts.db]
    if opts.max_messages is not None:
        argv_gui += ["--max-messages", str(opts.max_messages)]
    if opts.remote:
        argv_gui += ["--remote", opts.remote]
    code = cli.main(argv_gui)
    inst = holder.get("i")
    if inst is None or not inst.finished:
        print(
            "RESULT " + json.dumps({"error": f"the app exited ({code}) before the probe finished"}),
            flush=True,
        )
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(probe_main())
