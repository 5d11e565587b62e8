"""Several SMTP listeners, each with a default mailbox: ``--smtp HOST:PORT=MAILBOX``.

Parsing (good and bad forms), the options -> ``SinkConfig`` step, the real
sink on port 0 storing into each listener's mailbox (and the ``listener``
rule condition seeing the name), and ``serve`` printing one line per
listener.
"""

from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import sys

import pytest
from smtp_helpers import HOST, catching_server, make_message

from mailcatcher_gui.core.options import ConfigError, sink_config_from_args
from mailcatcher_gui.core.rules import Reply, Route, Rule
from mailcatcher_gui.core.smtp import (
    SinkStartError,
    SmtpListener,
    format_listener,
    parse_listener,
)
from mailcatcher_gui.core.smtp.config import parse_listeners


@pytest.mark.parametrize(
    ("text", "address", "mailbox"),
    [
        ("127.0.0.1:1025", ("127.0.0.1", 1025), None),
        (":1026=projectB", ("127.0.0.1", 1026), "projectB"),
        ("[::1]:1027=a.b-c_d", ("::1", 1027), "a.b-c_d"),
        ("1028= spaced-trim ", ("127.0.0.1", 1028), "spaced-trim"),
    ],
)
def test_parse_listener_forms(text, address, mailbox):
    spec = parse_listener(text)
    assert spec == SmtpListener(address, mailbox)
    assert spec.name == (mailbox or "smtp")
    assert parse_listener(format_listener(spec)) == spec


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (":1026=", "empty mailbox name"),
        (":1026=two words", "invalid mailbox name"),
        (':1026=say"', "invalid mailbox name"),
        (":1026=" + "x" * 65, "at most 64"),
        ("nonsense=projectB", "missing port"),
    ],
)
def test_parse_listener_refuses_bad_forms(text, problem):
    with pytest.raises(ValueError, match=problem):
        parse_listener(text)


def test_parse_listeners_takes_commas_and_spaces():
    assert [s.mailbox for s in parse_listeners(":1026=a, :1027=b :1028")] == ["a", "b", None]
    assert parse_listeners("  ") == ()


def test_sink_config_from_args_several_listeners(tmp_path, monkeypatch):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    args = argparse.Namespace(smtp=["127.0.0.1:1025", ":1026=projectB", ":1027=projectC"])
    config = sink_config_from_args(args)
    assert config.smtp == ("127.0.0.1", 1025) and config.smtp_mailbox is None
    assert [(s.address[1], s.mailbox) for s in config.smtp_listeners()] == [
        (1025, None),
        (1026, "projectB"),
        (1027, "projectC"),
    ]
    one = sink_config_from_args(argparse.Namespace(smtp=None))
    assert one.smtp == ("127.0.0.1", 1025) and one.extra_smtp == ()
    with pytest.raises(ConfigError, match="given twice"):
        sink_config_from_args(argparse.Namespace(smtp=[":1025", "127.0.0.1:1025=x"]))


def _send(port: int, rcpt: str = "dev@example.com", subject: str = "Hello") -> dict:
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        return client.sendmail("app@example.com", [rcpt], make_message(subject))


def test_two_listeners_store_into_their_mailboxes(tmp_path):
    extra = (SmtpListener((HOST, 0), "projectA"), SmtpListener((HOST, 0), "projectB"))
    with catching_server(tmp_path, extra_smtp=extra) as srv:
        ports = {m: p for _k, _h, p, m in srv.sink.details}
        assert set(ports) == {None, "projectA", "projectB"}
        _send(ports[None], subject="plain")
        _send(ports["projectA"], subject="for A")
        _send(ports["projectB"], subject="for B one")
        _send(ports["projectB"], subject="for B two")
        mb = srv.mailbox
        assert mb.mailboxes() == {"": (1, 1), "projectA": (1, 1), "projectB": (2, 2)}
        subjects = {s.subject: s.mailbox for s in mb.list()}
        assert subjects == {
            "plain": "",
            "for A": "projectA",
            "for B one": "projectB",
            "for B two": "projectB",
        }
        # search within a mailbox, and combined with other terms
        assert mb.count("mailbox:projectB") == 2
        assert mb.count("mailbox:projectB subject:two") == 1
        assert mb.count("mailbox:inbox") == 1


