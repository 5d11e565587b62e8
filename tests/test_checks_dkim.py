"""DKIM/ARC verification with keys made here: pass, body-hash fail, signature fail,
no key, DNS off, alignment, PEM and TXT user keys, ARC chains."""

from __future__ import annotations

import base64
import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import dkim
import dns.message
import dns.rcode
import dns.resolver
import dns.rrset
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mailcatcher_gui.core.checks import CheckOptions, Severity
from mailcatcher_gui.core.checks.dkim import (
    check_authentication,
    key_record_from_user,
    organisational_domain,
)

MESSAGE = (
    b"From: Alice <alice@mail.example.com>\r\n"
    b"To: bob@example.net\r\n"
    b"Subject: Quarterly numbers\r\n"
    b"Date: Sun, 06 Dec 2026 03:00:00 +0000\r\n"
    b"Message-ID: <q1@example.com>\r\n"
    b"\r\n"
    b"Hello Bob,\r\nthe numbers are attached.\r\n"
)


@pytest.fixture(scope="module")
def keypair() -> tuple[bytes, bytes, bytes]:
    """(private PEM, public PEM, DKIM TXT record) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return private, public_pem, record


def sign(private: bytes, domain: bytes = b"example.com", message: bytes = MESSAGE) -> bytes:
    header = dkim.sign(
        message,
        b"s1",
        domain,
        private,
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return header + message


def options(
    key: bytes | None = None, domain: str = "example.com", dns: bool = False
) -> CheckOptions:
    keys = {f"s1._domainkey.{domain}": key} if key is not None else {}
    return CheckOptions(dkim_keys=keys, resolve_dns=dns)


def test_signed_message_verifies_with_user_txt_key(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    result = check_authentication(sign(private), options(record))
    [sig] = result.data["signatures"]
    assert sig["result"] == "pass"
    assert sig["key_source"] == "user"
    assert sig["domain"] == "example.com" and sig["selector"] == "s1"
    assert sig["aligned"] is True
    assert sig["body_hash"] == "pass" and sig["header_hash"] == "pass"
    assert sig["signed_headers"][:3] == ["from", "to", "subject"]
    assert result.verdict is Severity.OK
    assert "key you gave" in result.findings[0].title
    assert result.findings[0].line == 1  # the DKIM-Signature header leads the message
    assert "pass (example.com, aligned)" in result.summary


def test_user_key_as_pem_public_key(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, pem, _record = keypair
    assert key_record_from_user(pem).startswith(b"v=DKIM1; k=rsa; p=MII")
    result = check_authentication(sign(private), options(pem))
    assert result.data["signatures"][0]["result"] == "pass"


def test_changed_body_byte_fails_with_body_hash_reason(
    keypair: tuple[bytes, bytes, bytes],
) -> None:
    private, _pem, record = keypair
    tampered = sign(private).replace(b"the numbers", b"the Numbers")
    result = check_authentication(tampered, options(record))
    [sig] = result.data["signatures"]
    assert sig["result"] == "fail"
    assert sig["body_hash"] == "fail"
    assert sig["reason"].startswith("body hash did not verify")
    assert result.verdict is Severity.ERROR
    assert "body hash did not verify" in result.findings[0].title


def test_changed_header_fails_with_signature_reason(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    tampered = sign(private).replace(b"Quarterly numbers", b"Quarterly Numbers")
    result = check_authentication(tampered, options(record))
    [sig] = result.data["signatures"]
    assert sig["result"] == "fail"
    assert sig["body_hash"] == "pass" and sig["header_hash"] == "fail"
    assert sig["reason"].startswith("signature did not verify")
    assert "signature did not verify" in result.findings[0].title


def test_wrong_key_fails_signature(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, _record = keypair
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    other_pem = other.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    result = check_authentication(sign(private), options(other_pem))
    assert result.data["signatures"][0]["result"] == "fail"
    assert result.data["signatures"][0]["header_hash"] == "fail"


def test_no_key_says_so_without_dns(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, _record = keypair
    result = check_authentication(sign(private), options(None, dns=False))
    [sig] = result.data["signatures"]
    assert sig["result"] == "no-key"
    assert sig["key_source"] is None
    assert "no key found for s1._domainkey.example.com" in sig["reason"]
    assert "DNS lookups are turned off" in sig["reason"]
    assert result.verdict is Severity.WARNING
    assert "--dkim-key s1._domainkey.example.com=FILE" in result.findings[0].advice


def test_no_key_with_dns_allowed_fails_quickly_and_plainly(
    keypair: tuple[bytes, bytes, bytes],
) -> None:
    """This machine's DNS has no such record (or no DNS at all): either way "no-key", plainly."""
    private, _pem, _record = keypair
    msg = sign(
        private,
        domain=b"dkim-test.invalid",
        message=MESSAGE.replace(b"example.com>", b"dkim-test.invalid>"),
    )
    result = check_authentication(msg, CheckOptions(resolve_dns=True))
    [sig] = result.data["signatures"]
    assert sig["result"] == "no-key"
    assert "DNS" in sig["reason"]


