"""The HTML tab on real Chromium: body text, cid images, links, big documents,
width presets, and the QTextBrowser fallback."""

from __future__ import annotations

import dataclasses
import json
import time

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWebEngineCore import QWebEngineScript

from mailcatcher_gui.ui.viewer.tabs.fallback_html import FallbackHtmlView
from mailcatcher_gui.ui.viewer.tabs.html_tab import HtmlTab
from tests.viewer_support import (
    WEB_ENV_LOG_IGNORE,
    RecordingDialogs,
    attachment,
    make_opened,
    png_bytes,
)

pytestmark = [pytest.mark.gui, WEB_ENV_LOG_IGNORE]

LOAD_TIMEOUT = 20_000
RED = (220, 20, 30)


@pytest.fixture
def dialogs():
    return RecordingDialogs()


@pytest.fixture
def tab(qtbot, dialogs):
    tab = HtmlTab(dialogs)
    tab.resize(900, 700)
    qtbot.addWidget(tab)
    tab.show()
    yield tab
    tab.shutdown()


def show(qtbot, tab, opened, timeout=LOAD_TIMEOUT):
    with qtbot.waitSignal(tab.renderer.loaded, timeout=timeout) as blocker:
        tab.show_parsed(opened.parsed)
    assert blocker.args == [True]


def page_text(qtbot, tab) -> str:
    out: list[str] = []
    tab.renderer.page().toPlainText(out.append)
    qtbot.waitUntil(lambda: bool(out), timeout=10_000)
    return out[0]


def app_js(qtbot, tab, script):
    out = []
    tab.renderer.page().runJavaScript(
        f"JSON.stringify({script})", QWebEngineScript.ScriptWorldId.ApplicationWorld, out.append
    )
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    return json.loads(out[0])


def colour_at(widget, x: int, y: int) -> QColor:
    return widget.grab().toImage().pixelColor(x, y)


def close_to(colour: QColor, rgb: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(a - b) <= tol for a, b in zip(colour.getRgb()[:3], rgb, strict=True))


def cid_message():
    logo = attachment(
        0,
        "logo.png",
        png_bytes(RED, 120, 80),
        "image/png",
        content_id="logo.123@example.com",
        inline=True,
    )
    html = (
        "<!DOCTYPE html><html><body style='margin:0'>"
        "<img id='logo' src='cid:logo.123%40example.com' width='120' height='80'>"
        "<p id='greeting'>Welcome aboard, Bob!</p></body></html>"
    )
    return make_opened(html=html, text=None, attachments=(logo,))


@pytest.mark.web
def test_renders_body_text_and_cid_image(qtbot, tab):
    show(qtbot, tab, cid_message())
    assert tab.renderer.uses_chromium
    assert "Welcome aboard, Bob!" in page_text(qtbot, tab)
    token = tab.renderer.token
    assert f"mailcatcher://message/{token}/cid/logo.123%40example.com" in tab.renderer.served_urls()
    size = app_js(qtbot, tab, "[document.images[0].naturalWidth, document.images[0].naturalHeight]")
    assert size == [120, 80]
    # And it is really on screen: the grabbed pixels show the image's colour.
    view = tab.renderer
    qtbot.waitUntil(lambda: close_to(colour_at(view, 60, 40), RED), timeout=10_000)
    assert not tab.remote_bar.isVisible()


@pytest.mark.web
def test_message_without_html_shows_its_text(qtbot, tab):
    show(qtbot, tab, make_opened(html=None, text="Only <plain> text here"))
    assert "Only <plain> text here" in page_text(qtbot, tab)


@pytest.mark.web
def test_link_click_asks_and_never_navigates(qtbot, tab, dialogs):
    html = (
        "<body style='margin:0'>"
        "<a href='https://example.com/reset?token=1' style='display:block;height:60px'>reset</a>"
        "<a href='https://example.org/new' target='_blank' "
        "style='display:block;height:60px'>new window</a>"
        "<a href='file:///etc/passwd' style='display:block;height:60px'>local file</a></body>"
    )
    show(qtbot, tab, make_opened(html=html))
    page_url = tab.renderer.url().toString()
    target = tab.renderer.focusProxy()

    QTest.mouseClick(
        target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 30)
    )
    qtbot.waitUntil(lambda: len(dialogs.link_questions) == 1, timeout=5000)
    assert dialogs.link_questions == ["https://example.com/reset?token=1"]
    assert [u.toString() for u in dialogs.opened_urls] == ["https://example.com/reset?token=1"]

    dialogs.confirm_links = False  # the user says no: nothing is opened
    QTest.mouseClick(
        target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 90)
    )
    qtbot.waitUntil(lambda: len(dialogs.link_questions) == 2, timeout=5000)
    assert dialogs.link_questions[1] == "https://example.org/new"
    assert len(dialogs.opened_urls) == 1

    QTest.mouseClick(
        target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 150)
    )
    # Instead of waiting to see that nothing happens: click the first link
    # again. Clicks reach the page in order, so once this later click has
    # been asked about, the file: click has been handled too.
    QTest.mouseClick(
        target, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, QPoint(40, 30)
    )
    qtbot.waitUntil(lambda: len(dialogs.link_questions) == 3, timeout=5000)
    # file: links are refused outright: the only new question is the control's
    assert dialogs.link_questions[2] == "https://example.com/reset?token=1"
    assert tab.renderer.url().toString() == page_url
    assert app_js(qtbot, tab, "location.href") == page_url


