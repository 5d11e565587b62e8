"""Headers and structure: what receivers and clients trip over before the content.

Header checks live here; the body-structure checks (text alternative,
charsets, attachment types, MIME defects) in ``structure``. Both report
into the one ``headers`` family.

Limits cited: RFC 5322 §2.1.1 (a line MUST be at most 998 octets), §3.6
(Date and From required; Date, From, Sender, Reply-To, To, Cc, Bcc,
Message-ID, In-Reply-To, References and Subject at most once; several From
mailboxes need a Sender), RFC 2045 (MIME-Version: 1.0 on MIME messages),
RFC 6531/6532 (raw UTF-8 headers only over an SMTPUTF8 transaction), RFC
2369/8058 (List-Unsubscribe and one-click).

SMTPUTF8: the sink does not record the MAIL parameters as a field, so the
transaction's ``MAIL FROM`` line in the stored transcript is read; a message
that did not arrive over SMTP (import, file) gets an INFO instead of a
verdict.
"""

from __future__ import annotations

import re
from email.utils import parsedate_tz

from ..mime.addresses import parse_addresses
from ..models import Address
from .inputs import CheckInput
from .model import FamilyResult, Finding, Severity
from .results import family_result
from .structure import structure_findings
from .unsubscribe import read_unsubscribe

__all__ = ["check_headers", "date_problem", "message_id_problem", "smtputf8_used"]

FAMILY = "headers"
MAX_LINE = 998
_ONCE = [
    "date",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "message-id",
    "in-reply-to",
    "references",
    "subject",
]
_MSGID = re.compile(r"<[^<>@\s]+@[^<>@\s]+>")
_ADDR = re.compile(r"[^@\s<>]+@[^@\s<>]+\.[^@\s<>.]+")
_COMMENT = re.compile(r"\([^()]*\)")
_ZONE = re.compile(r"\d{1,2}:\d{2}(?::\d{2})?\s*(?:[+-]\d{4}|[A-Za-z]{1,5})\b")


def _f(code: str, sev: Severity, title: str, **kw: object) -> Finding:
    return Finding(FAMILY, code, sev, title, **kw)  # type: ignore[arg-type]


def smtputf8_used(transcript: tuple[str, ...]) -> bool | None:
    """Whether the transaction's MAIL FROM asked for SMTPUTF8 (None: no MAIL line)."""
    for line in reversed(transcript):
        if line[:13].upper() == "C: MAIL FROM:":
            return "SMTPUTF8" in line.upper()
    return None


def date_problem(value: str | None) -> str | None:
    """Why a Date value is not acceptable (None when it is)."""
    if value is None:
        return "no Date header"
    parsed = parsedate_tz(value)
    if parsed is None:
        return f"Date is not an RFC 5322 date: {value[:80]!r}"
    return None


def message_id_problem(value: str | None) -> str | None:
    """Why a Message-ID value is not acceptable (None when it is)."""
    if value is None:
        return "no Message-ID header"
    if _MSGID.fullmatch(value.strip()) is None:
        return f"Message-ID is not <left@right>: {value[:80]!r}"
    return None


def _valid_address(a: Address) -> bool:
    return _ADDR.fullmatch(a.addr) is not None


def _header_value(inp: CheckInput, name: str) -> tuple[str | None, str | None]:
    """(decoded value, raw unfolded value) of the first header ``name``."""
    lname = name.lower()
    for h in inp.opened.parsed.headers:
        if h.name.lower() == lname:
            return h.value, " ".join(h.raw.split())
    return None, None


