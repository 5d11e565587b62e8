"""Messages in and out of files: .eml, mbox, Maildir, and safe file names.

Fidelity is the point of a mail catcher, so every reader here hands back the
message bytes exactly as they are in the file, never a re-serialised
``email.message.Message``:

* ``.eml`` files are read whole, byte for byte (a leading mbox ``From `` line
  in an ``.eml`` is kept: it is part of that file's bytes).
* mbox files are split by our own reader instead of ``mailbox.mbox``.
  Python's reader converts line endings to ``\\n`` on ``get_bytes`` and
  treats every line starting with ``From `` as a separator. Ours:

  - a separator is a line starting with ``From `` that is the first line of
    the file, follows a blank line, or looks like a real ``From_`` line
    (``From sender Www Mmm dd hh:mm...``). The separator is not part of
    the message; its sender becomes the import's envelope sender;
  - the blank line that precedes the next separator (or ends the file)
    belongs to the mbox framing and is dropped;
  - lines matching ``>+From `` lose one ``>`` (mboxrd un-escaping). For an
    mboxo file that contained a literal ``>From `` this removes a ``>``
    that was really there; mboxo cannot tell the two apart;
  - line endings are left exactly as in the file (``\\n`` or ``\\r\\n``).
* Maildir messages are plain files in ``new/`` and ``cur/``, read as is.

Writers:

* ``.eml`` folder: one file per message, raw bytes exactly, named
  ``0042-subject-words.eml``; an existing file is never overwritten.
* mbox: mboxrd. Each message gets a ``From sender asctime`` line, every
  line matching ``>*From `` gets one more ``>`` and a blank line follows it.
  A message that does not end with a newline gets one (mbox cannot represent
  the difference), so mbox round trips are exact for every message that ends
  with a line break.
* Maildir: one file per message in ``new/``, written to ``tmp/`` first and
  linked into place, the usual Maildir delivery.

``safe_filename`` and ``unique_path`` are what the GUI uses for saving
attachments too: a sender controls attachment names, so they are treated as
hostile.
"""

from __future__ import annotations

import email.utils
import itertools
import os
import re
import socket
import time
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..models import Capture, StoredMessage

# ---------------------------------------------------------------------------
# Safe file names
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------
# Envelope for imported messages
# ---------------------------------------------------------------------------

_MAX_RECIPIENTS = 1000


def header_fields(raw: bytes, max_bytes: int = 256 * 1024) -> list[tuple[str, str]]:
    """The header block as ``(lower-case name, unfolded value)`` pairs.

    A small tolerant scanner instead of ``email``: it never raises, decodes
    bytes as UTF-8 with replacement (so values are always storable text) and
    skips a leading mbox ``From `` line.
    """
    head = raw[:max_bytes]
    lines = head.split(b"\n")
    if lines and lines[0].startswith(b"From "):
        lines = lines[1:]
    fields: list[tuple[str, str]] = []
    for line in lines:
        line = line.rstrip(b"\r")
        if not line:
            break
        if line[:1] in (b" ", b"\t"):
            if fields:
                name, value = fields[-1]
                fields[-1] = (name, value + " " + _decode(line).strip())
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name.strip():
            continue
        fields.append((_decode(name).strip().lower(), _decode(value).strip()))
    return fields


