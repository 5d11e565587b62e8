"""Small display helpers shared by the message tabs (no widgets here)."""

from __future__ import annotations

from datetime import datetime

from ...core.units import format_size


def human_size(n: int) -> str:
    """``512 B``, ``2.0 KB``, ``25.0 MB``: the app's one size format (``core.units``)."""
    return format_size(n)


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


def mute(widget, amount: float = 0.45) -> None:
    """Give ``widget`` secondary-text colour: its text colour moved ``amount``
    towards the background, so it reads as a caption in light and dark themes
    (QSS ``palette(mid)`` is too faint on some styles)."""
    from PySide6.QtGui import QColor, QPalette

    palette = widget.palette()
    fg = palette.color(QPalette.ColorRole.WindowText)
    bg = palette.color(QPalette.ColorRole.Window)
    mixed = QColor(
        round(fg.red() + (bg.red() - fg.red()) * amount),
        round(fg.green() + (bg.green() - fg.green()) * amount),
        round(fg.blue() + (bg.blue() - fg.blue()) * amount),
    )
    palette.setColor(QPalette.ColorRole.WindowText, mixed)
    palette.setColor(QPalette.ColorRole.Text, mixed)
    widget.setPalette(palette)