def test_listener_condition_sees_each_listeners_name(tmp_path):
    extra = (SmtpListener((HOST, 0), "projectB"),)
    with catching_server(tmp_path, extra_smtp=extra) as srv:
        srv.sink.rules.add(Rule.make("B is down", "rcpt", Reply(451), listener="projectB"))
        ports = {m: p for _k, _h, p, m in srv.sink.details}
        assert _send(ports[None]) == {}  # the plain listener is "smtp": not refused
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            _send(ports["projectB"])
        assert srv.mailbox.mailboxes() == {"": (1, 1)}


def test_two_listeners_on_one_port_fail_clearly(tmp_path):
    with catching_server(tmp_path) as srv:
        taken = srv.port
        with (
            pytest.raises(SinkStartError, match=f"port {taken}"),
            catching_server(tmp_path / "b", extra_smtp=(SmtpListener((HOST, taken), "x"),)),
        ):
            pass


def test_serve_prints_one_line_per_listener(tmp_path):
    env = dict(os.environ, MAILCATCHER_GUI_HOME=str(tmp_path), PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mailcatcher_gui",
            "serve",
            "--http",
            "none",
            "--smtp",
            "127.0.0.1:0",
            "--smtp",
            "127.0.0.1:0=projectB",
            "--db",
            str(tmp_path / "m.db"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().decode()
        second = proc.stdout.readline().decode()
        assert first.startswith("SMTP listening on 127.0.0.1:") and "(mailbox" not in first
        assert second.startswith("SMTP listening on 127.0.0.1:")
        assert second.rstrip().endswith("(mailbox projectB)")
        port = int(second.split(":")[1].split()[0])
        _send(port, subject="via B")
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_a_rules_mailbox_action_wins_over_the_listeners_default(tmp_path):
    extra = (SmtpListener((HOST, 0), "projectB"),)
    with catching_server(tmp_path, extra_smtp=extra) as srv:
        srv.sink.rules.add(Rule.make("urgent", "stored", Route("urgent"), rcpt="ops@*"))
        srv.sink.rules.add(Rule.make("back", "stored", Route("Inbox"), rcpt="back@*"))
        ports = {m: p for _k, _h, p, m in srv.sink.details}
        _send(ports["projectB"], rcpt="ops@example.com", subject="routed by the rule")
        _send(ports["projectB"], rcpt="dev@example.com", subject="listener default")
        _send(ports["projectB"], rcpt="back@example.com", subject="routed to the Inbox")
        where = {s.subject: s.mailbox for s in srv.mailbox.list()}
        assert where == {
            "routed by the rule": "urgent",
            "listener default": "projectB",
            "routed to the Inbox": "",  # an explicit "Inbox" route wins too
        }


def test_saved_extra_listeners_apply_unless_smtp_is_typed(tmp_path, monkeypatch):
    from mailcatcher_gui.ui.window.listener_prefs import initial_config, prefs_for_config
    from mailcatcher_gui.ui.window.settings import Preferences

    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    prefs = Preferences(smtp_port=2025, extra_listeners=":2026=projectB, :2027")
    config, _ = initial_config(argparse.Namespace(smtp=None), prefs)
    assert config.smtp == ("127.0.0.1", 2025)
    assert [(s.address[1], s.mailbox) for s in config.extra_smtp] == [
        (2026, "projectB"),
        (2027, None),
    ]
    shown = prefs_for_config(Preferences(), config, 0)
    assert shown.extra_listeners == "127.0.0.1:2026=projectB, 127.0.0.1:2027"
    # typed on the command line: every listener comes from there
    typed, _ = initial_config(argparse.Namespace(smtp=[":3025=a", ":3026"]), prefs)
    assert typed.smtp == ("127.0.0.1", 3025) and typed.smtp_mailbox == "a"
    assert [s.address[1] for s in typed.extra_smtp] == [3026]
    # a hand-broken saved value keeps the running listeners (and says so in the log)
    broken, _ = initial_config(argparse.Namespace(smtp=None), Preferences(extra_listeners=":x"))
    assert broken.extra_smtp == ()
