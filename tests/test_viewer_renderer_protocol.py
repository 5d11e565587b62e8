"""Both HTML renderers implement ``HtmlRenderer`` (issue 9 item 7).

mypy proves it statically where the HTML tab assigns a renderer to the
``HtmlRenderer`` attribute; this test keeps the promise visible in the suite
(every member of the Protocol exists on both classes, with the same
parameters for the methods)."""

from __future__ import annotations

import inspect

import pytest

from mailcatcher_gui.ui.viewer.tabs.fallback_html import FallbackHtmlView
from mailcatcher_gui.ui.viewer.tabs.renderer import HtmlRenderer
from mailcatcher_gui.ui.web.html_view import WebMessageView

MEMBERS = sorted(
    name
    for name in {*vars(HtmlRenderer), *HtmlRenderer.__annotations__}
    if not name.startswith("_")
)


def test_the_protocol_lists_the_interface():
    assert {"show_parsed", "clear", "blocked", "loaded", "uses_chromium", "shutdown"} <= set(
        MEMBERS
    )


@pytest.mark.parametrize("cls", [WebMessageView, FallbackHtmlView])
def test_renderer_has_every_member(cls):
    for name in MEMBERS:
        assert hasattr(cls, name), f"{cls.__name__} lacks {name}"
        wanted = vars(HtmlRenderer).get(name)
        if inspect.isfunction(wanted):
            have = getattr(cls, name)
            assert list(inspect.signature(have).parameters) == list(
                inspect.signature(wanted).parameters
            ), (cls.__name__, name)
