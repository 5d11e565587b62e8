"""Writing attachment bytes to disk without surprises (the viewer's Save, Save All, Save Part).

Names come from the sender and are hostile until proven otherwise: every
name goes through ``core.mailio.safe_filename`` (one plain path component,
so ``../../.bashrc`` lands *inside* the chosen folder as ``bashrc``), and an
existing file is only replaced when the user said so for this batch.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from ..models import Attachment
from .filenames import safe_filename, write_new_file

# Types the desktop would run rather than display: opening one asks first.
RISKY_EXTENSIONS = frozenset(
    [
        "app",
        "apk",
        "appimage",
        "bat",
        "bin",
        "cmd",
        "com",
        "cpl",
        "deb",
        "desktop",
        "dll",
        "dmg",
        "exe",
        "hta",
        "jar",
        "js",
        "jse",
        "lnk",
        "msi",
        "msp",
        "pif",
        "pkg",
        "ps1",
        "psm1",
        "py",
        "pyw",
        "rb",
        "reg",
        "rpm",
        "run",
        "scr",
        "sh",
        "url",
        "vb",
        "vbe",
        "vbs",
        "ws",
        "wsf",
        "wsh",
    ]
)


def attachment_name(att: Attachment) -> str:
    return safe_filename(att.filename, fallback=f"attachment-{att.index + 1}")


def is_risky(name: str) -> bool:
    return name.rsplit(".", 1)[-1].lower() in RISKY_EXTENSIONS if "." in name else False


def existing_targets(directory: Path, attachments: Sequence[Attachment]) -> list[Path]:
    """Files that saving ``attachments`` into ``directory`` would collide with."""
    out: list[Path] = []
    for att in attachments:
        path = directory / attachment_name(att)
        if os.path.lexists(path) and path not in out:
            out.append(path)
    return out


def current_umask() -> int:
    """The process umask, read without changing it where the system allows
    (``os.umask`` can only be read by setting it, which races other threads)."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def replace_file(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; replaces a symlink, never follows it.

    The file gets the mode any new file of the user gets (0666 minus the
    umask), like a message saved with ``write_new_file``; the temporary file
    it starts as is private (``mkstemp``: 0600) until then.
    """
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".mailcatcher-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def save_all(
    directory: Path, attachments: Sequence[Attachment], *, replace_existing: bool
) -> list[Path]:
    """Save every attachment into ``directory``; returns the paths written.

    With ``replace_existing`` a file already in the folder is replaced; two
    attachments of this batch that share a name never overwrite each other
    (the second gets ``name (1).ext``).
    """
    written: list[Path] = []
    used: set[str] = set()
    for att in attachments:
        name = attachment_name(att)
        if replace_existing and name not in used:
            path = replace_file(directory / name, att.data)
        else:
            path = write_new_file(directory, name, att.data)
        used.add(path.name)
        written.append(path)
    return written
