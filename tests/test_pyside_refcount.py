"""Regression guard for the PySide6 pin in pyproject.toml.

PySide6 6.12.0 on CPython 3.11 returns ``None`` from void methods (and
``True`` from ``Signal.emit``) without taking a reference; after a few
thousand calls the interpreter aborts with ``none_dealloc``/``bool_dealloc``
-- mid-run or at exit. The dependency range excludes it; this test fails
loudly if a lock update ever brings such a build back.
"""

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_void_calls_keep_none_references():
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        probe.setObjectName("probe")
    assert before - sys.getrefcount(None) < 100


def test_signal_emit_keeps_bool_references():
    emitter = _Emitter()
    seen = []
    emitter.fired.connect(seen.append)
    before = sys.getrefcount(True)
    for i in range(1000):
        emitter.fired.emit(i)
    assert len(seen) == 1000
    assert before - sys.getrefcount(True) < 100
