"""Rules over HTTP: Mailpit's chaos triggers and our whole rule list.

* ``GET/PUT /api/v1/chaos`` (Mailpit's): ``{"Sender": {"ErrorCode": 451,
  "Probability": 5}, "Recipient": {...}, "Authentication": {...}}``. Each
  trigger is a rule in the live ``RuleSet`` (``core.rules.tables``):
  Sender fails MAIL FROM, Recipient each RCPT TO, Authentication the AUTH
  command, with ``ErrorCode`` (400..599) on ``Probability`` percent of them
  (a repeatable pseudo-random share). As in Mailpit, a trigger left out of
  a PUT is reset to its default code with 0 % (off), a missing or 0
  ``ErrorCode`` means the default (451, 451, 535), unknown keys are
  ignored, and the answer is the configuration now in force. Unlike
  Mailpit's Go decoder, ``null`` is refused where a number or an object
  belongs (the document says which). Other rules
  are untouched (and keep their counters).
* ``GET/PUT /api/v1/rules`` (our extension): ``{"Rules": [...]}``, each
  rule as the rules file's keys (``core.rules.loading``; the README's
  "Rules" section), plus per-rule ``Status`` (times fired, why it was
  disabled) and the ``Source`` file. PUT validates the whole list and
  replaces it atomically, or answers 400 with every problem in
  ``Problems`` and changes nothing. A rules file that changes on disk
  later replaces the list again (the file stays the source of truth).

Both need the sink's ``RuleSet`` in ``ApiContext.extras["rules"]`` (``serve``
and the window put it there); without it they answer 400 ("Chaos is not
enabled", as Mailpit does when it runs without ``--enable-chaos``).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..rules import RuleError, RuleSet, RulesFileError
from ..rules.loading import rules_from_tables
from ..rules.tables import (
    CHAOS_TRIGGERS,
    chaos_rules,
    chaos_triggers,
    rule_to_table,
)
from .context import CONTEXT, ApiContext
from .errors import ApiError
from .request_body import json_object

__all__ = ["add_routes", "ruleset_of"]


def add_routes(app: web.Application) -> None:
    app.router.add_get("/api/v1/chaos", get_chaos)
    app.router.add_put("/api/v1/chaos", set_chaos)
    app.router.add_get("/api/v1/rules", get_rules)
    app.router.add_put("/api/v1/rules", set_rules)


def ruleset_of(ctx: ApiContext) -> RuleSet | None:
    rules = ctx.extras.get("rules")
    return rules if isinstance(rules, RuleSet) else None


def _ruleset(request: web.Request, what: str) -> RuleSet:
    rules = ruleset_of(request.app[CONTEXT])
    if rules is None:
        raise ApiError(400, f"{what} is not enabled: no SMTP sink rules here")
    return rules


# ---- chaos -------------------------------------------------------------------


async def get_chaos(request: web.Request) -> web.Response:
    rules = _ruleset(request, "Chaos")
    return web.json_response(chaos_triggers([s.rule for s in rules.status()]))


def _int_field(trigger: str, spec: dict[str, Any], key: str) -> int:
    value = spec.get(key, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, f"{trigger}.{key} must be a whole number, not {value!r}")
    return value


async def set_chaos(request: web.Request) -> web.Response:
    rules = _ruleset(request, "Chaos")
    # no body at all resets every trigger (Mailpit's "{}"); whitespace is not JSON
    body = await json_object(request) if await request.read() else {}
    wanted: dict[str, tuple[int, int]] = {}
    for trigger in CHAOS_TRIGGERS:
        spec = body.get(trigger.name, {})
        if not isinstance(spec, dict):
            raise ApiError(400, f"{trigger.name} must be an object with ErrorCode and Probability")
        code = _int_field(trigger.name, spec, "ErrorCode") or trigger.default_code
        probability = _int_field(trigger.name, spec, "Probability")
        if not 400 <= code <= 599:
            raise ApiError(400, "error code must be between 400 and 599")
        if not 0 <= probability <= 100:
            raise ApiError(400, "probability must be between 0 and 100")
        wanted[trigger.name] = (code, probability)
    rules.replace_named([t.rule_name for t in CHAOS_TRIGGERS], chaos_rules(wanted))
    return web.json_response(chaos_triggers([s.rule for s in rules.status()]))


# ---- the whole rule list -------------------------------------------------------


def _rules_json(rules: RuleSet) -> dict[str, Any]:
    status = rules.status()
    return {
        "Rules": [rule_to_table(s.rule) for s in status],
        "Status": [{"Name": s.rule.name, "Fired": s.fired, "Error": s.error} for s in status],
        "Source": rules.source,
    }


async def get_rules(request: web.Request) -> web.Response:
    return web.json_response(_rules_json(_ruleset(request, "Rules")))


def _problems(problems: list[str]) -> web.Response:
    noun = "problem" if len(problems) == 1 else "problems"
    return web.Response(
        status=400,
        text=json.dumps(
            {"Error": f"{len(problems)} {noun}: " + "; ".join(problems), "Problems": problems}
        ),
        content_type="application/json",
    )


async def set_rules(request: web.Request) -> web.Response:
    rules = _ruleset(request, "Rules")
    body = await json_object(request)
    if "Rules" not in body:
        raise ApiError(400, 'give the whole list as {"Rules": [...]} (an empty list removes all)')
    try:
        new = rules_from_tables(body["Rules"], "Rules")
        rules.replace_all(new)
    except RulesFileError as exc:
        return _problems([str(e) for e in exc.errors])
    except RuleError as exc:
        return _problems([str(exc)])
    return web.json_response(_rules_json(rules))
