"""A sink password from the command line, the environment or a file never
reaches the settings file (issue 10 item 23's follow-up).

The window starts with ``--auth alice --auth-password-env VAR`` (parsed by the
real CLI parser), the user saves Settings, and the settings file is read back:
the mode and the user are there, the secret is not -- while the running sink
still requires it, also after a listener restart. The positive control shows
that a password typed into Settings *is* saved, so the file check can fail.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from dataclasses import replace

import pytest
from gui_helpers import run_app, wait_for
from smtp_helpers import HOST, free_port, shared_cert_dir

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.cli import build_parser
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.smtp.auth import AuthMode, AuthSetting
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.listener_prefs import (
    initial_config,
    listener_config,
    prefs_for_config,
)
from mailcatcher_gui.ui.window.settings import AppSettings, Preferences

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]

SECRET = "s3cret-from-the-environment"
TYPED = "typed-into-settings"


def _args(*argv: str):
    args = build_parser().parse_args(["gui", *argv])
    return args


def _login(port: int, user: str, password: str) -> bool:
    with smtplib.SMTP(HOST, port, timeout=30) as client:
        client.ehlo("test")
        try:
            client.login(user, password)
        except smtplib.SMTPAuthenticationError:
            return False
        return True


@pytest.fixture
def env_password_gui(qapp, mailbox, tmp_path, monkeypatch):
    monkeypatch.setenv("SINK_PW", SECRET)
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    args = _args(
        "--smtp", f"{HOST}:{free_port()}", "--auth", "alice", "--auth-password-env", "SINK_PW"
    )
    config, _retention = initial_config(args, settings.preferences())
    config = replace(config, cert_dir=shared_cert_dir())
    assert config.auth == AuthMode("required", "alice", SECRET)
    gui = build_gui(qapp, mailbox, config, settings, view=MessageView(web_engine=False))
    yield gui
    gui.close()


def _saved_text(gui) -> str:
    gui.settings.sync()
    return gui.settings.path.read_text(encoding="utf-8")


def test_saving_settings_keeps_an_environment_password_out_of_the_file(qapp, env_password_gui):
    gui = env_password_gui
    window = gui.window
    assert SECRET not in gui.prefs.auth and gui.prefs.auth == "alice"

    async def scenario():
        port = gui.sink.port()
        assert await asyncio.to_thread(_login, port, "alice", SECRET)
        assert not await asyncio.to_thread(_login, port, "alice", "wrong")

        dialog = window.open_settings()
        assert dialog.auth_kind.currentData() == "required"
        assert dialog.auth_user.text() == "alice" and dialog.auth_password.text() == ""
        dialog.retention.setValue(321)  # an unrelated change, then OK
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        text = _saved_text(gui)
        assert "321" in text  # it was saved ...
        assert SECRET not in text  # ... without the secret
        saved = AppSettings.at(gui.settings.path).preferences()
        assert AuthSetting.parse(saved.auth) == AuthSetting("required", "alice")
        assert gui.sink.port() == port  # nothing restarted, the secret still works
        assert await asyncio.to_thread(_login, port, "alice", SECRET)

        # A listener restart (new port) keeps the in-memory secret.
        moved = free_port()
        dialog = window.open_settings()
        dialog.smtp_port.setValue(moved)
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert gui.sink.port() == moved
        assert await asyncio.to_thread(_login, moved, "alice", SECRET)
        assert not await asyncio.to_thread(_login, moved, "alice", "wrong")
        assert SECRET not in _saved_text(gui)
        assert gui.config.auth == AuthMode("required", "alice", SECRET)

    run_app(qapp, gui, scenario, require_sink=True)


def test_a_password_typed_into_settings_is_saved(qapp, env_password_gui):
    """The positive control: the file check above would see a saved password."""
    gui = env_password_gui
    window = gui.window

    async def scenario():
        port = gui.sink.port()
        dialog = window.open_settings()
        dialog.auth_password.setText(TYPED)
        dialog.accept()
        await wait_for(lambda: window.settings_dialog is None, timeout=10)
        assert TYPED in _saved_text(gui) and SECRET not in _saved_text(gui)
        assert gui.sink.port() == port
        assert await asyncio.to_thread(_login, port, "alice", TYPED)
        assert not await asyncio.to_thread(_login, port, "alice", SECRET)

    run_app(qapp, gui, scenario, require_sink=True)


def test_the_dialog_refuses_a_new_user_without_a_password(qapp, env_password_gui):
    """Only the command line's user may keep the in-memory password."""
    dialog = env_password_gui.window.open_settings()
    assert dialog.validate() is None  # unchanged: fine
    dialog.auth_user.setText("bob")
    assert dialog.validate() == "Required AUTH needs both a user name and a password."
    dialog.reject()


@pytest.mark.parametrize(
    "argv",
    [
        ("--auth", f"alice:{SECRET}"),
        ("--auth", "alice", "--auth-password-file", "{file}"),
    ],
)
def test_no_command_line_password_reaches_the_preferences(tmp_path, argv):
    secret_file = tmp_path / "pw"
    secret_file.write_text(SECRET + "\n")
    args = _args(*(a.format(file=secret_file) for a in argv))
    config, retention = initial_config(args, Preferences())
    assert config.auth == AuthMode("required", "alice", SECRET)
    prefs = prefs_for_config(Preferences(), config, retention)
    assert prefs.auth == "alice"
    assert listener_config(config, prefs) == config  # confirming Settings changes nothing


def test_a_saved_password_that_runs_stays_saved():
    """Settings' own password (typed there earlier) is the running one: kept as it is."""
    saved = Preferences(auth=f"alice:{TYPED}")
    config = listener_config(SinkConfig(), saved)
    assert config.auth == AuthMode("required", "alice", TYPED)
    assert prefs_for_config(saved, config, 0).auth == f"alice:{TYPED}"


def test_next_session_without_the_password_warns_and_keeps_the_command_line_auth(caplog):
    """Saved ``alice`` (bare) and no password this time: AUTH cannot be required."""
    caplog.set_level(logging.WARNING)
    config, _ = initial_config(_args(), Preferences(auth="alice"))
    assert config.auth == AuthMode("any")
    warning = " ".join(r.getMessage() for r in caplog.records)
    assert "'alice'" in warning and "not saved" in warning and "--auth alice" in warning
    caplog.clear()
    # With the password given again, the saved user is required once more, quietly.
    config, _ = initial_config(_args("--auth", f"alice:{SECRET}"), Preferences(auth="alice"))
    assert config.auth == AuthMode("required", "alice", SECRET)
    assert not caplog.records
