"""The SMTP transport against real servers: TLS, AUTH, refusals, faults, batches."""

from __future__ import annotations

import asyncio
import base64
import email
import email.policy
import hashlib
import re
import time

import pytest
from test_sending_servers import (
    PASSWORD,
    USER,
    LoopThread,
    RecordingHandler,
    SilentPort,
    check_password,
    closed_port,
    hang_up_after_ehlo,
    hang_up_after_greeting,
    helo_only,
    make_pki,
    smtp_server,
)

from mailcatcher_gui.core.sending import (
    Direction,
    Draft,
    DraftAttachment,
    FailureStage,
    RawMessage,
    RelayProfile,
    Security,
    SendRequest,
    SmtpTransport,
    Stage,
    TranscriptLine,
    render_swaks,
    send,
    send_batch,
    send_sync,
)
from mailcatcher_gui.core.sending import test_connection as check_connection


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def loops():
    with LoopThread() as lt:
        yield lt


def profile(port: int, **kw) -> RelayProfile:
    kw.setdefault("host", "127.0.0.1")
    kw.setdefault("connect_timeout", 5.0)
    kw.setdefault("command_timeout", 5.0)
    kw.setdefault("helo_name", "client.test")
    return RelayProfile(name="test", port=port, **kw)


def draft(**kw) -> Draft:
    kw.setdefault("from_", "Sender <sender@example.org>")
    kw.setdefault("to", ("rcpt@example.org",))
    kw.setdefault("subject", "Hello")
    kw.setdefault("text", "Hello there.\n")
    return Draft(**kw)


def run_send(message, transport, on_line=None):
    return asyncio.run(send(SendRequest(message, transport), on_line=on_line))


def texts(report) -> list[str]:
    return [line.text for line in report.transcript]


# ---- plain ------------------------------------------------------------------


def test_plain_send_reports_every_line(loops):
    server = smtp_server(loops)
    live: list[TranscriptLine] = []
    report = run_send(draft(), SmtpTransport(profile(server.port)), on_line=live.append)

    assert report.ok, report.failure
    assert len(server.handler.messages) == 1
    got = server.handler.messages[0]
    assert got.mail_from == "sender@example.org"
    assert got.rcpt_tos == ["rcpt@example.org"]
    # The streamed lines are exactly the report's transcript, in order.
    assert tuple(live) == report.transcript
    lines = texts(report)
    assert lines[0] == f"Trying 127.0.0.1:{server.port}..."
    assert "Connected to 127.0.0.1." in lines
    assert "EHLO client.test" in lines
    assert any(t.startswith("220 ") for t in lines)
    assert f"MAIL FROM:<sender@example.org> SIZE={len(got.content)}" in lines
    assert "RCPT TO:<rcpt@example.org>" in lines
    assert "DATA" in lines and "." in lines
    assert any(t.startswith("354") for t in lines)
    assert "QUIT" in lines
    assert any(t.startswith("221") for t in lines)
    # Directions and stages are marked.
    by_text = {line.text: line for line in report.transcript}
    assert by_text["EHLO client.test"].direction is Direction.CLIENT
    assert by_text["EHLO client.test"].stage is Stage.EHLO
    assert by_text["RCPT TO:<rcpt@example.org>"].stage is Stage.RCPT
    server_lines = [ln for ln in report.transcript if ln.direction is Direction.SERVER]
    assert server_lines and all(ln.code for ln in server_lines)
    assert all(ln.at.tzinfo is not None for ln in report.transcript)
    elapsed = [ln.elapsed for ln in report.transcript]
    assert elapsed == sorted(elapsed)
    # The payload is summarised, never dumped.
    assert not any("Hello there" in t for t in lines)
    data_line = next(t for t in lines if t.startswith("<message data:"))
    assert "bytes" in data_line
    # Facts.
    assert report.final_reply is not None and report.final_reply.code == 250
    assert report.queue_id == "Q1"
    assert [(r.address, r.accepted, r.code) for r in report.recipients] == [
        ("rcpt@example.org", True, 250)
    ]
    assert any(c.startswith("SIZE") for c in report.capabilities)
    assert report.tls is None and report.auth_mechanism is None
    for stage in (Stage.CONNECT, Stage.EHLO, Stage.MAIL, Stage.RCPT, Stage.DATA, Stage.QUIT):
        assert report.stage_times.get(stage, -1) >= 0
    assert report.message_id and report.message_id.startswith("<")
    assert report.size == len(got.content)


