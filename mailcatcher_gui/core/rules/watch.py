"""Live reload of a rules file: the sink never restarts for a rule change.

``RulesFileWatcher`` polls the file's (mtime, size) on the sink's loop (a
stat per second; no inotify dependency, the same on every platform) and
``reload()`` can be called any time (``serve`` does on SIGHUP). A file that
no longer parses keeps the rules that were running: the error is logged
and kept in ``RuleSet.errors``, with its line.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from pathlib import Path

from .engine import RuleSet
from .loading import RulesFileError, load_rules_file

__all__ = ["RulesFileWatcher"]

log = logging.getLogger(__name__)


class RulesFileWatcher:
    def __init__(self, path: Path, rules: RuleSet, interval: float = 1.0) -> None:
        self.path = path
        self.rules = rules
        self.interval = interval
        self._stamp = self._stat()
        self._task: asyncio.Task[None] | None = None

    def _stat(self) -> tuple[int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def reload(self) -> bool:
        """Load the file now; True if the rules were replaced."""
        self._stamp = self._stat()
        try:
            rules = load_rules_file(self.path)
        except RulesFileError as exc:
            for line in exc.lines():
                self._report(f"rules not reloaded, the old rules stay: {line}")
            return False
        except OSError as exc:
            self._report(f"rules not reloaded, the old rules stay: {self.path}: {exc.strerror}")
            return False
        self.rules.replace_all(rules)
        log.warning("reloaded %d rule(s) from %s", len(rules), self.path)
        return True

    def _report(self, line: str) -> None:
        log.error("%s", line)
        self.rules.errors.append(line)
        del self.rules.errors[:-100]

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._poll())

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _poll(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            stamp = self._stat()
            if stamp != self._stamp and stamp is not None:
                self.reload()
