"""A throwaway certificate authority for tests (moved out of ``core/smtp/tls.py``).

``make_test_ca`` makes a small CA plus a server certificate signed by it, so
clients can verify the chain the way real clients do instead of turning
verification off. It reuses the certificate building blocks of the sink's
``tls`` module, so test certificates pass the same X509_STRICT checks as the
self-signed one the sink generates.
"""

from __future__ import annotations

import datetime as _dt
import os
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mailcatcher_gui.core.smtp.tls import DEFAULT_NAMES, _build_cert, _write_cert, _write_key

__all__ = ["make_test_ca"]


def make_test_ca(
    directory: str | os.PathLike, names: Sequence[str] = DEFAULT_NAMES
) -> tuple[Path, Path, Path]:
    """Create a throwaway CA and a server cert it signed; returns (ca_cert, cert, key).

    For tests: clients load ``ca_cert`` as their only trust anchor and verify
    the server normally (hostname ``localhost`` or ``127.0.0.1``). EC keys keep
    generation instant.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mailcatcher-gui test CA")])
    now = _dt.datetime.now(_dt.UTC)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _dt.timedelta(minutes=5))
        .not_valid_after(now + _dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = _build_cert(
        subject_cn=names[0] if names else "localhost",
        names=names,
        public_key=server_key.public_key(),
        issuer_name=ca_name,
        signing_key=ca_key,
        days=30,
        issuer_ski=ca_ski,
    )
    ca_path = directory / "test-ca.crt"
    cert_path = directory / "test-server.crt"
    key_path = directory / "test-server.key"
    _write_cert(ca_path, ca_cert)
    _write_cert(cert_path, server_cert)
    _write_key(key_path, server_key)
    return ca_path, cert_path, key_path
