"""Probe side of target 7: open messages one after another in the real window
and wait for each one's checks, while ``gui_probe``'s 10 ms tick timer
measures how late the GUI thread is (the same stall probe as target 2).

Runs inside the window process (``gui_probe --open-all-checks``), after the
burst of newsletters has been listed. The Checks tab is the current tab, so
building and painting its tree is part of what is measured.
"""

from __future__ import annotations

import time
from typing import Any

#: after a message's checks arrived, the window stays on it this long (a user
#: glancing at the result) so the repaint and the HTML tab's load are measured too
DWELL_MS = 100


def open_all_with_checks(inst: Any, timeout_s: float = 20.0) -> dict[str, Any]:
    """Open every stored message in turn; returns the phase's times and counts."""
    from PySide6.QtCore import QEventLoop, QTimer

    from mailcatcher_gui.ui.viewer.checks_jobs import message_key

    window = inst.gui.window
    view = window.view
    view.tabs.setCurrentWidget(view.checks_tab)
    ids = sorted(inst.gui.mailbox.ids())
    durations: list[float] = []
    missed: list[int] = []
    problems: list[int] = []
    started = time.monotonic()
    for message_id in ids:
        loop = QEventLoop()
        wanted: list[object] = []

        def changed(
            changed_key: object, _report: object, loop: Any = loop, wanted: Any = wanted
        ) -> None:
            if (
                wanted
                and changed_key == wanted[0]
                and "local" not in view.checks.running(changed_key)
            ):
                loop.quit()

        def failed(*_args: object, loop: Any = loop) -> None:
            loop.quit()

        view.checks.reportChanged.connect(changed)
        view.checks.failed.connect(failed)
        t = time.monotonic()
        window.message_list.select_id(message_id)  # opens it, synchronously
        opened = view.opened
        key = message_key(opened) if opened is not None and opened.id == message_id else None
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(loop.quit)
        guard.start(int(timeout_s * 1000))
        if key is not None:
            wanted.append(key)
            if view.checks.report(key) is None or "local" in view.checks.running(key):
                loop.exec()
        guard.stop()
        view.checks.reportChanged.disconnect(changed)
        view.checks.failed.disconnect(failed)
        report = None if key is None else view.checks.report(key)
        if report is None or view.checks.elapsed_s(key) is None:
            missed.append(message_id)
        else:
            durations.append(time.monotonic() - t)
            problems.append(
                sum(1 for f in report.families for x in f.findings if x.severity.rank >= 2)
            )
        dwell = QEventLoop()
        QTimer.singleShot(DWELL_MS, dwell.quit)
        dwell.exec()
    return {
        "checks_from": started,
        "checks_to": time.monotonic(),
        "checks_opened": len(durations),
        "checks_missed": missed,
        "checks_open_to_report_s": [round(d, 4) for d in durations],
        "checks_problems": problems,
    }
