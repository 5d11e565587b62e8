"""The rules file: schema, errors with their line, the CLI, loading and live reload."""

from __future__ import annotations

import asyncio
import json
import signal
import smtplib
import time

import pytest
from serve_process import start_serve
from smtp_helpers import HOST, catching_server, make_message, sink_config

from mailcatcher_gui.cli import main
from mailcatcher_gui.core.rules import (
    Delay,
    Drop,
    Greylist,
    MarkRead,
    Reply,
    Rule,
    RuleError,
    RuleSet,
    RulesFileError,
    Stage,
    Tag,
    Throttle,
    parse_rules,
)
from mailcatcher_gui.core.smtp import SinkStartError, start_sink

EVERY_ACTION = """\
# one rule per action
[[rule]]
name = "bob unknown"
stage = "rcpt"
rcpt = "bob@*"
reply = { code = 550, text = "5.1.1 no such user" }

[[rule]]
name = "greylist"
stage = "rcpt"
mail_from = "*@example.com"
greylist = { attempts = 2, window = 60 }

[[rule]]
name = "slow greeting"
stage = "connect"
client = "127.0.0.0/8"
delay_ms = 250

[[rule]]
name = "flaky"
stage = "data"
header = "X-Fault: drop"
drop = true

[[rule]]
name = "slow link"
stage = "mail"
listener = "smtp"
auth_user = "alice"
throttle = 5000
enabled = false

[[rule]]
name = "tag big"
stage = "stored"
size_above = 100000
tag = ["big", "check"]
mark_read = true

[[rule]]
name = "coin"
stage = "mail"
probability = 0.25
seed = 7
every = 2
first = 10
reply = 421
"""


def test_every_action_and_condition_parses():
    rules = parse_rules(EVERY_ACTION)
    assert [r.name for r in rules] == [
        "bob unknown",
        "greylist",
        "slow greeting",
        "flaky",
        "slow link",
        "tag big",
        "coin",
    ]
    assert rules[0].stage is Stage.RCPT and rules[0].actions == (Reply(550, "5.1.1 no such user"),)
    assert rules[0].when.rcpt == "bob@*"
    assert rules[1].actions == (Greylist(attempts=2, window=60.0),)
    assert rules[2].actions == (Delay(250),) and rules[2].when.client == "127.0.0.0/8"
    assert rules[3].actions == (Drop(),) and rules[3].when.header == "X-Fault: drop"
    assert rules[4].actions == (Throttle(5000),) and not rules[4].enabled
    assert rules[4].when.auth_user == "alice" and rules[4].when.listener == "smtp"
    assert rules[5].actions == (Tag(("big", "check")), MarkRead())
    assert rules[6].actions == (Reply(421),)
    assert (rules[6].when.probability, rules[6].when.seed) == (0.25, 7)
    RuleSet(rules)  # and they all compile


def _errors(text: str) -> list[str]:
    with pytest.raises(RulesFileError) as info:
        parse_rules(text, "r.toml")
    return info.value.lines()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[rule]]\nname = "a"\nstage = rcpt\n', "r.toml:3: TOML syntax: Invalid value"),
        (
            '[[rule]]\nname = "a"\nstage = "rcpt"\nrcpt = "b*"\ndrpo = true\n',
            "r.toml:5: rule \"a\": unknown key 'drpo' (did you mean 'drop'?)",
        ),
        (
            '\n\n[[rule]]\nname = "a"\nstage = "later"\ndrop = true\n',
            "r.toml:5: rule \"a\": unknown stage 'later'",
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\ndelay_ms = "5"\n',
            'r.toml:4: rule "a": delay_ms must be a whole number',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\nheader = "X: y"\ndrop = true\n',
            'r.toml:4: rule "a": header is not known at stage mail; use it at data or stored',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "rcpt"\nreply = { code = 250 }\n',
            'r.toml:4: rule "a": reply code 250 is not 4xx/5xx',
        ),
        ('[[rule]]\nname = "a"\nstage = "rcpt"\n\n', 'r.toml:1: rule "a": no action'),
        ('[[rule]]\nstage = "rcpt"\ndrop = true\n', 'r.toml:1: a rule needs name = "..."'),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\nmail_from = "/(/"\ndrop = true\n',
            'r.toml:4: rule "a": mail_from: invalid regular expression',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\nclient = "10.0.0.0/33"\ndrop = true\n',
            'r.toml:4: rule "a": client: invalid network',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "data"\nthrottle = 10\n',
            'r.toml:4: rule "a": throttle at stage data comes after the message was read',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "rcpt"\nreply = 550\ndrop = true\n',
            'r.toml:1: rule "a": give at most one of reply, greylist and drop',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\ntag = "x"\n',
            'r.toml:4: rule "a": tag the message x acts on a stored message',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\nevery = 0\ndrop = true\n',
            'r.toml:4: rule "a": every must be a whole number >= 1',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "mail"\nprobability = 1.5\ndrop = true\n',
            'r.toml:4: rule "a": probability must be 0..1',
        ),
        (
            '[[rule]]\nname = "a"\nstage = "rcpt"\ngreylist = { tries = 2 }\n',
            "r.toml:4: rule \"a\": unknown greylist field 'tries'",
        ),
        ("rules = 1\n", "r.toml:1: unknown top-level key 'rules' (did you mean 'rule'?)"),
    ],
)
def test_a_bad_file_names_the_line(text, expected):
    lines = _errors(text)
    assert any(line.startswith(expected) for line in lines), lines


