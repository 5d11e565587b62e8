"""Where DKIM public keys come from (the user, then DNS), and whose domain is whose.

``KeyLookup`` is the ``dnsfunc`` dkimpy calls for ``selector._domainkey.domain``:
a key the user gave (``CheckOptions.dkim_keys``: a TXT record or a PEM
public key) wins; otherwise DNS when ``resolve_dns`` allows it, with a short
timeout, and once DNS itself has failed (no resolver, timeouts) it is not
asked again in the same run. It remembers, per name, which source answered
and why there was no key, so each verdict can say so plainly.

``organisational_domain`` is the relaxed-alignment rule: the last two
labels, or three when the last two are a common multi-label public suffix
(``MULTI_LABEL_SUFFIXES``, a short stand-in for the Public Suffix List that
errs towards "not aligned" for exotic suffixes).
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

import dns.exception
import dns.resolver

from .model import CheckOptions

__all__ = [
    "DNS_TIMEOUT",
    "MULTI_LABEL_SUFFIXES",
    "KeyLookup",
    "key_record_from_user",
    "organisational_domain",
]

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
class KeyLookup:
    """The ``dnsfunc`` dkimpy calls: user keys first, then DNS; remembers what it did."""

    options: CheckOptions
    sources: dict[str, str | None] = field(default_factory=dict)  # name → "user"/"dns"/None
    misses: dict[str, str] = field(default_factory=dict)  # name → why no key was found
    dns_broken: str | None = None  # set once DNS itself failed: don't wait again
    queried: list[str] = field(default_factory=list)  # every name asked for, in order
    resolver: dns.resolver.Resolver | None = None  # None: the system's, DNS_TIMEOUT per lookup

    def __call__(self, name: bytes | str, timeout: float = DNS_TIMEOUT) -> bytes | None:
        qname = (name.decode("ascii", "replace") if isinstance(name, bytes) else name).lower()
        qname = qname.rstrip(".")
        self.queried.append(qname)
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

    def _resolver(self) -> dns.resolver.Resolver:
        if self.resolver is None:
            self.resolver = dns.resolver.Resolver()  # reads /etc/resolv.conf
            self.resolver.timeout = self.resolver.lifetime = DNS_TIMEOUT
        return self.resolver

    def _from_dns(self, qname: str) -> bytes | None:
        try:
            resolver = self._resolver()
            answer = resolver.resolve(qname + ".", "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            self.misses[qname] = "DNS has no TXT record for it"
            return None
        except dns.exception.Timeout:
            self.dns_broken = f"lookup timed out after {self._resolver().lifetime:g} s"
        except dns.resolver.NoNameservers:
            self.dns_broken = "no name server answered"
        except (dns.exception.DNSException, OSError) as exc:
            self.dns_broken = f"lookup failed: {exc}"
        if self.dns_broken is not None:
            self.misses[qname] = f"DNS is not available here ({self.dns_broken})"
            return None
        records = [b"".join(getattr(rdata, "strings", ())) for rdata in answer]
        keys = [r for r in records if b"p=" in r]  # skip unrelated TXT records at the name
        if keys:
            return keys[0]
        self.misses[qname] = "DNS has TXT records for it, but none is a DKIM key (no p=)"
        return None
