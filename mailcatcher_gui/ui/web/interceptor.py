"""Blocks what a message page may not load (glue over ``MessageRegistry.decide``).

Installed on the view's own profile, so it sees every request the page
makes (documents, images, stylesheets, ``@import``, fonts, media) before it
reaches Chromium's network stack. In Qt 6 it runs on the GUI thread, so the
registry can be plain Python state.
"""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtWebEngineCore import QWebEngineUrlRequestInfo, QWebEngineUrlRequestInterceptor

from ...core.render.policy import MessageRegistry
from .schemes import qurl_text


class RemoteContentInterceptor(QWebEngineUrlRequestInterceptor):
    def __init__(self, registry: MessageRegistry, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._registry = registry

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:  # noqa: N802 (Qt API)
        decision = self._registry.decide(
            qurl_text(info.requestUrl()), qurl_text(info.firstPartyUrl())
        )
        if not decision.allow:
            info.block(True)
