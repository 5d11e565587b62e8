"""What a file really is, from its first bytes (magic numbers).

Only formats with an unambiguous signature; anything else is "unknown" and
never contradicts a declared type. ``contradicts`` says whether a declared
content type is incompatible with the sniffed kind (ZIP-based office files,
EPUB, JAR, … are ZIPs, so a ZIP signature suits them).
"""

from __future__ import annotations

__all__ = ["contradicts", "sniff"]

# (signature, offset, kind)
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "pdf"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"PK\x03\x04", 0, "zip"),
    (b"PK\x05\x06", 0, "zip"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"BM", 0, "bmp"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "ole"),
    (b"Rar!\x1a\x07", 0, "rar"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7z"),
    (b"\x7fELF", 0, "elf"),
    (b"MZ", 0, "exe"),
    (b"OggS", 0, "ogg"),
    (b"ID3", 0, "mp3"),
    (b"BEGIN:VCALENDAR", 0, "ics"),
)

# Declared types each kind is compatible with (prefix match on the type).
_FITS: dict[str, tuple[str, ...]] = {
    "pdf": ("application/pdf", "application/x-pdf", "application/acrobat"),
    "png": ("image/png", "image/apng", "image/x-png"),
    "jpeg": ("image/jpeg", "image/jpg", "image/pjpeg"),
    "gif": ("image/gif",),
    "zip": (
        "application/zip",
        "application/x-zip",
        "application/vnd.openxmlformats",
        "application/vnd.oasis.opendocument",
        "application/vnd.ms-",
        "application/epub",
        "application/java-archive",
        "application/x-java",
        "application/vnd.android",
        "application/vnd.apple",
        "application/x-xpinstall",
        "model/",
    ),
    "gzip": ("application/gzip", "application/x-gzip", "application/x-tar", "application/x-gtar"),
    "bmp": ("image/bmp", "image/x-bmp", "image/x-ms-bmp"),
    "tiff": ("image/tiff",),
    "ole": ("application/msword", "application/vnd.ms-", "application/x-msi", "application/x-ole"),
    "rar": ("application/x-rar", "application/vnd.rar"),
    "7z": ("application/x-7z",),
    "elf": ("application/x-elf", "application/x-executable", "application/x-sharedlib"),
    "exe": ("application/x-msdownload", "application/x-dosexec", "application/vnd.microsoft"),
    "ogg": ("audio/ogg", "video/ogg", "application/ogg"),
    "mp3": ("audio/mpeg", "audio/mp3"),
    "ics": ("text/calendar", "application/ics"),
}
# Declared types that say nothing about the content.
_NEUTRAL = ("application/octet-stream", "application/unknown", "binary/", "application/binary")


def sniff(data: bytes) -> str | None:
    """The kind of file ``data`` starts like, or None."""
    for sig, off, kind in _SIGNATURES:
        if data.startswith(sig, off):
            if kind == "bmp" and data[6:10] != b"\0\0\0\0":
                continue  # "BM" alone is too weak: the BMP header's reserved bytes are zero
            if kind == "exe" and not _is_pe(data):
                continue
            return kind
    return None


def _is_pe(data: bytes) -> bool:
    if len(data) < 64:
        return False
    at = int.from_bytes(data[0x3C:0x40], "little")
    return data.startswith(b"PE\0\0", at)


def contradicts(declared: str, kind: str | None) -> bool:
    """True when ``declared`` (a content type) cannot be a file of ``kind``."""
    if kind is None:
        return False
    declared = declared.lower().strip()
    if not declared or declared.startswith(_NEUTRAL):
        return False
    return not declared.startswith(_FITS.get(kind, ()))
