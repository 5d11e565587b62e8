"""Rules: deterministic fault injection at every SMTP stage (no Qt).

Import the public names from here; the modules behind them may move:

* ``model``: ``Rule``, ``Stage``, ``Conditions`` and the actions (``Reply``,
  ``Greylist``, ``Delay``, ``Drop``, ``Throttle``, ``Tag``, ``MarkRead``)
* ``conditions``: patterns, networks and counters compiled once; ``RuleContext``
* ``actions``: ``Verdict`` (what a stage decided) and the greylisting book
* ``delivery_actions``: ``Route`` (mailbox), ``Forward``, ``Webhook``, ``Retry``
* ``outbox``: ``Outbox``, the sink's queue of forward/webhook deliveries
* ``engine``: ``RuleSet``, the live, thread-safe rule list the sink reads
* ``loading``: the TOML rules file, errors with line numbers
* ``watch``: reloading the file while the sink runs
* ``writing``: ``dump_rules``, the rules file written back (the editor saves with it)
* ``explain``: ``explain_rule``, one rule tested against a stored message

The sink's side is ``core/smtp/rule_hooks.py``.
"""

from .conditions import RuleContext
from .delivery_actions import Forward, Retry, Route, Webhook
from .engine import FiredRule, RuleHandle, RuleSet, RuleStatus
from .explain import ConditionCheck, RuleExplanation, explain_rule
from .loading import RULES_FILENAME, RulesFileError, load_rules_file, parse_rules
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
from .outbox import Outbox
from .watch import RulesFileWatcher
from .writing import dump_rule, dump_rules, save_rules_file

__all__ = [
    "RULES_FILENAME",
    "AfterCaptureAction",
    "ConditionCheck",
    "Conditions",
    "Delay",
    "Drop",
    "FiredRule",
    "Forward",
    "Greylist",
    "MarkRead",
    "Outbox",
    "Reply",
    "Retry",
    "Route",
    "Rule",
    "RuleContext",
    "RuleExplanation",
    "RuleError",
    "RuleHandle",
    "RuleSet",
    "RuleStatus",
    "RulesFileError",
    "RulesFileWatcher",
    "SmtpAction",
    "Stage",
    "Tag",
    "Throttle",
    "Webhook",
    "dump_rule",
    "dump_rules",
    "explain_rule",
    "load_rules_file",
    "parse_rules",
    "save_rules_file",
]