def test_swaks_rendering(loops):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"nobody@example.org"}))
    report = run_send(
        draft(to=("rcpt@example.org", "nobody@example.org")), SmtpTransport(profile(server.port))
    )
    rendered = [render_swaks(line) for line in report.transcript]
    assert rendered[0] == f"=== Trying 127.0.0.1:{server.port}..."
    assert " -> EHLO client.test" in rendered
    assert any(r.startswith("<-  220 ") for r in rendered)
    assert any(r.startswith("<-  250-") for r in rendered)  # multi-line EHLO reply
    assert any(r.startswith("<** 550 5.1.1 <nobody@example.org>") for r in rendered)
    stamped = render_swaks(report.transcript[0], timestamps=True)
    assert stamped.startswith("[") and stamped.endswith(f"=== Trying 127.0.0.1:{server.port}...")


# ---- TLS ----------------------------------------------------------------------


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_tls_verified_with_ca_file(loops, pki, security):
    if security is Security.STARTTLS:
        server = smtp_server(loops, starttls=pki.server_context(), require_starttls=True)
    else:
        server = smtp_server(loops, implicit=pki.server_context())
    p = profile(server.port, security=security, ca_file=str(pki.ca_file))
    report = run_send(draft(), SmtpTransport(p))

    assert report.ok, report.failure
    assert server.handler.messages[0].tls is True
    tls = report.tls
    assert tls is not None
    assert tls.mode == ("starttls" if security is Security.STARTTLS else "implicit")
    assert tls.version and tls.version.startswith("TLSv1.")
    assert tls.cipher and tls.bits
    assert tls.verification == "verified" and tls.verify_error is None
    assert tls.ca_file == str(pki.ca_file)
    cert = tls.certificate
    assert cert is not None
    assert cert.subject == "CN=localhost"
    assert cert.issuer == "CN=mailcatcher-gui test CA"
    assert set(cert.sans) == {"DNS:localhost", "IP:127.0.0.1"}
    assert cert.not_before < cert.not_after
    # Lines after the handshake are marked as encrypted; EHLO is repeated after STARTTLS.
    encrypted = [ln for ln in report.transcript if ln.encrypted]
    assert any(ln.text.startswith("MAIL FROM:") for ln in encrypted)
    if security is Security.STARTTLS:
        assert "STARTTLS" in texts(report)
        assert [t for t in texts(report) if t.startswith("EHLO")] == ["EHLO client.test"] * 2
        assert any(render_swaks(ln).startswith(" ~> MAIL FROM:") for ln in report.transcript)
    assert any("TLS started with cipher" in t for t in texts(report))


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_tls_verification_fails_without_ca_and_says_why(loops, pki, security):
    if security is Security.STARTTLS:
        server = smtp_server(loops, starttls=pki.server_context(), require_starttls=True)
    else:
        server = smtp_server(loops, implicit=pki.server_context())
    report = run_send(draft(), SmtpTransport(profile(server.port, security=security)))

    assert not report.ok
    assert report.failure.stage is FailureStage.TLS
    assert "verification failed" in report.failure.message
    tls = report.tls
    assert tls is not None and tls.verification == "failed"
    assert tls.verify_error and "local issuer" in tls.verify_error
    assert tls.version is None  # no session was established
    # The certificate was still fetched (separately, unverified) for the report.
    assert tls.certificate is not None and tls.certificate.subject == "CN=localhost"
    assert server.handler.messages == []
    assert any(ln.direction is Direction.ERROR for ln in report.transcript)


@pytest.mark.parametrize("security", [Security.STARTTLS, Security.TLS])
def test_tls_insecure_switch_passes(loops, pki, security):
    if security is Security.STARTTLS:
        server = smtp_server(loops, starttls=pki.server_context(), require_starttls=True)
    else:
        server = smtp_server(loops, implicit=pki.server_context())
    p = profile(server.port, security=security, allow_invalid_cert=True)
    report = run_send(draft(), SmtpTransport(p))
    assert report.ok, report.failure
    assert report.tls.verification == "skipped"
    assert report.tls.certificate.subject == "CN=localhost"
    assert len(server.handler.messages) == 1


