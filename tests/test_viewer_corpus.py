"""Every corpus message loads into every tab of the message view.

The messages go through the real path: imported into a real SQLite store by
the Mailbox, re-opened with ``Mailbox.get`` (which parses them), then shown.
Two passes keep the run short: every tab painted with the rich-text HTML
fallback, then the Chromium HTML tab waited on for every message. A Python
exception inside any Qt callback (paint, scheme handler, interceptor) fails
the test through pytest-qt; a renderer crash shows as a failed load.
"""

from __future__ import annotations

import time

import pytest

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.mailio import capture_for_import
from mailcatcher_gui.core.store.database import Store
from mailcatcher_gui.ui.viewer.message_view import MessageView
from tests.viewer_support import WEB_ENV_PATTERNS, RecordingDialogs

# The corpus holds deliberately broken images (the attachment preview decodes
# them) and scripts the system fonts lack OpenType tables for; Qt says so.
CORPUS_LOG_IGNORE = pytest.mark.qt_log_ignore(
    *WEB_ENV_PATTERNS,
    r"^Corrupt JPEG data: ",
    r"^Invalid JPEG file structure: ",
    r"^Premature end of JPEG file$",
    r"^libpng (error|warning): ",
    r"^OpenType support missing for ",
)

pytestmark = [pytest.mark.gui, pytest.mark.slow, CORPUS_LOG_IGNORE]


@pytest.fixture(scope="module")
def corpus_messages(corpus, tmp_path_factory):
    """(path, OpenedMessage) for the whole corpus, stored and re-opened once."""
    store = Store(tmp_path_factory.mktemp("viewer-corpus") / "mail.sqlite3")
    mailbox = Mailbox(store)
    try:
        ids = mailbox.accept_many_sync(capture_for_import(p.read_bytes()) for p in corpus)
        return [(p, mailbox.get(i)) for p, i in zip(corpus, ids, strict=True)]
    finally:
        mailbox.close()


def _count_tree(tree) -> int:
    def walk(item) -> int:
        return 1 + sum(walk(item.child(i)) for i in range(item.childCount()))

    return sum(walk(tree.topLevelItem(i)) for i in range(tree.topLevelItemCount()))


def _make_view(qtbot, **kwargs) -> MessageView:
    view = MessageView(dialogs=RecordingDialogs(), **kwargs)
    view.resize(1000, 750)
    qtbot.addWidget(view)
    view.show()
    return view


def test_every_message_in_every_tab(qtbot, corpus_messages):
    """All tabs, each painted once per message (HTML via the rich-text fallback)."""
    view = _make_view(qtbot, web_engine=False)
    started = time.monotonic()
    for path, opened in corpus_messages:
        view.show_message(opened)
        parsed = opened.parsed
        assert view.opened is opened
        assert view.headers_tab.model.rowCount() == len(parsed.headers), path
        assert _count_tree(view.structure_tab.tree) == len(parsed.parts), path
        assert view.attachments_tab.list.topLevelItemCount() == len(parsed.attachments), path
        assert view.source_tab.editor.toPlainText() or not opened.stored.raw, path
        assert view.header_strip.subject.text(), path
        for index in range(view.tabs.count()):
            view.tabs.setCurrentIndex(index)
            view.tabs.currentWidget().grab()
        view.tabs.setCurrentIndex(0)
    elapsed = time.monotonic() - started
    view.clear()
    assert view.stack.currentIndex() == 0
    view.shutdown()
    print(f"\n{len(corpus_messages)} messages x 7 tabs painted in {elapsed:.1f}s")


@pytest.mark.web
def test_every_message_in_chromium(qtbot, corpus_messages):
    """The real HTML tab: every message's page (HTML, or its text) finishes loading."""
    view = _make_view(qtbot)
    renderer = view.html_tab.renderer
    assert renderer.uses_chromium
    loads: list[tuple[float, str]] = []
    started = time.monotonic()
    try:
        for path, opened in corpus_messages:
            t0 = time.monotonic()
            with qtbot.waitSignal(renderer.loaded, timeout=20_000) as blocker:
                view.show_message(opened)
            loads.append((time.monotonic() - t0, str(path.relative_to(path.parents[1]))))
            assert blocker.args == [True], path
            # The document served is this message's, nothing else.
            assert renderer.served_urls()[0].endswith(f"/{renderer.token}/html"), path
    finally:
        view.shutdown()
    elapsed = time.monotonic() - started
    slowest = ", ".join(f"{name} {secs:.2f}s" for secs, name in sorted(loads, reverse=True)[:3])
    print(f"\n{len(loads)} messages loaded in Chromium in {elapsed:.1f}s; slowest: {slowest}")
