"""The Chromium HTML view keeps remote content out and scripts dead.

Real Chromium, a real loopback HTTP server that counts connections and
requests: the message references the server in every way an HTML mail can
(image, stylesheet link, @import, background url, web font, preconnect,
iframe, script fetch, meta refresh), and nothing may reach it until the user
chooses "Load remote content".
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtWebEngineCore import QWebEngineScript

from mailcatcher_gui.ui.viewer.tabs.html_tab import HtmlTab
from tests.viewer_support import (
    WEB_ENV_LOG_IGNORE,
    RecordingDialogs,
    counting_server,
    make_opened,
)
from tests.web_controls import control_fetches

pytestmark = [pytest.mark.gui, pytest.mark.web, WEB_ENV_LOG_IGNORE]

LOAD_TIMEOUT = 20_000


@pytest.fixture
def tab(qtbot):
    tab = HtmlTab(RecordingDialogs())
    tab.resize(900, 700)
    qtbot.addWidget(tab)
    tab.show()
    yield tab
    tab.shutdown()


def show(qtbot, tab, opened):
    with qtbot.waitSignal(tab.renderer.loaded, timeout=LOAD_TIMEOUT) as blocker:
        tab.show_parsed(opened.parsed)
    assert blocker.args == [True]


def app_js(qtbot, tab, script):
    """Evaluate in the app's isolated world (page scripts are off, ours are not).

    The result travels as JSON: PySide turns JS arrays into empty strings.
    """
    out = []
    tab.renderer.page().runJavaScript(
        f"JSON.stringify({script})", QWebEngineScript.ScriptWorldId.ApplicationWorld, out.append
    )
    qtbot.waitUntil(lambda: bool(out), timeout=5000)
    return json.loads(out[0])


def tracker_html(base: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><title>original title</title>
<link rel="stylesheet" href="{base}/link.css">
<link rel="preconnect" href="{base.replace("127.0.0.1", "localhost")}/">
<link rel="dns-prefetch" href="{base}/">
<style>
@import url("{base}/import.css");
@font-face {{ font-family: Tracked; src: url("{base}/font.woff2") format("woff2"); }}
body {{ font-family: Tracked, sans-serif; }}
.bg {{ background-image: url("{base}/bg.png"); height: 20px; }}
</style></head>
<body>
<p id="body">Visible body text</p>
<div class="bg"></div>
<img src="{base}/pixel.png" width="8" height="8">
<img srcset="{base}/srcset.png 2x">
<iframe src="{base}/frame.html"></iframe>
<video poster="{base}/poster.png"></video>
</body></html>"""


# What the tracker page fetches in a plain Chromium page (the positive control).
TRACKER_FETCHES = {"/link.css", "/import.css", "/bg.png", "/pixel.png", "/frame.html"}


def test_remote_content_blocked_until_allowed(qtbot, tab):
    with counting_server() as server, counting_server() as control:
        show(qtbot, tab, make_opened(html=tracker_html(server.base)))
        # Positive control instead of a settle delay: the same page in plain
        # Chromium, loaded after ours, reaches its server (tests/web_controls.py).
        control_fetches(qtbot, tracker_html(control.base), control, TRACKER_FETCHES)
        assert server.requests == []
        assert server.connections == 0
        blocked = tab.renderer.blocked()
        assert blocked.total >= 5  # link, @import, font, background, img, srcset, poster...
        assert blocked.host_list() == ["127.0.0.1"]
        assert tab.remote_bar.isVisible()
        assert "127.0.0.1" in tab.remote_bar.label.text()
        assert tab.load_remote_button.isVisible()
        assert app_js(qtbot, tab, "document.getElementById('body').textContent") == (
            "Visible body text"
        )

        with qtbot.waitSignal(tab.renderer.loaded, timeout=LOAD_TIMEOUT):
            tab.load_remote_button.click()
        qtbot.waitUntil(
            lambda: {"/pixel.png", "/link.css", "/import.css"} <= set(server.requests),
            timeout=10_000,
        )
        qtbot.waitUntil(lambda: "/bg.png" in server.requests, timeout=5000)
        assert not tab.remote_bar.isVisible()
        # Even with remote content allowed, frames stay out (CSP frame-src 'none'):
        # a plain page loaded after the reload fetches its frame; ours did not.
        with counting_server() as control_after:
            control_fetches(qtbot, tracker_html(control_after.base), control_after, {"/frame.html"})
        assert "/frame.html" not in server.requests


def test_allow_remote_default_loads_without_asking(qtbot):
    tab = HtmlTab(RecordingDialogs(), allow_remote_default=True)
    qtbot.addWidget(tab)
    tab.show()
    try:
        with counting_server() as server:
            show(qtbot, tab, make_opened(html=f'<img src="{server.base}/a.png">'))
            qtbot.waitUntil(lambda: "/a.png" in server.requests, timeout=10_000)
            assert tab.renderer.blocked().total == 0
            assert not tab.remote_bar.isVisible()
    finally:
        tab.shutdown()


def test_switching_default_on_reloads_current_message(qtbot, tab):
    with counting_server() as server, counting_server() as control:
        show(qtbot, tab, make_opened(html=f'<img src="{server.base}/late.png">'))
        control_fetches(qtbot, f'<img src="{control.base}/late.png">', control, {"/late.png"})
        assert server.requests == []
        assert tab.renderer.blocked().total == 1
        with qtbot.waitSignal(tab.renderer.loaded, timeout=LOAD_TIMEOUT):
            tab.set_allow_remote_default(True)
        qtbot.waitUntil(lambda: "/late.png" in server.requests, timeout=10_000)


def scripted_html(base: str) -> str:
    return f"""<!DOCTYPE html><html><head><title>original title</title>
<script>document.title = 'pwned'; fetch('{base}/fetch');
new Image().src = '{base}/js-image.png';</script>
<meta http-equiv="refresh" content="0; url={base}/refresh">
</head><body onload="document.body.setAttribute('data-x', 'ran')">
<p id="p">static</p>
<script>document.getElementById('p').textContent = 'changed by script';</script>
<img src="x:" onerror="document.title='onerror ran'">
<a id="js" href="javascript:document.title='clicked'">js link</a>
</body></html>"""


def test_scripts_never_run(qtbot, tab):
    with counting_server() as server, counting_server() as control:
        show(qtbot, tab, make_opened(html=scripted_html(server.base)))
        # Positive control: in plain Chromium the scripts fetch and the meta
        # refresh navigates, all reaching the control server within this wait.
        expected = {"/fetch", "/js-image.png", "/refresh"}
        control_fetches(qtbot, scripted_html(control.base), control, expected)
        assert server.requests == []
        assert server.connections == 0
        state = app_js(
            qtbot,
            tab,
            "[document.title, document.getElementById('p').textContent,"
            " document.body.getAttribute('data-x'), location.href]",
        )
        assert state[0] == "original title"
        assert state[1] == "static"
        assert state[2] is None
        assert state[3].startswith("mailcatcher://message/")  # the refresh went nowhere
        # The scripts were blocked (JS off + CSP), not merely counted as remote.
        assert tab.renderer.blocked().total == 0
