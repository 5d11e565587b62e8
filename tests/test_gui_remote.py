"""The window as a client of a shared catcher: the real app over a real HTTP API.

The catcher is the API served in-process over a real SQLite Mailbox
(``api_helpers.running_api``); the window is the real ``GuiApp`` with its
own local mailbox and sink, switched to the catcher and back.
"""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from api_helpers import running_api
from gui_helpers import capture, fill_store, run_app, wait_for
from keyring.backend import KeyringBackend
from PySide6.QtWidgets import QInputDialog
from smtp_helpers import HOST, free_port, make_message, running_sink

from mailcatcher_gui.app import build_gui
from mailcatcher_gui.core.api.server import HttpConfig
from mailcatcher_gui.core.mailbox import Mailbox
from mailcatcher_gui.core.models import MessagesAdded
from mailcatcher_gui.core.remote import RemoteError, RemoteMailbox
from mailcatcher_gui.core.remote.credentials import CatcherCredentials
from mailcatcher_gui.core.sending.api import SendRequest, send
from mailcatcher_gui.core.sending.destinations import LOCAL_KEY, SINK_KEY
from mailcatcher_gui.core.sending.draft import RawMessage
from mailcatcher_gui.core.sending.profiles import RelayProfile
from mailcatcher_gui.core.sending.smtp import SmtpTransport
from mailcatcher_gui.core.smtp import SinkConfig
from mailcatcher_gui.core.store import Store
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.catcher_switcher import is_own_api
from mailcatcher_gui.ui.window.list_model import SummaryRole
from mailcatcher_gui.ui.window.settings import AppSettings

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]

#: the endpoint families a remote window uses
ROUTES = ("routes_messages", "routes_message", "routes_tags", "routes_app", "routes_events")
T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