def test_hostname_mismatch_is_a_tls_failure(loops, tmp_path):
    other = make_pki(tmp_path / "other", names=("mail.example.test",))
    server = smtp_server(loops, implicit=other.server_context())
    p = profile(server.port, security=Security.TLS, ca_file=str(other.ca_file))
    report = run_send(draft(), SmtpTransport(p))
    assert report.failure.stage is FailureStage.TLS
    assert "mismatch" in report.tls.verify_error.lower()
    assert report.tls.certificate.sans == ("DNS:mail.example.test",)


def test_starttls_required_but_not_offered(loops):
    server = smtp_server(loops)
    report = run_send(draft(), SmtpTransport(profile(server.port, security=Security.STARTTLS)))
    assert report.failure.stage is FailureStage.TLS
    assert "does not offer STARTTLS" in report.failure.message
    assert server.handler.messages == []


# ---- AUTH ---------------------------------------------------------------------


def auth_profile(server, pki, **kw):
    kw.setdefault("username", USER)
    return profile(server.port, security=Security.STARTTLS, ca_file=str(pki.ca_file), **kw)


def test_auth_right_password(loops, pki):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    report = run_send(draft(), SmtpTransport(auth_profile(server, pki), PASSWORD))
    assert report.ok, report.failure
    assert report.auth_mechanism == "PLAIN"  # preferred inside TLS
    assert server.handler.messages[0].auth_user == USER
    everything = "\n".join(texts(report))
    secret_forms = [
        PASSWORD,
        base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode(),
        base64.b64encode(PASSWORD.encode()).decode(),
    ]
    for secret in secret_forms:
        assert secret not in everything
    assert "AUTH PLAIN ********" in texts(report)
    assert any(t.startswith("235") for t in texts(report))


def test_auth_wrong_password_fails_at_auth_with_535(loops, pki):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    report = run_send(draft(), SmtpTransport(auth_profile(server, pki), "wrong"))
    assert report.failure.stage is FailureStage.AUTH
    assert report.failure.code == 535
    assert "535" in report.failure.message and USER in report.failure.message
    assert report.failure.server_text
    assert server.handler.messages == []
    assert any(render_swaks(ln).startswith("<~* 535") for ln in report.transcript)


def test_auth_login_chosen_redacts_password_line(loops, pki):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    report = run_send(draft(), SmtpTransport(auth_profile(server, pki, auth="LOGIN"), PASSWORD))
    assert report.ok, report.failure
    assert report.auth_mechanism == "LOGIN"
    lines = texts(report)
    assert f"AUTH LOGIN {base64.b64encode(USER.encode()).decode()}" in lines
    assert any(t.startswith("********") for t in lines)
    assert base64.b64encode(PASSWORD.encode()).decode() not in "\n".join(lines)


def test_auth_cram_md5_in_clear_text(loops):
    # AUTH offered without TLS (aiosmtpd's PLAIN/LOGIN plus the handler's CRAM-MD5).
    server = smtp_server(loops, auth_require_tls=False, authenticator=check_password)
    report = run_send(draft(), SmtpTransport(profile(server.port, username=USER), PASSWORD))
    assert report.ok, report.failure
    assert report.auth_mechanism == "CRAM-MD5"  # preferred without TLS
    assert any("without TLS" in t for t in texts(report))
    assert PASSWORD not in "\n".join(texts(report))
    assert server.handler.messages[0].auth_user == USER
    bad = run_send(draft(), SmtpTransport(profile(server.port, username=USER), "nope"))
    assert bad.failure.stage is FailureStage.AUTH and bad.failure.code == 535


def test_auth_mechanism_not_offered(loops, pki):
    server = smtp_server(
        loops, starttls=pki.server_context(), auth=True, auth_exclude_mechanism=["CRAM-MD5"]
    )
    p = auth_profile(server, pki, auth="CRAM-MD5")
    report = run_send(draft(), SmtpTransport(p, PASSWORD))
    assert report.failure.stage is FailureStage.AUTH
    assert "CRAM-MD5" in report.failure.message and "PLAIN" in report.failure.message


