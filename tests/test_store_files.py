"""The store's files: private modes, a read-only store refused at startup, and a
store file deleted or replaced while the server runs (451, never a false 250).

Tests run as root here, and root writes to a 0444 file regardless. A
read-only store is therefore simulated the way an ordinary user meets it: the
child process runs without CAP_DAC_OVERRIDE (``setpriv --bounding-set
-dac_override``), so file permissions apply to it as to anyone; a control in
``_without_override`` proves the file really is unwritable to that child.
"""

from __future__ import annotations

import logging
import os
import shutil
import smtplib
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from smtp_helpers import catching_server, make_message
from test_store import assert_integrity, make

from mailcatcher_gui.core.store.database import Store, StoreError

REPO = Path(__file__).resolve().parent.parent


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _companions(db: Path) -> list[Path]:
    return [db, Path(f"{db}-wal"), Path(f"{db}-shm")]


# ---- modes (issue 10 item 22) ------------------------------------------------


def test_a_new_store_is_private_whatever_the_umask(tmp_path: Path) -> None:
    db = tmp_path / "data" / "deeper" / "mail.sqlite3"
    old = os.umask(0)  # the most permissive umask: nothing may depend on it
    try:
        store = Store(db)
    finally:
        os.umask(old)
    try:
        store.add([make(1)])  # the WAL and shared-memory files exist while open
        assert [_mode(p) for p in _companions(db)] == [0o600, 0o600, 0o600]
        assert _mode(db.parent) == 0o700
        assert _mode(db.parent.parent) == 0o700
    finally:
        store.close()


def test_an_existing_folder_keeps_its_mode(tmp_path: Path) -> None:
    """``--db ./mail.sqlite3`` must not change the mode of the user's project folder."""
    folder = tmp_path / "project"
    folder.mkdir(mode=0o755)
    os.chmod(folder, 0o755)
    with Store(folder / "mail.sqlite3") as store:
        store.add([make(1)])
        assert _mode(store.path) == 0o600
    assert _mode(folder) == 0o755


def test_an_old_world_readable_store_is_tightened_on_open(tmp_path: Path) -> None:
    db = tmp_path / "mail.sqlite3"
    with Store(db) as store:
        store.add([make(1)])
    os.chmod(db, 0o644)  # as versions before this one created it
    Path(f"{db}-shm").touch()  # a companion left behind by a crash
    os.chmod(f"{db}-shm", 0o644)
    with Store(db) as store:
        store.add([make(2)])
        assert [_mode(p) for p in _companions(db)] == [0o600, 0o600, 0o600]
        assert store.count() == 2
    assert_integrity(db)


# ---- read-only at startup (issue 10 item 19) ---------------------------------


_WRITE_FILE = "import sys; open(sys.argv[1], 'r+b')"
_WRITE_IN_FOLDER = "import pathlib, sys; (pathlib.Path(sys.argv[1]) / 'probe').touch()"


