"""The ``mailcatcher:`` URL scheme: registration and the handler serving it.

Chromium needs custom schemes declared before the first WebEngine object
(and in practice before ``QApplication``) exists, so ``register_url_schemes``
is called by ``app.py`` at start-up and by ``tests/conftest.py``.

The handler is thin glue: what a URL means is decided by
``core.render.policy.MessageRegistry.resolve``; this class only turns the
answer into a ``QWebEngineUrlRequestJob`` reply. Content is handed over in a
``QBuffer`` rather than via ``setHtml``, which silently refuses documents over
2 MB.
"""

from __future__ import annotations

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QUrl
from PySide6.QtWebEngineCore import (
    QWebEngineUrlRequestJob,
    QWebEngineUrlScheme,
    QWebEngineUrlSchemeHandler,
)

from ...core.render.policy import SCHEME, MessageRegistry, content_security_policy

SCHEME_NAME = QByteArray(SCHEME.encode("ascii"))


def register_url_schemes() -> None:
    """Declare ``mailcatcher:`` to Chromium. Idempotent; call before QApplication.

    No special flags: the scheme is an ordinary (non-local, non-secure) web
    origin. Not ``LocalScheme``/``LocalAccessAllowed`` (that would open the
    door to ``file:``), not ``SecureScheme`` (Chromium would then upgrade an
    allowed ``http:`` image to ``https:``, breaking "Load remote content").
    A message's document and its parts share one origin, so inline images,
    stylesheets and fonts load without CORS.
    """
    if QWebEngineUrlScheme.schemeByName(SCHEME_NAME).name() == SCHEME_NAME:
        return
    scheme = QWebEngineUrlScheme(SCHEME_NAME)
    scheme.setSyntax(QWebEngineUrlScheme.Syntax.Host)
    QWebEngineUrlScheme.registerScheme(scheme)


def qurl_text(url: QUrl) -> str:
    """A QUrl as the percent-encoded string ``core.render.policy`` expects."""
    return url.toString(QUrl.ComponentFormattingOption.FullyEncoded)


class MessageSchemeHandler(QWebEngineUrlSchemeHandler):
    """Serves ``mailcatcher://message/<token>/...`` from a ``MessageRegistry``."""

    def __init__(self, registry: MessageRegistry, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._registry = registry
        self._csp = QByteArray(content_security_policy().encode("ascii"))

    def requestStarted(self, job: QWebEngineUrlRequestJob) -> None:  # noqa: N802 (Qt API)
        if job.requestMethod() != QByteArray(b"GET"):
            job.fail(QWebEngineUrlRequestJob.Error.RequestDenied)
            return
        resource = self._registry.resolve(qurl_text(job.requestUrl()))
        if resource is None:
            job.fail(QWebEngineUrlRequestJob.Error.UrlNotFound)
            return
        # The buffer is a child of the job, so it lives exactly as long as
        # Chromium may still read from it.
        buffer = QBuffer(job)
        buffer.setData(QByteArray(resource.data))
        buffer.open(QIODevice.OpenModeFlag.ReadOnly)
        job.setAdditionalResponseHeaders(
            {
                QByteArray(b"Content-Security-Policy"): self._csp,
                QByteArray(b"Cache-Control"): QByteArray(b"no-store"),
                QByteArray(b"Referrer-Policy"): QByteArray(b"no-referrer"),
            }
        )
        job.reply(QByteArray(resource.content_type.encode("ascii", "replace")), buffer)
