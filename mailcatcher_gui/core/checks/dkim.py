"""Authentication: verify every DKIM signature and the ARC chain of a raw message.

A mail catcher sees mail before (or instead of) the receiving side, so the
question people bring is "would this signature verify, and would it count
for DMARC?". This module answers it with dkimpy, one signature at a time,
and says *why* a signature failed in words that point at the cause:

* "body hash did not verify": the body was changed after signing (a footer
  added, line endings rewritten, a template re-rendered);
* "signature did not verify": a signed header was changed, or the key is
  not the one the message was signed with;
* "no key found": neither the user (``--dkim-key``, Settings) nor DNS had a
  public key for ``selector._domainkey.domain``.

Keys come from ``CheckOptions.dkim_keys`` first (a TXT record text or a PEM
public key), then DNS when ``resolve_dns`` allows it (dnspython, short
timeout; a machine without DNS fails fast and says so once): see
``dkim_keys``. Each signature records which source it used.

Alignment (DMARC "relaxed"): ``d=`` aligns with the From domain when both
have the same organisational domain. We approximate the Public Suffix List
with "the last two labels", or three when the last two are a common
multi-label suffix (``co.uk``, ``com.au`` ...; ``dkim_keys.MULTI_LABEL_SUFFIXES``).
That is right for the domains people test with and wrong only for exotic
suffixes, where it errs towards "not aligned".

``data["signatures"]`` is read by the bulk-sender check (branch checks-local):
a list of ``{"domain", "selector", "result" ("pass"/"fail"/"no-key"/"error"),
"reason", "aligned", "key_source" ("dns"/"user"/None), "signed_headers",
"body_hash" ("pass"/"fail"/None), "header_hash" ("pass"/"fail"/None)}``;
``data["arc"]`` is ``{"result": "pass"/"fail"/"none"/"no-key", "reason", "sets":
[...], "missing_keys" (with "no-key")}``.
"""

from __future__ import annotations

import logging
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

import dkim  # type: ignore[import-untyped]  # dkimpy ships no types
import dns.resolver

from .dkim_keys import (
    DNS_TIMEOUT,
    MULTI_LABEL_SUFFIXES,
    KeyLookup,
    key_record_from_user,
    organisational_domain,
)
from .model import CheckOptions, FamilyResult, Finding, Severity, worst

__all__ = [
    "MULTI_LABEL_SUFFIXES",
    "check_authentication",
    "key_record_from_user",
    "organisational_domain",
]

FAMILY = "authentication"
MAX_SIGNATURES = 20  # each costs a parse of the whole message; more is hostile, not real

# Headers whose absence from h= lets someone change what the reader sees.
_WORTH_SIGNING = ("subject", "date", "to", "message-id", "reply-to", "content-type")

_QUIET = logging.getLogger("mailcatcher_gui.checks.dkimpy")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def _from_domain(raw: bytes) -> str:
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        values = [str(v) for v in headers.get_all("From") or []]
    except Exception:  # a message too broken for the parser has no From domain
        return ""
    addresses = [addr for _name, addr in getaddresses(values) if "@" in addr]
    return addresses[0].rsplit("@", 1)[1].strip().strip(">").lower() if addresses else ""


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("ascii", "replace")
    return str(value)


def _signature_count(checker: dkim.DKIM) -> int:
    return sum(1 for name, _value in checker.headers if name.lower() == b"dkim-signature")


def _header_lines(raw: bytes, name: bytes) -> list[int]:
    """1-based raw-message lines where header ``name`` starts (header section only)."""
    end = raw.find(b"\n\n")
    crlf = raw.find(b"\r\n\r\n")
    if crlf >= 0 and (end < 0 or crlf < end):
        end = crlf
    head = raw if end < 0 else raw[:end]
    prefix = name.lower() + b":"
    return [
        i + 1
        for i, line in enumerate(head.split(b"\n"))
        if line.lower().replace(b" ", b"").replace(b"\t", b"").startswith(prefix)
    ]


def _signature_headers(raw: bytes) -> int:
    """How many DKIM-Signature headers there are, by the standard library's lenient parser."""
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        return len(headers.get_all("DKIM-Signature") or [])
    except Exception:  # nothing readable: nothing to verify
        return 0