def test_missing_password_is_input_error_before_connecting(loops):
    server = smtp_server(loops)
    p = profile(server.port, username=USER, password_env="NOT_SET_ANYWHERE")
    report = run_send(draft(), SmtpTransport(p, None))
    assert report.failure.stage is FailureStage.INPUT
    assert report.failure.field == "password"
    assert "NOT_SET_ANYWHERE" in report.failure.message
    assert server.connections == 0


# ---- refusals and faults ---------------------------------------------------------


def test_one_recipient_refused_others_delivered(loops):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"bad@example.org"}))
    report = run_send(
        draft(to=("a@example.org", "bad@example.org"), cc=("c@example.org",)),
        SmtpTransport(profile(server.port)),
    )
    assert report.ok
    results = {r.address: r for r in report.recipients}
    assert results["a@example.org"].accepted and results["a@example.org"].code == 250
    assert not results["bad@example.org"].accepted
    assert results["bad@example.org"].code == 550
    assert "User unknown" in results["bad@example.org"].text
    assert report.refused == (results["bad@example.org"],)
    assert report.accepted == ("a@example.org", "c@example.org")
    assert server.handler.messages[0].rcpt_tos == ["a@example.org", "c@example.org"]


def test_all_recipients_refused_is_rcpt_failure(loops):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"bad@example.org"}))
    report = run_send(draft(to=("bad@example.org",)), SmtpTransport(profile(server.port)))
    assert report.failure.stage is FailureStage.RCPT
    assert report.failure.code == 550
    assert server.handler.messages == []


def test_421_at_data(loops):
    handler = RecordingHandler(data_reply="421 4.3.2 Service shutting down, closing channel")
    server = smtp_server(loops, handler=handler)
    report = run_send(draft(), SmtpTransport(profile(server.port)))
    assert report.failure.stage is FailureStage.DATA
    assert report.failure.code == 421
    assert "Service shutting down" in report.failure.server_text
    assert report.final_reply is None


def test_hang_up_after_greeting_fails_at_ehlo(loops):
    port = hang_up_after_greeting(loops)
    report = run_send(draft(), SmtpTransport(profile(port)))
    assert report.failure.stage is FailureStage.EHLO
    assert "closed the connection" in report.failure.message
    assert any(t.startswith("220 flaky.test") for t in texts(report))


def test_hang_up_after_ehlo_fails_at_mail(loops):
    port = hang_up_after_ehlo(loops)
    report = run_send(draft(), SmtpTransport(profile(port)))
    assert report.failure.stage is FailureStage.MAIL
    assert "closed the connection" in report.failure.message
    assert report.capabilities == ("8BITMIME",)


def test_ehlo_refused_falls_back_to_helo(loops):
    received: list[bytes] = []
    port = helo_only(loops, received)
    report = run_send(draft(subject="old"), SmtpTransport(profile(port)))
    assert report.ok, report.failure
    assert "HELO client.test" in texts(report)
    assert any(render_swaks(ln).startswith("<** 502") for ln in report.transcript)
    assert report.capabilities == ()
    assert len(received) == 1 and b"Subject: old\r\n" in received[0]


def test_auth_not_offered(loops):
    server = smtp_server(loops)
    report = run_send(draft(), SmtpTransport(profile(server.port, username=USER), PASSWORD))
    assert report.failure.stage is FailureStage.AUTH
    assert "does not offer AUTH" in report.failure.message
    assert "STARTTLS" in report.failure.message
    assert server.handler.messages == []


def test_implicit_tls_against_a_plain_server(loops):
    server = smtp_server(loops)
    report = run_send(draft(), SmtpTransport(profile(server.port, security=Security.TLS)))
    assert report.failure.stage is FailureStage.TLS
    assert report.tls.verification == "failed" and report.tls.verify_error
    assert "does not speak TLS on this port" in report.failure.message