def test_alignment_false_for_third_party_domain(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    result = check_authentication(
        sign(private, domain=b"esp.example.org"), options(record, "esp.example.org")
    )
    [sig] = result.data["signatures"]
    assert sig["result"] == "pass"
    assert sig["aligned"] is False
    assert result.verdict is Severity.WARNING
    assert "does not align with the From domain mail.example.com" in result.findings[0].detail


def test_organisational_domain_rule() -> None:
    assert organisational_domain("mail.example.com") == "example.com"
    assert organisational_domain("Example.COM.") == "example.com"
    assert organisational_domain("a.b.example.co.uk") == "example.co.uk"
    assert organisational_domain("example.co.uk") == "example.co.uk"
    assert organisational_domain("localhost") == "localhost"


def test_unsigned_message_is_info_not_error() -> None:
    result = check_authentication(MESSAGE, CheckOptions(resolve_dns=False))
    assert result.data["signatures"] == []
    assert result.verdict is Severity.INFO
    assert result.findings[0].code == "dkim-unsigned"
    assert result.summary == "not DKIM-signed"


def test_two_signatures_each_judged(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    first = sign(private)
    second = sign(private, domain=b"esp.example.org", message=first)
    result = check_authentication(second, options(record))
    by_domain = {s["domain"]: s for s in result.data["signatures"]}
    lines = {f.data["domain"]: f.line for f in result.findings}
    raw_lines = second.split(b"\n")
    for domain, line in lines.items():
        assert line is not None
        assert raw_lines[line - 1].startswith(b"DKIM-Signature:")
        assert f"d={domain}".encode() in b"".join(raw_lines[line - 1 : line + 3]).replace(b" ", b"")
    assert by_domain["example.com"]["result"] == "pass"
    assert by_domain["esp.example.org"]["result"] == "no-key"


def test_malformed_signature_is_an_error_not_a_crash() -> None:
    msg = b"DKIM-Signature: v=1; a=rsa-sha256; d=example.com\r\n" + MESSAGE
    result = check_authentication(msg, CheckOptions(resolve_dns=False))
    [sig] = result.data["signatures"]
    assert sig["result"] == "error"
    assert "malformed" in sig["reason"]
    assert result.verdict is Severity.ERROR


def test_unusable_user_key_is_an_error(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, _record = keypair
    result = check_authentication(sign(private), options(b"v=DKIM1; k=rsa; p=bm90IGEga2V5"))
    [sig] = result.data["signatures"]
    assert sig["result"] == "error"
    assert sig["key_source"] == "user"


def arc_seal_first(message: bytes, private: bytes, srv_id: bytes = b"lists.example.com") -> bytes:
    """The first ARC set (i=1, cv=none) over ``message``, as dkimpy's ``arc_sign`` makes it.

    ``dkim.arc_sign`` needs the ``authres`` package (not a dependency) only to
    parse the Authentication-Results it copies; the rest is dkimpy's own code.
    """
    from dkim.canonicalization import CanonicalizationPolicy
    from dkim.crypto import parse_pem_private_key

    arc = dkim.ARC(message)
    pk = parse_pem_private_key(private)
    arc.hasher = hashlib.sha256
    policy = CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    aar = b"i=1; " + srv_id + b"; dkim=pass\r\n"
    arc_headers: list[tuple[bytes, bytes]] = [(b"ARC-Authentication-Results", aar)]
    arc.headers = policy.canonicalize_headers(arc_headers[:1]) + arc.headers
    body_hash = base64.b64encode(hashlib.sha256(policy.canonicalize_body(arc.body)).digest())
    include = (b"from", b"to", b"subject")
    ams_fields = [
        (b"i", b"1"), (b"a", b"rsa-sha256"), (b"c", b"relaxed/relaxed"), (b"d", b"example.com"),
        (b"s", b"s1"), (b"t", b"1796526000"), (b"h", b" : ".join(include)), (b"bh", body_hash),
        (b"b", b"0" * 60),
    ]  # fmt: skip
    ams = arc.gen_header(ams_fields, include, policy, b"ARC-Message-Signature", pk, False)
    arc_headers.insert(0, (b"ARC-Message-Signature", ams))
    arc.headers = policy.canonicalize_headers(arc_headers[:1]) + arc.headers
    as_fields = [
        (b"i", b"1"), (b"cv", b"none"), (b"a", b"rsa-sha256"), (b"d", b"example.com"),
        (b"s", b"s1"), (b"t", b"1796526000"), (b"b", b"0" * 60),
    ]  # fmt: skip
    as_include = [name.lower() for name, _ in arc_headers][::-1]
    seal = arc.gen_header(as_fields, as_include, policy, b"ARC-Seal", pk, False)
    return (
        b"ARC-Seal: " + seal
        + b"ARC-Message-Signature: " + ams
        + b"ARC-Authentication-Results: " + aar
        + message
    )  # fmt: skip


def test_arc_chain_pass_and_broken(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    base = b"Authentication-Results: lists.example.com; dkim=pass\r\n" + MESSAGE
    sealed = arc_seal_first(base, private)
    result = check_authentication(sealed, options(record))
    assert result.data["arc"]["result"] == "pass"
    assert any(f.code == "arc-pass" for f in result.findings)
    broken = sealed.replace(b"the numbers", b"the Numbers")
    bad = check_authentication(broken, options(record))
    assert bad.data["arc"]["result"] == "fail"
    assert any(f.code == "arc-fail" and f.severity is Severity.WARNING for f in bad.findings)
    keyless = check_authentication(sealed, options(None))
    assert keyless.data["arc"]["result"] == "no-key"
    assert keyless.data["arc"]["missing_keys"] == ["s1._domainkey.example.com"]
    assert any(f.code == "arc-no-key" and f.severity is Severity.INFO for f in keyless.findings)
    plain = check_authentication(MESSAGE, options(record))
    assert plain.data["arc"]["result"] == "none"
    assert not any(f.code.startswith("arc-") for f in plain.findings)


def test_malformed_header_sections_never_crash(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    leading_fold = b"   \r\n" + sign(private)  # dkimpy: IndexError in its header parser
    result = check_authentication(leading_fold, options(record))
    [sig] = result.data["signatures"]
    assert sig["result"] == "error"
    assert "folded (indented) line comes before the first header" in sig["reason"]
    assert sig["domain"] == "example.com" and sig["selector"] == "s1"  # read from the header text
    assert sig["aligned"] is True
    assert "header section" in result.findings[0].advice
    assert result.verdict is Severity.ERROR
    not_a_header = b"this is not a header\r\n" + MESSAGE  # dkimpy: MessageFormatError
    result = check_authentication(not_a_header, options(record))
    assert result.data["signatures"] == []  # no DKIM-Signature to judge
    assert result.verdict is Severity.INFO
    for junk in (b"", b"\x00\xff\xfe", b"DKIM-Signature: \r\n\r\n", b"\r\n\r\nbody only"):
        got = check_authentication(junk, options(record))
        assert "signatures" in got.data and "arc" in got.data


def test_signature_count_is_bounded(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    one = sign(private)
    header = one[: one.index(b"From:")]
    many = header * 25 + MESSAGE
    result = check_authentication(many, options(record))
    sigs = result.data["signatures"]
    assert len(sigs) == 25
    assert [s["result"] for s in sigs[:20]] == ["pass"] * 20
    assert all(s["result"] == "error" and "first 20" in s["reason"] for s in sigs[20:])


@contextmanager
def dns_server(records: dict[str, bytes], *, silent: bool = False) -> Iterator[int]:
    """A real (tiny) DNS server on 127.0.0.1 UDP: TXT answers from ``records``, else NXDOMAIN.

    ``silent`` drops every query, like a dead resolver.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                wire, peer = sock.recvfrom(4096)
            except TimeoutError:
                continue
            if silent:
                continue
            query = dns.message.from_wire(wire)
            reply = dns.message.make_response(query)
            name = query.question[0].name.to_text().rstrip(".").lower()
            if name in records:
                value = records[name]
                chunks = " ".join(
                    '"' + value[i : i + 200].decode() + '"' for i in range(0, len(value), 200)
                )
                reply.answer.append(
                    dns.rrset.from_text(query.question[0].name, 60, "IN", "TXT", chunks)
                )
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            sock.sendto(reply.to_wire(), peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join(5)
        sock.close()


def local_resolver(port: int, lifetime: float = 2.0) -> dns.resolver.Resolver:
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = ["127.0.0.1"]
    resolver.port = port
    resolver.timeout = resolver.lifetime = lifetime
    return resolver


def test_key_from_dns_says_so(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, record = keypair
    with dns_server({"s1._domainkey.example.com": record}) as port:
        result = check_authentication(
            sign(private), CheckOptions(resolve_dns=True), resolver=local_resolver(port)
        )
        [sig] = result.data["signatures"]
        assert sig["result"] == "pass" and sig["key_source"] == "dns"
        assert "(key from DNS)" in result.findings[0].title
        # a key the user gave wins over DNS
        mine = check_authentication(
            sign(private), options(record, dns=True), resolver=local_resolver(port)
        )
        assert mine.data["signatures"][0]["key_source"] == "user"
        # a name DNS does not know: no key, said plainly
        other = check_authentication(
            sign(private, domain=b"example.org"),
            CheckOptions(resolve_dns=True),
            resolver=local_resolver(port),
        )
        [sig] = other.data["signatures"]
        assert sig["result"] == "no-key"
        assert sig["reason"].endswith("DNS has no TXT record for it")


def test_dead_dns_is_asked_once_and_said_plainly(keypair: tuple[bytes, bytes, bytes]) -> None:
    private, _pem, _record = keypair
    two = sign(private, domain=b"example.org", message=sign(private))
    with dns_server({}, silent=True) as port:
        started = time.monotonic()
        result = check_authentication(
            two, CheckOptions(resolve_dns=True), resolver=local_resolver(port, lifetime=0.5)
        )
        elapsed = time.monotonic() - started
    reasons = [s["reason"] for s in result.data["signatures"]]
    assert all("DNS is not available here (lookup timed out after 0.5 s)" in r for r in reasons)
    assert [s["result"] for s in result.data["signatures"]] == ["no-key", "no-key"]
    assert elapsed < 2.0  # the second signature did not wait again