def test_every_problem_is_reported_at_once_with_its_own_line():
    text = (
        '[[rule]]\nname = "a"\nstage = "rcpt"\ndrop = true\n\n'
        '[[rule]]\nname = "a"\nstage = "mail"\ndrop = true\n\n'
        '[[rule]]\nname = "c"\nstage = "mail"\nnope = 1\ndelay_ms = -1\n'
    )
    lines = _errors(text)
    assert lines[0].startswith("r.toml:6: rule \"a\": a rule named 'a' already exists (line 1)")
    assert lines[1].startswith("r.toml:14: rule \"c\": unknown key 'nope'")
    assert len(lines) == 2  # the bad delay is not checked while the rule has a bad key


def test_the_python_api_validates_too():
    with pytest.raises(RuleError, match="auth_user is not known at stage auth"):
        RuleSet().add(Rule.make("x", "auth", Reply(535), auth_user="bob"))
    with pytest.raises(RuleError, match="unknown stage"):
        Rule.make("x", "quit", Drop())
    rules = RuleSet([Rule.make("ok", "rcpt", Drop())])
    with pytest.raises(RuleError):  # all or nothing: the good rules stay
        rules.replace_all([Rule.make("a", "rcpt", Drop()), Rule.make("b", "rcpt", Reply(200))])
    assert [s.rule.name for s in rules.status()] == ["ok"]


# ---------------------------------------------------------------- CLI