def _required(inp: CheckInput, out: list[Finding]) -> None:
    date, _ = _header_value(inp, "Date")
    if date is None:
        out.append(
            _f(
                "date-missing",
                Severity.ERROR,
                "No Date header",
                where="Date",
                advice="Add a Date header (RFC 5322 requires one); receivers may add a wrong one.",
            )
        )
    else:
        parsed = parsedate_tz(date)
        line = inp.header_line("Date")
        if parsed is None:
            out.append(
                _f(
                    "date-malformed",
                    Severity.ERROR,
                    f"Date is not an RFC 5322 date: {date[:80]!r}",
                    where="Date",
                    line=line,
                    advice="Use email.utils.format_datetime().",
                )
            )
        elif _ZONE.search(date) is None:
            out.append(
                _f(
                    "date-no-zone",
                    Severity.WARNING,
                    "Date has no time zone",
                    where="Date",
                    line=line,
                    advice="Write the zone as +hhmm.",
                )
            )
    msgid, _ = _header_value(inp, "Message-ID")
    if msgid is None:
        out.append(
            _f(
                "message-id-missing",
                Severity.WARNING,
                "No Message-ID header",
                where="Message-ID",
                advice="Add one (email.utils.make_msgid()); Gmail may refuse bulk mail without it.",
            )
        )
    elif _MSGID.fullmatch(msgid.strip()) is None:
        out.append(
            _f(
                "message-id-malformed",
                Severity.WARNING,
                f"Message-ID is not <left@right>: {msgid[:80]!r}",
                where="Message-ID",
                line=inp.header_line("Message-ID"),
                advice="Use email.utils.make_msgid().",
            )
        )
    mime, _ = _header_value(inp, "MIME-Version")
    is_mime = any(
        h.name.lower() in ("content-type", "content-transfer-encoding")
        for h in inp.opened.parsed.headers
    )
    if mime is None and is_mime:
        out.append(
            _f(
                "mime-version-missing",
                Severity.WARNING,
                "MIME content without MIME-Version",
                where="MIME-Version",
                advice="Add 'MIME-Version: 1.0' (RFC 2045).",
            )
        )
    elif mime is not None and _COMMENT.sub("", mime).strip() != "1.0":
        out.append(
            _f(
                "mime-version-malformed",
                Severity.WARNING,
                f"MIME-Version is {mime[:40]!r}, not 1.0",
                where="MIME-Version",
                line=inp.header_line("MIME-Version"),
            )
        )


def _from_reply_to(inp: CheckInput, out: list[Finding]) -> None:
    value, raw = _header_value(inp, "From")
    line = inp.header_line("From")
    if value is None or raw is None:
        out.append(
            _f(
                "from-missing",
                Severity.ERROR,
                "No From header",
                where="From",
                advice="RFC 5322 requires From; receivers refuse or rewrite mail without it.",
            )
        )
        return
    addrs = parse_addresses(raw)
    if not addrs or not all(_valid_address(a) for a in addrs):
        out.append(
            _f(
                "from-malformed",
                Severity.ERROR,
                f"From has no valid address: {value[:80]!r}",
                where="From",
                line=line,
            )
        )
    elif len(addrs) > 1 and _header_value(inp, "Sender")[0] is None:
        out.append(
            _f(
                "from-several-no-sender",
                Severity.WARNING,
                "From names several mailboxes but there is no Sender header",
                where="From",
                line=line,
                advice="RFC 5322 §3.6.2: add Sender.",
            )
        )
    for a in addrs:
        in_name = _ADDR.search(a.name)
        if in_name and in_name.group().lower() != a.addr.lower():
            out.append(
                _f(
                    "from-name-is-other-address",
                    Severity.WARNING,
                    f"From's display name shows another address ({in_name.group()}) than the "
                    f"real one ({a.addr})",
                    where="From",
                    line=line,
                    advice="Spam filters and users read this as spoofing.",
                )
            )
    rt_value, rt_raw = _header_value(inp, "Reply-To")
    if rt_value is not None and rt_raw is not None:
        rt = parse_addresses(rt_raw)
        rline = inp.header_line("Reply-To")
        if not rt or not all(_valid_address(a) for a in rt):
            out.append(
                _f(
                    "reply-to-malformed",
                    Severity.WARNING,
                    f"Reply-To has no valid address: {rt_value[:80]!r}",
                    where="Reply-To",
                    line=rline,
                )
            )
        elif addrs and all(_valid_address(a) for a in addrs):
            from_domains = {a.addr.rpartition("@")[2].lower() for a in addrs}
            other = [a.addr for a in rt if a.addr.rpartition("@")[2].lower() not in from_domains]
            if other:
                out.append(
                    _f(
                        "reply-to-other-domain",
                        Severity.INFO,
                        f"Replies go to another domain than From's: {', '.join(other[:3])}",
                        where="Reply-To",
                        line=rline,
                    )
                )