def test_plain_client_against_an_implicit_tls_port(loops, pki):
    server = smtp_server(loops, implicit=pki.server_context())
    report = run_send(draft(), SmtpTransport(profile(server.port, connect_timeout=0.5)))
    assert report.failure.stage is FailureStage.TIMEOUT
    assert report.failure.during is Stage.CONNECT
    assert "implicit TLS" in report.failure.message


def test_silent_server_times_out(loops):
    with SilentPort() as silent:
        # The connect timeout must be the one that ends it: the command timeout
        # is far longer, so the upper bound has room on a busy machine.
        p = profile(silent.port, connect_timeout=0.5, command_timeout=60)
        started = time.monotonic()
        report = run_send(draft(), SmtpTransport(p))
        took = time.monotonic() - started
    assert report.failure.stage is FailureStage.TIMEOUT
    assert report.failure.during is Stage.CONNECT
    assert "no greeting" in report.failure.message
    assert 0.4 < took < 30


def test_connection_refused(loops):
    report = run_send(draft(), SmtpTransport(profile(closed_port())))
    assert report.failure.stage is FailureStage.CONNECT
    assert "refused" in report.failure.message.lower()
    assert render_swaks(report.transcript[-1]).startswith("*** ")


def test_unknown_host(loops):
    report = run_send(draft(), SmtpTransport(profile(25, host="no-such-host.invalid")))
    assert report.failure.stage is FailureStage.CONNECT
    assert "no-such-host.invalid" in report.failure.message


# ---- input errors -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("from", {"from_": "a@example.org\r\nBcc: victim@example.org"}),
        ("to", {"to": ("x@example.org\nBcc: victim@example.org",)}),
        ("cc", {"cc": ("x@example.org\r",)}),
        ("bcc", {"bcc": ("x@example.org\n",)}),
        ("reply_to", {"reply_to": ("r@example.org\r\nX-Evil: 1",)}),
        ("subject", {"subject": "Hi\r\nBcc: victim@example.org"}),
        ("headers", {"headers": (("X-Tag", "a\r\nBcc: victim@example.org"),)}),
        ("attachments", {"attachments": (DraftAttachment("a\r\nb.txt", b"x"),)}),
        ("inline", {"html": "<img>", "inline": (DraftAttachment("i.png", b"x", None, "c\nd"),)}),
    ],
)
def test_header_injection_sends_nothing(loops, field, kwargs):
    server = smtp_server(loops)
    report = run_send(draft(**kwargs), SmtpTransport(profile(server.port)))
    assert report.failure.stage is FailureStage.INPUT
    assert report.failure.field == field
    assert "line break" in report.failure.message
    assert server.connections == 0


# ---- round trip ---------------------------------------------------------------------


def test_round_trip_compose_to_smtp(loops, tmp_path):
    server = smtp_server(loops)
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 40
    csv_bytes = "name,city\r\nJürgen,Köln\r\n".encode()
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
    (tmp_path / "report.pdf").write_bytes(pdf)
    (tmp_path / "data.csv").write_bytes(csv_bytes)
    (tmp_path / "logo.png").write_bytes(png)
    d = Draft(
        from_="Jürgen Müller <juergen@example.org>",
        to=("Zoë <zoe@example.org>",),
        cc=("cc@example.org",),
        bcc=("hidden@example.org",),
        reply_to=("replies@example.org",),
        subject="Grüße — report №5",
        text="Plain body ünïcode\n",
        html='<p>HTML body <img src="cid:logo.png"></p>',
        attachments=(
            DraftAttachment.from_path(tmp_path / "report.pdf"),
            DraftAttachment.from_path(tmp_path / "data.csv"),
        ),
        inline=(DraftAttachment.inline_from_path(tmp_path / "logo.png"),),
        headers=(("X-Campaign", "spring"), ("X-Note", "héllo wörld")),
    )
    report = run_send(d, SmtpTransport(profile(server.port)))
    assert report.ok, report.failure
    got = server.handler.messages[0]
    assert got.rcpt_tos == ["zoe@example.org", "cc@example.org", "hidden@example.org"]
    assert b"hidden@example.org" not in got.content
    assert b"Bcc" not in got.content
    msg = email.message_from_bytes(got.content, policy=email.policy.default)
    assert msg["Subject"] == "Grüße — report №5"
    assert msg["From"].addresses[0].display_name == "Jürgen Müller"
    assert msg["Reply-To"] == "replies@example.org"
    assert msg["X-Campaign"] == "spring"
    assert msg["X-Note"] == "héllo wörld"
    assert b"X-Note: =?utf-8?" in got.content  # RFC 2047, the message stays ASCII
    assert msg["Message-ID"] == report.message_id
    assert msg["Date"] is not None
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Plain body ünïcode\n"
    assert 'src="cid:logo.png"' in msg.get_body(("html",)).get_content()
    parts = {p.get_filename(): p for p in msg.walk() if p.get_filename()}
    pdf_back = parts["report.pdf"].get_content()
    assert hashlib.sha256(pdf_back).hexdigest() == hashlib.sha256(pdf).hexdigest()
    assert parts["report.pdf"].get_content_type() == "application/pdf"
    assert parts["data.csv"].get_payload(decode=True) == csv_bytes
    assert parts["data.csv"].get_content_type() == "text/csv"
    logo = parts["logo.png"]
    assert logo["Content-ID"] == "<logo.png>"
    assert logo.get_payload(decode=True) == png
    related = msg.get_body(("related",))
    assert related is not None and related.get_content_type() == "multipart/related"


