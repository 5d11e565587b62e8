"""The one size formatter (core.units): what the list, viewer, compose and CLI print."""

from __future__ import annotations

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


def test_every_caller_uses_the_one_formatter() -> None:
    from mailcatcher_gui import cli
    from mailcatcher_gui.ui import compose, models
    from mailcatcher_gui.ui.message_tabs import formatting

    for value in (0, 999, 4300, 13 * 1024 * 1024, 3 * 1024**3):
        expected = format_size(value)
        assert models.format_size(value) == expected
        assert formatting.human_size(value) == expected
        assert compose.human_size(value) == expected
        assert cli._human_size(value) == expected
