"""Small display helpers shared by the message tabs (no widgets here)."""

from __future__ import annotations

from datetime import datetime


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
