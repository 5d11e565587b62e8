"""Human-readable units, one way for the whole app (list, viewer, compose, CLI).

Sizes are binary multiples written the way mail clients write them (``KB``
= 1,024 bytes): bytes as a whole number, everything larger with one decimal,
so a column of sizes lines up and "25.0 MB" in the viewer is the same text as
in the list and in ``messages list``.
"""

from __future__ import annotations

_UNITS = ("KB", "MB", "GB", "TB")


def format_size(size: int) -> str:
    """``"0 B"``, ``"512 B"``, ``"1.5 KB"``, ``"200.0 KB"``, ``"25.0 MB"``, ``"3.0 GB"``.

    A value that would round up to 1024 of one unit is written in the next
    (``1.0 MB``, never ``1024.0 KB``).
    """
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in _UNITS:
        value /= 1024
        if round(value, 1) < 1024 or unit == _UNITS[-1]:
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")  # pragma: no cover
