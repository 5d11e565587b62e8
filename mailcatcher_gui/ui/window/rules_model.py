"""The Rules editor's drafts: one rule as the user is editing it, and turning
a list of drafts into rules for the live ``RuleSet`` and the rules file.

A draft is the rule's ``[[rule]]`` TOML block (the rules file's own schema,
so what the editor shows is exactly what the file will hold) plus its on/off
switch, which the list's check box owns. A rule added from Python with a
``predicate`` has no TOML: it is kept as the rule object, shown read-only,
kept in the ``RuleSet`` and left out of the file.

Validation is ``parse_rules`` on the block, so the editor's inline errors
are the same sentences, with the same line numbers, as ``rules check``.
Plain Python (no widgets), so it is tested without a window.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ...core.rules import (
    Rule,
    RuleError,
    RuleSet,
    RulesFileError,
    dump_rule,
    parse_rules,
    save_rules_file,
)

__all__ = ["RuleDraft", "drafts_from", "new_rule_text", "rule_query", "rules_from", "save_drafts"]

TEMPLATE = """[[rule]]
name = "{name}"
stage = "rcpt"
rcpt = "bob@*"
reply = {{ code = 550, text = "5.1.1 no such user" }}
"""

FILE_HEADER = (
    "mailcatcher-gui rules (written by the Rules editor; see the README's Rules section).\n"
    "Edits by hand are fine: the running app reloads this file when it changes."
)


def rule_query(name: str) -> str:
    """The search for the messages a rule touched: ``rule:NAME`` / ``rule:"two words"``."""
    return f'rule:"{name}"' if any(c.isspace() for c in name) else f"rule:{name}"


@dataclass
class RuleDraft:
    """One rule being edited (see the module docstring)."""

    text: str
    enabled: bool = True
    fixed: Rule | None = None  # a Python rule: not editable, not written to the file
    runtime_error: str | None = None  # why the running sink disabled it

    def parse(self) -> tuple[Rule | None, list[str]]:
        """The rule, or None and the problems (``line N: message``)."""
        if self.fixed is not None:
            return replace(self.fixed, enabled=self.enabled), []
        try:
            rules = parse_rules(self.text, "rule")
        except RulesFileError as exc:
            return None, [f"line {e.line}: {e}" if e.line else str(e) for e in exc.errors]
        if len(rules) != 1:
            return None, [f"write exactly one [[rule]] here, not {len(rules)}"]
        return replace(rules[0], enabled=self.enabled), []

    @property
    def name(self) -> str:
        rule, _ = self.parse()
        if rule is not None:
            return rule.name
        for line in self.text.splitlines():
            key, sep, value = line.partition("=")
            if sep and key.strip() == "name":
                return value.strip().strip("\"'") or "(unnamed)"
        return "(unnamed)"

    def label(self) -> str:
        rule, problems = self.parse()
        if rule is None:
            return f"⚠ {self.name}"
        actions = ", ".join(a.key for a in rule.actions)
        suffix = " (Python)" if self.fixed is not None else ""
        return f"{rule.name}  ·  {rule.stage.value}: {actions}{suffix}"


def drafts_from(rules: RuleSet) -> list[RuleDraft]:
    """A draft for every rule of the running set, in order."""
    drafts = []
    for status in rules.status():
        rule = status.rule
        try:
            text = dump_rule(replace(rule, enabled=True))
        except RuleError:
            drafts.append(
                RuleDraft(
                    f"# {rule.name!r} was added from Python (a predicate): not editable here\n",
                    rule.enabled,
                    fixed=rule,
                    runtime_error=status.error,
                )
            )
            continue
        drafts.append(RuleDraft(text, rule.enabled, runtime_error=status.error))
    return drafts


def new_rule_text(drafts: list[RuleDraft]) -> str:
    taken = {d.name for d in drafts}
    n = 1
    while f"new rule {n}" in taken:
        n += 1
    return TEMPLATE.format(name=f"new rule {n}")


def rules_from(drafts: list[RuleDraft]) -> tuple[list[Rule], list[tuple[int, str]]]:
    """Every draft as a rule, in order, and the problems as (draft index, message):
    the drafts' own errors and names used twice."""
    rules: list[Rule] = []
    problems: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    for index, draft in enumerate(drafts):
        rule, errors = draft.parse()
        problems.extend((index, e) for e in errors)
        if rule is None:
            continue
        if rule.name in seen:
            problems.append(
                (index, f"the name {rule.name!r} is used by rule {seen[rule.name] + 1}")
            )
        seen.setdefault(rule.name, index)
        rules.append(rule)
    return rules, problems


def save_drafts(drafts: list[RuleDraft], ruleset: RuleSet, path: Path) -> list[Rule]:
    """Write the file, then apply ``drafts`` to the running set; ``RuleError`` with
    the first problem or ``OSError`` when the file cannot be written (nothing
    changed in either case).

    The file's watcher (if the sink has one) reloads the same rules a moment
    later; a Python rule survives only until then, as with any file change.
    """
    rules, problems = rules_from(drafts)
    if problems:
        index, message = problems[0]
        raise RuleError(f"rule {index + 1}: {message}")
    in_file = [r for r, d in zip(rules, drafts, strict=True) if d.fixed is None]
    save_rules_file(path, in_file, FILE_HEADER)
    ruleset.replace_all(rules)
    ruleset.source = str(path)
    return rules
