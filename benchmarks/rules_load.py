"""The rules file for the "50 rules, none matching" row of target 1.

Fifty rules spread over every stage, each with a condition the load
generator's mail never meets (another network, sender, recipient, header,
size), so every stage evaluates rules on every message and none fires: the
cost measured is the engine's per-message overhead, not an action.
"""

from __future__ import annotations

from pathlib import Path

RULE_COUNT = 50


def _rule(i: int) -> str:
    kind = i % 7
    name = f'name = "never {i}"'
    if kind == 0:
        body = f'stage = "connect"\nclient = "10.{i}.0.0/16"\ndelay_ms = 100'
    elif kind == 1:
        body = f'stage = "ehlo"\nclient = "192.0.2.{i}"\nreply = 421'
    elif kind == 2:
        body = f'stage = "mail"\nmail_from = "*@nowhere{i}.invalid"\nreply = 550'
    elif kind == 3:
        body = f'stage = "rcpt"\nrcpt = "nobody{i}@*"\nreply = {{ code = 550, text = "5.1.1 no" }}'
    elif kind == 4:
        body = f'stage = "rcpt"\nmail_from = "/^bounce{i}-/"\ngreylist = {{ attempts = 1 }}'
    elif kind == 5:
        body = f'stage = "data"\nheader = "X-Fault-{i}: *"\nreply = 554'
    else:
        body = f'stage = "stored"\nsize_above = {50_000_000 + i}\ntag = ["huge"]'
    return f"[[rule]]\n{name}\n{body}\n"


def write_rules_file(path: Path, count: int = RULE_COUNT) -> Path:
    path.write_text("\n".join(_rule(i) for i in range(count)), encoding="utf-8")
    return path