def _decode(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


def _addresses(values: list[str]) -> list[str]:
    try:
        pairs = email.utils.getaddresses(values)
    except Exception:  # noqa: BLE001 - hostile headers must not stop an import
        return []
    return [addr for _, addr in pairs if addr]


def envelope_from_headers(raw: bytes) -> tuple[str, list[str]]:
    """A plausible SMTP envelope for a message that did not come over SMTP.

    Sender: the ``Return-Path`` address (``<>`` gives the null sender) else
    the first ``From`` address. Recipients: ``To``, ``Cc`` and ``Bcc``
    addresses, de-duplicated case-insensitively, in header order.
    """
    fields = header_fields(raw)
    sender = ""
    return_path = [v for n, v in fields if n == "return-path"]
    if return_path:
        addrs = _addresses(return_path[:1])
        sender = addrs[0] if addrs else ""
    else:
        addrs = _addresses([v for n, v in fields if n == "from"][:1])
        sender = addrs[0] if addrs else ""
    recipients: list[str] = []
    seen: set[str] = set()
    for addr in _addresses([v for n, v in fields if n in ("to", "cc", "bcc")]):
        key = addr.lower()
        if key not in seen:
            seen.add(key)
            recipients.append(addr)
            if len(recipients) >= _MAX_RECIPIENTS:
                break
    return sender, recipients


def capture_for_import(
    source: SourceMessage | bytes, *, received_at: datetime | None = None
) -> Capture:
    """A ``Capture`` with ``source="import"`` and an envelope from the headers.

    ``received_at`` defaults to now (UTC): it records when the catcher got
    the message; the message's own Date header stays in the summary.
    """
    if isinstance(source, bytes):
        source = SourceMessage(source, "")
    sender, recipients = envelope_from_headers(source.raw)
    if source.envelope_from is not None:
        sender = source.envelope_from
    return Capture(
        raw=source.raw,
        envelope_from=sender,
        envelope_to=tuple(recipients),
        received_at=received_at or datetime.now(UTC),
        source="import",
    )


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def mboxrd_escape(raw: bytes) -> bytes:
    """Add one ``>`` to every line that matches ``>*From ``."""
    return re.sub(rb"(?m)^(>*From )", rb">\1", raw)


def mbox_from_line(envelope_from: str, received_at: datetime) -> bytes:
    """``From sender Sat Nov 21 04:59:00 2026\\n`` (UTC, asctime format)."""
    sender = re.sub(r"[\s\x00-\x1f\x7f]+", "", envelope_from or "") or "MAILER-DAEMON"
    when = received_at.astimezone(UTC) if received_at.tzinfo else received_at
    return f"From {sender} {when.strftime('%a %b %d %H:%M:%S %Y')}\n".encode(
        "utf-8", errors="replace"
    )


def write_mbox_message(fh: BinaryIO, message: StoredMessage) -> None:
    """Append one message to an open mbox file in mboxrd form."""
    summary = message.summary
    raw = message.raw
    fh.write(mbox_from_line(summary.envelope_from, summary.received_at))
    fh.write(mboxrd_escape(raw))
    if raw and not raw.endswith(b"\n"):
        fh.write(b"\r\n" if b"\r\n" in raw else b"\n")
    fh.write(b"\n")


def write_mbox(fh: BinaryIO, messages: Iterable[StoredMessage]) -> int:
    """Write ``messages`` to ``fh`` as mboxrd; returns how many were written."""
    n = 0
    for message in messages:
        write_mbox_message(fh, message)
        n += 1
    return n


def export_eml(directory: str | os.PathLike[str], message: StoredMessage) -> Path:
    """Save the raw bytes as ``directory/0042-subject.eml`` (never overwriting)."""
    name = export_filename(message.id, message.summary.subject)
    return write_new_file(directory, name, message.raw)


def export_maildir_message(directory: str | os.PathLike[str], message: StoredMessage) -> Path:
    """Deliver one message into the Maildir ``directory`` (``new/``)."""
    root = Path(directory)
    for sub in ("tmp", "new", "cur"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    host = socket.gethostname().replace("/", r"\057").replace(":", r"\072") or "localhost"
    while True:
        now = time.time()
        name = f"{int(now)}.M{int((now % 1) * 1e6):06d}P{os.getpid()}Q{message.id}.{host}"
        tmp = root / "tmp" / name
        final = root / "new" / name
        try:
            with open(tmp, "xb") as fh:
                fh.write(message.raw)
                fh.flush()
                os.fsync(fh.fileno())
        except FileExistsError:
            continue
        try:
            os.link(tmp, final)
        except FileExistsError:
            tmp.unlink()
            continue
        except OSError:  # no hard links on this file system: rename is fine for unique names
            if os.path.lexists(final):
                tmp.unlink()
                continue
            os.rename(tmp, final)
            return final
        tmp.unlink()
        return final
