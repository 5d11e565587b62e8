"""HTML without Chromium: a ``QTextBrowser`` for systems lacking QtWebEngine.

Qt's rich-text engine understands a subset of HTML 4 and CSS, never runs
scripts and never fetches anything by itself, so it is safe but plain. Inline
``cid:`` images are resolved from the message's parts; remote images are
never loaded (there is nothing to load them with) and are counted like the
Chromium view counts them, so the privacy bar works the same way.

It offers the same small interface as ``ui.web.html_view.WebMessageView``.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QImage, QTextDocument
from PySide6.QtWidgets import QTextBrowser, QWidget

from ....core.mime.htmltext import html_to_text
from ....core.models import ParsedMessage
from ....core.render.policy import (
    BlockedRemote,
    NavigationVerdict,
    UrlKind,
    classify_url,
    navigation_verdict,
    text_as_html,
    url_host,
)

# Spam hides text with "font-size: 0"; Qt's rich text cannot make a 0 px font
# and warns once per run of such text. 1 px keeps it hidden, quietly.
_ZERO_FONT_SIZE = re.compile(
    r"font-size\s*:\s*0*\.?0+\s*(?:px|pt|em|rem|ex|%)?(?=\s*(?:[;\"'}]|!important|$))",
    re.IGNORECASE,
)

# Above this many characters the fallback shows the HTML as text (see show_parsed).
MAX_RICH_TEXT_HTML = 256 * 1024


class FallbackHtmlView(QTextBrowser):
    link_activated = Signal(QUrl)
    link_hovered = Signal(str)
    blocked_changed = Signal()
    loaded = Signal(bool)

    uses_chromium = False

    def __init__(self, parent: QWidget | None = None, *, allow_remote_default: bool = False):
        super().__init__(parent)
        self.allow_remote_default = allow_remote_default  # kept for interface parity
        self.setOpenLinks(False)
        self.setOpenExternalLinks(False)
        self._parsed: ParsedMessage | None = None
        self._blocked = BlockedRemote()
        self._images: dict[str, QImage] = {}
        # Qt asks for a resource again on every relayout; count each URL once.
        self._seen_remote: set[str] = set()
        self.anchorClicked.connect(self._on_anchor)
        self.highlighted.connect(lambda url: self.link_hovered.emit(url.toString()))

    @property
    def token(self) -> str | None:
        return None

    def show_parsed(self, parsed: ParsedMessage) -> None:
        self._parsed = parsed
        self._blocked = BlockedRemote()
        self._images.clear()
        self._seen_remote.clear()
        self.document().clear()
        if parsed.html is not None and len(parsed.html) > MAX_RICH_TEXT_HTML:
            # Qt's rich-text layout is far from linear: a 1 MB spam page
            # freezes it for most of a minute. Show such mail as text.
            self.setPlainText(
                "[This HTML part is too large for the simplified viewer; "
                "shown as text.]\n\n" + html_to_text(parsed.html)
            )
        else:
            html = parsed.html if parsed.html is not None else text_as_html(parsed.text)
            self.setHtml(_ZERO_FONT_SIZE.sub("font-size:1px", html))
        self.document().size()  # lay out now, so images are resolved before "loaded"
        self.blocked_changed.emit()
        self.loaded.emit(True)

    def clear(self) -> None:
        self._parsed = None
        self._blocked = BlockedRemote()
        self._images.clear()
        self._seen_remote.clear()
        super().clear()
        self.blocked_changed.emit()

    def blocked(self) -> BlockedRemote:
        return self._blocked

    def remote_allowed(self) -> bool:
        return False

    def allow_remote_for_current(self) -> None:
        """Nothing can fetch remote content here; the note says so."""

    def set_allow_remote_default(self, allow: bool) -> None:
        self.allow_remote_default = allow

    def served_urls(self) -> list[str]:
        return list(self._images)

    def shutdown(self) -> None:
        self._parsed = None

    # ---- QTextBrowser hooks -------------------------------------------------

    def loadResource(self, type_: int, url: QUrl | str) -> object:  # noqa: N802 (Qt API)
        url = QUrl(url)  # Qt passes a QUrl; the stubs also allow str
        text = url.toString()
        kind = classify_url(text)
        if kind is UrlKind.CID and self._parsed is not None:
            if text in self._images:
                return self._images[text]
            att = self._parsed.attachment_by_cid(unquote(url.path()))
            if att is not None and type_ == QTextDocument.ResourceType.ImageResource.value:
                image = QImage.fromData(att.data)
                if not image.isNull():
                    self._images[text] = image
                    return image
            return None
        if kind is UrlKind.REMOTE:
            if text not in self._seen_remote:
                self._seen_remote.add(text)
                self._blocked.record(url_host(text) or "(unknown host)", text)
                self.blocked_changed.emit()
            return None
        if kind is UrlKind.DATA:
            return super().loadResource(type_, url)
        return None  # file:, relative names, ...: never read from disk

    def _on_anchor(self, url: QUrl) -> None:
        verdict = navigation_verdict(url.toString(), "link", main_frame=True, current="")
        if url.toString().startswith("#"):
            self.scrollToAnchor(url.fragment())
        elif verdict is NavigationVerdict.EXTERNAL:
            self.link_activated.emit(QUrl(url))
