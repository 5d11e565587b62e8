"""One import/export implementation (``core.mailio``) behind both front ends.

The command line and the window used to have their own loops and disagreed
(the window stored empty messages the CLI skipped; the window's mbox export
replaced an existing file the CLI refused). These tests run the same inputs
through ``import_sources``/``export_messages``, through ``mailcatcher-gui
messages import/export`` and through the window's own entry points, and
check that all three give the same result, on real files and real stores.
"""

from __future__ import annotations

import json
import mailbox as pymailbox
import os
from pathlib import Path

import pytest

from mailcatcher_gui.cli import main
from mailcatcher_gui.core import mailio
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.store import Store

GOOD = [
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: one\r\n\r\nbody one\r\n",
    b"From: c@example.com\nTo: d@example.com\nSubject: two\n\nbody two\n",
    b"From: e@example.com\nTo: f@example.com\nSubject: three\n\nbody three\n",
]


def _raws(path: Path) -> list[bytes]:
    with Store(path) as store:
        return sorted(store.get_raw(i) for i in store.ids())


@pytest.fixture
def inputs(tmp_path) -> dict[str, Path]:
    """An .eml, an empty .eml, a whitespace-only .eml, a Maildir with an empty
    message, an mbox, and a path that does not exist."""
    src = tmp_path / "in"
    src.mkdir()
    (src / "good.eml").write_bytes(GOOD[0])
    (src / "empty.eml").write_bytes(b"")
    (src / "blank.eml").write_bytes(b" \r\n\n")
    md = pymailbox.Maildir(src / "Maildir", create=True)
    try:
        md.add(GOOD[1])
        md.add(b"")
    finally:
        md.close()
    (src / "one.mbox").write_bytes(b"From x@example.com Mon Jan  1 00:00:00 2024\n" + GOOD[2])
    return {
        "good": src / "good.eml",
        "empty": src / "empty.eml",
        "blank": src / "blank.eml",
        "maildir": src / "Maildir",
        "mbox": src / "one.mbox",
        "missing": src / "missing.mbox",
    }


def _paths(inputs: dict[str, Path]) -> list[Path]:
    return [inputs[k] for k in ("good", "empty", "blank", "maildir", "mbox", "missing")]


# ---- the core implementation --------------------------------------------------------


def test_import_sources_skips_empty_reports_errors_and_reads_maildirs(tmp_path, inputs):
    seen: list[int] = []
    mb = Mailbox(Store(tmp_path / "core.sqlite3"))
    try:
        report = mailio.import_sources(mb, _paths(inputs), progress=lambda n, _o: seen.append(n))
    finally:
        mb.close()
    by_path = {Path(r.path).name: r for r in report.results}
    assert report.imported == 3 and report.skipped == 3
    assert by_path["Maildir"].kind == "maildir" and len(by_path["Maildir"].ids) == 1
    assert by_path["Maildir"].skipped == 1
    assert by_path["empty.eml"].skipped == 1 and by_path["blank.eml"].skipped == 1
    assert by_path["missing.mbox"].error == "No such file or directory"
    assert report.errors == [f"{inputs['missing']}: No such file or directory"]
    assert seen and seen[-1] == 3
    assert _raws(tmp_path / "core.sqlite3") == sorted(GOOD)


def test_import_cancel_keeps_what_was_read(tmp_path):
    mbox = tmp_path / "big.mbox"
    with open(mbox, "wb") as fh:
        for i in range(50):
            fh.write(b"From s@example.com Mon Jan  1 00:00:00 2024\n")
            fh.write(b"Subject: %d\n\nbody\n\n" % i)
    reads = 0

    def cancel() -> bool:
        nonlocal reads
        reads += 1
        return reads >= 10

    mb = Mailbox(Store(tmp_path / "c.sqlite3"))
    try:
        report = mailio.import_sources(mb, [mbox], cancel=cancel, batch=4)
        assert report.cancelled and report.imported == 10
        assert mb.count() == 10
    finally:
        mb.close()


def _filled(path: Path) -> list[int]:
    mb = Mailbox(Store(path))
    try:
        return mb.accept_many_sync(mailio.capture_for_import(raw) for raw in GOOD)
    finally:
        mb.close()


