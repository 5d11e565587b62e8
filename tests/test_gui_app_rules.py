"""The window's composition root keeps ONE RuleSet and outbox: they survive a sink
restart, and the HTTP API changes the rules the sink uses."""

from __future__ import annotations

import aiohttp
import aiosmtplib
import pytest
from gui_helpers import run_app, wait_for
from smtp_helpers import HOST, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.api.server import HttpConfig
from mailcatcher_gui.core.rules import Reply, Rule
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def config() -> SinkConfig:
    return SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir())


async def mail_code(port: int) -> int:
    client = aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False, timeout=10)
    await client.connect()
    try:
        await client.ehlo()
        try:
            return (await client.mail("a@example.com")).code
        except aiosmtplib.SMTPSenderRefused as exc:
            return exc.code
    finally:
        client.close()


def test_rules_survive_a_sink_restart_and_the_api_changes_them(qapp, mailbox, tmp_path):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    gui = build_gui(
        qapp,
        mailbox,
        config(),
        settings,
        view=MessageView(web_engine=False),
        http=HttpConfig(host=HOST, port=0),
    )
    try:

        async def scenario():
            await wait_for(lambda: gui.sink is not None and gui.api.running is not None)
            assert gui.sink.rules is gui.rules and gui.sink.outbox is gui.outbox
            gui.rules.add(Rule.make("busy", "mail", Reply(451)))
            assert await mail_code(gui.sink.port()) == 451
            assert await gui.restart_sink(config())
            assert gui.sink.rules is gui.rules
            assert await mail_code(gui.sink.port()) == 451  # kept across the restart
            url = gui.api.running.url
            assert gui.outbox.api_base() == url  # webhooks link to the running API
            async with aiohttp.ClientSession() as http:
                async with http.put(f"{url}/api/v1/rules", json={"Rules": []}) as r:
                    assert r.status == 200
                assert await mail_code(gui.sink.port()) == 250
                body = {"Sender": {"ErrorCode": 421, "Probability": 100}}
                async with http.put(f"{url}/api/v1/chaos", json=body) as r:
                    assert r.status == 200
            assert await mail_code(gui.sink.port()) == 421

        run_app(qapp, gui, scenario)
    finally:
        gui.close()
