"""Where mailcatcher-gui keeps its files by default.

Plain functions rather than module-level constants: the answer depends on the
environment at call time, so a test (or a CI job, or a user who wants a
throwaway instance) can point everything at one directory with
``MAILCATCHER_GUI_HOME`` without restarting the interpreter.

Without the override the platform conventions apply (via ``platformdirs``):
``~/.local/share/mailcatcher-gui`` and ``~/.config/mailcatcher-gui`` on Linux,
``~/Library/Application Support/mailcatcher-gui`` on macOS,
``%LOCALAPPDATA%\\mailcatcher-gui`` on Windows.

With ``MAILCATCHER_GUI_HOME=/some/dir`` the layout is::

    /some/dir/mail.sqlite3      the message store
    /some/dir/certs/            generated TLS certificates
    /some/dir/config/           settings

Nothing here creates directories; callers that write create what they need
(``ensure_parent``) so that read-only commands never litter the disk. What
they create is private (0700): captured mail holds password-reset links and
tokens, and other local users have no business listing it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP_NAME = "mailcatcher-gui"
HOME_ENV = "MAILCATCHER_GUI_HOME"
DB_FILENAME = "mail.sqlite3"


def home_override(environ: Mapping[str, str] | None = None) -> Path | None:
    """The directory named by ``MAILCATCHER_GUI_HOME``, or None when unset/empty."""
    env = os.environ if environ is None else environ
    value = env.get(HOME_ENV, "").strip()
    if not value:
        return None
    return Path(value).expanduser()


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Directory for the message store and generated certificates."""
    home = home_override(environ)
    if home is not None:
        return home
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Directory for settings files."""
    home = home_override(environ)
    if home is not None:
        return home / "config"
    return platformdirs.user_config_path(APP_NAME, appauthor=False)


def cert_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Directory where the sink keeps its generated self-signed certificate."""
    return data_dir(environ) / "certs"


def default_db_path(environ: Mapping[str, str] | None = None) -> Path:
    """The SQLite file used when no ``--db`` is given."""
    return data_dir(environ) / DB_FILENAME


PRIVATE_DIR_MODE = 0o700


def ensure_parent(path: str | os.PathLike[str]) -> Path:
    """Create the directory that will hold ``path`` (not ``path`` itself).

    Every folder this creates is 0700. Folders that exist already are left
    as they are: ``--db ./mail.sqlite3`` must not change a project folder's
    mode (the store tightens its own files instead).
    """
    p = Path(path)
    missing: list[Path] = []
    parent = p.parent
    while not parent.exists() and parent != parent.parent:
        missing.append(parent)
        parent = parent.parent
    for folder in reversed(missing):
        folder.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        # mkdir's mode is filtered by the umask; the result must be exactly 0700.
        os.chmod(folder, PRIVATE_DIR_MODE)
    return p