class MemoryKeyring(KeyringBackend):
    """A working keyring backend kept in memory (this machine has no system keyring)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture
def make_gui(qapp, mailbox, tmp_path):
    made = []

    def make(keyring: KeyringBackend | None = None):
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        config = SinkConfig(smtp=(HOST, 0))
        gui = build_gui(qapp, mailbox, config, settings, view=MessageView(web_engine=False))
        if keyring is not None:
            gui.catchers.credentials = CatcherCredentials(keyring_backend=keyring)
        made.append(gui)
        return gui

    yield make
    for gui in made:
        gui.close()


def test_window_lists_opens_marks_and_deletes_on_the_catcher_and_goes_back(
    qapp, mailbox, make_gui, tmp_path
):
    (tmp_path / "catcher").mkdir()
    with running_api(tmp_path / "catcher", route_modules=ROUTES) as api:
        remote_ids = [
            api.deliver(make_message(f"remote {i}"), received_at=T0 + timedelta(seconds=i))
            for i in range(3)
        ]
        gui = make_gui()
        window = gui.window

        async def scenario():
            await wait_for(lambda: window.model.rowCount() == 0)
            assert not window.catcher.label.isVisible()
            gui.catchers.connect_to(api.url)
            assert isinstance(gui.shown.current, RemoteMailbox)
            await wait_for(lambda: window.model.rowCount() == 3)
            assert window.model.data(window.model.index(0, 3)) == "remote 2"
            assert window.catcher.label.isVisible() and api.url in window.catcher.label.text()
            assert window.catcher.back_button.isVisible()
            # Open: the raw message is fetched and parsed here; mark-read reaches the server.
            newest = remote_ids[-1]
            assert window.open_message(newest)
            assert window.shown_id == newest
            await wait_for(lambda: api.mailbox.summary(newest).read)
            # Delete from the window reaches the server and leaves the list.
            assert window.message_list.select_id(remote_ids[0], open_it=False)
            window.act_delete.trigger()
            await wait_for(lambda: window.model.rowCount() == 2)
            assert api.mailbox.count() == 2
            # The live events flow: no banner.
            await wait_for(lambda: gui.catchers.remote.connection.connected)
            assert not window.catcher.banner.isVisible()
            # One click back to the local mailbox (empty), no banner.
            window.catcher.back_button.click()
            await wait_for(lambda: window.model.rowCount() == 0)
            assert gui.shown.current is mailbox
            assert not window.catcher.label.isVisible()
            assert not window.catcher.banner.isVisible()
            await wait_for(lambda: window.total_count == 0)

        run_app(qapp, gui, scenario)


def test_a_catcher_that_cannot_be_reached_changes_nothing(qapp, mailbox, make_gui):
    gui = make_gui()
    port = free_port()

    async def scenario():
        with pytest.raises(RemoteError, match="refused"):
            gui.catchers.connect_to(f"http://{HOST}:{port}")
        assert gui.shown.current is mailbox
        assert not gui.window.catcher.label.isVisible()

    run_app(qapp, gui, scenario)


def test_connect_dialog_checks_the_form_reports_failures_and_keeps_the_password_in_the_keyring(
    qapp, mailbox, make_gui, tmp_path
):
    keyring = MemoryKeyring()
    (tmp_path / "catcher").mkdir()
    with running_api(tmp_path / "catcher", route_modules=ROUTES) as api:
        gui = make_gui(keyring)
        window = gui.window

        async def scenario():
            window.act_connect_catcher.trigger()
            dialog = gui.catchers.dialog
            assert dialog is not None and dialog.isVisible()
            assert dialog.remember.isEnabled()
            dialog.url.setText("ftp://nope")
            dialog.attempt()
            assert dialog.error.isVisible() and "http://" in dialog.error.text()
            dialog.url.setText(f"{HOST}:{free_port()}")
            dialog.attempt()
            # Checked on a worker thread: the window keeps turning meanwhile.
            assert dialog.connect_button.text() == "Connecting…"
            assert not dialog.connect_button.isEnabled()
            await wait_for(lambda: "cannot reach" in dialog.error.text())
            assert dialog.isVisible() and dialog.connect_button.isEnabled()
            assert gui.shown.current is mailbox
            dialog.url.setText(api.url + "/")
            dialog.username.setText("alice")
            dialog.password.setText("s3cret")
            dialog.attempt()
            await wait_for(lambda: gui.catchers.dialog is None)
            assert gui.catchers.showing_remote
            assert gui.shown.location == api.url
            service = CatcherCredentials.service(api.url)
            assert keyring.secrets == {(service, "alice"): "s3cret"}
            # The settings file never holds the password.
            gui.settings.sync()
            assert "s3cret" not in (tmp_path / "config" / "settings.ini").read_text()
            # Next time the form starts from the last catcher, password from the keyring.
            gui.catchers.back_to_local()
            again = gui.catchers.open_dialog()
            assert again.url.text() == api.url and again.username.text() == "alice"
            assert again.password.text() == "s3cret"
            again.reject()
            await wait_for(lambda: gui.catchers.dialog is None)

        run_app(qapp, gui, scenario)


def test_without_a_keyring_the_password_is_not_offered_for_keeping(qapp, make_gui):
    from keyring.backends import fail

    gui = make_gui(fail.Keyring())

    async def scenario():
        dialog = gui.catchers.open_dialog()
        assert not dialog.remember.isEnabled() and not dialog.remember.isChecked()
        dialog.reject()

    run_app(qapp, gui, scenario)


def test_a_catcher_gone_away_gives_status_messages_not_crashes(qapp, mailbox, make_gui, tmp_path):
    gui = make_gui()
    window = gui.window
    (tmp_path / "catcher").mkdir()
    api_cm = running_api(tmp_path / "catcher", route_modules=ROUTES)
    api = api_cm.__enter__()
    try:
        ids = [api.deliver(make_message(f"soon gone {i}")) for i in range(2)]
    except BaseException:
        api_cm.__exit__(None, None, None)
        raise

    async def scenario():
        try:
            gui.catchers.connect_to(api.url)
            await wait_for(lambda: window.model.rowCount() == 2)
            assert window.open_message(ids[0])  # its raw bytes are now cached
        finally:
            api_cm.__exit__(None, None, None)
        # The catcher went away while shown: every action says why in the status bar.
        assert not window.open_message(ids[1])
        assert "Cannot open the message" in window.statusBar().currentMessage()
        assert "cannot reach the catcher" in window.statusBar().currentMessage()
        assert window.message_list.select_id(ids[1], open_it=False)
        window.act_delete.trigger()
        assert "Cannot delete" in window.statusBar().currentMessage()
        window.act_mark_unread.trigger()
        assert "Cannot mark" in window.statusBar().currentMessage()
        window.tags.add_tag([ids[1]], "later")
        assert "Cannot tag" in window.statusBar().currentMessage()
        window.tags.remove_tag([ids[1]], "later")
        assert "Cannot remove the tag" in window.statusBar().currentMessage()
        assert not window.apply_search("soon")
        assert "cannot reach" in window.message_list.error_label.text()
        # The message already opened opens again from the cache (the flag cannot be set).
        assert window.open_message(ids[0])
        assert "Cannot mark the message read" in window.statusBar().currentMessage()
        await wait_for(lambda: window.catcher.banner.isVisible())
        window.catcher.back_button.click()
        assert gui.shown.current is mailbox
        assert window.apply_search("")

    run_app(qapp, gui, scenario)


def test_sending_still_lands_in_this_apps_mailbox_while_a_catcher_is_shown(
    qapp, mailbox, make_gui, tmp_path
):
    (tmp_path / "catcher").mkdir()
    with running_api(tmp_path / "catcher", route_modules=ROUTES) as api:
        api.deliver(make_message("on the catcher"))
        gui = make_gui()
        window = gui.window

        async def scenario():
            gui.catchers.connect_to(api.url)
            await wait_for(lambda: window.model.rowCount() == 1)
            destinations = gui.composer.destinations
            # Through this app's sink (SMTP) and its mailbox (local transport).
            for key in (SINK_KEY, LOCAL_KEY):
                raw = make_message(f"sent via {key}")
                report = await send(
                    SendRequest(
                        RawMessage(raw, "me@example.com", ("you@example.com",)),
                        destinations.transport_for(key),
                    )
                )
                assert report.failure is None, report.failure
            await wait_for(lambda: mailbox.count() == 2)
            assert api.mailbox.count() == 1  # the catcher got nothing
            assert window.model.rowCount() == 1
            window.catcher.back_button.click()
            await wait_for(lambda: window.model.rowCount() == 2)

        run_app(qapp, gui, scenario, require_sink=True)


def test_an_empty_messages_added_makes_the_list_re_read_and_keeps_the_view(
    qapp, qtbot, mailbox, make_gui
):
    """What a remote catcher sends after a reconnect: re-read, nothing deleted."""
    gui = make_gui()
    window = gui.window
    got: list[tuple] = []
    gui.bridge.messagesAdded.connect(lambda s: got.append(tuple(s)))
    first = mailbox.accept_sync(capture(1))
    qtbot.waitUntil(lambda: window.model.rowCount() == 1)
    assert window.open_message(first)
    fill_store(mailbox.store, 3)  # stored behind the events' back
    assert window.model.rowCount() == 1
    gui.bridge._on_event(MessagesAdded(()))  # as the mailbox would call it
    qtbot.waitUntil(lambda: window.model.rowCount() == 4)
    assert got[-1] == ()
    assert window.shown_id == first
    # Without an empty one, nothing extra is emitted (the merge still works).
    got.clear()
    second = mailbox.accept_sync(capture(2))
    qtbot.waitUntil(lambda: window.model.rowCount() == 5)
    assert [[s.id for s in batch] for batch in got] == [[second]]


def test_tags_set_in_the_window_reach_the_catcher_and_show_in_list_and_sidebar(
    qapp, mailbox, make_gui, tmp_path
):
    (tmp_path / "catcher").mkdir()
    with running_api(tmp_path / "catcher", route_modules=ROUTES) as api:
        mid = api.deliver(make_message("to tag"))
        gui = make_gui()
        window = gui.window

        async def scenario():
            gui.catchers.connect_to(api.url)
            await wait_for(lambda: window.model.rowCount() == 1)
            window.tags.add_tag([mid], "Urgent")
            assert api.mailbox.summary(mid).tags == ("Urgent",)
            row = window.model.index(0, 0).data(SummaryRole)
            await wait_for(lambda: window.model.index(0, 0).data(SummaryRole).tags == ("Urgent",))
            assert row is not None
            await wait_for(lambda: window.sidebar._tags == {"Urgent": 1})
            # Someone else tags it on the server: the list follows live.
            api.mailbox.add_tags([mid], ["second"])
            await wait_for(
                lambda: window.model.index(0, 0).data(SummaryRole).tags == ("second", "Urgent")
            )

        run_app(qapp, gui, scenario)


def test_release_on_the_catcher_uses_its_relay_and_says_how_it_went(
    qapp, mailbox, make_gui, tmp_path
):
    relay_box = Mailbox(Store(tmp_path / "relay.sqlite3"))
    (tmp_path / "catcher").mkdir()
    try:
        with running_sink(relay_box) as relay:
            profile = RelayProfile(name="relay", host=HOST, port=relay.port, helo_name="t.test")
            with running_api(
                tmp_path / "catcher",
                route_modules=(*ROUTES, "routes_send"),
                relay_transport=lambda: SmtpTransport(profile),
            ) as api:
                raw = make_message("release me")
                mid = api.deliver(raw)
                gui = make_gui()
                window = gui.window
                action = gui.catchers.release_action

                async def scenario():
                    assert action is not None and not action.isEnabled()  # local shown
                    assert action in window.menuBar().actions()[2].menu().actions()
                    gui.catchers.connect_to(api.url)
                    assert action.isEnabled()
                    await wait_for(lambda: window.model.rowCount() == 1)
                    assert window.message_list.select_id(mid, open_it=False)
                    action.trigger()
                    dialog = window.findChild(QInputDialog)
                    assert dialog is not None and dialog.isVisible()
                    dialog.setTextValue("dest@example.com")
                    dialog.accept()
                    await wait_for(lambda: relay_box.count() == 1)
                    [got] = relay_box.list()
                    assert relay_box.raw(got.id) == raw
                    assert got.envelope_to == ("dest@example.com",)
                    assert "released 1 message" in window.statusBar().currentMessage()
                    assert not gui.catchers.release_on_catcher([mid], ["not an address"])
                    assert "did not release" in window.statusBar().currentMessage()
                    window.catcher.back_button.click()
                    assert not action.isEnabled()

                run_app(qapp, gui, scenario)
    finally:
        relay_box.close()


def test_connecting_to_this_apps_own_http_api_is_refused_at_once(qapp, mailbox, tmp_path):
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    gui = build_gui(
        qapp,
        mailbox,
        SinkConfig(smtp=(HOST, 0)),
        settings,
        view=MessageView(web_engine=False),
        http=HttpConfig(host=HOST, port=0),
    )

    async def scenario():
        await wait_for(lambda: gui.api.running is not None)
        port = gui.api.running.port
        started = time.monotonic()
        for url in (f"http://{HOST}:{port}", f"http://localhost:{port}"):
            with pytest.raises(RemoteError, match="own HTTP API"):
                gui.catchers.connect_to(url)
        assert time.monotonic() - started < 1  # refused, not a timeout
        assert gui.shown.current is mailbox

    try:
        run_app(qapp, gui, scenario)
    finally:
        gui.close()


def test_own_api_detection_matches_port_and_host() -> None:
    listeners = [("http", "127.0.0.1", 8025)]
    assert is_own_api("http://127.0.0.1:8025", listeners)
    assert is_own_api("http://localhost:8025", listeners)
    assert is_own_api("http://[::1]:8025", listeners)
    assert not is_own_api("http://127.0.0.1:8026", listeners)
    assert not is_own_api("http://catcher.example:8025", listeners)
    assert is_own_api("http://catcher.example:8025", [("http", "0.0.0.0", 8025)])
    assert not is_own_api("http://127.0.0.1:8025", [])


class _SlowCatcher(http.server.BaseHTTPRequestHandler):
    """Answers a one-row list after half a second."""

    def do_GET(self) -> None:  # noqa: N802 - http.server API
        time.sleep(0.5)
        body = b'{"total": 0, "unread": 0, "messages": []}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_closing_the_dialog_while_it_checks_connects_nothing(qapp, mailbox, make_gui):
    server = http.server.ThreadingHTTPServer((HOST, 0), _SlowCatcher)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gui = make_gui()

    async def scenario():
        dialog = gui.catchers.open_dialog()
        dialog.url.setText(f"http://{HOST}:{server.server_address[1]}")
        dialog.attempt()
        assert dialog.connect_button.text() == "Connecting…"
        dialog.reject()
        await asyncio.sleep(1.0)  # the check finishes after the user gave up
        assert gui.shown.current is mailbox and not gui.catchers.showing_remote
        assert not gui.window.catcher.label.isVisible()

    try:
        run_app(qapp, gui, scenario)
    finally:
        server.shutdown()
        server.server_close()


def test_the_dialog_warns_when_a_password_would_cross_the_network_in_clear(qapp, make_gui):
    gui = make_gui()

    async def scenario():
        dialog = gui.catchers.open_dialog()
        dialog.url.setText("http://catcher.example:8025")
        assert not dialog.plain_warning.isVisible()  # no password yet
        dialog.password.setText("pw")
        assert dialog.plain_warning.isVisible()
        for safe in ("https://catcher.example:8025", "http://127.0.0.1:8025", "localhost:8025"):
            dialog.url.setText(safe)
            assert not dialog.plain_warning.isVisible(), safe
        dialog.reject()

    run_app(qapp, gui, scenario)


def test_import_while_a_catcher_is_shown_says_why_it_cannot_and_export_works(
    qapp, qtbot, mailbox, make_gui, tmp_path
):
    (tmp_path / "catcher").mkdir()
    eml = tmp_path / "one.eml"
    eml.write_bytes(make_message("from a file"))
    with running_api(tmp_path / "catcher", route_modules=ROUTES) as api:
        mid = api.deliver(make_message("exported"))
        gui = make_gui()
        window = gui.window
        results = []
        window.jobFinished.connect(results.append)

        async def scenario():
            gui.catchers.connect_to(api.url)
            await wait_for(lambda: window.model.rowCount() == 1)
            window.import_paths([eml], progress=False)
            await wait_for(lambda: len(results) == 1)
            assert results[0].done == 0
            assert any("cannot import into the catcher" in e for e in results[0].errors)
            assert api.mailbox.count() == 1 and mailbox.count() == 0
            window.export_ids("mbox", [mid], tmp_path / "out.mbox", progress=False)
            await wait_for(lambda: len(results) == 2)
            assert results[1].done == 1, results[1]
            assert b"exported" in (tmp_path / "out.mbox").read_bytes()

        run_app(qapp, gui, scenario)