def test_release_raw_bytes_unchanged(loops):
    server = smtp_server(loops)
    raw = (
        b"From: Someone <someone@example.org>\r\n"
        b"To: original@example.org\r\n"
        b"Bcc: kept-as-is@example.org\r\n"
        b"Subject: =?utf-8?q?caf=C3=A9?=\r\n"
        b"Message-ID: <raw-1@example.org>\r\n"
        b"X-Odd:    spacing   kept  \r\n"
        b"\r\n"
        b".leading dot line\r\n"
        b"8bit: \xc3\xa9\xe2\x82\xac\r\n"
        b"..two dots\r\n"
    )
    report = run_send(
        RawMessage(raw, "bounce@example.org", ("release@example.org",)),
        SmtpTransport(profile(server.port)),
    )
    assert report.ok, report.failure
    got = server.handler.messages[0]
    assert got.content == raw
    assert got.rcpt_tos == ["release@example.org"]
    assert got.mail_from == "bounce@example.org"
    assert "BODY=8BITMIME" in got.mail_options
    assert report.message_id == "<raw-1@example.org>"


@pytest.mark.slow
def test_release_the_corpus_byte_for_byte(loops, corpus):
    """Captured messages (CRLF, as the sink stores them) go out exactly as stored."""
    server = smtp_server(loops, data_size_limit=None)
    captured = []
    for path in corpus:
        data = re.sub(rb"\r\n|\r|\n", b"\r\n", path.read_bytes())
        data = data if data.endswith(b"\r\n") else data + b"\r\n"
        if max(len(line) for line in data.split(b"\r\n")) > 998:
            continue  # over SMTP's line limit: a relay refuses it, nothing to compare
        captured.append(data)
    assert len(captured) > 350
    messages = [RawMessage(raw, "", ("release@example.org",)) for raw in captured]
    reports = asyncio.run(send_batch(messages, SmtpTransport(profile(server.port))))
    assert [r.failure for r in reports if not r.ok] == []
    assert server.connections == 1
    assert [m.content for m in server.handler.messages] == captured
    assert {m.mail_from for m in server.handler.messages} == {"<>"}  # the null sender


def test_smtputf8_address_round_trip(loops):
    server = smtp_server(loops)
    report = run_send(
        draft(from_="Jörg <jörg@exämple.org>", to=("zoë@example.org",), subject="ü"),
        SmtpTransport(profile(server.port)),
    )
    assert report.ok, report.failure
    got = server.handler.messages[0]
    assert got.mail_from == "jörg@exämple.org"
    assert got.rcpt_tos == ["zoë@example.org"]
    assert "SMTPUTF8" in got.mail_options
    msg = email.message_from_bytes(got.content, policy=email.policy.SMTPUTF8)
    assert msg["Subject"] == "ü"


