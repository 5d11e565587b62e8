"""The crash log has one writer (``mailcatcher_gui.crash``) and it is private.

A traceback can quote message content, so every way into the log -- the CLI
report, the window's hook (``append_crash``) and faulthandler -- creates it
0600 in a 0700 folder.
"""

from __future__ import annotations

import os
import stat

from mailcatcher_gui.crash import (
    append_crash,
    crash_log_path,
    disable_faulthandler,
    enable_faulthandler,
    format_crash,
    report_cli_crash,
)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_writer_creates_the_log_private(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        via_report = tmp_path / "a" / "deep" / "crash.log"
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            assert report_cli_crash("mailcatcher-gui", exc, via_report, "command serve") == 1
        assert "command serve" in via_report.read_text()
        assert _mode(via_report) == 0o600
        assert _mode(via_report.parent) == 0o700 and _mode(via_report.parent.parent) == 0o700

        via_hook = tmp_path / "b" / "crash.log"
        err = ValueError("x")
        assert append_crash(via_hook, format_crash(ValueError, err, None))
        assert _mode(via_hook) == 0o600 and _mode(via_hook.parent) == 0o700

        via_fault = tmp_path / "c" / "crash.log"
        fh = enable_faulthandler(via_fault)
        assert fh is not None
        disable_faulthandler(fh)
        assert _mode(via_fault) == 0o600 and _mode(via_fault.parent) == 0o700
    finally:
        os.umask(old)
    capsys.readouterr()


def test_an_existing_folder_keeps_its_mode(tmp_path):
    """Like the store: ``MAILCATCHER_GUI_HOME=.`` must not chmod a project folder."""
    os.chmod(tmp_path, 0o755)
    assert append_crash(crash_log_path(tmp_path), "entry")
    assert _mode(tmp_path) == 0o755 and _mode(tmp_path / "crash.log") == 0o600


def test_an_unwritable_log_still_gives_one_line_with_a_way_to_the_traceback(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    try:
        raise RuntimeError("boom")
    except RuntimeError as exc:
        report_cli_crash("mailcatcher-gui", exc, blocker / "crash.log")
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "MAILCATCHER_GUI_DEBUG=1" in err and "RuntimeError: boom" in err
