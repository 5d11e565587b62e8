"""Commands that only read open a store the user may not write.

The write probe (a read-only store fails ``serve`` and the window at startup,
issue 10 item 19) must not stop ``messages list/show/attachment/export``:
reading a store you may not write worked before the probe and is useful (a
store copied out of a CI artefact, another account's file). The store is made
read-only the way ``test_store_files`` does it: the child runs without
CAP_DAC_OVERRIDE, and a control proves it really cannot write.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path

import pytest
from test_store import make
from test_store_files import _WRITE_IN_FOLDER, _without_override

from mailcatcher_gui.core.store.database import Store, StoreError

REPO = Path(__file__).resolve().parent.parent
PAYLOAD = b"%PDF-1.4 read-only but still readable\n"


def _cli(prefix: list[str], home: Path, *argv: str, cwd: Path | None = None):
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(home))
    env.pop("MAILCATCHER_GUI_DEBUG", None)
    return subprocess.run(
        [*prefix, sys.executable, "-m", "mailcatcher_gui", *argv],
        capture_output=True,
        env=env,
        cwd=cwd or REPO,
        timeout=120,
        check=False,
    )


def _filled_store(folder: Path) -> Path:
    """A store holding one message with an attachment, put there by ``messages import``."""
    folder.mkdir(parents=True, exist_ok=True)
    msg = EmailMessage()
    msg["From"] = "Alice <alice@example.com>"
    msg["To"] = "bob@example.org"
    msg["Subject"] = "Quarterly report"
    msg.set_content("See the attachment.\n")
    msg.add_attachment(PAYLOAD, maintype="application", subtype="pdf", filename="report.pdf")
    eml = folder.parent / "report.eml"
    eml.write_bytes(msg.as_bytes())
    db = folder / "mail.sqlite3"
    done = _cli([], folder.parent / "home", "messages", "import", str(eml), "--db", str(db))
    assert done.returncode == 0, done.stderr
    return db


def _digest(db: Path) -> tuple[str, int, list[str]]:
    """The file's bytes, mode and the folder's entries: nothing a reader may change."""
    return (
        hashlib.sha256(db.read_bytes()).hexdigest(),
        os.stat(db).st_mode,
        sorted(p.name for p in db.parent.iterdir()),
    )


def _read_commands_work(prefix: list[str], db: Path, work: Path) -> None:
    home = work / "home"
    listed = _cli(prefix, home, "messages", "list", "--json", "--db", str(db))
    assert listed.returncode == 0, listed.stderr
    (summary,) = json.loads(listed.stdout)
    assert summary["subject"] == "Quarterly report"
    mid = str(summary["id"])

    shown = _cli(prefix, home, "messages", "show", mid, "--text", "--db", str(db))
    assert shown.returncode == 0, shown.stderr
    assert b"See the attachment." in shown.stdout

    saved = _cli(prefix, home, "messages", "attachment", mid, "0", "-o", "-", "--db", str(db))
    assert saved.returncode == 0, saved.stderr
    assert saved.stdout == PAYLOAD

    exported = _cli(prefix, home, "messages", "export", "--mbox", "-", "--db", str(db))
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.startswith(b"From ") and b"Quarterly report" in exported.stdout


def test_read_commands_read_a_read_only_store_file(tmp_path: Path) -> None:
    db = _filled_store(tmp_path / "data")
    os.chmod(db, 0o444)
    prefix = _without_override(db)
    before = _digest(db)

    _read_commands_work(prefix, db, tmp_path)
    assert _digest(db)[:2] == before[:2]  # bytes and mode untouched by the readers

    # The positive control: the same child cannot write to it, and says so in one line.
    deleted = _cli(prefix, tmp_path / "home", "messages", "delete", "1", "--db", str(db))
    assert deleted.returncode != 0
    err = deleted.stderr.decode().strip().splitlines()
    assert len(err) == 1 and "read-only" in err[0], deleted.stderr


def test_read_commands_read_a_store_in_a_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    db = _filled_store(folder)
    os.chmod(folder, 0o555)
    try:
        prefix = _without_override(folder, _WRITE_IN_FOLDER)
        before = _digest(db)
        _read_commands_work(prefix, db, tmp_path)
        assert _digest(db) == before  # no -wal or -shm could appear, nothing changed
    finally:
        os.chmod(folder, 0o755)


def test_a_read_only_store_object_refuses_writes_but_reads(tmp_path: Path) -> None:
    db = tmp_path / "mail.sqlite3"
    with Store(db) as store:
        store.add([make(1), make(2)])
    with Store(db, readonly=True) as reader:
        assert reader.readonly
        assert reader.count() == 2 and reader.get(1).summary.subject == "Message number 1"
        with pytest.raises(StoreError, match="opened read-only"):
            reader.delete([1])
        with pytest.raises(StoreError, match="opened read-only"):
            reader.add([make(3)])
        assert not reader.maintain()
    with Store(db) as store:  # nothing was changed
        assert store.count() == 2


def test_a_missing_store_is_created_for_a_reader_as_before(tmp_path: Path) -> None:
    """A fresh install: ``messages list`` shows an empty mailbox, not an error."""
    db = tmp_path / "fresh" / "mail.sqlite3"
    with Store(db, readonly=True) as store:
        assert store.count() == 0
    assert db.exists()


def test_a_reader_sees_mail_a_writer_commits_meanwhile(tmp_path: Path) -> None:
    """Not a snapshot: a read-only CLI beside a running server sees new mail."""
    db = tmp_path / "mail.sqlite3"
    with Store(db) as writer:
        writer.add([make(1)])
        with Store(db, readonly=True) as reader:
            assert reader.count() == 1
            writer.add([make(2)])
            assert reader.count() == 2


def test_the_server_still_refuses_to_start_on_a_read_only_store(tmp_path: Path) -> None:
    """The startup failure stays for writers (the CLI ``serve`` test is in test_store_files)."""
    db = _filled_store(tmp_path / "data")
    os.chmod(db, 0o444)
    prefix = _without_override(db)
    probe = (
        "import sys\n"
        "from mailcatcher_gui.core.store import Store, StoreError\n"
        "try:\n"
        "    Store(sys.argv[1]).close()\n"
        "except StoreError as exc:\n"
        "    print(exc)\n"
        "    sys.exit(3)\n"
        "Store(sys.argv[1], readonly=True).close()\n"
    )
    done = subprocess.run(
        [*prefix, sys.executable, "-c", probe, str(db)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 3 and "read-only" in done.stdout, (done.stdout, done.stderr)
