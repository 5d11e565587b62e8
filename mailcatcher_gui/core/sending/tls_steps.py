"""The TLS parts of a session's report: what was negotiated, or why it failed.

When certificate verification fails, the certificate is still fetched over a
second, unverified handshake that sends nothing, purely so the report can
show what the server presented next to OpenSSL's reason.
"""

from __future__ import annotations

import ssl
from typing import Any

import aiosmtplib
from aiosmtplib.errors import SMTPException

from .closing import drop_and_settle
from .profiles import RelayProfile, Security
from .report import Failure, FailureStage, Stage, TlsReport
from .stages import StageError
from .tlsinfo import certificate_info, describe_certificate, insecure_context, verify_reason
from .transcript import Recorder

__all__ = ["fetch_unverified_certificate", "record_tls", "tls_failure"]


def record_tls(
    client: aiosmtplib.SMTP, mode: str, profile: RelayProfile, rec: Recorder
) -> TlsReport:
    """The TLS session now running, as a report; its facts go into the transcript."""
    p = profile
    sslobj = client.get_transport_info("ssl_object")
    rec.encrypted = True
    version = sslobj.version() if sslobj else None
    cipher_name, _, bits = sslobj.cipher() if sslobj else (None, None, None)
    cert = certificate_info(sslobj.getpeercert(binary_form=True) if sslobj else None)
    report = TlsReport(
        mode=mode,
        version=version,
        cipher=cipher_name,
        bits=bits,
        certificate=cert,
        verification="skipped" if p.allow_invalid_cert else "verified",
        ca_file=p.ca_file or None,
    )
    rec.info(f"TLS started with cipher {version}:{cipher_name}:{bits}")
    if cert:
        for line in describe_certificate(cert):
            rec.info(line)
    if p.allow_invalid_cert and mode == "starttls" and p.security is Security.NONE:
        rec.info(
            "TLS certificate NOT verified (opportunistic STARTTLS: encrypted, not authenticated)"
        )
    elif p.allow_invalid_cert:
        rec.info("TLS certificate NOT verified (allow invalid certificate is on)")
    else:
        source = p.ca_file or "the system CA store"
        rec.info(f"TLS certificate verified against {source}; host name {p.host} matches")
    return report


async def tls_failure(
    exc: ssl.SSLError, mode: str, profile: RelayProfile, rec: Recorder
) -> tuple[StageError, TlsReport]:
    """A failed handshake as a failure and a report (with the certificate, if any)."""
    p = profile
    reason = verify_reason(exc)
    if isinstance(exc, ssl.SSLCertVerificationError):
        message = f"TLS certificate verification failed: {reason}"
        rec.error(message)
        cert = await fetch_unverified_certificate(mode, profile, rec)
        if cert:
            for line in describe_certificate(cert):
                rec.info(line)
        report = TlsReport(
            mode=mode,
            certificate=cert,
            verification="failed",
            verify_error=reason,
            ca_file=p.ca_file or None,
        )
    else:
        message = f"TLS handshake failed: {reason}"
        if mode == "implicit" and "WRONG_VERSION_NUMBER" in reason.upper().replace(" ", "_"):
            message += (
                " (the server does not speak TLS on this port; for a plain or "
                "STARTTLS port choose security 'none' or 'starttls')"
            )
        rec.error(message)
        report = TlsReport(
            mode=mode, verification="failed", verify_error=reason, ca_file=p.ca_file or None
        )
    return (
        StageError(Failure(FailureStage.TLS, message, during=Stage.TLS), usable=False),
        report,
    )


async def fetch_unverified_certificate(mode: str, profile: RelayProfile, rec: Recorder) -> Any:
    """Handshake again without verification, only to show the certificate."""
    p = profile
    rec.info("Fetching the certificate over a separate unverified connection (nothing is sent)")
    probe = aiosmtplib.SMTP(
        hostname=p.host,
        port=p.port,
        timeout=p.command_timeout,
        local_hostname=p.helo_name or None,
        use_tls=mode == "implicit",
        start_tls=mode == "starttls",
        tls_context=insecure_context(),
    )
    try:
        await probe.connect(timeout=p.connect_timeout)
        sslobj = probe.get_transport_info("ssl_object")
        return certificate_info(sslobj.getpeercert(binary_form=True) if sslobj else None)
    except (SMTPException, OSError, ssl.SSLError):
        rec.info("Could not fetch the certificate for the report")
        return None
    finally:
        await drop_and_settle(probe, None)