def _name_unnamed(signatures: list[dict[str, Any]], raw: bytes, from_org: str) -> None:
    """Give entries dkimpy could not read the d= and s= their header text shows, if any."""
    if all(entry["domain"] for entry in signatures):
        return
    try:
        headers = BytesHeaderParser(policy=compat32).parsebytes(raw)
        values = [str(v) for v in headers.get_all("DKIM-Signature") or []]
    except Exception:  # nothing more to learn
        return
    for entry, value in zip(signatures, values, strict=False):
        if entry["domain"]:
            continue
        tags = dict(re.findall(r"(?:^|;)\s*([a-z]+)\s*=\s*([^;]*)", value, re.IGNORECASE))
        entry["domain"] = re.sub(r"\s+", "", tags.get("d", "")).lower()
        entry["selector"] = re.sub(r"\s+", "", tags.get("s", ""))
        entry["aligned"] = bool(from_org and entry["domain"]) and (
            organisational_domain(entry["domain"]) == from_org
        )


def _unreadable(exc: BaseException) -> dict[str, Any]:
    """The entry for a signature in a header section dkimpy cannot read (as a verifier would)."""
    if isinstance(exc, IndexError):
        detail = "a folded (indented) line comes before the first header"
    else:
        detail = str(exc)[:200] or type(exc).__name__
    entry = _blank_entry()
    entry["reason"] = f"the header section is malformed, so no verifier can check it: {detail}"
    return entry


def _blank_entry() -> dict[str, Any]:
    return {
        "domain": "",
        "selector": "",
        "result": "error",
        "reason": "",
        "aligned": False,
        "key_source": None,
        "signed_headers": [],
        "body_hash": None,
        "header_hash": None,
    }


def _verify_one(raw: bytes, idx: int, lookup: KeyLookup, from_org: str) -> dict[str, Any]:
    """One DKIM-Signature's verdict as the ``data["signatures"]`` entry (never raises)."""
    try:
        return _verify(raw, idx, lookup, from_org)
    except Exception as exc:  # dkimpy on hostile input: an "error" verdict, not a crash
        entry = _blank_entry()
        entry["reason"] = f"the signature could not be checked: {type(exc).__name__}: {exc}"
        return entry


def _verify(raw: bytes, idx: int, lookup: KeyLookup, from_org: str) -> dict[str, Any]:
    checker = dkim.DKIM(raw, logger=_QUIET, timeout=int(DNS_TIMEOUT))
    entry = _blank_entry()
    try:
        prep = checker.verify_headerprep(idx)
    except dkim.DKIMException as exc:
        entry["reason"] = f"the signature header is malformed: {exc}"
        return entry
    if not prep:
        entry["reason"] = "the signature header could not be read"
        return entry
    sig, include_headers, sigheaders = prep
    domain, selector = _text(sig[b"d"]).lower(), _text(sig[b"s"])
    qname = f"{selector}._domainkey.{domain}".lower()
    entry.update(
        domain=domain,
        selector=selector,
        signed_headers=[_text(h) for h in include_headers],
        aligned=bool(from_org) and organisational_domain(domain) == from_org,
    )
    try:
        ok = checker.verify_sig(sig, list(include_headers), sigheaders[idx], lookup)
    except dkim.ValidationError as exc:
        if "body hash mismatch" in str(exc):
            entry.update(result="fail", body_hash="fail")
            entry["reason"] = (
                "body hash did not verify: the body was changed after it was signed "
                "(the bh= value does not match the body)"
            )
        else:
            entry["reason"] = f"the signature is not valid: {exc}"
        entry["key_source"] = lookup.sources.get(qname)
        return entry
    except dkim.DKIMException as exc:
        entry["key_source"] = lookup.sources.get(qname)
        entry["reason"] = f"the key for {qname} is not usable: {exc}"
        return entry
    source = lookup.sources.get(qname)
    entry["key_source"] = source
    if source is None:
        why = lookup.misses.get(qname, "no key record")
        entry.update(result="no-key", reason=f"no key found for {qname}: {why}")
        return entry
    if getattr(checker, "pk", None) is None:  # dkimpy refused the key record it was given
        entry["reason"] = f"the key for {qname} ({_source_words(source)}) could not be read"
        return entry
    entry["body_hash"] = "pass" if b"bh" in sig else None
    if ok:
        entry.update(result="pass", header_hash="pass", reason="signature verified")
    else:
        entry.update(
            result="fail",
            header_hash="fail",
            reason=(
                "signature did not verify: the body hash matches, but a signed header "
                "was changed after signing or the key is not the one it was signed with"
            ),
        )
    return entry


