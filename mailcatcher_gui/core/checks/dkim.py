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
timeout; a machine without DNS fails fast and says so once). Each signature
records which source it used.

Alignment (DMARC "relaxed"): ``d=`` aligns with the From domain when both
have the same organisational domain. We approximate the Public Suffix List
with "the last two labels", or three when the last two are a common
multi-label suffix (``co.uk``, ``com.au`` ...; see ``MULTI_LABEL_SUFFIXES``).
That is right for the domains people test with and wrong only for exotic
suffixes, where it errs towards "not aligned".

``data["signatures"]`` is read by the bulk-sender check (branch checks-local):
a list of ``{"domain", "selector", "result" ("pass"/"fail"/"no-key"/"error"),
"reason", "aligned", "key_source" ("dns"/"user"/None), "signed_headers",
"body_hash" ("pass"/"fail"/None), "header_hash" ("pass"/"fail"/None)}``.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from typing import Any

import dkim  # type: ignore[import-untyped]  # dkimpy ships no types
import dns.exception
import dns.resolver

from .model import CheckOptions, FamilyResult, Finding, Severity, worst

__all__ = [
    "MULTI_LABEL_SUFFIXES",
    "check_authentication",
    "key_record_from_user",
    "organisational_domain",
]

FAMILY = "authentication"
DNS_TIMEOUT = 3.0  # seconds per lookup; a checks run must not hang on a dead resolver

# Common public suffixes of more than one label (a small stand-in for the Public Suffix List).
MULTI_LABEL_SUFFIXES = frozenset(
    {
        "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "ltd.uk", "plc.uk", "net.uk",
        "com.au", "net.au", "org.au", "edu.au", "gov.au",
        "co.nz", "org.nz", "net.nz", "govt.nz",
        "co.jp", "ne.jp", "or.jp", "ac.jp", "go.jp",
        "co.kr", "or.kr",
        "com.br", "net.br", "org.br", "gov.br",
        "com.cn", "net.cn", "org.cn", "gov.cn",
        "com.mx", "com.ar", "com.co", "com.tr", "com.tw", "com.hk", "com.sg", "com.my",
        "co.in", "net.in", "org.in", "co.za", "org.za", "co.il", "co.id", "co.th",
        "com.pl", "com.ua", "com.ru", "com.es", "com.pt", "com.gr", "com.eg", "com.sa",
    }
)  # fmt: skip

# Headers whose absence from h= lets someone change what the reader sees.
_WORTH_SIGNING = ("subject", "date", "to", "message-id", "reply-to", "content-type")

_QUIET = logging.getLogger("mailcatcher_gui.checks.dkimpy")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


def organisational_domain(domain: str) -> str:
    """``mail.example.co.uk`` → ``example.co.uk`` (see the module docstring for the rule)."""
    labels = [label for label in domain.strip().strip(".").lower().split(".") if label]
    if len(labels) <= 2:
        return ".".join(labels)
    keep = 3 if ".".join(labels[-2:]) in MULTI_LABEL_SUFFIXES else 2
    return ".".join(labels[-keep:])


def key_record_from_user(value: bytes | str) -> bytes:
    """A user-given key as a DKIM TXT record: a record passes through, a PEM key is wrapped.

    ``-----BEGIN PUBLIC KEY-----`` (SubjectPublicKeyInfo) and ``-----BEGIN RSA
    PUBLIC KEY-----`` (PKCS#1) are RSA keys dkimpy reads as they are; an
    Ed25519 SubjectPublicKeyInfo becomes ``k=ed25519`` with the raw 32 bytes.
    """
    text = value.decode("ascii", "replace") if isinstance(value, bytes) else value
    text = text.strip()
    if "-----BEGIN" not in text:
        return re.sub(r"\s+", " ", text).encode("ascii", "replace")
    body = "".join(line.strip() for line in text.splitlines() if line and "-----" not in line)
    try:
        der = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        return b"v=DKIM1; k=rsa; p="  # dkimpy then says the key does not parse
    ed_prefix = bytes.fromhex("302a300506032b6570032100")
    if der.startswith(ed_prefix) and len(der) == len(ed_prefix) + 32:
        raw = base64.b64encode(der[len(ed_prefix) :]).decode("ascii")
        return f"v=DKIM1; k=ed25519; p={raw}".encode("ascii")
    return f"v=DKIM1; k=rsa; p={body}".encode("ascii")