def _lines_and_bytes(inp: CheckInput, out: list[Finding]) -> None:
    root = inp.tree.root
    block = inp.raw[root.start : root.body_start]
    first = inp.lines.line(root.start)
    long_lines = []
    for i, line in enumerate(block.split(b"\n")):
        if len(line.rstrip(b"\r")) > MAX_LINE:
            long_lines.append(first + i)
    if long_lines:
        out.append(
            _f(
                "header-line-too-long",
                Severity.ERROR,
                f"{len(long_lines)} header line(s) longer than {MAX_LINE} octets",
                line=long_lines[0],
                where="headers",
                detail=f"Lines: {', '.join(map(str, long_lines[:20]))}",
                advice="Fold long headers (RFC 5322 §2.1.1); servers may cut or refuse them.",
                data={"lines": long_lines[:100]},
            )
        )
    if not block.isascii():
        used = smtputf8_used(inp.opened.stored.transcript)
        bad = next((i for i, ln in enumerate(block.split(b"\n")) if not ln.isascii()), 0)
        where = block.split(b"\n")[bad].split(b":", 1)[0].decode("ascii", "replace")
        if used is None:
            out.append(
                _f(
                    "header-8bit",
                    Severity.INFO,
                    "Raw 8-bit bytes in the headers (no SMTP transcript to tell if SMTPUTF8 "
                    "was used)",
                    where=where,
                    line=first + bad,
                )
            )
        elif not used:
            out.append(
                _f(
                    "header-8bit-without-smtputf8",
                    Severity.WARNING,
                    "Raw 8-bit bytes in the headers, but MAIL FROM did not ask for SMTPUTF8",
                    where=where,
                    line=first + bad,
                    advice="Encode the headers (RFC 2047) or send with SMTPUTF8 (RFC 6531).",
                )
            )


def _duplicates_and_bcc(inp: CheckInput, out: list[Finding]) -> None:
    counts: dict[str, int] = {}
    for h in inp.opened.parsed.headers:
        counts[h.name.lower()] = counts.get(h.name.lower(), 0) + 1
    for name in _ONCE:
        if counts.get(name, 0) > 1:
            lines = inp.header_lines(name)
            out.append(
                _f(
                    "header-duplicate",
                    Severity.WARNING,
                    f"{name.title()} appears {counts[name]} times (at most once allowed)",
                    where=name.title(),
                    line=lines[1] if len(lines) > 1 else None,
                )
            )
    if counts.get("bcc"):
        out.append(
            _f(
                "bcc-present",
                Severity.WARNING,
                "The message carries a Bcc header",
                where="Bcc",
                line=inp.header_line("Bcc"),
                advice="Put Bcc recipients in the envelope only: every recipient can read this "
                "header if the sending side does not strip it.",
            )
        )
    if not counts.get("subject"):
        out.append(_f("subject-missing", Severity.INFO, "No Subject header", where="Subject"))


def _unsubscribe(inp: CheckInput, out: list[Finding]) -> None:
    value, _ = _header_value(inp, "List-Unsubscribe")
    post, _ = _header_value(inp, "List-Unsubscribe-Post")
    u = read_unsubscribe(value, post)
    line = inp.header_line("List-Unsubscribe")
    pline = inp.header_line("List-Unsubscribe-Post")
    for problem in u.problems:
        out.append(
            _f(
                "list-unsubscribe-malformed",
                Severity.WARNING,
                f"List-Unsubscribe: {problem}",
                where="List-Unsubscribe",
                line=line,
            )
        )
    if u.http:
        out.append(
            _f(
                "list-unsubscribe-http",
                Severity.WARNING,
                "List-Unsubscribe uses plain http, not https",
                where="List-Unsubscribe",
                line=line,
                detail=", ".join(u.http[:3]),
            )
        )
    for problem in u.one_click_problems:
        sev = Severity.ERROR if not u.present else Severity.WARNING
        out.append(
            _f(
                "list-unsubscribe-post-invalid",
                sev,
                problem,
                where="List-Unsubscribe-Post",
                line=pline,
            )
        )
    if u.one_click:
        out.append(
            _f(
                "list-unsubscribe-one-click",
                Severity.OK,
                "One-click unsubscribe (RFC 8058)",
                where="List-Unsubscribe-Post",
                line=pline,
            )
        )
    elif u.present and post is None and u.https:
        out.append(
            _f(
                "list-unsubscribe-no-one-click",
                Severity.INFO,
                "List-Unsubscribe has an https URI but no List-Unsubscribe-Post: not one-click",
                where="List-Unsubscribe",
                line=line,
                advice="Add 'List-Unsubscribe-Post: List-Unsubscribe=One-Click' (RFC 8058).",
            )
        )


def check_headers(inp: CheckInput) -> FamilyResult:
    findings: list[Finding] = []
    for step in (_required, _from_reply_to, _lines_and_bytes, _duplicates_and_bcc, _unsubscribe):
        step(inp, findings)
    findings.extend(structure_findings(inp))
    return family_result(FAMILY, findings, "headers and structure look right")