@pytest.mark.web
def test_hovered_link_is_shown(qtbot, tab):
    html = (
        "<body style='margin:0'>"
        "<a href='https://example.com/x' style='display:block;height:80px'>x</a>"
    )
    show(qtbot, tab, make_opened(html=html))
    QTest.mouseMove(tab.renderer.focusProxy(), QPoint(30, 30))
    qtbot.waitUntil(lambda: tab.hovered_link == "https://example.com/x", timeout=5000)
    assert tab.link_label.isVisible()
    assert tab.link_label.text() == "https://example.com/x"


@pytest.mark.web
def test_large_html_renders(qtbot, tab):
    """Over 5 MB: far past setHtml's 2 MB limit; served through the scheme handler."""
    para = "<p>Paragraph {i}: " + "lorem ipsum dolor sit amet " * 6 + "</p>\n"
    body = "".join(para.format(i=i) for i in range(31_000))
    html = (
        "<html><body><p id='first'>Start of a big message</p>"
        f"{body}<p id='last'>End of the big message</p></body></html>"
    )
    assert len(html.encode()) > 5 * 1024 * 1024
    started = time.monotonic()
    show(qtbot, tab, make_opened(html=html), timeout=60_000)
    elapsed = time.monotonic() - started
    assert app_js(qtbot, tab, "document.getElementById('last').textContent") == (
        "End of the big message"
    )
    assert app_js(qtbot, tab, "document.getElementsByTagName('p').length") == 31_002
    print(f"{len(html.encode()) / 1e6:.1f} MB HTML loaded in {elapsed:.2f}s")


@pytest.mark.web
def test_width_presets(qtbot, tab):
    show(qtbot, tab, make_opened(html="<p>x</p>"))
    tab.set_width_preset("phone")
    qtbot.waitUntil(lambda: tab.renderer.width() == 375)
    qtbot.waitUntil(lambda: app_js(qtbot, tab, "window.innerWidth") == 375, timeout=5000)
    tab.preset_buttons["tablet"].click()
    qtbot.waitUntil(lambda: tab.renderer.width() == 768)
    assert tab.width_preset == "tablet"
    tab.set_width_preset("full")
    qtbot.waitUntil(lambda: tab.renderer.width() == tab.canvas.width())


@pytest.mark.web
def test_context_menu_offers_no_navigation(qtbot, tab):
    show(qtbot, tab, make_opened(html="<p>x</p>"))
    menu = tab.renderer.build_context_menu()
    texts = [a.text().replace("&", "") for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Copy", "Select all"]
    menu.deleteLater()


@pytest.mark.web
def test_deleting_the_view_without_shutdown_is_clean(qtbot, dialogs):
    """Page and profile go in the right order even if shutdown() is forgotten
    (a wrong order makes Qt warn, which fails this test)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    tab = HtmlTab(dialogs)
    tab.show()
    show(qtbot, tab, make_opened(html="<p>bye</p>"))
    page = tab.renderer.page()
    gone = []
    page.destroyed.connect(lambda: gone.append(True))
    tab.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.waitUntil(lambda: gone == [True])


def test_fallback_renders_text_cid_and_counts_remote(qtbot, dialogs):
    tab = HtmlTab(dialogs, web_engine=False)
    qtbot.addWidget(tab)
    tab.show()
    assert isinstance(tab.renderer, FallbackHtmlView)
    assert tab.fallback_note.isVisible()
    assert "Simplified HTML view" in tab.fallback_note.label.text()
    opened = cid_message()
    html = opened.parsed.html.replace(
        "</body>",
        "<img src='http://tracker.example/p.gif'><a href='https://example.com/'>go</a></body>",
    )
    parsed = dataclasses.replace(opened.parsed, html=html)
    with qtbot.waitSignal(tab.renderer.loaded):
        tab.show_parsed(parsed)
    assert "Welcome aboard, Bob!" in tab.renderer.toPlainText()
    # QTextBrowser fetches images when it paints them.
    qtbot.waitUntil(lambda: tab.renderer.served_urls() == ["cid:logo.123%40example.com"])
    qtbot.waitUntil(lambda: tab.renderer.blocked().total == 1)
    assert tab.renderer.blocked().host_list() == ["tracker.example"]
    assert tab.remote_bar.isVisible()
    assert not tab.load_remote_button.isVisible()  # nothing could load it here
    tab.renderer.anchorClicked.emit(QUrl("https://example.com/"))
    assert dialogs.link_questions == ["https://example.com/"]
    tab.shutdown()
