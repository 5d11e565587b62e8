"""The rules file (TOML, read with ``tomllib``): parsing, validation with line numbers.

Schema (the README's "Rules" section has an example per action)::

    [[rule]]
    name = "bob is unknown"      # required, unique
    stage = "rcpt"               # connect | ehlo | auth | mail | rcpt | data | stored
    enabled = true               # optional
    # conditions (all given must hold)
    mail_from = "*@example.com"  rcpt = "bob@*"  header = "X-Test: fail*"
    auth_user = "alice"  listener = "smtp"  client = "127.0.0.0/8"
    size_above = 1000  size_below = 100000
    first = 3  every = 2  probability = 0.25  seed = 7
    # actions
    reply = { code = 550, text = "5.1.1 no such user" }
    greylist = { attempts = 1, window = 60 }   # optional code, text
    delay_ms = 500   drop = true   throttle = 2000   # bytes/s
    tag = ["flaky"]  mark_read = true               # stage "stored"
    mailbox = "Orders"                               # stage "stored": route
    forward = "profile name"    # or { profile = "...", to = [...], attempts = 3,
                                #      backoff = 1.0 } or { host = "...", port = 25 }
    webhook = "https://hooks.example/mail"  # or { url = "...", attempts = 3,
                                            #      backoff = 1.0, timeout = 10 }

``tomllib`` reports syntax errors with a line; schema errors carry the line
of the key (or of the rule's ``[[rule]]`` header) found in the text, so
``rules check`` prints ``FILE:LINE: message`` for every problem at once.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .delivery_actions import Forward, Retry, Route, Webhook
from .model import (
    AfterCaptureAction,
    Conditions,
    Delay,
    Drop,
    Greylist,
    MarkRead,
    Reply,
    Rule,
    RuleError,
    SmtpAction,
    Stage,
    Tag,
    Throttle,
)

__all__ = [
    "ACTION_KEYS",
    "CONDITION_KEYS",
    "RULES_FILENAME",
    "RulesFileError",
    "load_rules_file",
    "parse_rules",
    "rules_from_tables",
]

RULES_FILENAME = "rules.toml"

CONDITION_KEYS = {
    "mail_from": str,
    "rcpt": str,
    "header": str,
    "auth_user": str,
    "listener": str,
    "client": str,
    "size_above": int,
    "size_below": int,
    "first": int,
    "every": int,
    "probability": float,
    "seed": int,
}
#: TOML key -> what it builds; add a key here for a new action (route, forward, webhook).
ACTION_KEYS = (
    "reply",
    "greylist",
    "delay_ms",
    "drop",
    "throttle",
    "tag",
    "mark_read",
    "mailbox",
    "forward",
    "webhook",
)
_RULE_KEYS = ("name", "stage", "enabled", *CONDITION_KEYS, *ACTION_KEYS)


@dataclass
class RulesFileError(Exception):
    """Every problem found in a rules file, each with its line (``errors``)."""

    path: str
    errors: list[RuleError]

    def lines(self) -> list[str]:
        return [
            f"{self.path}:{e.line}: {e}" if e.line else f"{self.path}: {e}" for e in self.errors
        ]

    def __str__(self) -> str:
        return "; ".join(self.lines())


def load_rules_file(path: str | Path) -> list[Rule]:
    """Read and validate ``path``; ``RulesFileError`` lists every problem, ``OSError``
    if it cannot be read."""
    p = Path(path).expanduser()
    data = p.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RulesFileError(str(p), [RuleError("not UTF-8 text", line)]) from None
    return parse_rules(text, str(p))


_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_RULE_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*(?:\"rule\"|'rule'|rule)[ \t]*\]\]", re.MULTILINE)


def parse_rules(text: str, path: str = "<rules>") -> list[Rule]:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        m = _TOML_AT.search(message)
        line = int(m.group(1)) if m else None
        if m:
            message = f"{message[: m.start()]} (column {m.group(2)})"
        raise RulesFileError(path, [RuleError(f"TOML syntax: {message}", line)]) from None
    lines = text.splitlines()
    starts = [text.count("\n", 0, m.start()) + 1 for m in _RULE_HEADER.finditer(text)]
    errors: list[RuleError] = []
    for key in doc:
        if key != "rule":
            errors.append(
                RuleError(_unknown(key, ("rule",), "top-level key"), _key_line(lines, key))
            )
    tables = doc.get("rule", [])
    if not isinstance(tables, list):
        errors.append(RuleError("'rule' must be an array of tables: write [[rule]]", 1))
        tables = []
    rules = _rules_from(tables, lines, starts, errors)
    if errors:
        raise RulesFileError(path, errors)
    return rules


def rules_from_tables(tables: Any, path: str = "<rules>") -> list[Rule]:
    """Rules from already-decoded tables (the HTTP API's JSON: the same keys as the file).

    ``RulesFileError`` lists every problem (without line numbers; each names
    its rule).
    """
    if not isinstance(tables, list):
        raise RulesFileError(path, [RuleError("rules must be a list of rule objects")])
    errors: list[RuleError] = []
    rules = _rules_from(tables, [], [], errors)
    if errors:
        raise RulesFileError(path, errors)
    return rules


def _rules_from(
    tables: list[Any], lines: list[str], starts: list[int], errors: list[RuleError]
) -> list[Rule]:
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for index, table in enumerate(tables):
        start = starts[index] if index < len(starts) else None
        end = starts[index + 1] if index + 1 < len(starts) else len(lines) + 1
        block = (start or 1, end) if lines else (0, 0)
        try:
            rule = _rule_from_table(table, lines, block, errors)
        except RuleError as exc:
            exc.line = exc.line or start
            if not lines and exc.rule is None:
                exc.rule = f"#{index + 1}"
            errors.append(exc)
            continue
        if rule is None:
            continue
        if rule.name in seen:
            where = f"line {seen[rule.name]}" if lines else f"#{seen[rule.name]}"
            errors.append(
                RuleError(f"a rule named {rule.name!r} already exists ({where})", start, rule.name)
            )
        seen.setdefault(rule.name, (start or 0) if lines else index + 1)
        rules.append(rule)
    return rules


def _rule_from_table(
    table: Any, lines: list[str], block: tuple[int, int], errors: list[RuleError]
) -> Rule | None:
    if not isinstance(table, dict):
        raise RuleError("each [[rule]] must be a table")
    name = table.get("name")
    where = str(name) if isinstance(name, str) and name.strip() else None
    before = len(errors)

    def err(message: str, key: str | None = None) -> None:
        line = _key_line(lines, key, block) if key else block[0]
        errors.append(RuleError(message, line or block[0], where))

    if where is None:
        err('a rule needs name = "..."', "name")
    for key in table:
        if key not in _RULE_KEYS:
            err(_unknown(key, _RULE_KEYS, "key"), key)
    stage: Stage | None = None
    if "stage" not in table:
        names = ", ".join(s.value for s in Stage)
        err(f"a rule needs stage = one of {names}")
    else:
        try:
            stage = Stage.parse(_typed(table, "stage", str))
        except RuleError as exc:
            err(exc.message, "stage")
    conditions: dict[str, Any] = {}
    for key, kind in CONDITION_KEYS.items():
        if key in table:
            try:
                conditions[key] = _typed(table, key, kind)
            except RuleError as exc:
                err(exc.message, key)
    actions: list[SmtpAction | AfterCaptureAction] = []
    for key in ACTION_KEYS:
        if key in table:
            try:
                action = _action(key, table[key])
            except RuleError as exc:
                err(exc.message, key)
                continue
            if action is not None:
                actions.append(action)
    enabled = True
    if "enabled" in table:
        try:
            enabled = _typed(table, "enabled", bool)
        except RuleError as exc:
            err(exc.message, "enabled")
    if len(errors) > before or stage is None or where is None:
        return None
    rule = Rule(where, stage, tuple(actions), Conditions(**conditions), enabled)
    for key, problem in rule.problems_by_key():
        err(problem, key if key in table else None)
    if len(errors) == before:
        try:  # patterns and networks compile here too, so 'check' catches them
            from .conditions import CompiledConditions

            CompiledConditions(rule.when)
        except RuleError as exc:
            key = exc.message.split(":", 1)[0]
            err(exc.message, key if key in table else None)
    return rule if len(errors) == before else None


def _typed(table: dict[str, Any], key: str, kind: type) -> Any:
    value = table[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        names = {
            str: "a string",
            int: "a whole number",
            float: "a number",
            bool: "true or false",
            list: "a list",
        }
        raise RuleError(f"{key} must be {names[kind]}, not {value!r}")
    return value


def _action(key: str, value: Any) -> SmtpAction | AfterCaptureAction | None:
    if key == "reply":
        if isinstance(value, int) and not isinstance(value, bool):
            return Reply(value)
        spec = _table(key, value, {"code": int, "text": str}, required=("code",))
        return Reply(spec["code"], spec.get("text", ""))
    if key == "greylist":
        if value is True:
            return Greylist()
        fields = {"attempts": int, "window": float, "code": int, "text": str}
        return Greylist(**_table(key, value, fields))
    if key == "delay_ms":
        return Delay(_typed({key: value}, key, int))
    if key == "drop":
        return Drop() if _typed({key: value}, key, bool) else None
    if key == "throttle":
        return Throttle(_typed({key: value}, key, int))
    if key == "tag":
        tags = [value] if isinstance(value, str) else value
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise RuleError("tag must be a string or a list of strings")
        return Tag(tuple(tags))
    if key == "mark_read":
        return MarkRead() if _typed({key: value}, key, bool) else None
    if key == "mailbox":
        return Route(_typed({key: value}, key, str))
    if key == "forward":
        if isinstance(value, str):
            return Forward(profile=value)
        fields = {
            "profile": str,
            "host": str,
            "port": int,
            "to": list,
            "attempts": int,
            "backoff": float,
            "timeout": float,
        }
        spec = _table(key, value, fields)
        to = spec.pop("to", [])
        if not all(isinstance(t, str) for t in to):
            raise RuleError("forward to must be a list of addresses")
        retry = Retry(spec.pop("attempts", 3), spec.pop("backoff", 1.0))
        return Forward(to=tuple(to), retry=retry, **spec)
    if key == "webhook":
        if isinstance(value, str):
            return Webhook(value)
        fields = {"url": str, "attempts": int, "backoff": float, "timeout": float}
        spec = _table(key, value, fields, required=("url",))
        retry = Retry(spec.pop("attempts", 3), spec.pop("backoff", 1.0))
        return Webhook(spec.pop("url"), retry=retry, **spec)
    raise RuleError(f"unknown action {key}")


def _table(
    key: str, value: Any, fields: dict[str, type], required: tuple[str, ...] = ()
) -> dict[str, Any]:
    if not isinstance(value, dict):
        shown = ", ".join(f"{f} = ..." for f in fields)
        raise RuleError(f"{key} must be an inline table {{ {shown} }}")
    out: dict[str, Any] = {}
    for f in value:
        if f not in fields:
            raise RuleError(_unknown(f, tuple(fields), f"{key} field"))
        out[f] = _typed(value, f, fields[f])
    for f in required:
        if f not in out:
            raise RuleError(f"{key} needs {f}")
    return out


def _unknown(key: str, known: tuple[str, ...], what: str) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown {what} {key!r}{hint}"


def _key_line(lines: list[str], key: str | None, block: tuple[int, int] = (1, 0)) -> int | None:
    """The 1-based line where ``key = ...`` is written inside ``block`` (start, end)."""
    if not key or not lines:
        return None
    start, end = block
    end = end or len(lines) + 1
    pattern = re.compile(
        rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*[=.]"
    )
    for number in range(start, min(end, len(lines) + 1)):
        if pattern.match(lines[number - 1]):
            return number
    return None
