"""The sink's TLS: STARTTLS and implicit TLS with real handshakes, generated
self-signed certificates, a CA-signed certificate and bad certificate files."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import smtplib
import socket
import ssl
import stat
import time

import pytest
from cryptography import x509
from smtp_helpers import (
    HOST,
    aiosmtplib_client,
    background_loop,
    client_context,
    make_message,
    queued_id,
    running_sink,
    shared_test_ca,
    sink_config,
)
from tls_helpers import make_test_ca

from mailcatcher_gui.core.smtp import SinkConfig, SinkStartError, start_sink
from mailcatcher_gui.core.smtp.tls import (
    SELF_SIGNED_CERT,
    SELF_SIGNED_KEY,
    ensure_self_signed,
    server_context,
)


def test_starttls_with_the_generated_certificate(mailbox):
    raw = make_message(subject="over starttls")
    with running_sink(mailbox) as srv, smtplib.SMTP(HOST, srv.port) as client:
        client.ehlo("tls-client")
        assert client.has_extn("starttls")
        code, _ = client.starttls(context=client_context(srv.certificate))
        assert code == 220
        client.ehlo("tls-client")
        assert not client.has_extn("starttls")
        client.mail("a@example.com")
        client.rcpt("b@example.com")
        code, text = client.data(raw)
        assert code == 250
        negotiated = client.sock.version()
        cipher = client.sock.cipher()
    stored = mailbox.store.get(queued_id(text))
    assert stored.raw == raw
    assert stored.tls is not None
    assert stored.tls.version == negotiated
    assert stored.tls.cipher == cipher[0]
    assert stored.tls.bits == cipher[2] and stored.tls.bits > 0
    assert stored.tls.implicit is False
    t = stored.transcript
    i = t.index("C: STARTTLS")
    assert t[i + 1] == "S: 220 Ready to start TLS"
    assert t[i + 2].startswith(f"*: TLS established (STARTTLS): {negotiated} {cipher[0]}")
    assert "S: 250-STARTTLS" in t[:i]
    assert "S: 250-STARTTLS" not in t[i:]
    assert t.count("C: ehlo tls-client") == 2


def test_implicit_tls_with_a_ca_signed_certificate(mailbox):
    ca, cert, key = shared_test_ca()
    raw = make_message(subject="implicit")
    with (
        running_sink(mailbox, smtps=(HOST, 0), tls_cert=cert, tls_key=key) as srv,
        smtplib.SMTP_SSL("localhost", srv.smtps_port, context=client_context(ca)) as client,
    ):
        assert srv.certificate == cert
        client.ehlo()
        assert not client.has_extn("starttls")  # already encrypted
        client.sendmail("a@example.com", ["b@example.com"], raw)
        negotiated = client.sock.version()
    [summary] = mailbox.list()
    stored = mailbox.store.get(summary.id)
    assert stored.raw == raw
    assert stored.tls is not None and stored.tls.implicit is True
    assert stored.tls.version == negotiated
    assert stored.transcript[0].startswith("*: TLS established (implicit TLS)")
    assert stored.transcript[1] == "S: 220 mailcatcher-gui ESMTP ready"


def test_aiosmtplib_starttls_verifies_the_ca_chain(mailbox):
    ca, cert, key = shared_test_ca()
    raw = make_message(subject="aiosmtplib tls")

    async def send(port: int) -> str:
        async with aiosmtplib_client(
            hostname="localhost", port=port, start_tls=True, tls_context=client_context(ca)
        ) as client:
            assert client.get_transport_info("ssl_object") is not None
            _errors, reply = await client.sendmail("a@example.com", ["b@example.com"], raw)
        return reply

    with running_sink(mailbox, tls_cert=cert, tls_key=key) as srv:
        reply = asyncio.run(send(srv.port))
    stored = mailbox.store.get(queued_id(reply))
    assert stored.raw == raw
    assert stored.tls is not None and stored.tls.implicit is False


def test_a_client_that_rejects_the_certificate_stores_nothing(mailbox, caplog):
    ca, _cert, _key = shared_test_ca()  # trusts the test CA, not the self-signed cert
    with running_sink(mailbox) as srv:
        with smtplib.SMTP(HOST, srv.port) as client:
            client.ehlo()
            with pytest.raises(ssl.SSLCertVerificationError):
                client.starttls(context=client_context(ca))
        # The sink is unharmed.
        with smtplib.SMTP(HOST, srv.port) as client:
            client.starttls(context=client_context(srv.certificate))
            client.sendmail("a@example.com", ["b@example.com"], make_message())
        assert srv.sink.session_count <= 1
    assert mailbox.count() == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("STARTTLS handshake failed" in m and "UNKNOWN_CA" in m for m in warnings)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_plaintext_client_on_the_implicit_tls_port_is_dropped(mailbox, caplog):
    with running_sink(mailbox, smtps=(HOST, 0)) as srv:
        with socket.create_connection((HOST, srv.smtps_port), timeout=5) as plain:
            plain.sendall(b"EHLO plain\r\n")
            # Garbage instead of a ClientHello: the server gives up on us.
            data = b""
            with contextlib.suppress(ConnectionError):
                while chunk := plain.recv(4096):
                    data += chunk
            assert not data.startswith(b"220")
        # The listener still serves TLS clients.
        with smtplib.SMTP_SSL(
            "localhost", srv.smtps_port, context=client_context(srv.certificate)
        ) as client:
            client.sendmail("a@example.com", ["b@example.com"], make_message())
    assert mailbox.count() == 1
    assert any(
        "implicit TLS handshake" in r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING
    )


def test_self_signed_certificate_is_generated_once_and_reused(mailbox, tmp_path):
    cert_dir = tmp_path / "certs"
    with running_sink(mailbox, cert_dir=cert_dir) as srv:
        assert srv.certificate == cert_dir / SELF_SIGNED_CERT
        with smtplib.SMTP("localhost", srv.port) as client:
            client.starttls(context=client_context(srv.certificate))
            assert client.noop()[0] == 250
    cert_file, key_file = cert_dir / SELF_SIGNED_CERT, cert_dir / SELF_SIGNED_KEY
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert set(san.get_values_for_type(x509.IPAddress)) == {
        ipaddress.ip_address("127.0.0.1"),
        ipaddress.ip_address("::1"),
    }
    first = (cert_file.read_bytes(), key_file.read_bytes())
    with running_sink(mailbox, cert_dir=cert_dir):
        pass
    assert (cert_file.read_bytes(), key_file.read_bytes()) == first


def test_broken_or_mismatched_self_signed_files_are_replaced(tmp_path):
    cert, key = ensure_self_signed(tmp_path)
    original = cert.read_bytes()
    cert.write_bytes(b"not a certificate")
    ensure_self_signed(tmp_path)
    regenerated = cert.read_bytes()
    assert regenerated != original
    server_context(cert, key)  # loads as a pair
    # A key that does not belong to the certificate is noticed too.
    _ca, _other_cert, other_key = make_test_ca(tmp_path / "other")
    key.write_bytes(other_key.read_bytes())
    ensure_self_signed(tmp_path)
    assert cert.read_bytes() != regenerated
    server_context(cert, key)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_without_cert_dir_a_temporary_certificate_is_removed_on_stop(mailbox):
    with running_sink(mailbox, SinkConfig(smtp=(HOST, 0))) as srv:
        certificate = srv.certificate
        assert certificate.is_file()
        with smtplib.SMTP(HOST, srv.port) as client:
            client.starttls(context=client_context(certificate))
            client.sendmail("a@example.com", ["b@example.com"], make_message())
    assert not certificate.parent.exists()
    assert mailbox.count() == 1


def _start_error(mailbox, **overrides) -> SinkStartError:
    with background_loop() as (loop, _errors):
        future = asyncio.run_coroutine_threadsafe(
            start_sink(sink_config(**overrides), mailbox), loop
        )
        with pytest.raises(SinkStartError) as error:
            future.result(10)
    return error.value


def test_bad_certificate_files_are_clear_start_errors(mailbox, tmp_path):
    _ca, cert, key = shared_test_ca()
    missing = tmp_path / "missing.crt"
    error = _start_error(mailbox, tls_cert=missing, tls_key=key)
    assert "not found" in str(error) and str(missing) in str(error)

    garbage = tmp_path / "garbage.crt"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")
    error = _start_error(mailbox, tls_cert=garbage, tls_key=key)
    assert str(garbage) in str(error) and "PEM" in str(error)

    other_key = ensure_self_signed(tmp_path / "other")[1]
    error = _start_error(mailbox, tls_cert=cert, tls_key=other_key)
    assert "key must belong to the certificate" in str(error)

    error = _start_error(mailbox, tls_key=key)
    assert "without its certificate" in str(error)


def test_certificate_and_key_in_one_file(mailbox, tmp_path):
    ca, cert, key = shared_test_ca()
    combined = tmp_path / "combined.pem"
    combined.write_bytes(cert.read_bytes() + key.read_bytes())
    with (
        running_sink(mailbox, tls_cert=combined) as srv,
        smtplib.SMTP("localhost", srv.port) as client,
    ):
        client.starttls(context=client_context(ca))
        client.sendmail("a@example.com", ["b@example.com"], make_message())
    [summary] = mailbox.list()
    assert mailbox.store.get(summary.id).tls is not None


def test_stop_closes_tls_sessions_promptly(mailbox):
    ca, cert, key = shared_test_ca()
    ctx = client_context(ca)
    with (
        running_sink(mailbox, smtps=(HOST, 0), tls_cert=cert, tls_key=key) as srv,
        contextlib.ExitStack() as stack,
    ):
        implicit = ctx.wrap_socket(
            socket.create_connection((HOST, srv.smtps_port), timeout=5), server_hostname="localhost"
        )
        stack.callback(implicit.close)
        starttls = smtplib.SMTP("localhost", srv.port)
        stack.callback(starttls.close)
        assert implicit.recv(1024).startswith(b"220 ")
        starttls.starttls(context=ctx)
        # A third client connects to the TLS port and never starts the handshake.
        handshaking = socket.create_connection((HOST, srv.smtps_port), timeout=5)
        stack.callback(handshaking.close)
        deadline = time.monotonic() + 5
        while srv.sink.session_count < 3 and time.monotonic() < deadline:
            time.sleep(0.005)
        assert srv.sink.session_count == 3

        started = time.monotonic()
        srv.run(srv.sink.stop())
        assert time.monotonic() - started < 2
        assert srv.sink.session_count == 0
        for sock in (implicit, starttls.sock, handshaking):
            try:
                data = sock.recv(1)
            except (ConnectionError, ssl.SSLError):
                data = b""
            assert data == b""


def _starttls_again(client: smtplib.SMTP) -> tuple[int, bytes]:
    """Send STARTTLS inside TLS (smtplib refuses to, so the command is sent raw)."""
    client.putcmd("STARTTLS")
    return client.getreply()


@pytest.mark.parametrize("how", ["starttls", "implicit"])
def test_starttls_inside_tls_is_answered_503(mailbox, caplog, how):
    """RFC 3207: STARTTLS on a TLS session is a bad sequence of commands (503),
    not a second ``220`` whose handshake fails with an asyncio traceback."""
    caplog.set_level(logging.DEBUG)
    ca, cert, key = shared_test_ca()
    ctx = client_context(ca)
    raw = make_message(subject=f"after a second starttls ({how})")
    with running_sink(mailbox, smtps=(HOST, 0), tls_cert=cert, tls_key=key) as srv:
        if how == "starttls":
            client = smtplib.SMTP("localhost", srv.port, timeout=10)
            client.ehlo("tls-client")
            assert client.starttls(context=ctx)[0] == 220
        else:
            client = smtplib.SMTP_SSL("localhost", srv.smtps_port, context=ctx, timeout=10)
        with client:
            client.ehlo("tls-client")
            assert not client.has_extn("starttls")
            code, text = _starttls_again(client)
            assert (code, text[:5]) == (503, b"5.5.1"), (code, text)
            # The session goes on over the same TLS layer.
            assert client.noop()[0] == 250
            client.mail("a@example.com")
            client.rcpt("b@example.com")
            code, text = client.data(raw)
            assert code == 250, (code, text)
            assert client.sock.version() is not None  # still TLS
    stored = mailbox.store.get(queued_id(text))
    assert stored.raw == raw
    assert "S: 503 5.5.1 Error: TLS is already active" in stored.transcript
    logged = [r for r in caplog.records if r.exc_info or r.levelno >= logging.WARNING]
    assert not logged, [r.getMessage() for r in logged]
