"""Certificates and TLS contexts for the SMTP sink.

The sink always offers STARTTLS (and optionally implicit TLS), because the
point of a mail catcher is to let an application exercise the same code path
it uses in production. Without a user-supplied certificate we generate a
self-signed one once, keep it in the data directory and reuse it, so a
developer can pin or trust it a single time.

The building blocks (``_build_cert``, ``_write_cert``, ``_write_key``) are
shared with ``tests/tls_helpers.py``, which makes a throwaway CA for tests.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
import os
import ssl
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.types import (
    CertificateIssuerPrivateKeyTypes,
    CertificatePublicKeyTypes,
    PrivateKeyTypes,
    PublicKeyTypes,
)
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ..paths import ensure_parent

SELF_SIGNED_CERT = "smtp-selfsigned.crt"
SELF_SIGNED_KEY = "smtp-selfsigned.key"

# SANs every generated server certificate carries: what a local client dials.
DEFAULT_NAMES: tuple[str, ...] = ("localhost", "127.0.0.1", "::1")

_SELF_SIGNED_DAYS = 825  # the longest validity Apple clients accept for TLS server certs
_RENEW_BEFORE = _dt.timedelta(days=30)


class CertificateError(Exception):
    """A certificate or key could not be created or loaded (message is user-facing)."""


# ---- server contexts -------------------------------------------------------


def server_context(cert: str | os.PathLike[str], key: str | os.PathLike[str]) -> ssl.SSLContext:
    """An SSL server context for ``cert``/``key``; ``CertificateError`` if unusable."""
    cert_path, key_path = Path(cert), Path(key)
    for what, path in (("certificate", cert_path), ("private key", key_path)):
        if not path.is_file():
            raise CertificateError(f"TLS {what} file not found: {path}")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    # The sink never asks clients for certificates (aiosmtpd warns otherwise).
    ctx.verify_mode = ssl.CERT_NONE
    try:
        ctx.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as exc:
        raise CertificateError(
            f"cannot use TLS certificate {cert_path} with key {key_path}: {exc.reason or exc}"
            " (both must be PEM files and the key must belong to the certificate)"
        ) from exc
    except OSError as exc:
        raise CertificateError(
            f"cannot read TLS certificate {cert_path} / key {key_path}: {exc}"
        ) from exc
    return ctx


def ensure_self_signed(cert_dir: str | os.PathLike[str]) -> tuple[Path, Path]:
    """Return (cert, key) in ``cert_dir``, generating them if missing, broken or expiring.

    The key file is created with mode 0600 before any secret is written to it,
    and a folder this creates is 0700 (``paths.ensure_parent``, as the store's):
    other local users have no business listing the private key's folder.
    """
    directory = Path(cert_dir)
    cert_path, key_path = directory / SELF_SIGNED_CERT, directory / SELF_SIGNED_KEY
    if _reusable(cert_path, key_path):
        return cert_path, key_path
    try:
        ensure_parent(key_path)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = _build_cert(
            subject_cn="mailcatcher-gui self-signed",
            names=DEFAULT_NAMES,
            public_key=key.public_key(),
            issuer_name=None,
            signing_key=key,
            days=_SELF_SIGNED_DAYS,
        )
        _write_key(key_path, key)
        _write_cert(cert_path, cert)
    except OSError as exc:
        raise CertificateError(
            f"cannot create the self-signed TLS certificate in {directory}: {exc}"
        ) from exc
    return cert_path, key_path


def _reusable(cert_path: Path, key_path: Path) -> bool:
    """True if both files exist, load as a pair and the cert is valid for a while yet."""
    if not (cert_path.is_file() and key_path.is_file()):
        return False
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError):
        return False
    if _spki(cert.public_key()) != _spki(key.public_key()):
        return False
    now = _dt.datetime.now(_dt.UTC)
    return cert.not_valid_before_utc <= now and cert.not_valid_after_utc - now > _RENEW_BEFORE


# ---- building blocks --------------------------------------------------------


def _spki(public_key: PublicKeyTypes) -> bytes:
    """A public key as comparable bytes (any key type)."""
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _san(names: Sequence[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _build_cert(
    *,
    subject_cn: str,
    names: Sequence[str],
    public_key: CertificatePublicKeyTypes,
    issuer_name: x509.Name | None,
    signing_key: CertificateIssuerPrivateKeyTypes,
    days: int,
    issuer_ski: x509.SubjectKeyIdentifier | None = None,
) -> x509.Certificate:
    """A TLS server certificate that also passes OpenSSL's X509_STRICT checks."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject_cn)])
    now = _dt.datetime.now(_dt.UTC)
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    aki_source = issuer_ski or ski  # self-signed: the certificate is its own authority
    rsa_key = isinstance(public_key, rsa.RSAPublicKey)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name or subject)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=rsa_key,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(_san(names), critical=False)
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(aki_source),
            critical=False,
        )
        .sign(signing_key, hashes.SHA256())
    )


def _write_key(path: Path, key: PrivateKeyTypes) -> None:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.unlink(missing_ok=True)
    # 0600 from creation, so the key is never readable by others even briefly.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    os.replace(tmp, path)
    os.chmod(path, 0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    os.replace(tmp, path)
