"""A real SpamAssassin daemon for tests: ``spamd`` on a free loopback port, local rules only.

Skips (with the reason) only when spamd is not installed; CI installs it
(``.ci/run``). The daemon runs with ``-L`` (no network tests), no Bayes, no
user config, one child, and a private site-config folder holding copies of
the system's plugin ``.pre`` files, so the machine's ``local.cf`` cannot
change a test's score.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["GTUBE", "running_spamd", "spamd_binary"]

GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
LOCAL_CF = "use_bayes 0\nskip_rbl_checks 1\ndns_available no\nuse_auto_whitelist 0\n"


def spamd_binary() -> str | None:
    found = shutil.which("spamd")
    if found:
        return found
    return "/usr/sbin/spamd" if os.access("/usr/sbin/spamd", os.X_OK) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pong(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"PING SPAMC/1.5\r\n\r\n")
            s.shutdown(socket.SHUT_WR)
            return b"PONG" in s.recv(100)
    except OSError:
        return False


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _subreaper(on: bool) -> bool:
    """Adopt orphaned descendants (Linux), so spamd's children are reaped, not left as zombies."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(36, int(on), 0, 0, 0) == 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop spamd and reap the children it leaves behind when it exits first."""
    children = _children(proc.pid)
    adopted = _subreaper(True)
    try:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        pending = set(children) if adopted else set()
        while pending and time.monotonic() < deadline:
            for pid in list(pending):
                try:
                    done, _status = os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:  # not ours (reaped by spamd itself)
                    done = pid
                if done:
                    pending.discard(pid)
            time.sleep(0.05)
    finally:
        if adopted:
            _subreaper(False)


@contextmanager
def running_spamd() -> Iterator[str]:
    """Yield ``127.0.0.1:PORT`` of a fresh spamd; stop it afterwards."""
    binary = spamd_binary()
    if binary is None:
        pytest.skip("spamd is not installed (apt-get install spamd spamassassin)")
    home = Path(tempfile.mkdtemp(prefix="mailcatcher-spamd-"))
    home.chmod(0o755)  # the children run as nobody and read the site config
    site = home / "site"
    site.mkdir(mode=0o755)
    for pre in Path("/etc/spamassassin").glob("*.pre"):
        shutil.copy(pre, site / pre.name)
    (site / "local.cf").write_text(LOCAL_CF)
    port = _free_port()
    args = [
        binary, f"--listen=127.0.0.1:{port}", "-L", "--max-children=1", "--min-children=1",
        f"--siteconfigpath={site}", "--nouser-config", "-x", "--syslog=stderr",
    ]  # fmt: skip
    if os.geteuid() == 0:
        args += ["-u", "nobody"]
    log = (home / "spamd.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=home)
    try:
        deadline = time.monotonic() + 90
        while not _pong(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                text = (home / "spamd.log").read_text(errors="replace")[-2000:]
                raise RuntimeError(f"spamd did not start (exit {proc.poll()}):\n{text}")
            time.sleep(0.3)
        yield f"127.0.0.1:{port}"
    finally:
        _stop(proc)
        log.close()
        shutil.rmtree(home, ignore_errors=True)
