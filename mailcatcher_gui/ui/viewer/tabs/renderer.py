"""The interface the HTML tab needs from a renderer.

Two widgets implement it: ``ui.web.html_view.WebMessageView`` (Chromium,
sandboxed, remote content blocked unless allowed) and
``message_tabs.fallback_html.FallbackHtmlView`` (a ``QTextBrowser`` when
QtWebEngine is missing or turned off). The HTML tab talks to either through
this ``Protocol`` only, so the type checker proves both keep the same
surface: signals, the privacy tally and the lifecycle calls.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import SignalInstance

from ....core.models import ParsedMessage
from ....core.render.policy import BlockedRemote


class HtmlRenderer(Protocol):
    """A widget that shows one message's HTML (see the module docstring)."""

    #: True for Chromium; the fallback cannot load remote content at all
    uses_chromium: bool

    @property
    def link_activated(self) -> SignalInstance:
        """``QUrl``: the user clicked a link (it is never followed in place)."""
        ...

    @property
    def link_hovered(self) -> SignalInstance:
        """``str``: the URL under the pointer, "" when it leaves a link."""
        ...

    @property
    def blocked_changed(self) -> SignalInstance:
        """The current message's blocked-remote tally changed."""
        ...

    @property
    def loaded(self) -> SignalInstance:
        """``bool``: the message finished rendering."""
        ...

    @property
    def token(self) -> str | None:
        """The registry token of the message on screen (Chromium only)."""
        ...

    def show_parsed(self, parsed: ParsedMessage) -> None: ...

    def clear(self) -> None: ...

    def blocked(self) -> BlockedRemote:
        """What was kept from loading for the message on screen."""
        ...

    def remote_allowed(self) -> bool: ...

    def allow_remote_for_current(self) -> None:
        """ "Load remote content" for the message on screen."""
        ...

    def set_allow_remote_default(self, allow: bool) -> None: ...

    def served_urls(self) -> list[str]:
        """Internal URLs answered for the current message (for tests)."""
        ...

    def shutdown(self) -> None:
        """Release what the renderer holds; it shows nothing afterwards."""
        ...
