"""Rules in the window, with the real app, the real sink on port 0 and real SMTP
clients: two listeners with default mailboxes and the sidebar's counts, search
within a mailbox, the Rules editor (add, inline errors, reorder, enable, save
= live rules + the file, test against the selected message, messages touched)
and the Faults on/off toggle."""

from __future__ import annotations

import asyncio

import aiosmtplib
import pytest
from gui_helpers import run_app, wait_for
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QMessageBox
from smtp_helpers import HOST, aiosmtplib_client, free_port, make_message, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.rules import Delay, Rule, load_rules_file
from mailcatcher_gui.core.smtp import SinkConfig, SmtpListener
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def config(**overrides) -> SinkConfig:
    base = dict(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))
    return SinkConfig(**{**base, **overrides})


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path / "home"))
    made = []

    def make(sink_config: SinkConfig | None = None):
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        gui = build_gui(
            qapp, mailbox, sink_config or config(), settings, view=MessageView(web_engine=False)
        )
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


async def send(port: int, subject: str, rcpts=("dev@example.com",)) -> dict:
    async with aiosmtplib_client(hostname=HOST, port=port, timeout=10, start_tls=False) as c:
        errors, _reply = await c.sendmail("app@example.com", list(rcpts), make_message(subject))
        return {k: v.code for k, v in errors.items()}


def ports_by_mailbox(gui) -> dict:
    return {m: p for kind, _h, p, m in gui.sink.details if kind == "smtp"}