def _source_words(source: str | None) -> str:
    return {"dns": "key from DNS", "user": "key you gave"}.get(source or "", "no key")


def _signature_finding(entry: dict[str, Any], from_domain: str, line: int | None) -> Finding:
    where = f"DKIM-Signature d={entry['domain'] or '?'} s={entry['selector'] or '?'}"
    source = _source_words(entry["key_source"])
    detail = f"{entry['reason']}."
    if entry["signed_headers"]:
        unsigned = [h for h in _WORTH_SIGNING if h not in entry["signed_headers"]]
        detail += f" Signed headers: {', '.join(entry['signed_headers'])}."
        if unsigned:
            detail += f" Not signed: {', '.join(unsigned)}."
    if entry["domain"]:
        verb = "aligns" if entry["aligned"] else "does not align"
        detail += (
            f" d={entry['domain']} {verb} with the From domain {from_domain or '(none)'}"
            " (relaxed alignment)."
        )
    result = entry["result"]
    if result == "pass":
        severity = Severity.OK if entry["aligned"] else Severity.WARNING
        title = f"DKIM signature by {entry['domain']} verified ({source})"
        advice = "" if entry["aligned"] else "Sign with the From domain so DMARC can pass on DKIM."
    elif result == "no-key":
        severity, title = Severity.WARNING, f"DKIM signature by {entry['domain']}: no key found"
        advice = (
            f"Give the public key with --dkim-key {entry['selector']}._domainkey."
            f"{entry['domain']}=FILE (or in Settings), or allow DNS lookups."
        )
    elif result == "fail":
        severity = Severity.ERROR
        what = "body hash" if entry["body_hash"] == "fail" else "signature"
        title = f"DKIM signature by {entry['domain']} failed: {what} did not verify ({source})"
        advice = (
            "Sign after the last change to the body (footers, line endings, re-encoding)."
            if entry["body_hash"] == "fail"
            else "Check nothing rewrites signed headers after signing, and that the "
            "published key matches the signing key."
        )
    else:
        severity, title = Severity.ERROR, f"DKIM signature could not be checked: {entry['reason']}"
        advice = (
            "Fix how the message's header section is written: every header must be "
            "'Name: value', continuation lines must follow a header."
            if "header section is malformed" in entry["reason"]
            else "Fix the DKIM-Signature header or the key record."
        )
    return Finding(
        family=FAMILY,
        code=f"dkim-{result}",
        severity=severity,
        title=title,
        detail=detail,
        where=where,
        line=line,
        advice=advice,
        data=dict(entry),
    )


