"""``mailcatcher-gui messages check ID``: the inspection checks of one stored message.

Prints every family's verdict, summary and findings (or the report as JSON
with ``--json``: the public contract documented in the README's "Checks"
section, ``core.checks.report.report_json``). The network families only run
when asked: ``--links`` asks every URL for its status, ``--spam`` asks the
spamd named by ``--spamassassin HOST:PORT``. The exit status is 0 whenever
the checks ran, whatever they found; a script reads the verdicts.

``add_check_options`` and ``check_options_from_args`` are shared with
``serve``, whose HTTP API runs the same checks (``ApiContext.extras
["check_options"]``).
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from mailcatcher_gui.core.checks import CheckOptions, ChecksReport, FamilyResult, Severity
from mailcatcher_gui.core.checks.settings import parse_dkim_key, parse_spamd_address
from mailcatcher_gui.core.options import ConfigError, open_store

from .common import EXIT_OK, add_db, arg_id, out, out_json

__all__ = ["add_check_options", "add_check_parser", "check_options_from_args"]

_MARK = {
    Severity.OK: "ok",
    Severity.INFO: "info",
    Severity.WARNING: "WARN",
    Severity.ERROR: "FAIL",
    Severity.SKIPPED: "skip",
}


def _arg_dkim_key(text: str) -> tuple[str, Path]:
    try:
        return parse_dkim_key(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (got {text!r})") from None


def _arg_spamd(text: str) -> str:
    try:
        return parse_spamd_address(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_check_options(p: argparse.ArgumentParser) -> None:
    """The options of the checks (``messages check`` and ``serve`` for its API)."""
    g = p.add_argument_group("checks")
    g.add_argument(
        "--dkim-key",
        metavar="SELECTOR._domainkey.DOMAIN=FILE",
        type=_arg_dkim_key,
        action="append",
        default=[],
        help="DKIM public key for that selector and domain: a file with the TXT record "
        "('v=DKIM1; k=rsa; p=...') or a PEM public key; repeatable",
    )
    g.add_argument(
        "--no-dns",
        action="store_true",
        help="never look DKIM keys up in DNS (only --dkim-key keys are used)",
    )
    g.add_argument(
        "--spamassassin",
        metavar="HOST:PORT",
        type=_arg_spamd,
        help="a SpamAssassin daemon (spamd) for the spam score, or unix:/PATH (default: none)",
    )
    g.add_argument(
        "--allow-local-links",
        action="store_true",
        help="let the link check request loopback and private addresses (refused by default)",
    )


def check_options_from_args(args: Any) -> CheckOptions:
    """``CheckOptions`` from the options ``add_check_options`` added (key files are read here)."""
    keys: dict[str, bytes] = {}
    for name, path in getattr(args, "dkim_key", None) or []:
        try:
            keys[name] = path.read_bytes()
        except OSError as exc:
            raise ConfigError(f"--dkim-key {name}: cannot read {path}: {exc.strerror}") from None
    return CheckOptions(
        dkim_keys=keys,
        resolve_dns=not getattr(args, "no_dns", False),
        spamassassin=getattr(args, "spamassassin", None) or None,
        allow_local_links=bool(getattr(args, "allow_local_links", False)),
    )


def add_check_parser(msub: Any, db: str) -> None:
    p = msub.add_parser(
        "check",
        help="run the inspection checks on one message",
        description="Check one message: client compatibility, headers, authentication (DKIM, "
        "ARC), bulk-sender readiness, size, accessibility; with --links every URL's status, "
        "with --spam the SpamAssassin score. Exit status 0 whenever the checks ran.",
    )
    p.add_argument("id", type=arg_id)
    p.add_argument("--json", action="store_true", help="the report as JSON (see README, Checks)")
    p.add_argument("--links", action="store_true", help="check every link and image (network)")
    p.add_argument(
        "--no-follow", action="store_true", help="with --links: report redirects, do not follow"
    )
    p.add_argument(
        "--spam", action="store_true", help="ask spamd for the spam score (needs --spamassassin)"
    )
    add_check_options(p)
    add_db(p, db)
    p.set_defaults(handler=_cmd_check)


def _cmd_check(args: argparse.Namespace) -> int:
    from mailcatcher_gui.core.checks.report import report_json, run_checks
    from mailcatcher_gui.core.mime.parse import parse_message
    from mailcatcher_gui.core.models import OpenedMessage

    options = check_options_from_args(args)
    with open_store(args, readonly=True) as store:
        stored = store.get(args.id)
    opened = OpenedMessage(stored=stored, parsed=parse_message(stored.raw))
    report = asyncio.run(
        run_checks(opened, options, links=args.links, spam=args.spam, follow=not args.no_follow)
    )
    if args.json:
        out_json(report_json(report))
    else:
        _print_report(report)
    return EXIT_OK


def _print_report(report: ChecksReport) -> None:
    out(f"Checks for message {report.message_id}")
    for family in report.families:
        _print_family(family)


def _print_family(family: FamilyResult) -> None:
    out()
    out(f"[{_MARK[family.verdict]:>4}] {family.label}: {family.summary}")
    for finding in family.findings:
        line = f" (line {finding.line})" if finding.line else ""
        out(f"       {_MARK[finding.severity]:>4}  {finding.title}{line}")
        if finding.detail:
            out(f"             {finding.detail}")
        if finding.advice:
            out(f"             -> {finding.advice}")