def _without_override(target: Path, control: str = _WRITE_FILE) -> list[str]:
    """A command prefix under which ``target``'s permission bits apply, or skip.

    Not root: nothing to drop. Root: ``setpriv`` drops CAP_DAC_OVERRIDE from
    the child's bounding set. The control writes to ``target`` and must fail.
    """
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root without setpriv: cannot make a file read-only to us")
        prefix = [setpriv, "--bounding-set", "-dac_override"]
    result = subprocess.run(
        [*prefix, sys.executable, "-c", control, str(target)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode == 0:
        pytest.skip(f"this environment lets the child write to {target} anyway")
    assert "PermissionError" in result.stderr
    return prefix


def _read_only_store(tmp_path: Path) -> Path:
    """A store at the current schema (opening it writes nothing), made read-only."""
    db = tmp_path / "mail.sqlite3"
    with Store(db) as store:
        store.add([make(1)])
    os.chmod(db, 0o444)
    return db


_OPEN_PROBE = (
    "import sys\n"
    "from mailcatcher_gui.core.store import Store, StoreError\n"
    "try:\n"
    "    Store(sys.argv[1]).close()\n"
    "except StoreError as exc:\n"
    "    print(exc)\n"
    "    sys.exit(3)\n"
)


def test_a_read_only_store_fails_when_it_is_opened(tmp_path: Path) -> None:
    db = _read_only_store(tmp_path)
    prefix = _without_override(db)
    result = subprocess.run(
        [*prefix, sys.executable, "-c", _OPEN_PROBE, str(db)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stdout.strip() == (
        f"Cannot write to the message store {db}: the file is read-only "
        "(check its permissions and the file system)."
    )


def test_a_store_in_a_read_only_folder_names_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "mail.sqlite3"
    with Store(db) as store:
        store.add([make(1)])  # closed: SQLite removes the -wal and -shm, so they must be made
    os.chmod(folder, 0o555)
    try:
        prefix = _without_override(folder, _WRITE_IN_FOLDER)
        result = subprocess.run(
            [*prefix, sys.executable, "-c", _OPEN_PROBE, str(db)],
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=60,
        )
    finally:
        os.chmod(folder, 0o755)
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stdout.strip() == (
        f"Cannot write to the message store {db}: its folder is read-only "
        "(SQLite needs to create mail.sqlite3-wal and -shm beside it)."
    )


def test_serve_with_a_read_only_store_says_so_and_exits_2(tmp_path: Path) -> None:
    """As a busy port does: one line on stderr, exit 2, never "listening"."""
    db = _read_only_store(tmp_path)
    prefix = _without_override(db)
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(tmp_path / "home"), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [*prefix, sys.executable, "-m", "mailcatcher_gui", "serve"]
        + ["--smtp", "127.0.0.1:0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )
    try:
        out, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"serve kept running on a read-only store; stdout {out!r}")
    assert "listening" not in out
    assert proc.returncode == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "read-only" in lines[0] and str(db) in lines[0]


def test_a_folder_in_place_of_the_store_is_one_clear_error(tmp_path: Path) -> None:
    """Positive control for the error path that already worked: a directory at the path."""
    (tmp_path / "mail.sqlite3").mkdir()
    with pytest.raises(StoreError, match="it is a directory"):
        Store(tmp_path / "mail.sqlite3")


# ---- deleted or replaced while serving (issue 10 item 18) --------------------


def _send(port: int, subject: str) -> tuple[int, bytes]:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.ehlo("test")
        client.mail("a@example.com")
        client.rcpt("b@example.com")
        return client.data(make_message(subject=subject))


def _lost_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("mailcatcher_gui.core.store") and r.levelno == logging.ERROR
    ]


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_a_store_file_gone_while_serving_gets_451_not_250(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, how: str
) -> None:
    caplog.set_level(logging.INFO)
    db = tmp_path / "mail.sqlite3"
    with catching_server(tmp_path) as server:
        code, reply = _send(server.port, "before")
        assert code == 250  # positive control: the same server stores while the file is there
        assert server.mailbox.count() == 1
        if how == "deleted":
            db.unlink()
        else:
            with Store(tmp_path / "other.sqlite3") as other:
                other.add([make(7)])
            os.replace(tmp_path / "other.sqlite3", db)
        for attempt in range(3):
            code, reply = _send(server.port, f"after {attempt}")
            assert code == 451, (code, reply)
        assert not _lost_lines(caplog)[1:], "the lost file is reported once, not per message"
        (line,) = _lost_lines(caplog)
        assert f"The message store {db} was {how if how == 'deleted' else 'replaced'}" in line
        assert "451" in line and "restarted" in line
        refusals = [
            r
            for r in caplog.records
            if r.name.startswith("mailcatcher_gui.core.smtp") and r.levelno >= logging.ERROR
        ]
        assert len(refusals) == 3  # one line per refused message, without a traceback
        assert all(not r.exc_info and "replied 451" in r.getMessage() for r in refusals)
    # Our WAL is not left at the path: SQLite would apply it to the next file opened there.
    assert not Path(f"{db}-wal").exists() and not Path(f"{db}-shm").exists()
    if how == "replaced":  # the file now at the path was left alone
        with Store(db) as replacement:
            assert [s.subject for s in replacement.list()] == ["Message number 7"]
    else:
        assert not db.exists()
        with Store(db) as fresh:  # a restart starts a clean, consistent store
            assert fresh.count() == 0
    assert_integrity(db)


def test_the_check_runs_per_commit_so_a_burst_cannot_slip_past(tmp_path: Path) -> None:
    """Store level: every write after the file is gone fails, the first one included."""
    db = tmp_path / "mail.sqlite3"
    with Store(db) as store:
        first = store.add([make(1)])[0][0]
        db.unlink()
        with pytest.raises(StoreError, match="was deleted while in use"):
            store.add([make(2)])
        with pytest.raises(StoreError, match="was deleted while in use"):
            store.delete([first.id])
        assert not store.needs_upkeep  # no upkeep on a file nobody will open again


def test_a_store_lost_while_idle_leaves_no_stale_wal_for_the_next_one(tmp_path: Path) -> None:
    """Noticed at close: SQLite skips the closing checkpoint of a moved file and
    leaves its WAL at the path, where the next store opened there would pick it up."""
    db = tmp_path / "mail.sqlite3"
    store = Store(db)
    store.add([make(1)])
    assert Path(f"{db}-wal").stat().st_size > 0  # control: the commit is in the WAL
    db.unlink()
    store.close()
    assert not Path(f"{db}-wal").exists()
    with Store(db) as fresh:
        assert fresh.count() == 0
        fresh.add([make(2)])
    assert_integrity(db)