def _arc(raw: bytes, lookup: KeyLookup) -> tuple[dict[str, Any], Finding | None]:
    asked_before = len(lookup.queried)
    cv, sets, reason = dkim.arc_verify(raw, logger=_QUIET, dnsfunc=lookup)
    result = _text(cv) if cv is not None else "fail"
    missing = sorted({q for q in lookup.queried[asked_before:] if lookup.sources.get(q) is None})
    described = [
        {
            "instance": s.get("instance"),
            "ams_domain": _text(s.get("ams-domain", b"")),
            "ams_valid": bool(s.get("ams-valid")),
            "seal_domain": _text(s.get("as-domain", b"")),
            "seal_valid": bool(s.get("as-valid")),
            "cv": _text(s.get("cv", b"")),
        }
        for s in sets
    ]
    data: dict[str, Any] = {"result": result, "reason": _text(reason), "sets": described}
    if result == "none":
        return data, None
    if result != "pass" and missing:
        data.update(result="no-key", missing_keys=missing)
        why = "; ".join(f"{q}: {lookup.misses.get(q, 'no key record')}" for q in missing)
        return data, Finding(
            family=FAMILY,
            code="arc-no-key",
            severity=Severity.INFO,
            title=f"ARC chain not verified: no key found for {', '.join(missing)}",
            detail=why,
            where="ARC-Seal",
            advice="Give the sealer's public key with --dkim-key (or in Settings) "
            "or allow DNS lookups.",
            data=data,
        )
    severity = Severity.OK if result == "pass" else Severity.WARNING
    return data, Finding(
        family=FAMILY,
        code=f"arc-{result}",
        severity=severity,
        title=f"ARC chain: {result} ({len(sets)} set{'s' if len(sets) != 1 else ''})",
        detail=_text(reason),
        where="ARC-Seal",
        advice="" if result == "pass" else "Each forwarder must seal the chain it received.",
        data=data,
    )


def check_authentication(
    raw: bytes, options: CheckOptions, *, resolver: dns.resolver.Resolver | None = None
) -> FamilyResult:
    """Verify each DKIM signature and the ARC chain (blocking: DNS; run it off the loop).

    ``resolver`` replaces the system's DNS resolver (tests point it at a
    name server of their own); keys the user gave are used first either way.
    """
    from_domain = _from_domain(raw)
    from_org = organisational_domain(from_domain) if from_domain else ""
    lookup = KeyLookup(options, resolver=resolver)
    arc_data: dict[str, Any] = {"result": "none", "reason": "", "sets": []}
    arc_finding: Finding | None = None
    try:
        count = _signature_count(dkim.DKIM(raw, logger=_QUIET))
    except Exception as exc:  # dkimpy's header parser trips on some broken messages
        signatures = [_unreadable(exc) for _ in range(_signature_headers(raw))]
    else:
        signatures = [
            _verify_one(raw, i, lookup, from_org) for i in range(min(count, MAX_SIGNATURES))
        ]
        for _ in range(count - MAX_SIGNATURES):
            entry = _blank_entry()
            entry["reason"] = (
                f"not checked: only the first {MAX_SIGNATURES} signatures are verified"
            )
            signatures.append(entry)
        try:
            arc_data, arc_finding = _arc(raw, lookup)
        except Exception as exc:  # dkimpy on a hostile ARC set: say so, never crash
            arc_data = {"result": "fail", "reason": f"{type(exc).__name__}: {exc}", "sets": []}
    _name_unnamed(signatures, raw, from_org)
    lines = _header_lines(raw, b"dkim-signature")
    findings = [
        _signature_finding(entry, from_domain, lines[i] if i < len(lines) else None)
        for i, entry in enumerate(signatures)
    ]
    if arc_finding is not None:
        findings.append(arc_finding)
    if not signatures:
        findings.insert(
            0,
            Finding(
                FAMILY,
                "dkim-unsigned",
                Severity.INFO,
                "No DKIM signature",
                detail="The message carries no DKIM-Signature. Usually the outgoing mail "
                "server signs, after the application hands the message over.",
                where="DKIM-Signature",
                advice="Make sure the sending server signs with the From domain "
                "(Gmail and Yahoo require it of bulk senders).",
            ),
        )
    verdict = worst(findings)
    data: dict[str, Any] = {"signatures": signatures, "arc": arc_data, "from_domain": from_domain}
    return FamilyResult(FAMILY, verdict, _summary(signatures, arc_data), tuple(findings), data=data)


def _summary(signatures: list[dict[str, Any]], arc: dict[str, Any]) -> str:
    if not signatures:
        text = "not DKIM-signed"
    else:
        parts = []
        for entry in signatures:
            aligned = ", aligned" if entry["aligned"] else ", not aligned"
            if entry["domain"]:
                parts.append(f"{entry['result']} ({entry['domain']}{aligned})")
            else:
                parts.append(entry["result"])
        text = "DKIM " + "; ".join(parts)
    if arc.get("result") not in (None, "none"):
        text += f"; ARC {arc['result']}"
    return text
