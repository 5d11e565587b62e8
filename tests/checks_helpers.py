"""Shared helpers for the inspection-check tests: messages built in the test.

``mime(...)`` writes a message as bytes exactly as given (so a test can put
in the very defect it checks for); ``opened(raw)`` wraps bytes as an
``OpenedMessage`` the way a file opened from disk is (no SMTP facts), and
``opened(raw, transcript=...)`` with a session transcript as the sink stores.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from mailcatcher_gui.core.checks.inputs import CheckInput
from mailcatcher_gui.core.checks.model import FamilyResult, Finding
from mailcatcher_gui.core.mailio.local import unstored_message
from mailcatcher_gui.core.models import OpenedMessage, StoredMessage

HEADERS = {
    "From": "Alice <alice@example.com>",
    "To": "Bob <bob@example.com>",
    "Subject": "Test",
    "Date": "Sun, 06 Dec 2026 04:00:00 +0000",
    "Message-ID": "<test-1@example.com>",
    "MIME-Version": "1.0",
}


def head(**overrides: str | None) -> bytes:
    """Header lines (CRLF) from HEADERS with overrides; None removes a header.

    Keyword names use underscores for dashes: Message_ID="<x@y>".
    """
    values: dict[str, str | None] = dict(HEADERS)
    for key, value in overrides.items():
        values[key.replace("_", "-")] = value
    return "".join(f"{k}: {v}\r\n" for k, v in values.items() if v is not None).encode("utf-8")


def html_message(
    html: str,
    text: str | None = "Hello in text.",
    *,
    cte: str = "8bit",
    **headers: str | None,
) -> bytes:
    """multipart/alternative (text + HTML), or HTML only when ``text`` is None."""
    body = html.encode("utf-8")
    if cte == "base64":
        body = base64.encodebytes(body).replace(b"\n", b"\r\n")
    html_part = (
        b"Content-Type: text/html; charset=utf-8\r\n"
        + f"Content-Transfer-Encoding: {cte}\r\n\r\n".encode()
        + body
        + b"\r\n"
    )
    if text is None:
        return head(**headers) + html_part
    return (
        head(**headers, Content_Type='multipart/alternative; boundary="b1"')
        + b"\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        + text.encode("utf-8")
        + b"\r\n--b1\r\n"
        + html_part
        + b"--b1--\r\n"
    )


def opened(raw: bytes, transcript: tuple[str, ...] = (), source: str = "file") -> OpenedMessage:
    om = unstored_message(raw, received_at=datetime(2026, 12, 6, tzinfo=UTC), source=source)
    if not transcript:
        return om
    s = om.stored
    stored = StoredMessage(
        s.summary, s.raw, s.peer, s.helo, s.tls, s.auth_user, transcript, source="smtp"
    )
    return OpenedMessage(stored, om.parsed)


def inp(raw: bytes, **kw: object) -> CheckInput:
    return CheckInput.build(opened(raw, **kw))  # type: ignore[arg-type]


def codes(result: FamilyResult) -> set[str]:
    return {f.code for f in result.findings}


def finding(result: FamilyResult, code: str) -> Finding:
    found = [f for f in result.findings if f.code == code]
    assert found, f"no {code!r} in {sorted(codes(result))}"
    return found[0]


def line_of(raw: bytes, needle: bytes) -> int:
    """1-based line of the first occurrence of ``needle`` in ``raw``."""
    at = raw.index(needle)
    return raw.count(b"\n", 0, at) + 1
