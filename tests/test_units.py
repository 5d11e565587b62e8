"""The one size formatter (core.units): what the list, viewer, compose and CLI print."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailcatcher_gui.core.units import format_size


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (512, "512 B"),
        (1023, "1023 B"),
        (1024, "1.0 KB"),
        (1536, "1.5 KB"),
        (4300, "4.2 KB"),
        (200 * 1024, "200.0 KB"),
        (1024 * 1024 - 1, "1.0 MB"),  # not "1024.0 KB"
        (13 * 1024 * 1024, "13.0 MB"),
        (25 * 1024 * 1024, "25.0 MB"),
        (3 * 1024**3, "3.0 GB"),
        (5 * 1024**4, "5.0 TB"),
        (2048 * 1024**4, "2048.0 TB"),
    ],
)
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_no_module_keeps_a_size_formatter_of_its_own() -> None:
    """The list, the viewer tabs, compose and the CLI once had four formatters
    ("13 MB", "13.0 MB", "4.2K"); now every caller imports ``format_size``."""
    import mailcatcher_gui
    from mailcatcher_gui.ui.window import list_model as models

    package = Path(mailcatcher_gui.__file__).parent
    own = re.compile(r"def \w*(human|pretty)_size|for unit in \(")
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if path.name != "units.py" and own.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
    assert models.format_size is format_size
