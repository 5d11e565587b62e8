"""``mailcatcher-gui rules list|check``: show and validate a rules file.

``check FILE`` prints one ``FILE:LINE: message`` line per problem (syntax
errors from ``tomllib``, schema errors with the line of the key or of the
rule's ``[[rule]]`` header) and exits 1, or says how many rules are fine.
``list [FILE]`` shows the rules in order, one line each (``--json`` for
scripts). Without FILE both use ``rules.toml`` in the config folder, the
file ``serve`` and the window load by default.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mailcatcher_gui.core import paths
from mailcatcher_gui.core.rules import (
    RULES_FILENAME,
    Rule,
    RulesFileError,
    load_rules_file,
)

from .common import EXIT_ERROR, EXIT_OK, PROG, CliError, out, out_json


def add_rules_parser(sub: Any) -> None:
    default = paths.config_dir() / RULES_FILENAME
    rules = sub.add_parser(
        "rules",
        help="show or validate a fault-injection rules file",
        description="Rules refuse, greylist, delay, drop or throttle SMTP at a stage, or tag "
        f"captured mail. The sink loads --rules FILE, or {default} if it exists.",
    )
    cmds = rules.add_subparsers(dest="rules_command", metavar="list|check", required=True)
    show = cmds.add_parser("list", help="list the rules of a file in order")
    show.add_argument("file", nargs="?", metavar="FILE", help=f"default: {default}")
    show.add_argument("--json", action="store_true", help="print JSON")
    show.set_defaults(handler=cmd_rules_list)
    check = cmds.add_parser("check", help="validate a rules file (one line per error)")
    check.add_argument("file", nargs="?", metavar="FILE", help=f"default: {default}")
    check.set_defaults(handler=cmd_rules_check)


def _path(args: argparse.Namespace) -> Path:
    return Path(args.file).expanduser() if args.file else paths.config_dir() / RULES_FILENAME


def _load(path: Path) -> list[Rule]:
    try:
        return load_rules_file(path)
    except OSError as exc:
        raise CliError(f"cannot read rules file {path}: {exc.strerror or exc}") from exc


def cmd_rules_check(args: argparse.Namespace) -> int:
    path = _path(args)
    try:
        rules = _load(path)
    except RulesFileError as exc:
        for line in exc.lines():
            print(f"{PROG}: error: {line}", file=sys.stderr)
        n = len(exc.errors)
        print(f"{path}: {n} error{'s' if n != 1 else ''}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    out(f"{path}: {len(rules)} rule{'s' if len(rules) != 1 else ''}, no errors")
    return EXIT_OK


def cmd_rules_list(args: argparse.Namespace) -> int:
    path = _path(args)
    try:
        rules = _load(path)
    except RulesFileError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        out_json([_to_json(r) for r in rules])
        return EXIT_OK
    if not rules:
        out(f"{path}: no rules")
    for number, rule in enumerate(rules, 1):
        out(describe_rule(number, rule))
    return EXIT_OK


def _conditions(rule: Rule) -> dict[str, Any]:
    when = rule.when
    shown = {name: getattr(when, name) for name in when.given() if name != "predicate"}
    if when.probability is not None:
        shown["seed"] = when.seed
    return shown


def describe_rule(number: int, rule: Rule) -> str:
    state = "on " if rule.enabled else "off"
    when = " ".join(f"{k}={v}" for k, v in _conditions(rule).items()) or "always"
    actions = "; ".join(a.describe() for a in rule.actions)
    return f"{number:>2}. [{state}] {rule.name!r} at {rule.stage.value}: when {when} -> {actions}"


def _to_json(rule: Rule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "enabled": rule.enabled,
        "stage": rule.stage.value,
        "when": _conditions(rule),
        "actions": [a.describe() for a in rule.actions],
    }
