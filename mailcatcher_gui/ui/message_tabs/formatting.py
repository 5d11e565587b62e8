"""Small display helpers shared by the message tabs (no widgets here)."""

from __future__ import annotations

from datetime import datetime


def human_size(n: int) -> str:
    """``512 B``, ``2.0 KB``, ``25.0 MB`` (binary multiples, one decimal)."""
    if n < 1024:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB"):
        value /= 1024
        if value < 1024 or unit == "GB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover


def format_datetime(dt: datetime | None) -> str:
    """Local time in a mail client's style: ``Tue 3 Jun 2025, 14:05:09``."""
    if dt is None:
        return ""
    local = dt.astimezone() if dt.tzinfo is not None else dt
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M:%S}"


def one_line(text: str, limit: int = 2000) -> str:
    """Fold whitespace (header values may keep newlines) and cap the length."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"
