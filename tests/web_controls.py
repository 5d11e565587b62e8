"""Positive controls for "nothing reached the network" tests.

A privacy test that asserts a server saw no request is only as good as the
time it waited. Instead of sleeping, such tests load the same HTML in a
plain Chromium page (no app policy: JavaScript on, no interceptor, no CSP)
pointed at a second counting server, *after* the app's page has finished
loading, and wait until that control server has seen the requests. Any
request the app's page would have made was issued earlier (during its own
load), over the same loopback, so once the control's requests have arrived
the app's would have too. The control also proves the HTML really does make
those requests in Chromium, so the test cannot pass because of a typo.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from PySide6.QtCore import QUrl
from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile
from pytestqt.qtbot import QtBot

from tests.viewer_support import CountingServer

CONTROL_TIMEOUT = 20_000


class _QuietPage(QWebEnginePage):
    """A default page whose console messages (failed font decodes, CSS
    served for a navigation...) stay out of the Qt log, which fails tests."""

    def javaScriptConsoleMessage(  # noqa: N802 (Qt API)
        self,
        level: QWebEnginePage.JavaScriptConsoleMessageLevel,
        message: str,
        line: int,
        source: str,
    ) -> None:
        return


@contextmanager
def plain_page(qtbot: QtBot) -> Iterator[QWebEnginePage]:
    """An off-the-record Chromium page with Chromium's defaults.

    The page is gone before its profile goes (Qt warns otherwise).
    """
    profile = QWebEngineProfile()
    page = _QuietPage(profile)
    try:
        yield page
    finally:
        with qtbot.waitSignal(page.destroyed, timeout=CONTROL_TIMEOUT):
            page.deleteLater()
        profile.deleteLater()


def control_fetches(
    qtbot: QtBot, html: str, server: CountingServer, expected: Iterable[str]
) -> None:
    """Load HTML in a plain page with SERVER as its origin; wait until the
    server has seen every path in EXPECTED (fails the test otherwise)."""
    want = set(expected)
    with plain_page(qtbot) as page:
        page.setHtml(html, QUrl(f"{server.base}/"))
        qtbot.waitUntil(lambda: want <= set(server.requests), timeout=CONTROL_TIMEOUT)
        page.triggerAction(QWebEnginePage.WebAction.Stop)
