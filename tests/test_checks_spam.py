"""Spam score against a REAL spamd: GTUBE is spam with its rule described, a tidy message
is not, no spamd configured is SKIPPED with how to enable it, a dead spamd is SKIPPED with why."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

from mailcatcher_gui.core.checks import CheckOptions, Severity
from mailcatcher_gui.core.checks.spam import SpamdError, check_spam, parse_report
from tests.spamd_helpers import GTUBE, running_spamd

CLEAN = (
    b"From: Alice <alice@example.com>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: Minutes of Tuesday's meeting\r\n"
    b"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
    b"Message-ID: <minutes-1@example.com>\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Hi Bob,\r\n\r\nthe minutes are below. We agreed to move the release to Friday\r\n"
    b"and to review the test plan on Monday.\r\n\r\nAlice\r\n"
)
SPAM = (
    b"From: a@example.com\r\nTo: b@example.com\r\nSubject: test\r\n\r\n" + GTUBE.encode() + b"\r\n"
)


@pytest.fixture(scope="module")
def spamd() -> Iterator[str]:
    with running_spamd() as address:
        yield address


def test_gtube_is_spam_with_rules_described(spamd: str) -> None:
    result = asyncio.run(check_spam(SPAM, CheckOptions(spamassassin=spamd)))
    assert result.verdict is Severity.ERROR
    assert result.score is not None and result.score >= 1000
    assert result.data["threshold"] == 5.0
    assert result.data["is_spam"] is True
    rules = {r["name"]: r for r in result.data["rules"]}
    assert rules["GTUBE"]["points"] == 1000
    assert "Generic Test for Unsolicited Bulk Email" in rules["GTUBE"]["description"]
    assert "MISSING_DATE" in rules
    assert result.summary.startswith("score 100")
    assert "spam" in result.summary
    mp = result.data["mailpit"]
    assert mp["IsSpam"] is True and mp["Error"] == ""
    assert mp["Score"] >= 1000
    assert {"Score": 1000.0, "Name": "GTUBE", "Description": rules["GTUBE"]["description"]} in mp[
        "Rules"
    ]
    top = result.findings[0]
    assert top.where == "GTUBE" and top.severity is Severity.WARNING


def test_tidy_message_is_not_spam(spamd: str) -> None:
    result = asyncio.run(check_spam(CLEAN, CheckOptions(spamassassin=spamd)))
    assert result.verdict is Severity.OK
    assert result.score is not None and result.score < 2.5
    assert result.data["mailpit"]["IsSpam"] is False
    assert "GTUBE" not in {r["name"] for r in result.data["rules"]}
    assert result.summary == f"score {result.score:g} of 5"


def test_without_spamd_is_skipped_and_says_how_to_enable() -> None:
    result = asyncio.run(check_spam(SPAM, CheckOptions(spamassassin=None)))
    assert result.verdict is Severity.SKIPPED
    assert "--spamassassin HOST:PORT" in result.summary
    assert result.data["mailpit"]["Error"] == "no SpamAssassin service defined"


def test_unreachable_spamd_is_skipped_with_the_reason() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        result = asyncio.run(check_spam(SPAM, CheckOptions(spamassassin=f"127.0.0.1:{port}")))
    assert result.verdict is Severity.SKIPPED
    assert f"cannot reach spamd at 127.0.0.1:{port}" in result.summary
    assert "refused" in result.summary.lower()
    assert result.data["mailpit"]["Error"].startswith("cannot reach spamd")


def test_silent_spamd_times_out() -> None:
    async def scenario() -> str:
        async def mute(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                await reader.read()  # the request, then silence until the client gives up
                await asyncio.sleep(10)
            finally:
                writer.close()

        server = await asyncio.start_server(mute, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        async with server:
            opts = CheckOptions(spamassassin=f"127.0.0.1:{port}", spam_timeout=0.3)
            result = await check_spam(SPAM, opts)
        return result.summary

    assert "did not answer within 0.3 s" in asyncio.run(scenario())


def test_bad_address_and_bad_answers() -> None:
    result = asyncio.run(check_spam(SPAM, CheckOptions(spamassassin="no-port-here")))
    assert result.verdict is Severity.SKIPPED and "HOST:PORT" in result.summary
    with pytest.raises(SpamdError, match="refused the message: 76 EX_PROTOCOL"):
        parse_report(b"SPAMD/1.5 76 EX_PROTOCOL\r\n\r\n")
    with pytest.raises(SpamdError, match="something else"):
        parse_report(b"HTTP/1.1 200 OK\r\n\r\n")
    wrapped = parse_report(
        b"SPAMD/1.1 0 EX_OK\r\nSpam: False ; 1.2 / 5.0\r\n\r\n"
        b" pts rule name              description\n"
        b"---- ---------------------- ------------------\n"
        b" 1.2 LONG_RULE              A description that goes\n"
        b"                            on and on\n"
        b"-0.1 NICE                   Good\n"
    )
    assert [(r.name, r.points, r.description) for r in wrapped.rules] == [
        ("LONG_RULE", 1.2, "A description that goes on and on"),
        ("NICE", -0.1, "Good"),
    ]
