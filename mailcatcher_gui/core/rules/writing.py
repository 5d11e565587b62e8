"""Writing rules back as a TOML rules file: ``dump_rules`` (the reverse of ``parse_rules``).

The window's Rules editor saves through it, and the CLI and the HTTP API can
share it. The output is the schema ``loading`` reads (``parse_rules(
dump_rules(rules)) == rules`` for every rule the file can express), one
``[[rule]]`` table per rule, in order, keys in the order the README lists
them (see below). ``tomllib`` only reads, so this is a small writer for the few value
kinds a rule has (strings, whole numbers, floats, booleans, lists of
strings, inline tables).

The keys and values come from ``tables.rule_to_table`` (what the HTTP API
answers with), so the file and the API say a rule the same way; this module
only spells them as TOML. A rule built in Python with a ``predicate``
cannot be written (``RuleError``): there is no TOML for a function.
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .model import Rule, RuleError
from .tables import rule_to_table

__all__ = ["dump_rule", "dump_rules", "save_rules_file", "toml_value"]


def dump_rules(rules: Iterable[Rule], header: str = "") -> str:
    """The rules file text for ``rules`` (``header``: comment lines to put first)."""
    parts: list[str] = []
    if header:
        parts.append("".join(f"# {line}".rstrip() + "\n" for line in header.splitlines()))
    parts.extend(dump_rule(rule) for rule in rules)
    return "\n".join(parts)


def dump_rule(rule: Rule) -> str:
    """One ``[[rule]]`` table (ends with a newline)."""
    if rule.when.predicate is not None:
        raise RuleError(
            "a rule with a Python predicate cannot be written to a file", rule=rule.name
        )
    lines = ["[[rule]]"]
    lines.extend(f"{_key(key)} = {toml_value(value)}" for key, value in rule_to_table(rule).items())
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """``value`` as a TOML value (the kinds a rule holds)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RuleError(f"cannot write the number {value!r}")
        text = repr(value)
        return text if any(c in text for c in ".en") else text + ".0"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, tuple | list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise RuleError(f"cannot write {type(value).__name__} values to a rules file")


def _key(key: str) -> str:
    bare = key and all(c.isascii() and (c.isalnum() or c in "-_") for c in key)
    return key if bare else _string(key)


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def save_rules_file(path: str | Path, rules: Iterable[Rule], header: str = "") -> Path:
    """Write ``rules`` to ``path`` atomically (a temporary file renamed over it),
    so a watcher never reads half a file; creates the folder. ``OSError`` if it
    cannot be written, ``RuleError`` for a rule the file cannot express."""
    target = Path(path).expanduser()
    text = dump_rules(rules, header)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".rules-", suffix=".toml", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return target