@dataclass
class _KeyLookup:
    """The ``dnsfunc`` dkimpy calls: user keys first, then DNS; remembers what it did."""

    options: CheckOptions
    sources: dict[str, str | None] = field(default_factory=dict)  # name → "user"/"dns"/None
    misses: dict[str, str] = field(default_factory=dict)  # name → why no key was found
    dns_broken: str | None = None  # set once DNS itself failed: don't wait again

    def __call__(self, name: bytes | str, timeout: float = DNS_TIMEOUT) -> bytes | None:
        qname = (name.decode("ascii", "replace") if isinstance(name, bytes) else name).lower()
        qname = qname.rstrip(".")
        user = {k.lower().rstrip("."): v for k, v in self.options.dkim_keys.items()}
        if qname in user:
            self.sources[qname] = "user"
            return key_record_from_user(user[qname])
        self.sources[qname] = None
        if not self.options.resolve_dns:
            self.misses[qname] = "DNS lookups are turned off and no key was given for it"
            return None
        if self.dns_broken is not None:
            self.misses[qname] = f"DNS is not available here ({self.dns_broken})"
            return None
        record = self._from_dns(qname)
        if record is not None:
            self.sources[qname] = "dns"
        return record

    def _from_dns(self, qname: str) -> bytes | None:
        resolver = dns.resolver.Resolver()
        resolver.timeout = resolver.lifetime = DNS_TIMEOUT
        try:
            answer = resolver.resolve(qname + ".", "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self.misses[qname] = "DNS has no TXT record for it"
            return None
        except dns.exception.Timeout:
            self.dns_broken = f"lookup timed out after {DNS_TIMEOUT:g} s"
        except dns.resolver.NoNameservers:
            self.dns_broken = "no name server answered"
        except (dns.exception.DNSException, OSError) as exc:
            self.dns_broken = f"lookup failed: {exc}"
        if self.dns_broken is not None:
            self.misses[qname] = f"DNS is not available here ({self.dns_broken})"
            return None
        for rdata in answer:
            strings = getattr(rdata, "strings", ())
            return b"".join(strings)
        self.misses[qname] = "DNS has no TXT record for it"
        return None


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


def _verify_one(raw: bytes, idx: int, lookup: _KeyLookup, from_org: str) -> dict[str, Any]:
    """One DKIM-Signature's verdict as the ``data["signatures"]`` entry."""
    checker = dkim.DKIM(raw, logger=_QUIET, timeout=int(DNS_TIMEOUT))
    entry: dict[str, Any] = {
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


def _signature_finding(entry: dict[str, Any], from_domain: str) -> Finding:
    where = f"DKIM-Signature d={entry['domain']} s={entry['selector']}"
    source = _source_words(entry["key_source"])
    signed = ", ".join(entry["signed_headers"])
    unsigned = [h for h in _WORTH_SIGNING if h not in entry["signed_headers"]]
    detail = f"{entry['reason']}. Signed headers: {signed or '(none)'}."
    if unsigned:
        detail += f" Not signed: {', '.join(unsigned)}."
    align = (
        f"d={entry['domain']} aligns with the From domain {from_domain}"
        if entry["aligned"]
        else f"d={entry['domain']} does not align with the From domain {from_domain or '(none)'}"
    )
    detail += f" {align} (relaxed alignment)."
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
        advice = "Fix the DKIM-Signature header or the key record."
    return Finding(
        family=FAMILY,
        code=f"dkim-{result}",
        severity=severity,
        title=title,
        detail=detail,
        where=where,
        advice=advice,
        data=dict(entry),
    )


def _arc(raw: bytes, lookup: _KeyLookup) -> tuple[dict[str, Any], Finding | None]:
    cv, sets, reason = dkim.arc_verify(raw, logger=_QUIET, dnsfunc=lookup)
    result = _text(cv) if cv is not None else "fail"
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
    data = {"result": result, "reason": _text(reason), "sets": described}
    if result == "none":
        return data, None
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


def check_authentication(raw: bytes, options: CheckOptions) -> FamilyResult:
    """Verify each DKIM signature and the ARC chain (blocking: DNS; run it off the loop)."""
    from_domain = _from_domain(raw)
    from_org = organisational_domain(from_domain) if from_domain else ""
    lookup = _KeyLookup(options)
    try:
        count = _signature_count(dkim.DKIM(raw, logger=_QUIET))
    except dkim.DKIMException as exc:
        finding = Finding(FAMILY, "dkim-unreadable", Severity.ERROR, f"Headers unreadable: {exc}")
        return FamilyResult(FAMILY, Severity.ERROR, "the headers could not be parsed", (finding,))
    signatures = [_verify_one(raw, i, lookup, from_org) for i in range(count)]
    findings = [_signature_finding(entry, from_domain) for entry in signatures]
    try:
        arc_data, arc_finding = _arc(raw, lookup)
    except Exception as exc:  # dkimpy on a hostile ARC set: say so, never crash
        arc_data, arc_finding = {"result": "fail", "reason": str(exc), "sets": []}, None
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
            parts.append(f"{entry['result']} ({entry['domain']}{aligned})")
        text = "DKIM " + "; ".join(parts)
    if arc.get("result") not in (None, "none"):
        text += f"; ARC {arc['result']}"
    return text
