"""The checks' settings: saved in the preferences, edited in the Settings
dialog, validated there, and turned into ``CheckOptions`` by the app (the one
owner of preferences), which hands them to the viewer."""

from __future__ import annotations

import pytest
from smtp_helpers import HOST, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.checks_settings import (
    check_settings,
    checks_problem,
    parse_dkim_keys,
)
from mailcatcher_gui.ui.window.settings import AppSettings, Preferences, SettingsDialog

PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\n"
    b"-----END PUBLIC KEY-----\n"
)


def test_dkim_key_lines_are_parsed_and_bad_ones_named(tmp_path):
    text = (
        "# test keys\n"
        "\n"
        f"S1._DomainKey.Example.COM = {tmp_path / 'k1.pem'}\n"
        "nodomainkey.example.com=/x.pem\n"
        "k2._domainkey.example.org\n"
    )
    entries, problems = parse_dkim_keys(text)
    assert entries == [("s1._domainkey.example.com", tmp_path / "k1.pem")]
    assert problems == [
        "DKIM keys line 4: 'nodomainkey.example.com' is not SELECTOR._domainkey.DOMAIN",
        "DKIM keys line 5: expected SELECTOR._domainkey.DOMAIN=FILE",
    ]


def test_checks_problem_fires_and_stays_quiet(tmp_path):
    key = tmp_path / "k1.pem"
    key.write_bytes(PEM)
    assert checks_problem("", "") is None
    assert checks_problem("127.0.0.1:783", f"k1._domainkey.example.com={key}") is None
    assert checks_problem("spamd.local:7830", "") is None
    assert checks_problem("[::1]:783", "") is None
    assert checks_problem("unix:/run/spamd.sock", "") is None
    assert "needs a path" in (checks_problem("unix:", "") or "")
    assert "HOST:PORT" in (checks_problem("127.0.0.1", "") or "")
    assert "HOST:PORT" in (checks_problem("127.0.0.1:99999", "") or "")
    assert "does not exist" in (
        checks_problem("", f"k1._domainkey.example.com={tmp_path / 'missing.pem'}") or ""
    )
    assert "line 1" in (checks_problem("", "garbage") or "")


def test_preferences_become_check_options(tmp_path, caplog):
    key = tmp_path / "k1.pem"
    key.write_bytes(PEM)
    prefs = Preferences(
        spamassassin=" 127.0.0.1:783 ",
        checks_auto_links=True,
        checks_auto_spam=False,
        allow_local_links=True,
        dkim_dns=False,
        dkim_keys=f"k1._domainkey.example.com={key}\nk2._domainkey.example.com={tmp_path / 'gone'}",
    )
    settings = check_settings(prefs)
    assert settings.auto_links and not settings.auto_spam
    opts = settings.options
    assert opts.spamassassin == "127.0.0.1:783"
    assert opts.allow_local_links and not opts.resolve_dns
    assert opts.dkim_keys == {"k1._domainkey.example.com": PEM}  # the unreadable one is left out
    assert any("k2._domainkey.example.com" in r.getMessage() for r in caplog.records)
    empty = check_settings(Preferences())
    assert empty.options.spamassassin is None and empty.options.dkim_keys == {}
    assert empty.options.resolve_dns and not empty.auto_links and not empty.auto_spam


def test_check_preferences_survive_the_settings_file(tmp_path):
    settings = AppSettings.at(tmp_path / "settings.ini")
    prefs = Preferences(
        spamassassin="127.0.0.1:783",
        checks_auto_spam=True,
        dkim_dns=False,
        dkim_keys="a._domainkey.example.com=/k/a.pem\nb._domainkey.example.com=/k/b.pem",
    )
    settings.set_preferences(prefs)
    assert AppSettings.at(tmp_path / "settings.ini").preferences() == prefs


