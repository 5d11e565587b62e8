"""TLS contexts for sending, and turning a server certificate into facts.

Verification is on by default: against the system CA store, or against one
CA bundle file (a company CA, a test CA) -- the two are alternatives, as in
``ssl.create_default_context``. Turning it off is an explicit profile switch
(``allow_invalid_cert``), and the report then says "skipped".

The certificate facts (subject, issuer, SANs, validity, fingerprint) come
from the DER bytes via ``cryptography`` rather than ``getpeercert()``,
because the latter returns nothing when verification is off -- exactly when
a user most needs to see what the server presented.
"""

from __future__ import annotations

import hashlib
import ssl

from cryptography import x509

from .report import CertificateInfo


def make_tls_context(*, ca_file: str = "", allow_invalid_cert: bool = False) -> ssl.SSLContext:
    """A client context. Raises ``OSError``/``ssl.SSLError`` for an unreadable CA file."""
    if ca_file:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca_file)
    else:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if allow_invalid_cert:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def insecure_context() -> ssl.SSLContext:
    """For fetching a certificate that failed verification, to show it."""
    return make_tls_context(allow_invalid_cert=True)


def certificate_info(der: bytes | None) -> CertificateInfo | None:
    """Parse a DER certificate; None when absent or unparsable."""
    if not der:
        return None
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None
    sans: list[str] = []
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except (x509.ExtensionNotFound, ValueError):
        pass
    else:
        for name in ext.value:
            if isinstance(name, x509.DNSName):
                sans.append(f"DNS:{name.value}")
            elif isinstance(name, x509.IPAddress):
                sans.append(f"IP:{name.value}")
            elif isinstance(name, x509.RFC822Name):
                sans.append(f"email:{name.value}")
            elif isinstance(name, x509.UniformResourceIdentifier):
                sans.append(f"URI:{name.value}")
    digest = hashlib.sha256(der).hexdigest().upper()
    return CertificateInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=tuple(sans),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        serial=format(cert.serial_number, "X"),
        sha256=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
    )


def describe_certificate(info: CertificateInfo) -> list[str]:
    """Transcript lines for a certificate, swaks-like."""
    lines = [f"TLS peer certificate: subject=[{info.subject}]", f"    issuer=[{info.issuer}]"]
    if info.sans:
        lines.append(f"    subjectAltName=[{', '.join(info.sans)}]")
    if info.not_before and info.not_after:
        lines.append(
            f"    notBefore=[{info.not_before:%Y-%m-%d %H:%M:%S}Z] "
            f"notAfter=[{info.not_after:%Y-%m-%d %H:%M:%S}Z]"
        )
    lines.append(f"    sha256=[{info.sha256}]")
    return lines


def verify_reason(exc: BaseException) -> str:
    """OpenSSL's reason for a verification failure, in words."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return exc.verify_message or exc.reason or str(exc)
    if isinstance(exc, ssl.SSLError):
        return exc.reason or str(exc)
    return str(exc)


def find_ssl_error(exc: BaseException) -> ssl.SSLError | None:
    """The ``ssl.SSLError`` behind ``exc`` (aiosmtplib wraps implicit-TLS errors)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
