"""The Chromium view of a message's HTML: sandboxed, offline by default.

One ``WebMessageView`` owns everything its page touches: an off-the-record
profile (nothing written to disk, nothing shared with other views), the
``mailcatcher:`` scheme handler, the request interceptor and the
``MessageRegistry`` they both consult. JavaScript is off; the served
documents also carry a script-free Content-Security-Policy.

The decisions live in ``core.render.policy``; this module wires Qt signals
and virtuals to them.
"""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QObject, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QContextMenuEvent, QGuiApplication
from PySide6.QtWebEngineCore import (
    QWebEngineNewWindowRequest,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QMenu, QWidget

from ...core.models import ParsedMessage
from ...core.render.policy import (
    SCHEME,
    BlockedRemote,
    MessageRegistry,
    NavigationVerdict,
    navigation_verdict,
    page_url,
)
from .interceptor import RemoteContentInterceptor
from .schemes import SCHEME_NAME, MessageSchemeHandler, qurl_text

_NAV_KINDS = {
    QWebEnginePage.NavigationType.NavigationTypeLinkClicked: "link",
    QWebEnginePage.NavigationType.NavigationTypeTyped: "typed",
    QWebEnginePage.NavigationType.NavigationTypeReload: "reload",
    QWebEnginePage.NavigationType.NavigationTypeFormSubmitted: "form",
    QWebEnginePage.NavigationType.NavigationTypeBackForward: "back_forward",
    QWebEnginePage.NavigationType.NavigationTypeRedirect: "redirect",
}

_WA = QWebEngineSettings.WebAttribute
# Everything that could run code, reach out or persist state is off.
_SETTINGS: dict[QWebEngineSettings.WebAttribute, bool] = {
    _WA.JavascriptEnabled: False,
    _WA.JavascriptCanOpenWindows: False,
    _WA.JavascriptCanAccessClipboard: False,
    _WA.JavascriptCanPaste: False,
    _WA.PluginsEnabled: False,
    _WA.PdfViewerEnabled: False,
    _WA.WebGLEnabled: False,
    _WA.Accelerated2dCanvasEnabled: False,
    _WA.LocalStorageEnabled: False,
    _WA.LocalContentCanAccessRemoteUrls: False,
    _WA.LocalContentCanAccessFileUrls: False,
    _WA.AllowRunningInsecureContent: False,
    _WA.DnsPrefetchEnabled: False,
    _WA.HyperlinkAuditingEnabled: False,
    _WA.AutoLoadIconsForPage: False,
    _WA.TouchIconsEnabled: False,
    _WA.ErrorPageEnabled: False,
    _WA.ScreenCaptureEnabled: False,
    _WA.FullScreenSupportEnabled: False,
    _WA.FocusOnNavigationEnabled: False,
    _WA.NavigateOnDropEnabled: False,
    _WA.AllowWindowActivationFromJavaScript: False,
    _WA.WebRTCPublicInterfacesOnly: True,
    _WA.AutoLoadImages: True,
}


def _make_profile() -> QWebEngineProfile:
    """A private, in-memory profile: no storage name means off-the-record."""
    profile = QWebEngineProfile()
    profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
    profile.setPersistentCookiesPolicy(
        QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
    )
    profile.setSpellCheckEnabled(False)
    settings = profile.settings()
    for attribute, on in _SETTINGS.items():
        settings.setAttribute(attribute, on)
    settings.setFontFamily(QWebEngineSettings.FontFamily.StandardFont, "sans-serif")
    return profile


class MessagePage(QWebEnginePage):
    """A page that never leaves the message: clicks are reported, not followed."""

    link_requested = Signal(QUrl)

    def __init__(self, profile: QWebEngineProfile, parent: QObject | None = None) -> None:
        super().__init__(profile, parent)
        self.setBackgroundColor(QColor("white"))
        # target=_blank and middle clicks ask for a new window; treat those
        # like any other click instead of silently dropping them.
        self.newWindowRequested.connect(self._on_new_window)

    def acceptNavigationRequest(  # noqa: N802 (Qt API)
        self, url: QUrl | str, nav_type: QWebEnginePage.NavigationType, is_main_frame: bool
    ) -> bool:
        url = QUrl(url)  # Qt passes a QUrl; the stubs also allow str
        verdict = navigation_verdict(
            qurl_text(url),
            _NAV_KINDS.get(nav_type, "other"),
            main_frame=is_main_frame,
            current=qurl_text(self.url()),
        )
        if verdict is NavigationVerdict.EXTERNAL:
            self.link_requested.emit(QUrl(url))
        return verdict is NavigationVerdict.ALLOW

    def _on_new_window(self, request: QWebEngineNewWindowRequest) -> None:
        url = request.requestedUrl()
        verdict = navigation_verdict(qurl_text(url), "link", main_frame=True, current="")
        if verdict is NavigationVerdict.EXTERNAL and request.isUserInitiated():
            self.link_requested.emit(QUrl(url))

    def javaScriptConsoleMessage(  # noqa: N802 (Qt API)
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        # Pages cannot run scripts; what remains (CSP reports, blocked loads)
        # is expected noise and must not reach the Qt log as warnings.
        return


class WebMessageView(QWebEngineView):
    """Shows one message's HTML. Signals mirror the fallback renderer's."""

    link_activated = Signal(QUrl)  # the user clicked a link (not followed)
    link_hovered = Signal(str)  # "" when the pointer leaves a link
    blocked_changed = Signal()  # the current message's blocked-remote tally changed
    loaded = Signal(bool)

    uses_chromium = True

    def __init__(self, parent: QWidget | None = None, *, allow_remote_default: bool = False):
        super().__init__(parent)
        self.allow_remote_default = allow_remote_default
        self._token: str | None = None
        self.registry = MessageRegistry(on_blocked=self._on_blocked)
        self.setAcceptDrops(False)

        profile = _make_profile()
        self._handler = MessageSchemeHandler(self.registry, profile)
        self._interceptor = RemoteContentInterceptor(self.registry, profile)
        profile.installUrlSchemeHandler(SCHEME_NAME, self._handler)
        profile.setUrlRequestInterceptor(self._interceptor)
        page = MessagePage(profile, self)
        # The profile dies with its page (children go after the parent's own
        # destructor), so Chromium never sees a profile outlive its page.
        profile.setParent(page)
        page.link_requested.connect(self.link_activated)
        page.linkHovered.connect(self.link_hovered)
        page.loadFinished.connect(self.loaded)
        self.setPage(page)
        self._page: MessagePage | None = page
        self._profile: QWebEngineProfile | None = profile

    # ---- the renderer interface (shared with the QTextBrowser fallback) ----

    @property
    def token(self) -> str | None:
        return self._token

    def show_parsed(self, parsed: ParsedMessage) -> None:
        if self._page is None:
            return
        old = self._token
        self._token = self.registry.register(parsed, allow_remote=self.allow_remote_default)
        if old is not None:
            self.registry.release(old)
        self.blocked_changed.emit()
        self._page.load(QUrl(page_url(self._token)))

    def clear(self) -> None:
        if self._token is not None:
            self.registry.release(self._token)
            self._token = None
        self.blocked_changed.emit()
        if self._page is not None:
            self._page.load(QUrl("about:blank"))

    def blocked(self) -> BlockedRemote:
        return self.registry.blocked(self._token) if self._token else BlockedRemote()

    def remote_allowed(self) -> bool:
        return self._token is not None and self.registry.allow_remote(self._token)

    def allow_remote_for_current(self) -> None:
        """ "Load remote content" for the message on screen: allow and reload."""
        if self._token is None or self._page is None:
            return
        self.registry.set_allow_remote(self._token, True)
        self.registry.reset_blocked(self._token)
        self.blocked_changed.emit()
        self._page.load(QUrl(page_url(self._token)))

    def set_allow_remote_default(self, allow: bool) -> None:
        self.allow_remote_default = allow
        if allow and self._token is not None and not self.remote_allowed():
            self.allow_remote_for_current()

    def served_urls(self) -> list[str]:
        """Internal URLs the handler answered for the current message (for tests)."""
        return self.registry.served(self._token) if self._token else []

    def shutdown(self) -> None:
        """Delete page then profile now, while QApplication still exists."""
        if self._page is None:
            return
        page, self._page, self._profile = self._page, None, None
        self.registry.clear()
        self._token = None
        for signal in (page.link_requested, page.linkHovered, page.loadFinished):
            signal.disconnect()
        if shiboken6.isValid(page):
            shiboken6.delete(page)  # takes the profile, handler and interceptor with it

    # ---- Qt overrides ------------------------------------------------------

    def build_context_menu(self) -> QMenu | None:
        """Copy / Select all / the link's address only: no Back, Reload,
        View Source or Save Page, which would navigate or write files."""
        if self._page is None:
            return None
        menu = QMenu(self)
        request = self.lastContextMenuRequest()
        link = request.linkUrl() if request is not None else QUrl()
        if link.isValid() and not link.isEmpty() and link.scheme() != SCHEME:
            open_link = QAction("Open Link in Browser…", menu)
            open_link.triggered.connect(lambda: self.link_activated.emit(QUrl(link)))
            menu.addAction(open_link)
            copy_link = QAction("Copy Link Address", menu)
            copy_link.triggered.connect(
                lambda: QGuiApplication.clipboard().setText(link.toString())
            )
            menu.addAction(copy_link)
            menu.addSeparator()
        menu.addAction(self._page.action(QWebEnginePage.WebAction.Copy))
        menu.addAction(self._page.action(QWebEnginePage.WebAction.SelectAll))
        return menu

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:  # noqa: N802
        menu = self.build_context_menu()
        if menu is not None:
            menu.exec(event.globalPos())
            menu.deleteLater()

    def _on_blocked(self, token: str) -> None:
        if token == self._token:
            self.blocked_changed.emit()
