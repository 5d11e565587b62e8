"""Every corpus message through the authentication check and link extraction: an answer,
never an exception (the corpus holds broken headers, bare LFs, spam). No network: DNS off,
and links are only listed (some corpus mail is real phishing; its URLs are never requested)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from mailcatcher_gui.core.checks import CheckOptions, Severity
from mailcatcher_gui.core.checks.dkim import check_authentication
from mailcatcher_gui.core.checks.links import extract_links
from mailcatcher_gui.core.checks.report import family_json
from mailcatcher_gui.core.mailio.local import unstored_message

OFFLINE = CheckOptions(resolve_dns=False)


def test_every_corpus_message_gets_an_authentication_verdict_and_its_links(
    corpus: list[Path],
) -> None:
    no_key = unreadable = links = 0
    for path in corpus:
        raw = path.read_bytes()
        result = check_authentication(raw, OFFLINE)
        assert result.verdict in set(Severity), path
        json.dumps(family_json(result))  # the report is always serialisable
        for sig in result.data["signatures"]:
            assert sig["result"] in ("pass", "fail", "no-key", "error"), (path, sig)
            assert sig["reason"], (path, sig)
            no_key += sig["result"] == "no-key"
            unreadable += sig["result"] == "error"
        opened = unstored_message(raw, received_at=datetime.now(UTC), source="corpus")
        refs = extract_links(opened)
        links += len(refs)
        raw_lines = raw.split(b"\n")
        for ref in refs:
            assert ref.where and ref.kind, (path, ref)
            if ref.line is not None:
                assert 1 <= ref.line <= len(raw_lines), (path, ref)
    # real signed mail is in there: with DNS off, "no key found"; some of it is unreadable
    assert no_key > 0 and unreadable > 0
    assert links > 100


def test_every_network_family_code_is_listed() -> None:
    """Codes written in the modules (literal or ``dkim-{result}``) and NETWORK_CODES agree."""
    import re

    from mailcatcher_gui.core.checks import dkim, links, spam
    from mailcatcher_gui.core.checks.net_codes import NETWORK_CODES

    written: set[str] = set()
    for module in (dkim, links, spam):
        source = Path(module.__file__ or "").read_text()
        written |= set(
            re.findall(r'(?<![b\w])"((?:dkim|arc|link|links|cid|spam|spamd)-[a-z-]+)"', source)
        )
    written |= {f"dkim-{r}" for r in ("pass", "fail", "no-key", "error")}
    written |= {f"arc-{r}" for r in ("pass", "fail")}
    assert written == set(NETWORK_CODES)
    assert {family for family, _ in NETWORK_CODES.values()} == {"authentication", "links", "spam"}
