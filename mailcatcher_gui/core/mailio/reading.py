"""Reading messages out of files: .eml, mbox, Maildir and folders of .eml files.

Every reader hands back the message bytes exactly as they are in the file,
never a re-serialised ``email.message.Message`` (see the package docstring
for the mbox rules).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path


class UnknownFormat(ValueError):
    """``iter_messages`` was asked for a format it does not know."""


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """One message found in a file or folder, with where it came from."""

    raw: bytes
    origin: str  # "path" or "path#3" (3rd message of an mbox)
    envelope_from: str | None = None  # sender from an mbox "From " line


#: Formats understood by ``iter_messages``.
FORMATS = ("eml", "mbox", "maildir", "directory")

_EML_SUFFIXES = frozenset({".eml", ".msg"})
_MBOX_SUFFIXES = frozenset({".mbox", ".mbx", ".mbs"})

_FROM_LINE_RE = re.compile(
    rb"^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) +"
    rb"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} +\d{1,2}:\d{2}"
)
_ESCAPED_FROM_RE = re.compile(rb"^>+From ")
_BLANK_LINES = (b"\n", b"\r\n")


def is_maildir(path: Path) -> bool:
    return path.is_dir() and (path / "cur").is_dir() and (path / "new").is_dir()


def detect_format(path: str | os.PathLike[str]) -> str:
    """One of ``FORMATS``; raises ``OSError`` if ``path`` cannot be read.

    A folder with ``cur/`` and ``new/`` is a Maildir, any other folder is a
    folder of ``.eml`` files. A file named ``*.eml`` (or ``.msg``)
    is one message even if it starts with ``From ``; other files are mbox if
    they start with ``From `` (or are named ``*.mbox``), else one message.
    """
    p = Path(path)
    if p.is_dir():
        return "maildir" if is_maildir(p) else "directory"
    suffix = p.suffix.lower()
    with open(p, "rb") as fh:
        head = fh.read(5)
    if suffix in _EML_SUFFIXES:
        return "eml"
    if suffix in _MBOX_SUFFIXES or head == b"From ":
        return "mbox"
    return "eml"


def iter_messages(path: str | os.PathLike[str], fmt: str | None = None) -> Iterator[SourceMessage]:
    """Every message in ``path`` as raw bytes; see the module docstring."""
    p = Path(path)
    fmt = fmt or detect_format(p)
    if fmt == "eml":
        yield SourceMessage(p.read_bytes(), str(p))
    elif fmt == "mbox":
        with open(p, "rb") as fh:
            yield from iter_mbox(fh, origin=str(p))
    elif fmt == "maildir":
        yield from iter_maildir(p)
    elif fmt == "directory":
        yield from iter_eml_directory(p)
    else:
        raise UnknownFormat(f"unknown format {fmt!r} (expected one of {', '.join(FORMATS)})")


def iter_eml_directory(directory: Path) -> Iterator[SourceMessage]:
    """Every ``*.eml`` file below ``directory`` (recursively), in path order."""
    files = sorted(p for p in directory.rglob("*") if p.suffix.lower() == ".eml" and p.is_file())
    for f in files:
        yield SourceMessage(f.read_bytes(), str(f))


def iter_maildir(directory: Path) -> Iterator[SourceMessage]:
    """Messages in ``new/`` then ``cur/``, by file name (delivery order)."""
    for sub in ("new", "cur"):
        folder = directory / sub
        if not folder.is_dir():
            continue
        for f in sorted(folder.iterdir()):
            if f.name.startswith(".") or not f.is_file():
                continue
            yield SourceMessage(f.read_bytes(), str(f))


def iter_mbox(lines: Iterable[bytes], origin: str = "mbox") -> Iterator[SourceMessage]:
    """Split an mbox (a binary file or any iterable of ``\\n``-ended lines)."""
    current: list[bytes] | None = None
    sender: str | None = None
    prev_blank = True  # the start of the file counts as "after a blank line"
    count = 0
    preamble: list[bytes] = []

    def finish(buf: list[bytes]) -> bytes:
        if buf and buf[-1] in _BLANK_LINES:
            buf = buf[:-1]
        return b"".join(buf)

    for line in lines:
        if line.startswith(b"From ") and (prev_blank or _FROM_LINE_RE.match(line)):
            if current is not None:
                count += 1
                yield SourceMessage(finish(current), f"{origin}#{count}", sender)
            elif any(x.strip() for x in preamble):
                # Text before the first separator: not mbox framing, keep it.
                count += 1
                yield SourceMessage(finish(preamble), f"{origin}#{count}", None)
            current = []
            sender = _from_line_sender(line)
            prev_blank = False
            continue
        prev_blank = line in _BLANK_LINES
        if _ESCAPED_FROM_RE.match(line):
            line = line[1:]
        (preamble if current is None else current).append(line)
    if current is not None:
        count += 1
        yield SourceMessage(finish(current), f"{origin}#{count}", sender)
    elif any(x.strip() for x in preamble):
        yield SourceMessage(finish(preamble), f"{origin}#1", None)


def _from_line_sender(line: bytes) -> str | None:
    parts = line.split(None, 2)
    if len(parts) < 2:
        return None
    sender = parts[1].decode("utf-8", errors="replace")
    if sender.upper() == "MAILER-DAEMON":
        return ""
    return sender if "@" in sender else None
