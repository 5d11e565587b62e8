"""The Session tab's "Rules" section: the message's rule log from a real store,
and lines that arrive later (a forward's report) added live for the open
message only."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.models import RuleEvent
from mailcatcher_gui.core.store.database import Store
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.viewer.message_view import MessageView
from tests.test_store import make
from tests.viewer_support import RecordingDialogs

pytestmark = [pytest.mark.gui]


@pytest.fixture
def view(qtbot):
    v = MessageView(dialogs=RecordingDialogs(), web_engine=False)
    qtbot.addWidget(v)
    v.resize(900, 700)
    v.show()
    yield v
    v.shutdown()


@pytest.fixture
def mailbox(tmp_path):
    m = Mailbox(Store(tmp_path / "m.sqlite3"))
    yield m
    m.close()


def test_rules_section_lists_the_rule_log_and_grows_live(view, mailbox, qtbot):
    one, two = mailbox.accept_many_sync([make(1)[0], make(2)[0]])
    mailbox.log_rule_events(one, [RuleEvent("copy", "fired", "will forward <the message>")])
    view.show_message(mailbox.get(one))
    QApplication.processEvents()
    text = view.session_tab.facts.text()
    assert '<th colspan="2">Rules</th>' in text
    assert "copy" in text and "will forward &lt;the message&gt;" in text  # escaped
    bridge = MailboxBridge(mailbox)
    bridge.ruleLogAdded.connect(view.add_rule_events)
    report = "delivered to 127.0.0.1:2525 (1 attempt): 250 ok\n -> MAIL FROM:<a@x>"
    mailbox.log_rule_events(one, [RuleEvent("copy", "forward", report)])
    qtbot.waitUntil(lambda: "delivered to 127.0.0.1:2525" in view.session_tab.facts.text())
    assert "<br>-&gt; MAIL FROM:&lt;a@x&gt;" in view.session_tab.facts.text()
    # another message's lines do not show here
    mailbox.log_rule_events(two, [RuleEvent("other", "webhook", "HTTP 500")])
    QApplication.processEvents()
    qtbot.wait(50)
    assert "HTTP 500" not in view.session_tab.facts.text()
    bridge.close()


def test_no_rules_section_without_a_rule_log(view, mailbox):
    (one,) = mailbox.accept_many_sync([make(1)[0]])
    view.show_message(mailbox.get(one))
    QApplication.processEvents()
    assert ">Rules<" not in view.session_tab.facts.text()
