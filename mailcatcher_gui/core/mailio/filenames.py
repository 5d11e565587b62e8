"""Safe file names for files whose names come from mail (attachments, exports).

A sender controls attachment names and subjects, so every name is treated as
hostile: ``safe_filename`` reduces it to one harmless path component, and
``write_new_file`` creates the file with ``O_EXCL`` so nothing existing is
ever replaced (the GUI's attachment saving and the CLI both use these).
"""

from __future__ import annotations

import itertools
import os
import re
import unicodedata
from pathlib import Path

#: Room for the name, leaving space under the usual 255-byte limit for a
#: `` (123)`` suffix and for file systems that count differently.
MAX_FILENAME_BYTES = 200
#: Longest suffix still treated as an extension worth keeping when truncating.
_MAX_EXT_CHARS = 16

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{c}" for c in "123456789¹²³"}
    | {f"LPT{c}" for c in "123456789¹²³"}
)
# Characters Windows forbids in names; "/" and "\" never get here (see below).
_FORBIDDEN_CHARS = frozenset('<>:"/\\|?*')
# Control, format (bidi overrides such as U+202E), surrogate and private-use
# code points: invisible or unencodable, and used to disguise extensions.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})
_COMPOUND_EXTS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.lz", ".tar.z")


def safe_filename(name: str, fallback: str = "file") -> str:
    """A single, harmless file name derived from an untrusted ``name``.

    Only the last path component survives (``../../.bashrc`` -> ``bashrc``);
    control and bidi-format characters are dropped; characters Windows
    forbids become ``_``; runs of dots collapse; leading dots, dashes and
    spaces and trailing dots and spaces go; reserved Windows device names
    (``CON``, ``nul.txt``, ...) get a ``_`` prefix; the result is capped at
    ``MAX_FILENAME_BYTES`` UTF-8 bytes keeping the extension. If nothing is
    left, ``fallback`` (cleaned the same way) is used, then ``"file"``.
    """
    return _clean_filename(name) or _clean_filename(fallback) or "file"


def _clean_filename(name: str) -> str:
    if not isinstance(name, str):
        name = str(name)
    name = unicodedata.normalize("NFC", name)
    # Whitespace of any kind (tabs, newlines, U+2028) becomes a plain space
    # before control characters are dropped, so words stay apart.
    name = "".join(" " if ch.isspace() else ch for ch in name)
    # Only the last path component, whichever separator the sender used.
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = "".join("_" if ch in _FORBIDDEN_CHARS else ch for ch in name)
    name = re.sub(r"\.{2,}", ".", name)
    name = re.sub(r" {2,}", " ", name)
    name = name.lstrip(" .-").rstrip(" .")
    if not name:
        return ""
    if name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_RESERVED:
        name = "_" + name
    return _truncate(name, MAX_FILENAME_BYTES)


def _truncate(name: str, max_bytes: int) -> str:
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, ext = split_extension(name)
    if len(ext) > _MAX_EXT_CHARS:
        stem, ext = name, ""
    room = max_bytes - len(ext.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", errors="ignore").rstrip(" .")
    return (cut or "file") + ext


def split_extension(name: str) -> tuple[str, str]:
    """``("report", ".pdf")``; knows ``.tar.gz`` and friends; no ext for ``"README"``."""
    lower = name.lower()
    for compound in _COMPOUND_EXTS:
        if lower.endswith(compound) and len(name) > len(compound):
            return name[: -len(compound)], name[-len(compound) :]
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem:
        return name, ""
    return stem, "." + ext


def unique_path(directory: str | os.PathLike[str], name: str) -> Path:
    """``directory/name``, or ``name (1).ext``, ``name (2).ext`` ... if taken.

    ``name`` must already be a single safe component (use ``safe_filename``).
    A dangling symlink counts as taken. This only picks a name; to create the
    file without a race use ``write_new_file``.
    """
    if not name or name in {".", ".."} or "/" in name or "\\" in name or "\0" in name:
        raise ValueError(f"not a plain file name: {name!r}")
    directory = Path(directory)
    candidate = directory / name
    if not os.path.lexists(candidate):
        return candidate
    stem, ext = split_extension(name)
    for n in itertools.count(1):
        candidate = directory / f"{stem} ({n}){ext}"
        if not os.path.lexists(candidate):
            return candidate
    raise AssertionError("unreachable")  # pragma: no cover


def write_new_file(directory: str | os.PathLike[str], name: str, data: bytes) -> Path:
    """Write ``data`` to a new file in ``directory``; never replaces anything.

    ``name`` is sanitised with ``safe_filename`` and made unique; the file is
    created with O_EXCL, so a file appearing between the check and the write
    (or a symlink planted there) makes us pick the next name instead.
    """
    safe = safe_filename(name)
    while True:
        path = unique_path(directory, safe)
        try:
            with open(path, "xb") as fh:
                fh.write(data)
        except FileExistsError:
            continue
        return path


def slugify(text: str, max_chars: int = 50) -> str:
    """``"Re: Your Invoice #42!"`` -> ``"re-your-invoice-42"``; may be empty."""
    text = unicodedata.normalize("NFKC", text or "").lower()
    slug = ""
    for word in re.findall(r"[^\W_]+", text):
        candidate = f"{slug}-{word}" if slug else word
        if len(candidate) > max_chars:
            if not slug:
                slug = word[:max_chars]
            break
        slug = candidate
    return slug


def export_filename(message_id: int, subject: str) -> str:
    """``0042-subject-words.eml``: sorts by id, readable, safe on every OS."""
    slug = slugify(subject)
    base = f"{message_id:04d}-{slug}.eml" if slug else f"{message_id:04d}.eml"
    return safe_filename(base, fallback=f"{message_id:04d}.eml")