def test_two_listeners_with_default_mailboxes_sidebar_counts_and_search(
    qapp, mailbox, make_gui, qtbot
):
    extra = (SmtpListener((HOST, 0), "projectA"), SmtpListener((HOST, 0), "projectB"))
    gui = make_gui(config(extra_smtp=extra))
    window = gui.window
    sidebar = window.sidebar

    async def scenario():
        assert sidebar.item_for_mailbox("projectB") is None  # nothing routed yet: no section
        ports = ports_by_mailbox(gui)
        await send(ports[None], "plain")
        await send(ports["projectA"], "for A")
        await send(ports["projectB"], "for B one")
        await send(ports["projectB"], "for B two")
        want = {"": (1, 1), "projectA": (1, 1), "projectB": (2, 2)}
        await wait_for(lambda: sidebar.mailboxes == want)
        item = sidebar.item_for_mailbox("projectB")
        assert item is not None and item.text() == "projectB  (2/2)"
        assert sidebar.item_for_mailbox("").text() == "Inbox  (1/1)"

        # clicking a mailbox filters the list to it
        rect = sidebar.list.visualItemRect(item)
        qtbot.mouseClick(sidebar.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        assert window.search.text() == "mailbox:projectB"
        await wait_for(lambda: window.model.rowCount() == 2)
        subjects = {window.model.summary_at(r).subject for r in range(2)}
        assert subjects == {"for B one", "for B two"}

        # reading one updates the unread count live
        window.message_list.select_row(0)
        opened = window.model.summary_at(0).id
        window.open_message(opened)
        await wait_for(lambda: sidebar.mailboxes["projectB"] == (2, 1))
        assert sidebar.item_for_mailbox("projectB").text() == "projectB  (1/2)"

        # search within a mailbox
        window.search.setText("mailbox:projectB two")
        window.search.flush()
        await wait_for(lambda: window.model.rowCount() == 1)
        assert window.model.summary_at(0).subject == "for B two"

        # new mail to a mailbox shown in the list appears there
        window.search.setText("mailbox:projectA")
        window.search.flush()
        await wait_for(lambda: window.model.rowCount() == 1)
        await send(ports["projectA"], "for A again")
        await wait_for(lambda: window.model.rowCount() == 2)
        await wait_for(lambda: sidebar.mailboxes.get("projectA") == (2, 2))

        # Settings show the extra listeners
        dialog = window.open_settings()
        assert "=projectA" in dialog.extra_listeners.text()
        assert "=projectB" in dialog.extra_listeners.text()
        dialog.extra_listeners.setText(":1=two words")
        assert "More listeners" in (dialog.validate() or "")
        dialog.reject()

    run_app(qapp, gui, scenario, require_sink=True)


def test_rules_editor_edits_the_live_rules_and_saves_the_file(qapp, mailbox, make_gui, tmp_path):
    gui = make_gui()
    window = gui.window
    commands = window.rules_ui

    async def scenario():
        assert commands.act_rules.isEnabled() and commands.act_faults.isEnabled()
        assert commands.act_faults in window.toolbar.actions()
        editor = commands.open_editor()
        assert editor is not None and editor.isVisible()
        assert editor.path == tmp_path / "home" / "config" / "rules.toml"
        assert editor.rule_list.count() == 0

        # add: a valid template; break it: the error is inline, with its line
        editor.add_rule()
        assert editor.rule_list.count() == 1 and not editor.error.isVisible()
        editor.source.setPlainText('[[rule]]\nname = "bob"\nstage = "rcpt"\nrcpt = "bob@*"\n')
        assert editor.error.isVisible() and "no action" in editor.error.text()
        editor.source.setPlainText(
            '[[rule]]\nname = "bob"\nstage = "rcpt"\nrcpt = "bob@*"\nreply = 99\n'
        )
        assert "line 5" in editor.error.text() and "4xx/5xx" in editor.error.text()
        assert editor.rule_list.item(0).text().startswith("⚠")
        assert not editor.save() and "Not saved: rule 1" in editor.error.text()
        assert len(gui.sink.rules) == 0  # nothing applied
        editor.source.setPlainText(
            '[[rule]]\nname = "bob"\nstage = "rcpt"\nrcpt = "bob@*"\n'
            'reply = { code = 550, text = "5.1.1 no such user" }\n'
        )
        assert not editor.error.isVisible()
        assert editor.rule_list.item(0).text() == "bob  ·  rcpt: reply"

        # a second rule, moved first by a drag (the list model's move) and back by Alt+Up
        editor.add_rule()
        editor.source.setPlainText('[[rule]]\nname = "all grey"\nstage = "rcpt"\nreply = 451\n')
        model = editor.rule_list.model()
        assert model.moveRow(QModelIndex(), 1, QModelIndex(), 0)
        assert [d.name for d in editor.drafts()] == ["all grey", "bob"]
        assert editor.dirty
        editor.rule_list.setCurrentRow(1)
        editor.move_current(-1)
        assert [d.name for d in editor.drafts()] == ["bob", "all grey"]
        # and switched off with its check box
        editor.rule_list.item(1).setCheckState(Qt.CheckState.Unchecked)

        assert editor.save() and not editor.dirty
        status = gui.sink.rules.status()
        assert [(s.rule.name, s.rule.enabled) for s in status] == [
            ("bob", True),
            ("all grey", False),
        ]
        on_disk = load_rules_file(editor.path)
        assert [(r.name, r.enabled) for r in on_disk] == [("bob", True), ("all grey", False)]
        assert gui.config.rules_file == editor.path  # restarts load the saved file

        # live: bob is refused, the disabled rule does nothing
        port = gui.sink.port()
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await send(port, "to bob", ("bob@example.com",))
        assert await send(port, "to ann", ("ann@example.com",)) == {}

        # the editor follows the running rules while nothing is edited
        gui.sink.rules.add(Rule.make("from python", "mail", Delay(1), mail_from="x@*"))
        await wait_for(lambda: editor.rule_list.count() == 3, timeout=5)
        assert editor.drafts()[2].name == "from python" and not editor.dirty
        editor.rule_list.setCurrentRow(0)
        editor.source.setPlainText(editor.source.toPlainText() + "# an edit\n")
        gui.sink.rules.add(Rule.make("another", "mail", Delay(1)))
        await asyncio.sleep(1.5)
        assert editor.rule_list.count() == 3 and editor.dirty  # the edit is not thrown away
        editor.reload()
        assert editor.rule_list.count() == 4
        gui.sink.rules.replace_all(
            [s.rule for s in gui.sink.rules.status() if s.rule.name in ("bob", "all grey")]
        )

        # Faults off: every SMTP rule suspended at once, and back on
        commands.act_faults.trigger()
        assert not commands.faults_on and gui.sink.rules.suspended
        assert commands.act_faults.text() == "Faults off"
        assert "Faults are OFF" in editor.where.text()
        assert await send(port, "to bob, faults off", ("bob@example.com",)) == {}
        commands.act_faults.trigger()
        assert commands.faults_on and not gui.sink.rules.suspended
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await send(port, "to bob again", ("bob@example.com",))
        editor.close()

    run_app(qapp, gui, scenario, require_sink=True)


def test_rules_editor_tests_a_rule_against_the_selected_message(qapp, mailbox, make_gui, tmp_path):
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(
        '[[rule]]\nname = "bob is unknown"\nstage = "rcpt"\nrcpt = "bob@*"\nreply = 550\n\n'
        '[[rule]]\nname = "big"\nstage = "data"\nsize_above = 100000\nreply = 552\n\n'
        '[[rule]]\nname = "tag dan"\nstage = "stored"\nrcpt = "dan@*"\ntag = "dan"\n'
    )
    gui = make_gui(config(rules_file=rules_file))
    window = gui.window

    async def scenario():
        await send(gui.sink.port(), "for carl and dan", ("carl@example.com", "dan@example.com"))
        await wait_for(lambda: window.model.rowCount() == 1)
        message_id = window.model.summary_at(0).id
        window.message_list.select_row(0)
        editor = window.rules_ui.open_editor()
        assert [d.name for d in editor.drafts()] == ["bob is unknown", "big", "tag dan"]
        assert editor.path == rules_file

        editor.rule_list.setCurrentRow(0)
        text = editor.test_selected()
        assert "does not match" in text and "✘ rcpt = 'bob@*'" in text
        assert "carl@example.com, dan@example.com" in text
        editor.source.setPlainText(editor.source.toPlainText().replace("bob@*", "dan@*"))
        text = editor.test_selected()
        assert "matches this message for dan@example.com" in text and "✔ rcpt" in text

        editor.rule_list.setCurrentRow(1)
        text = editor.test_selected()
        assert "✘ size_above = '100000'" in text and "bytes" in text

        # "Show Messages Touched": searches rule:NAME in the main window; the sink
        # logged the stored-stage rule that fired on the message
        assert [e.rule for e in mailbox.rule_log(message_id)] == ["tag dan"]
        editor.rule_list.setCurrentRow(2)
        editor.touched_button.click()
        assert window.search.text() == 'rule:"tag dan"'
        await wait_for(lambda: window.model.rowCount() == 1)
        editor.rule_list.setCurrentRow(0)
        editor.touched_button.click()
        assert window.search.text() == 'rule:"bob is unknown"'  # quoted: it has spaces
        await wait_for(lambda: window.model.rowCount() == 0)

        # the list's context menu offers the rules of the message's log
        window.search.setText("")
        window.search.flush()
        await wait_for(lambda: window.model.rowCount() == 1)
        window.message_list.select_row(0)
        menu = window.rules_ui.touched_menu(None, message_id)
        assert menu is not None and [a.text() for a in menu.actions()] == ["tag dan"]
        menu.actions()[0].trigger()
        assert window.search.text() == 'rule:"tag dan"'
        menu.deleteLater()

        # closing with an unsaved edit asks; Cancel keeps it, Discard drops it
        assert editor.dirty
        editor.close()
        box = editor.unsaved_box
        assert box is not None and box.isVisible() and editor.isVisible()
        box.button(QMessageBox.StandardButton.Cancel).click()
        await wait_for(lambda: editor.unsaved_box is None)
        assert editor.isVisible() and editor.dirty
        editor.close()
        editor.unsaved_box.button(QMessageBox.StandardButton.Discard).click()
        await wait_for(lambda: not editor.isVisible())
        assert not editor.dirty
        assert "bob@*" in editor.drafts()[0].text  # the edit is gone
        assert gui.sink.rules.status()[0].rule.when.rcpt == "bob@*"  # never applied

    run_app(qapp, gui, scenario, require_sink=True)


def test_settings_add_a_listener_with_a_default_mailbox(qapp, mailbox, make_gui):
    gui = make_gui()
    window = gui.window

    async def scenario():
        port = free_port()
        dialog = window.open_settings()
        dialog.extra_listeners.setText(f"127.0.0.1:{port}=projectC")
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert ("smtp", "127.0.0.1", port, "projectC") in gui.sink.details
        assert gui.prefs.extra_listeners == f"127.0.0.1:{port}=projectC"
        assert "→ projectC" in window.listener_label.text()
        await send(port, "to C")
        await wait_for(lambda: window.sidebar.mailboxes.get("projectC") == (1, 1))
        # a port taken twice is refused in the dialog itself
        dialog = window.open_settings()
        dialog.extra_listeners.setText(f":{port}=x, :{port}=y")
        assert dialog.validate() == "Two listeners cannot share a port."
        dialog.reject()

    run_app(qapp, gui, scenario, require_sink=True)