@pytest.mark.gui
def test_settings_dialog_edits_and_validates_the_checks(qtbot, tmp_path):
    dialog = SettingsDialog(Preferences())
    qtbot.addWidget(dialog)
    box = dialog.checks
    box.spamassassin.setText("localhost")
    assert "HOST:PORT" in (dialog.validate() or "")
    box.spamassassin.setText("localhost:783")
    box.dkim_keys.setPlainText(f"k._domainkey.example.com={tmp_path / 'nope.pem'}")
    assert "does not exist" in (dialog.validate() or "")
    (tmp_path / "nope.pem").write_bytes(PEM)
    assert dialog.validate() is None
    box.auto_links.setChecked(True)
    box.allow_local.setChecked(True)
    prefs = dialog.preferences()
    assert prefs.spamassassin == "localhost:783"
    assert prefs.checks_auto_links and not prefs.checks_auto_spam and prefs.allow_local_links
    assert prefs.dkim_keys == f"k._domainkey.example.com={tmp_path / 'nope.pem'}"
    # an unchanged listener: the check settings alone restart nothing
    assert not prefs.listener_differs(Preferences())


@pytest.mark.gui
@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")
def test_the_app_hands_check_settings_to_the_viewer(qapp, mailbox, tmp_path):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    settings.set_preferences(Preferences(spamassassin="127.0.0.1:7830", checks_auto_links=True))
    view = MessageView(web_engine=False)
    config = SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))
    gui = build_gui(qapp, mailbox, config, settings, view=view)
    try:
        assert view.checks.settings.options.spamassassin == "127.0.0.1:7830"
        assert view.checks.settings.auto_links
        gui.apply_preferences(
            Preferences(smtp_port=gui.prefs.smtp_port, spamassassin="", allow_local_links=True)
        )
        assert view.checks.settings.options.spamassassin is None
        assert view.checks.settings.options.allow_local_links
        assert not view.checks.settings.auto_links
    finally:
        gui.close()


@pytest.mark.gui
@pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$")
def test_the_windows_http_api_checks_with_the_settings_too(qapp, mailbox, store, tmp_path):
    """The window's API answers sa-check with the spamd from Settings, and a
    Settings change reaches the running API without a restart."""
    from dataclasses import replace

    import aiohttp
    from gui_helpers import fill_store, run_app, wait_for
    from smtp_helpers import free_port

    from mailcatcher_gui.core.api.server import HttpConfig

    fill_store(store, 1)
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    settings.set_preferences(Preferences(spamassassin=dead))
    view = MessageView(web_engine=False)
    config = SinkConfig(smtp=(HOST, 0), cert_dir=shared_cert_dir(), auth=AuthMode("any"))
    gui = build_gui(qapp, mailbox, config, settings, view=view, http=HttpConfig(port=0))
    assert gui.check_options.spamassassin == dead

    async def scenario():
        await wait_for(lambda: gui.api.running is not None)
        url = f"{gui.api.running.url}/api/v1/message/{mailbox.ids()[0]}/sa-check"
        async with aiohttp.ClientSession() as session:
            async with session.get(url) as reply:
                assert reply.status == 200
                body = await reply.json()
                assert body["Error"].startswith(f"cannot reach spamd at {dead}")
            gui.apply_preferences(replace(gui.prefs, spamassassin=""))
            async with session.get(url) as reply:
                assert reply.status == 400
                assert await reply.json() == {"Error": "no SpamAssassin service defined"}

    try:
        run_app(qapp, gui, scenario)
    finally:
        gui.close()


def test_the_cli_and_the_dialog_share_one_parser_for_keys_and_spamd() -> None:
    from pathlib import Path

    from mailcatcher_gui.core.checks.settings import parse_dkim_key, parse_spamd_address

    assert parse_dkim_key("S1._DomainKey.Example.COM.=~/k.pem") == (
        "s1._domainkey.example.com",
        Path("~/k.pem").expanduser(),
    )
    for bad in ("s1._domainkey.example.com", "s1._domainkey.example.com=", "example.com=k"):
        with pytest.raises(ValueError):
            parse_dkim_key(bad)
    assert parse_spamd_address(" 127.0.0.1:783 ") == "127.0.0.1:783"
    assert parse_spamd_address("[::1]:783") == "[::1]:783"
    assert parse_spamd_address("unix:/run/spamd.sock") == "unix:/run/spamd.sock"
    for bad in ("localhost", "host:0", "host:70000", "unix:"):
        with pytest.raises(ValueError):
            parse_spamd_address(bad)
