"""The store's files on disk: who may read them, whether they are still ours, and room left.

Private files. Captured mail holds password-reset links and tokens, so the
database and SQLite's companions (``-wal``, ``-shm``) are 0600 and a folder
the store creates is 0700 (``paths.ensure_parent``). The database file is
created 0600 *before* SQLite opens it, because SQLite gives the ``-wal`` and
``-shm`` files the mode of the database file; no process-wide umask is
touched (another thread may be saving an attachment meanwhile). A store made
by an older version is tightened when it is opened.

Identity. SQLite keeps writing to a database file that was deleted or
replaced under it (the open descriptor still points at the old inode), so a
commit would "succeed" into a file nobody will ever open again.
``OpenedFile`` remembers the (device, inode) the store opened and compares
the path against it with one ``stat``, cheap enough to run after every
commit. On the first mismatch it logs one error and removes the lost file's
``-wal``/``-shm`` from the path: SQLite does not check whose a WAL is, so
whatever is opened there next (the file that replaced ours, or a new store)
would have our frames applied to it, overwriting its pages. SQLite itself
leaves that WAL behind, because it skips the closing checkpoint of a moved
file.

Why refuse rather than recreate the file: recreating would restart the ids
at 1 under a window still listing the old ones, and a *replaced* file may be
another program's. Refusing keeps every promise (the sink answers 451, the
client retries later), and a restart opens whatever is at the path then.

Room. ``StoreConfig`` holds the WAL bounds and the disk-space probe. The probe
is a parameter (not a global) so a test can report a nearly full disk
without filling one.
"""

from __future__ import annotations

import logging
import os
import shutil
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol

__all__ = [
    "SIDE_SUFFIXES",
    "DiskUsage",
    "FileIdentity",
    "OpenedFile",
    "StoreConfig",
    "companions",
    "create_private",
    "tighten",
]

log = logging.getLogger(__name__)

PRIVATE_FILE_MODE = 0o600
SIDE_SUFFIXES = ("-wal", "-shm")  # SQLite's companion files in WAL mode

_MB = 1024 * 1024
# Truncate the WAL back to this after checkpoints that reset it.
JOURNAL_SIZE_LIMIT = 64 * _MB


class DiskUsage(Protocol):
    """What ``shutil.disk_usage`` returns; only ``free`` is used."""

    @property
    def free(self) -> int: ...


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """How the store bounds its WAL. The defaults suit a desktop; tests shrink them.

    ``wal_checkpoint_bytes``: a commit checkpoints by itself once the WAL
    has grown past this (a burst with no pause for the idle upkeep). A 2 KB
    message adds about 20 KB of WAL (each commit logs whole index pages), so
    a burst checkpoints about every 12,000 messages, and that checkpoint holds
    the writer for about 0.3 s (128 MB measured 0.16 s). The bound trades disk
    space for fewer such pauses. A helper thread checkpointing alongside the
    writer was tried: it cannot bound a WAL that never stops growing (SQLite
    restarts the WAL only after a checkpoint catches up), and its copying
    competed with the burst for the same two cores.

    ``low_disk_bytes``: below this much free space on the store's file system
    the disk counts as nearly full; then a commit checkpoints *and truncates*
    the WAL as soon as it passes ``low_disk_wal_bytes``, so the WAL cannot eat
    the room the mail needs (a 20 MB disk once held 3.5 MB of mail beside a
    17.7 MB WAL). Twice the normal bound by default, so the normal bound alone
    can never fill the disk.

    ``disk_check_interval``: ``disk_usage`` is asked at most this often (in
    seconds), and only while the WAL is bigger than ``low_disk_wal_bytes``.
    """

    wal_checkpoint_bytes: int = 4 * JOURNAL_SIZE_LIMIT
    low_disk_bytes: int = 8 * JOURNAL_SIZE_LIMIT
    low_disk_wal_bytes: int = 4 * _MB
    disk_check_interval: float = 1.0
    disk_usage: Callable[[str], DiskUsage] = shutil.disk_usage


class FileIdentity(NamedTuple):
    """Which file a path named when the store opened it."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileIdentity:
        st = os.stat(path)
        return cls(st.st_dev, st.st_ino)

    def moved(self, path: Path) -> str | None:
        """None while ``path`` is still this file, else what happened to it (for a message)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return "deleted"
        except OSError as exc:
            # Cannot tell (a network file system's hiccup?): refusing all mail until a
            # restart would be worse than this one unanswered question.
            log.debug("cannot stat %s to check it is still the store: %s", path, exc)
            return None
        if (st.st_dev, st.st_ino) != self:
            return "replaced by another file"
        return None


class OpenedFile:
    """The database file a store opened, and whether the path still names it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity = FileIdentity.of(path)
        self._companions = {c: FileIdentity.of(c) for c in companions(path) if c.exists()}
        self.lost: str | None = None  # why nothing more can be stored, once noticed

    def check(self) -> str | None:
        """None while the path names the file opened; else why not (logged the first time)."""
        if self.lost is not None:
            return self.lost
        moved = self._identity.moved(self.path)
        if moved is None:
            return None
        self.lost = (
            f"The message store {self.path} was {moved} while in use: nothing more can be "
            "stored in it, so new mail is refused (451) until mailcatcher-gui is restarted "
            "(which opens whatever is at that path then, or creates a new store)."
        )
        log.error("%s", self.lost)
        self._discard_companions()
        return self.lost

    def _discard_companions(self) -> None:
        """Unlink our ``-wal``/``-shm`` if the path still shows them (see the module docstring).

        Our open connections keep their own handles to them.
        """
        for companion, identity in self._companions.items():
            if identity.moved(companion) is not None:
                continue  # not ours (any more)
            try:
                companion.unlink()
            except OSError as exc:
                log.warning("could not remove %s: %s", companion, exc.strerror or exc)
            else:
                log.info("removed %s, which belonged to the lost store file", companion)
        self._companions = {}


def companions(path: Path) -> tuple[Path, ...]:
    """SQLite's ``-wal`` and ``-shm`` files beside the database ``path``."""
    return tuple(Path(f"{path}{suffix}") for suffix in SIDE_SUFFIXES)


def create_private(path: Path) -> None:
    """Create ``path`` empty with mode 0600 unless it exists (SQLite fills an empty file)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, PRIVATE_FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def tighten(path: Path) -> None:
    """Take group and other permissions off the database and its companions.

    For stores created before files were made private. Best effort: a file
    owned by someone else is reported, not fatal (the store still works).
    """
    for candidate in (path, *companions(path)):
        try:
            mode = stat.S_IMODE(os.stat(candidate).st_mode)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("cannot check the permissions of %s: %s", candidate, exc)
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(candidate, mode & 0o700)
        except OSError as exc:
            log.warning(
                "%s is readable by other users (mode %o) and cannot be restricted: %s",
                candidate,
                mode,
                exc.strerror or exc,
            )
        else:
            log.info("restricted %s to its owner (mode %o -> %o)", candidate, mode, mode & 0o700)
