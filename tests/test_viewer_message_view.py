"""MessageView as the main window uses it: show, clear, remote default, shutdown."""

from __future__ import annotations

import pytest

from mailcatcher_gui.core.mime.parse import parse_message
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.viewer.tabs.fallback_html import FallbackHtmlView
from tests.viewer_support import (
    WEB_ENV_LOG_IGNORE,
    RecordingDialogs,
    attachment,
    counting_server,
    make_opened,
)
from tests.web_controls import control_fetches

pytestmark = [pytest.mark.gui, WEB_ENV_LOG_IGNORE]


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs())
    v.resize(1000, 750)
    qtbot.addWidget(v)
    v.show()
    yield v
    v.shutdown()


def show(qtbot, view, opened):
    with qtbot.waitSignal(view.html_tab.renderer.loaded, timeout=20_000):
        view.show_message(opened)


@pytest.mark.web
def test_show_and_clear(qtbot, view):
    assert view.stack.currentIndex() == 0  # placeholder
    html_only = make_opened(
        html="<h1>Heading</h1><p>Some <b>bold</b> text</p>",
        text=None,
        attachments=(attachment(0, "a.txt", b"hi", "text/plain"),),
    )
    with qtbot.waitSignal(view.messageShown) as shown:
        show(qtbot, view, html_only)
    assert shown.args == [1]
    assert view.stack.currentIndex() == 1
    assert view.header_strip.subject.text() == "Hello there"
    # Text tab: HTML-only mail gets a readable text rendering and a note saying so.
    assert "Heading" in view.text_tab.editor.toPlainText()
    assert "bold" in view.text_tab.editor.toPlainText()
    assert "<b>" not in view.text_tab.editor.toPlainText()
    assert view.text_tab.note.text()
    assert view.tabs.tabText(view.tabs.indexOf(view.attachments_tab)) == "Attachments (1)"

    view.clear()
    assert view.opened is None
    assert view.stack.currentIndex() == 0
    assert view.headers_tab.model.rowCount() == 0
    assert view.tabs.tabText(view.tabs.indexOf(view.attachments_tab)) == "Attachments"


def test_text_tab_prefers_plain_and_toggles_wrap(qtbot, view):
    view.show_message(make_opened(html="<p>html version</p>", text="plain version"))
    editor = view.text_tab.editor
    assert editor.toPlainText() == "plain version"
    assert view.text_tab.note.text() == ""
    assert editor.lineWrapMode() == editor.LineWrapMode.WidgetWidth
    view.text_tab.wrap.setChecked(False)
    assert editor.lineWrapMode() == editor.LineWrapMode.NoWrap
    assert editor.font().fixedPitch() or "mono" in editor.font().family().lower()


@pytest.mark.web
def test_remote_default_applies_to_next_message(qtbot, view):
    with counting_server() as server, counting_server() as control:
        html = f'<img src="{server.base}/r.png">'
        show(qtbot, view, make_opened(html=html))
        # Positive control, not a pause (tests/web_controls.py).
        control_fetches(qtbot, f'<img src="{control.base}/r.png">', control, {"/r.png"})
        assert server.requests == []
        assert view.html_tab.remote_bar.isVisible()
        view.set_allow_remote_default(True)
        qtbot.waitUntil(lambda: server.requests == ["/r.png"], timeout=10_000)
        show(qtbot, view, make_opened(html=f'<img src="{server.base}/s.png">', message_id=2))
        qtbot.waitUntil(lambda: "/s.png" in server.requests, timeout=10_000)
        view.set_allow_remote_default(False)
        show(qtbot, view, make_opened(html=f'<img src="{server.base}/t.png">', message_id=3))
        control_fetches(qtbot, f'<img src="{control.base}/t.png">', control, {"/t.png"})
        assert "/t.png" not in server.requests


@pytest.mark.web
def test_unstored_message_from_a_file(qtbot, view):
    """``mailcatcher-gui FILE.eml``: an OpenedMessage with id 0, never stored."""
    raw = (
        b"From: x@example.com\r\nTo: y@example.com\r\nSubject: from disk\r\n"
        b"Content-Type: text/html; charset=utf-8\r\n\r\n<p>Loaded from a file</p>\r\n"
    )
    parsed = parse_message(raw)
    opened = make_opened(html=parsed.html, text=parsed.text, raw=raw, message_id=0)
    show(qtbot, view, opened)
    out: list[str] = []
    view.html_tab.renderer.page().toPlainText(out.append)
    qtbot.waitUntil(lambda: bool(out))
    assert "Loaded from a file" in out[0]


@pytest.mark.web
def test_shutdown_releases_chromium_and_is_idempotent(qtbot):
    v = MessageView(dialogs=RecordingDialogs())
    qtbot.addWidget(v)
    v.show()
    show(qtbot, v, make_opened(html="<p>x</p>"))
    page = v.html_tab.renderer.page()
    destroyed = []
    page.destroyed.connect(lambda: destroyed.append(True))
    v.shutdown()
    assert destroyed == [True]
    v.shutdown()
    v.show_message(make_opened(html="<p>after</p>"))  # ignored, no crash
    v.clear()


def test_forced_fallback_view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.show()
    assert isinstance(v.html_tab.renderer, FallbackHtmlView)
    v.show_message(make_opened(html="<p>Fallback body</p>"))
    assert "Fallback body" in v.html_tab.renderer.toPlainText()
    assert v.html_tab.fallback_note.isVisible()
    v.shutdown()


def test_fallback_when_qtwebengine_cannot_be_imported(qtbot, monkeypatch):
    """Simulate a system without QtWebEngine: the import of ui.web fails."""
    import builtins

    real_import = builtins.__import__

    def no_webengine(name, globals=None, locals=None, fromlist=(), level=0):
        if "web.html_view" in name or (level and fromlist and "html_view" in fromlist):
            raise ImportError("No module named 'PySide6.QtWebEngineWidgets'")
        return real_import(name, globals, locals, fromlist, level)

    monkeypatch.setattr(builtins, "__import__", no_webengine)
    v = MessageView(dialogs=RecordingDialogs())
    monkeypatch.undo()
    qtbot.addWidget(v)
    v.show()
    assert isinstance(v.html_tab.renderer, FallbackHtmlView)
    assert "QtWebEngine is not available" in v.html_tab.fallback_note.label.text()
    v.show_message(make_opened(html="<p>Still readable</p>"))
    assert "Still readable" in v.html_tab.renderer.toPlainText()
    v.shutdown()
