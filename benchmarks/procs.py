"""Starting, probing and stopping the processes a benchmark needs.

Servers are started with ``sys.executable`` directly (not through ``uv``)
so the pid we hold is the Python process itself: its peak RSS and CPU time
are read from ``/proc/<pid>``.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
PYCACHE_PREFIX = Path(tempfile.gettempdir()) / "mailcatcher-gui-bench-pycache"


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.setdefault("PYTHONUNBUFFERED", "1")
    # An installed app runs from byte-compiled modules. With PYTHONDONTWRITEBYTECODE
    # (set in some dev/CI shells) every child would recompile ~200 modules from source
    # on each start (~0.5 s), which would be measured as startup time. Children cache
    # their bytecode under a private prefix instead; the source tree stays untouched.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE_PREFIX))
    # Never let a benchmark child inherit a profiler or coverage hook by accident.
    env.pop("COVERAGE_PROCESS_START", None)
    if extra:
        env.update(extra)
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def smtp_ready(host: str, port: int) -> bool:
    """True once a 220 banner comes back (and the probe session is closed politely)."""
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.settimeout(5)
            banner = s.recv(1024)
            if not banner.startswith(b"220"):
                return False
            s.sendall(b"QUIT\r\n")
            s.recv(1024)
            return True
    except OSError:
        return False


def proc_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of /proc/<pid>/status (VmHWM = peak RSS, VmRSS = current)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def proc_cpu_s(pid: int) -> float | None:
    """user + system CPU seconds of a live process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_thread_cpu_s(pid: int) -> dict[str, float]:
    """CPU seconds per thread name (main thread = the process name, e.g. "python")."""
    out: dict[str, float] = {}
    ticks = os.sysconf("SC_CLK_TCK")
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return out
    for task in tasks:
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if task.name == str(pid):
            name = "main"
        elif name == "python":  # Python threads keep the process name on Linux
            name = "py-threads"
        out[name] = out.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / ticks
    return out


class ServerProcess:
    """A server under test in its own process, ready when ``start()`` returns."""

    def __init__(self, name: str, cmd: list[str], port: int, *, host: str = "127.0.0.1") -> None:
        self.name, self.cmd, self.port, self.host = name, cmd, port, host
        self.proc: subprocess.Popen | None = None
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)
        self.started_at = 0.0
        self.ready_after_s: float | None = None
        self.peak_rss_kb: int | None = None
        self.cpu_s: float | None = None

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=REPO,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = self.started_at + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode} before listening:\n"
                    + self.log_tail()
                )
            if smtp_ready(self.host, self.port):
                self.ready_after_s = time.monotonic() - self.started_at
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.name} did not listen on {self.port} in {timeout} s")

    def cpu(self) -> float | None:
        return proc_cpu_s(self.proc.pid) if self.proc else None

    def thread_cpu(self) -> dict[str, float]:
        return proc_thread_cpu_s(self.proc.pid) if self.proc else {}

    def stop(self, timeout: float = 30.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.peak_rss_kb = proc_status_kb(self.proc.pid, "VmHWM")
            self.cpu_s = proc_cpu_s(self.proc.pid)
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()

    def log_tail(self, n: int = 3000) -> str:
        self._log.flush()
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return ""

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
        if exc[0] is None:
            self.log_path.unlink(missing_ok=True)


def reference_server(port: int) -> ServerProcess:
    return ServerProcess(
        "reference", [sys.executable, "-m", "benchmarks.reference", "--port", str(port)], port
    )


def serve_server(port: int, db: Path, extra: list[str] | None = None) -> ServerProcess:
    cmd = [sys.executable, "-m", "mailcatcher_gui", "serve", "--smtp", f"127.0.0.1:{port}"]
    extra = list(extra or [])
    if "--http" not in extra:
        # The HTTP API is on by default; a free port keeps parallel runs apart.
        extra += ["--http", "127.0.0.1:0"]
    cmd += ["--db", str(db)] + extra
    return ServerProcess("serve", cmd, port)


def run_loadgen(port: int, *, timeout: float = 900.0, **kw: Any) -> dict[str, Any]:
    """Run the load generator in its own process and return its JSON result."""
    cmd = [sys.executable, "-m", "benchmarks.loadgen", "--port", str(port)]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    proc = subprocess.run(
        cmd, cwd=REPO, env=child_env(), capture_output=True, text=True, timeout=timeout
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if not lines:
        raise RuntimeError(f"loadgen produced no result (rc={proc.returncode}):\n{proc.stderr}")
    return json.loads(lines[-1])