def test_export_messages_refuses_replaces_or_appends_an_mbox(tmp_path):
    ids = _filled(tmp_path / "e.sqlite3")
    target = tmp_path / "out.mbox"
    target.write_bytes(b"precious\n")
    os.chmod(target, 0o640)
    with Store(tmp_path / "e.sqlite3") as store:
        source = _StoreSource(store)
        with pytest.raises(mailio.TargetExists):
            mailio.export_messages(source, ids, "mbox", target)
        assert target.read_bytes() == b"precious\n"

        report = mailio.export_messages(
            source, [*ids, 9999], "mbox", target, mode=mailio.ExportMode.OVERWRITE
        )
        assert (report.exported, report.missing) == (3, 1)
        assert oct(target.stat().st_mode & 0o777) == oct(0o640)  # the replaced file's mode
        assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]
        box = pymailbox.mbox(target, create=False)
        try:
            assert len(box) == 3
        finally:
            box.close()

        mailio.export_messages(source, ids[:1], "mbox", target, mode=mailio.ExportMode.APPEND)
        box = pymailbox.mbox(target, create=False)
        try:
            assert len(box) == 4
        finally:
            box.close()

        folder = tmp_path / "new" / "folder"
        mailio.export_messages(source, ids, "eml", folder)
        mailio.export_messages(source, ids, "eml", folder)
        assert len(list(folder.iterdir())) == 6  # never replaced: " (1)" names


class _StoreSource:
    def __init__(self, store: Store) -> None:
        self.store = store

    def summary(self, message_id: int):
        return self.store.get_summary(message_id)

    def raw(self, message_id: int) -> bytes:
        return self.store.get_raw(message_id)


# ---- both front ends, same behaviour ----------------------------------------------


def test_cli_and_window_import_the_same_way(tmp_path, inputs, capsys, monkeypatch):
    from mailcatcher_gui.ui.window.file_actions import import_paths

    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path / "home"))
    cli_db = tmp_path / "cli.sqlite3"
    paths = [str(p) for p in _paths(inputs)]
    assert main(["messages", "import", *paths, "--db", str(cli_db), "--json"]) == 1
    cli = json.loads(capsys.readouterr().out)

    gui_db = tmp_path / "gui.sqlite3"
    mb = Mailbox(Store(gui_db))
    try:
        gui = import_paths(mb, paths)
    finally:
        mb.close()

    assert _raws(cli_db) == _raws(gui_db) == sorted(GOOD)
    assert cli["imported"] == gui.done == 3
    assert cli["skipped"] == gui.skipped == 3
    assert cli["failed"] == len(gui.errors) == 1


def test_cli_and_window_refuse_to_replace_an_mbox_unless_told(tmp_path, capsys, monkeypatch):
    from mailcatcher_gui.ui.window.file_actions import export_mbox

    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path / "home"))
    db = tmp_path / "x.sqlite3"
    ids = _filled(db)
    target = tmp_path / "existing.mbox"
    target.write_bytes(b"keep me\n")

    assert main(["messages", "export", "--mbox", str(target), "--db", str(db)]) == 1
    assert "already exists" in capsys.readouterr().err
    mb = Mailbox(Store(db))
    try:
        refused = export_mbox(mb, ids, target)
        assert refused.done == 0 and "already exists" in refused.errors[0]
        assert target.read_bytes() == b"keep me\n"

        replaced = export_mbox(mb, ids, target, overwrite=True)  # the dialog confirmed
        assert replaced.done == 3 and not replaced.errors
    finally:
        mb.close()
    by_window = target.read_bytes()
    target.write_bytes(b"keep me\n")
    assert main(["messages", "export", "--mbox", str(target), "--db", str(db), "--force"]) == 0
    assert target.read_bytes() == by_window


@pytest.mark.gui
def test_window_imports_a_maildir_folder_and_counts_skipped(qtbot, tmp_path, inputs):
    from mailcatcher_gui.ui.bridge import MailboxBridge
    from mailcatcher_gui.ui.viewer.message_view import MessageView
    from mailcatcher_gui.ui.window.factory import build_main_window
    from mailcatcher_gui.ui.window.settings import AppSettings

    mb = Mailbox(Store(tmp_path / "w.sqlite3"))
    bridge = MailboxBridge(mb)
    window = build_main_window(
        mb,
        bridge,
        AppSettings.at(tmp_path / "config" / "settings.ini"),
        view=MessageView(web_engine=False),
    )
    qtbot.addWidget(window)
    try:
        with qtbot.waitSignal(window.jobFinished, timeout=10000) as blocker:
            window.import_paths([inputs["maildir"]], progress=False)
        result = blocker.args[0]
        assert (result.done, result.skipped, result.errors) == (1, 1, [])
        assert mb.count() == 1
        assert window.statusBar().currentMessage() == "Imported 1 message, 1 empty skipped"

        target = tmp_path / "exists.mbox"
        target.write_bytes(b"keep\n")
        with qtbot.waitSignal(window.jobFinished, timeout=10000) as blocker:
            window.export_ids("mbox", mb.store.ids(), target, progress=False)
        assert blocker.args[0].errors and target.read_bytes() == b"keep\n"
        with qtbot.waitSignal(window.jobFinished, timeout=10000) as blocker:
            window.export_ids("mbox", mb.store.ids(), target, progress=False, overwrite=True)
        assert blocker.args[0].done == 1 and target.read_bytes().startswith(b"From ")
    finally:
        window.shutdown()
        bridge.close()
        mb.close()