def test_cli_check_prints_one_line_per_error(tmp_path, capsys):
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rule]]\nname = "a"\nstage = "rcpt"\ndrpo = true\ndelay_ms = "x"\n')
    assert main(["rules", "check", str(bad)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"mailcatcher-gui: error: {bad}:4: rule \"a\": unknown key 'drpo' (did you mean 'drop'?)",
        f"mailcatcher-gui: error: {bad}:5: rule \"a\": delay_ms must be a whole number, not 'x'",
        f"{bad}: 2 errors",
    ]
    good = tmp_path / "good.toml"
    good.write_text(EVERY_ACTION)
    assert main(["rules", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: 7 rules, no errors\n"
    assert main(["rules", "check", str(tmp_path / "missing.toml")]) == 1
    assert "cannot read rules file" in capsys.readouterr().err


def test_cli_list_text_and_json(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "rules.toml").write_text(EVERY_ACTION)
    assert main(["rules", "list"]) == 0  # the default file in the config folder
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (
        " 1. [on ] 'bob unknown' at rcpt: when rcpt=bob@* -> reply 550 5.1.1 no such user"
    )
    assert out[4].startswith(" 5. [off] 'slow link' at mail:")
    assert len(out) == 7
    assert main(["rules", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data[1] == {
        "name": "greylist",
        "enabled": True,
        "stage": "rcpt",
        "when": {"mail_from": "*@example.com"},
        "actions": ["greylist (first 2 attempt(s), window 60 s)"],
    }


def test_serve_refuses_a_bad_rules_file_with_the_line(tmp_path, capsys):
    bad = tmp_path / "r.toml"
    bad.write_text('[[rule]]\nname = "a"\nstage = "rcpt"\nreply = { code = 250 }\n')
    assert (
        main(
            ["serve", "--smtp", "127.0.0.1:0", "--db", str(tmp_path / "m.db"), "--rules", str(bad)]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert f'{bad}:4: rule "a": reply code 250 is not 4xx/5xx' in err
    assert err.count("\n") == 1


# ---------------------------------------------------------------- the sink and the file


def test_start_sink_with_a_bad_rules_file_fails_clearly(tmp_path):
    bad = tmp_path / "r.toml"
    bad.write_text('[[rule]]\nname = "a"\n')

    async def run():
        await start_sink(sink_config(rules_file=bad), None)

    with pytest.raises(SinkStartError, match=r"r\.toml:1: rule \"a\": a rule needs stage"):
        asyncio.run(run())


def _mail_code(port):
    with smtplib.SMTP(HOST, port, timeout=10) as client:
        client.ehlo()
        return client.mail("alice@example.com")[0]


def test_the_file_is_loaded_and_reloaded_live(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "no"\nstage = "mail"\nreply = 451\n')
    with catching_server(tmp_path, rules_file=path) as srv:
        assert _mail_code(srv.port) == 451
        assert srv.sink.rules.source == str(path)
        path.write_text('[[rule]]\nname = "no"\nstage = "mail"\nreply = 552\n')
        deadline = time.monotonic() + 5
        while _mail_code(srv.port) != 552 and time.monotonic() < deadline:
            time.sleep(0.2)  # the watcher polls once a second
        assert _mail_code(srv.port) == 552
        # a broken edit keeps the running rules and says why, with the line
        path.write_text('[[rule]]\nname = "no"\nstage = "mail"\nreply = 200\n')
        assert srv.sink.rules_watcher.reload() is False
        assert _mail_code(srv.port) == 552
        assert f"{path}:4:" in srv.sink.rules.errors[-1]
        path.write_text("")
        assert srv.sink.rules_watcher.reload() is True
        assert _mail_code(srv.port) == 250


def test_serve_rules_option_and_sighup_reload(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nname = "bob"\nstage = "rcpt"\nrcpt = "bob@*"\nreply = 550\n')
    proc, port = start_serve(tmp_path, tmp_path / "serve.log", "--rules", str(path))
    try:
        with smtplib.SMTP(HOST, port, timeout=10) as client:
            refused = client.sendmail("a@example.com", ["bob@x.org", "ann@x.org"], make_message())
        assert list(refused) == ["bob@x.org"]
        path.write_text("")
        proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with smtplib.SMTP(HOST, port, timeout=10) as client:
                refused = client.sendmail("a@example.com", ["bob@x.org"], make_message())
            if not refused:
                break
            time.sleep(0.1)
        assert refused == {}
    except smtplib.SMTPRecipientsRefused:
        pytest.fail("bob is still refused after the reload")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)
    assert proc.returncode == 0


def test_window_and_serve_options_give_the_rules_file(tmp_path, monkeypatch):
    from argparse import Namespace

    from mailcatcher_gui.core.options import ConfigError, sink_config_from_args

    monkeypatch.setenv("MAILCATCHER_GUI_HOME", str(tmp_path))
    assert sink_config_from_args(Namespace()).rules_file is None  # no file, no rules
    default = tmp_path / "config" / "rules.toml"
    default.parent.mkdir()
    default.write_text(EVERY_ACTION)
    assert sink_config_from_args(Namespace()).rules_file == default
    other = tmp_path / "other.toml"
    other.write_text('[[rule]]\nname = "x"\nstage = "mail"\ndrop = 1\n')
    with pytest.raises(ConfigError, match=r"other\.toml:4: rule \"x\": drop must be true or false"):
        sink_config_from_args(Namespace(rules=str(other)))
    with pytest.raises(ConfigError, match="No such file"):
        sink_config_from_args(Namespace(rules=str(tmp_path / "missing.toml")))