def test_smtputf8_not_offered_is_mail_failure(loops):
    server = smtp_server(loops, enable_SMTPUTF8=False)
    report = run_send(draft(to=("zoë@example.org",)), SmtpTransport(profile(server.port)))
    assert report.failure.stage is FailureStage.MAIL
    assert "SMTPUTF8" in report.failure.message
    assert server.handler.messages == []


# ---- batches, streaming, cancellation, connection test ---------------------------------


@pytest.mark.parametrize(("count", "limit", "connections"), [(7, 3, 3), (4, 0, 1), (2, 1, 2)])
def test_batch_reuses_connections(loops, count, limit, connections):
    server = smtp_server(loops)
    p = profile(server.port, max_per_connection=limit)
    messages = [draft(subject=f"n{i}") for i in range(count)]
    reports = asyncio.run(send_batch(messages, SmtpTransport(p)))
    assert [r.ok for r in reports] == [True] * count
    assert server.connections == connections
    assert len(server.handler.messages) == count
    assert [r.connection for r in reports] == [i // limit if limit else 0 for i in range(count)]
    subjects = [
        email.message_from_bytes(m.content, policy=email.policy.default)["Subject"]
        for m in server.handler.messages
    ]
    assert subjects == [f"n{i}" for i in range(count)]
    # Only the first message on each connection carries the EHLO lines.
    for i, r in enumerate(reports):
        opens_connection = i == 0 or r.connection != reports[i - 1].connection
        assert any(t.startswith("EHLO") for t in texts(r)) == opens_connection


def test_batch_continues_after_refused_message_and_stops_after_broken_connection(loops):
    server = smtp_server(loops, handler=RecordingHandler(refuse={"bad@example.org"}))
    messages = [
        draft(subject="1"),
        draft(to=("bad@example.org",), subject="2"),
        draft(subject="3", to=("x@example.org\r\n",)),  # input error: skipped, others go on
        draft(subject="4"),
    ]
    reports = asyncio.run(send_batch(messages, SmtpTransport(profile(server.port))))
    assert [r.ok for r in reports] == [True, False, False, True]
    assert reports[1].failure.stage is FailureStage.RCPT
    assert reports[2].failure.stage is FailureStage.INPUT
    assert server.connections == 1
    assert len(server.handler.messages) == 2
    assert "RSET" in texts(reports[1])

    stopped = asyncio.run(
        send_batch([draft(), draft()], SmtpTransport(profile(hang_up_after_ehlo(loops))))
    )
    assert stopped[0].failure.stage is FailureStage.MAIL
    assert stopped[1].failure.stage is FailureStage.MAIL
    assert stopped[1].failure.message.startswith("not sent:")


def test_cancellation_closes_and_raises(loops):
    with SilentPort() as silent:
        lines: list[TranscriptLine] = []

        async def scenario():
            p = profile(silent.port, connect_timeout=30)
            task = asyncio.create_task(
                send(SendRequest(draft(), SmtpTransport(p)), on_line=lines.append)
            )
            # Cancel once it waits for the greeting (a condition, not a pause).
            while not any(ln.text.startswith("Connected") for ln in lines):
                assert not task.done()
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

        started = time.monotonic()
        asyncio.run(asyncio.wait_for(scenario(), 20))
        # Cancelled, not timed out: well under the 30 s connect timeout.
        assert time.monotonic() - started < 15
    assert lines[0].text.startswith("Trying")
    assert any("cancelled" in ln.text for ln in lines)


def test_test_connection_sends_nothing(loops, pki):
    server = smtp_server(loops, starttls=pki.server_context(), auth=True)
    report = asyncio.run(check_connection(auth_profile(server, pki), PASSWORD))
    assert report.ok, report.failure
    assert report.auth_mechanism == "PLAIN"
    assert report.tls.verification == "verified"
    assert not any(t.startswith("MAIL FROM") for t in texts(report))
    assert "QUIT" in texts(report)
    assert server.handler.messages == []
    bad = asyncio.run(check_connection(auth_profile(server, pki), "wrong"))
    assert bad.failure.stage is FailureStage.AUTH and bad.failure.code == 535


def test_sync_api(loops):
    server = smtp_server(loops)
    report = send_sync(SendRequest(draft(), SmtpTransport(profile(server.port))))
    assert report.ok
    assert len(server.handler.messages) == 1
