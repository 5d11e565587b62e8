"""The SMTP sink over real sockets: smtplib, aiosmtplib and raw pipelined bytes
against the real aiosmtpd sink in front of a real Mailbox and SQLite store."""

from __future__ import annotations

import asyncio
import base64
import logging
import smtplib
import socket
import sqlite3
import time
from datetime import UTC, datetime

import pytest
from smtp_helpers import (
    HOST,
    RawSmtpClient,
    aiosmtplib_client,
    background_loop,
    dot_stuff,
    free_port,
    make_message,
    queued_id,
    running_sink,
    sink_config,
    sized_message,
)

from mailcatcher_gui.core.smtp import (
    AuthMode,
    PortInUse,
    SinkStartError,
    parse_hostport,
    start_sink,
)

# ---- the plain path ---------------------------------------------------------


def test_plain_send_stores_exact_bytes_envelope_and_session(mailbox):
    raw = make_message(body=b"first line\r\n.leading dot survives\r\n..two dots\r\nlast\r\n")
    before = datetime.now(UTC)
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo("client.example")
        assert client.mail("alice@example.com")[0] == 250
        assert client.rcpt("bob@example.com")[0] == 250
        assert client.rcpt("carol@example.com")[0] == 250
        code, text = client.data(raw)
        local_port = client.sock.getsockname()[1]
    after = datetime.now(UTC)

    assert code == 250
    assert text.startswith(b"2.0.0 Ok: queued as ")
    stored = mailbox.store.get(queued_id(text))
    assert stored.raw == raw  # byte for byte: unstuffed, nothing added
    assert mailbox.raw(stored.id) == raw
    s = stored.summary
    assert s.envelope_from == "alice@example.com"
    assert s.envelope_to == ("bob@example.com", "carol@example.com")
    assert before <= s.received_at <= after
    assert s.received_at.utcoffset().total_seconds() == 0
    assert stored.peer == f"127.0.0.1:{local_port}"
    assert stored.helo == "client.example"
    assert stored.tls is None
    assert stored.auth_user is None
    assert stored.source == "smtp"

    t = stored.transcript
    assert t[0] == "S: 220 mailcatcher-gui ESMTP ready"
    assert "C: ehlo client.example" in t
    assert "S: 250-PIPELINING" in t and "S: 250-SMTPUTF8" in t and "S: 250-8BITMIME" in t
    assert any(line.startswith("S: 250-SIZE ") for line in t)
    assert not any("AUTH" in line for line in t)  # AUTH is off by default
    assert "C: rcpt TO:<carol@example.com>" in t
    assert f"C: <message data: {len(raw)} bytes>" in t
    assert t[-1] == "C: ."
    assert not any("leading dot" in line or "first line" in line for line in t)


def test_bcc_recipient_is_only_in_the_envelope(mailbox):
    raw = make_message(subject="bcc")
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        refused = client.sendmail(
            "alice@example.com", ["bob@example.com", "hidden@example.net"], raw
        )
    assert refused == {}
    [summary] = mailbox.list()
    assert summary.envelope_to == ("bob@example.com", "hidden@example.net")
    assert b"hidden" not in mailbox.raw(summary.id)
    assert mailbox.raw(summary.id) == raw


def test_smtputf8_addresses_are_kept(mailbox):
    sender, rcpt = "jörg@exämple.de", "用户@例子.广告"
    raw = make_message(subject="Grüße", **{"From": sender, "To": rcpt}) + "Hallo wörld\r\n".encode()
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        assert client.has_extn("smtputf8")
        client.sendmail(sender, [rcpt], raw, mail_options=["SMTPUTF8", "BODY=8BITMIME"])
    [summary] = mailbox.list()
    assert summary.envelope_from == sender
    assert summary.envelope_to == (rcpt,)
    assert mailbox.raw(summary.id) == raw
    transcript = mailbox.store.get(summary.id).transcript
    assert any(line.startswith("C: mail FROM:<jörg@exämple.de>") for line in transcript)
    assert "C: rcpt TO:<用户@例子.广告>" in transcript


def test_8bit_body_with_8bitmime_is_stored_byte_for_byte(mailbox):
    body = b"caf\xe9 \xe0 la cr\xe8me\r\nraw high bytes: \x80\x81\xfe\xff\r\n"
    raw = make_message(
        subject="latin-1",
        body=body,
        **{"Content-Type": "text/plain; charset=iso-8859-1", "Content-Transfer-Encoding": "8bit"},
    )
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        assert client.has_extn("8bitmime")
        client.sendmail("a@example.com", ["b@example.com"], raw, mail_options=["BODY=8BITMIME"])
    [summary] = mailbox.list()
    assert mailbox.raw(summary.id) == raw
    assert any("BODY=8BITMIME" in line for line in mailbox.store.get(summary.id).transcript)


def test_null_sender_is_accepted_as_empty_envelope_from(mailbox):
    raw = make_message(subject="bounce")
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.sendmail("<>", ["postmaster@example.com"], raw)
    [summary] = mailbox.list()
    assert summary.envelope_from == ""
    assert summary.envelope_to == ("postmaster@example.com",)


# ---- pipelining and multi-message sessions ----------------------------------


def test_pipelined_session_in_one_write(mailbox):
    m1 = make_message(subject="one")
    m2 = make_message(subject="two", body=b".starts with a dot\r\nend\r\n")
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port) as c:
        assert c.reply()[0] == 220
        c.send(b"EHLO pipeliner\r\n")
        code, lines = c.reply()
        assert code == 250 and "PIPELINING" in lines
        c.send(
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n"
            b"RCPT TO:<c@example.com>\r\nDATA\r\n" + dot_stuff(m1) + b".\r\n"
            b"RSET\r\n"
            b"MAIL FROM:<a@example.com>\r\nRCPT TO:<d@example.com>\r\nDATA\r\n"
            + dot_stuff(m2)
            + b".\r\nQUIT\r\n"
        )
        replies = c.replies(11)
        assert c.at_eof()
    codes = [code for code, _ in replies]
    assert codes == [250, 250, 250, 354, 250, 250, 250, 250, 354, 250, 221]
    id1, id2 = queued_id(replies[4][1][0]), queued_id(replies[9][1][0])
    assert id1 != id2
    assert mailbox.raw(id1) == m1
    assert mailbox.raw(id2) == m2
    assert mailbox.summary(id1).envelope_to == ("b@example.com", "c@example.com")
    assert mailbox.summary(id2).envelope_to == ("d@example.com",)

    t1 = mailbox.store.get(id1).transcript
    t2 = mailbox.store.get(id2).transcript
    assert "C: EHLO pipeliner" in t1 and "C: EHLO pipeliner" in t2  # session prologue in both
    assert "*: 1 earlier message(s) of this session not shown" in t2
    assert "C: RCPT TO:<b@example.com>" in t1
    assert "C: RCPT TO:<b@example.com>" not in t2  # the first message's commands are not repeated
    assert "C: RSET" in t2
    assert f"C: <message data: {len(m2)} bytes>" in t2
    assert not any("starts with a dot" in line for line in t2)


def test_several_messages_over_one_aiosmtplib_connection(mailbox):
    messages = [make_message(subject=f"async {i}") for i in range(3)]

    async def send_all(port: int) -> list[str]:
        replies = []
        async with aiosmtplib_client(hostname=HOST, port=port, start_tls=False) as client:
            for i, raw in enumerate(messages):
                errors, reply = await client.sendmail(
                    "sender@example.com", [f"rcpt{i}@example.com"], raw
                )
                assert errors == {}
                replies.append(reply)
        return replies

    with running_sink(mailbox) as srv:
        replies = asyncio.run(send_all(srv.port))
    ids = [queued_id(r) for r in replies]
    assert len(set(ids)) == 3
    for i, (message_id, raw) in enumerate(zip(ids, messages, strict=True)):
        assert mailbox.raw(message_id) == raw
        assert mailbox.summary(message_id).envelope_to == (f"rcpt{i}@example.com",)
    last = mailbox.store.get(ids[-1]).transcript
    assert "*: 2 earlier message(s) of this session not shown" in last


# ---- limits and rules -------------------------------------------------------


def test_long_lines_and_bare_lf_are_stored_as_the_client_had_them(mailbox):
    # RFC 5321 caps lines at 1000 octets; a catcher shows such mail instead of bouncing it.
    body = b"<p>" + b"x" * (3 * 1024 * 1024) + b"</p>\r\n"
    one_long_line = make_message(subject="long", body=body)
    # smtplib sends bytes untouched but dot-stuffs after every LF, bare or not,
    # and appends CRLF when the data does not end with one.
    bare_lf = b"Subject: bare LF\n\n.one dot\n..two dots\nmixed\r\n.after CRLF\nend."
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        ids = []
        for raw in (one_long_line, bare_lf):
            client.mail("a@example.com")
            client.rcpt("b@example.com")
            code, text = client.data(raw)
            assert code == 250, text
            ids.append(queued_id(text))
    assert mailbox.raw(ids[0]) == one_long_line
    assert mailbox.raw(ids[1]) == bare_lf + b"\r\n"


def test_only_crlf_dot_crlf_ends_the_data(mailbox):
    """A "." line after a bare LF is data, never the end (no SMTP smuggling)."""
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port) as c:
        c.reply()
        c.send(b"EHLO raw\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        assert [r[0] for r in c.replies(4)] == [250, 250, 250, 354]
        c.send(
            b"Subject: smuggle\r\n\r\nbefore\n.\r\n"
            b"MAIL FROM:<evil@example.com>\r\nRCPT TO:<victim@example.com>\r\n"
            b"DATA\r\nsmuggled\r\n.\r\nQUIT\r\n"
        )
        replies = c.replies(2)
    assert [r[0] for r in replies] == [250, 221]
    [summary] = mailbox.list()
    assert summary.envelope_from == "a@example.com"
    raw = mailbox.raw(summary.id)
    assert b"MAIL FROM:<evil@example.com>" in raw and raw.endswith(b"smuggled\r\n")


_LONG = b"x" * 70_000  # longer than the sink's 64 KiB read limit, no LF


@pytest.mark.parametrize(
    ("pieces", "expected"),
    [
        # The end of data right at the start: an empty message.
        ([b".\r\n"], b""),
        ([b".", b"\r", b"\n"], b""),
        # A one-line message whose "." CRLF arrives separately.
        ([b"Subject: one\r\n", b".\r\n"], b"Subject: one\r\n"),
        # CRLF "." CRLF split at every point, with stuffed dots at line starts.
        ([b"..a\r\nb\r", b"\n.", b"\r\n"], b".a\r\nb\r\n"),
        ([b"..a\r\nb\r\n", b".", b"\r", b"\n"], b".a\r\nb\r\n"),
        ([b"x\r\n", b"..", b"y\r\n.\r\n"], b"x\r\n.y\r\n"),
        # A bare LF then "." CRLF is data; the stuffing dot after the LF goes.
        ([b"a\n", b".\r\nb\r\n.\r\n"], b"a\n\r\nb\r\n"),
        # An overlong line (read in fragments) whose CR and LF arrive apart.
        ([_LONG + b"\r", b"\n.\r\n"], _LONG + b"\r\n"),
        ([b"." + _LONG + b"\r\n", b"..z\r\n.\r\n"], _LONG + b"\r\n.z\r\n"),
    ],
)
def test_data_split_anywhere_is_read_exactly(mailbox, pieces, expected):
    """However the payload is split into TCP segments, the end of data and
    dot-unstuffing come out the same, and a command pipelined right after the
    end of data is still a command."""
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port) as c:
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.reply()
        c.send(b"EHLO raw\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        assert [r[0] for r in c.replies(4)] == [250, 250, 250, 354]
        for piece in pieces[:-1]:
            c.send(piece)
            time.sleep(0.03)  # let the sink read this piece on its own
        c.send(pieces[-1] + b"NOOP\r\n")
        first, noop = c.replies(2)
    assert first[0] == 250 and noop[0] == 250
    message_id = queued_id(first[1][0])
    assert mailbox.raw(message_id) == expected
    assert mailbox.summary(message_id).size == len(expected)
    assert f"C: <message data: {len(expected)} bytes>" in mailbox.get(message_id).stored.transcript


def test_oversized_data_in_fragments_gets_552_and_the_session_goes_on(mailbox):
    with running_sink(mailbox, max_size=100_000) as srv, RawSmtpClient(srv.host, srv.port) as c:
        c.reply()
        c.send(b"EHLO raw\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        assert [r[0] for r in c.replies(4)] == [250, 250, 250, 354]
        c.send(_LONG + b"\r\n" + _LONG + b"\r\n.\r\nNOOP\r\n")
        too_big, noop = c.replies(2)
        assert too_big[0] == 552 and noop[0] == 250
        # Dots stuffed in are not counted: 100,000 stored bytes fit exactly.
        body = b"\r\n".join([b"." * 98] * 1000)
        assert len(body + b"\r\n") == 100_000
        c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
        assert [r[0] for r in c.replies(3)] == [250, 250, 354]
        c.send(dot_stuff(body + b"\r\n") + b".\r\n")
        [stored] = c.replies(1)
    assert stored[0] == 250
    assert mailbox.raw(queued_id(stored[1][0])) == body + b"\r\n"


def test_size_limit_rejects_with_552_and_stores_nothing(mailbox):
    limit = 2000
    exact, over = sized_message(limit), sized_message(limit + 1)
    with running_sink(mailbox, max_size=limit) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        assert client.esmtp_features["size"] == str(limit)
        # Declared with MAIL ... SIZE=: refused up front.
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.sendmail("a@example.com", ["b@example.com"], over)
        assert refused.value.smtp_code == 552
        # Not declared: the server reads the data and then refuses it.
        assert client.mail("a@example.com")[0] == 250
        assert client.rcpt("b@example.com")[0] == 250
        code, _ = client.data(over)
        assert code == 552
        assert mailbox.count() == 0
        # Exactly at the limit is fine, and the session is still usable.
        assert client.mail("a@example.com")[0] == 250
        assert client.rcpt("b@example.com")[0] == 250
        code, text = client.data(exact)
        assert code == 250
    assert mailbox.count() == 1
    assert mailbox.raw(queued_id(text)) == exact


def test_recipient_rule_rejects_others_with_550(mailbox):
    raw = make_message(subject="rule")
    with (
        running_sink(mailbox, accept_rcpt=r"@example\.com$") as srv,
        smtplib.SMTP(srv.host, srv.port) as client,
    ):
        client.ehlo()
        assert client.mail("a@example.com")[0] == 250
        code, text = client.rcpt("stranger@example.org")
        assert code == 550
        assert text.startswith(b"5.1.1 <stranger@example.org>") and b"rejected" in text
        code, text = client.rcpt("bob@example.com")
        assert code == 250
        code, text = client.data(raw)
        assert code == 250
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            client.sendmail("a@example.com", ["nobody@example.net"], raw)
    [summary] = mailbox.list()
    assert summary.id == queued_id(text)
    assert summary.envelope_to == ("bob@example.com",)
    assert any(
        line.startswith("S: 550 5.1.1 <stranger@example.org>")
        for line in mailbox.store.get(summary.id).transcript
    )


def test_invalid_recipient_rule_is_a_start_error(mailbox):
    with background_loop() as (loop, _errors):
        future = asyncio.run_coroutine_threadsafe(
            start_sink(sink_config(accept_rcpt="(unclosed"), mailbox), loop
        )
        with pytest.raises(SinkStartError, match="invalid recipient rule"):
            future.result(10)


# ---- storage failures -------------------------------------------------------


def test_storage_failure_replies_451_and_a_retry_succeeds(mailbox, store, caplog):
    raw = make_message(subject="retry me")
    # A real failure inside the real store's transaction: the database refuses the insert.
    db = sqlite3.connect(store.path, timeout=10)
    try:
        db.execute(
            "CREATE TRIGGER refuse_insert BEFORE INSERT ON messages "
            "BEGIN SELECT RAISE(ABORT, 'injected storage failure'); END"
        )
        db.commit()
        with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
            client.ehlo()
            client.mail("a@example.com")
            client.rcpt("b@example.com")
            code, text = client.data(raw)
            assert code == 451
            assert text.startswith(b"4.3.0")
            assert mailbox.count() == 0
            db.execute("DROP TRIGGER refuse_insert")
            db.commit()
            # The client still has the message and retries in the same session.
            client.mail("a@example.com")
            client.rcpt("b@example.com")
            code, text = client.data(raw)
            assert code == 250
    finally:
        db.close()
    assert mailbox.count() == 1
    assert mailbox.raw(queued_id(text)) == raw
    assert any(
        r.levelno == logging.ERROR and "could not store" in r.getMessage() for r in caplog.records
    )


def test_closed_mailbox_replies_451(mailbox):
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        mailbox.close()
        with pytest.raises(smtplib.SMTPDataError) as error:
            client.sendmail("a@example.com", ["b@example.com"], make_message())
    assert error.value.smtp_code == 451


# ---- ports ------------------------------------------------------------------


def test_busy_smtp_port_raises_port_in_use(mailbox):
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        with background_loop() as (loop, _errors):
            future = asyncio.run_coroutine_threadsafe(
                start_sink(sink_config(smtp=(HOST, port)), mailbox), loop
            )
            with pytest.raises(PortInUse) as error:
                future.result(10)
    e = error.value
    assert isinstance(e, SinkStartError)
    assert (e.host, e.port, e.flag) == (HOST, port, "--smtp")
    assert str(port) in str(e) and "--smtp" in str(e) and "in use" in str(e)


def test_busy_smtps_port_closes_the_started_smtp_listener(mailbox):
    smtp_port = free_port()
    with socket.socket() as blocker:
        blocker.bind((HOST, 0))
        blocker.listen()
        smtps_port = blocker.getsockname()[1]
        with background_loop() as (loop, _errors):
            config = sink_config(smtp=(HOST, smtp_port), smtps=(HOST, smtps_port))
            future = asyncio.run_coroutine_threadsafe(start_sink(config, mailbox), loop)
            with pytest.raises(PortInUse) as error:
                future.result(10)
    assert (error.value.port, error.value.flag) == (smtps_port, "--smtps")
    # The SMTP listener that did start was closed again: its port is free.
    with socket.socket() as probe:
        probe.bind((HOST, smtp_port))
        probe.listen()


def test_port_zero_reports_the_real_port(mailbox):
    with running_sink(mailbox, smtps=(HOST, 0)) as srv:
        kinds = [kind for kind, _, _ in srv.sink.listeners]
        assert kinds == ["smtp", "smtps"]
        for _, host, port in srv.sink.listeners:
            assert host == HOST and port > 0
            with socket.create_connection((host, port), timeout=5):
                pass
        assert srv.port != srv.smtps_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:1025", ("127.0.0.1", 1025)),
        (":2525", ("127.0.0.1", 2525)),
        ("2525", ("127.0.0.1", 2525)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("localhost:25", ("localhost", 25)),
        ("[::1]:1025", ("::1", 1025)),
        ("[::]:465", ("::", 465)),
    ],
)
def test_parse_hostport(text, expected):
    assert parse_hostport(text) == expected


def test_parse_hostport_default_host():
    assert parse_hostport(":1025", default_host="0.0.0.0") == ("0.0.0.0", 1025)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("localhost", "missing port"),
        ("host:port", "invalid port"),
        ("host:70000", "0-65535"),
        ("::1:1025", "brackets"),
        ("[::1]1025", r"\[IPv6\]:PORT"),
        ("[]:25", "empty IPv6"),
    ],
)
def test_parse_hostport_errors(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hostport(text)


# ---- AUTH -------------------------------------------------------------------


def test_auth_mode_parse():
    assert AuthMode.parse("none") == AuthMode("none")
    assert AuthMode.parse(" ANY ") == AuthMode("any")
    mode = AuthMode.parse("dev:pa:ss")
    assert (mode.kind, mode.username, mode.password) == ("required", "dev", "pa:ss")
    assert "pa:ss" not in repr(mode) and "pa:ss" not in mode.describe()
    for bad in ("", "dev", ":pw", "dev:", "whatever"):
        with pytest.raises(ValueError, match="USER:PASSWORD"):
            AuthMode.parse(bad)
    with pytest.raises(ValueError):
        AuthMode("sometimes")


def _secret_forms(user: str, password: str) -> list[bytes]:
    return [
        password.encode(),
        base64.b64encode(password.encode()),
        base64.b64encode(f"\0{user}\0{password}".encode()),
    ]


def test_auth_any_accepts_every_credential_and_never_keeps_secrets(mailbox, store, caplog):
    caplog.set_level(logging.DEBUG)
    # `serve` quiets aiosmtpd's logger; an in-process CLI test may have run first.
    caplog.set_level(logging.DEBUG, logger="mail.log")
    secret_plain, secret_login = "plain-Secret-4f1c", "login-Secret-9d2e"
    with running_sink(mailbox, auth=AuthMode("any")) as srv:
        with smtplib.SMTP(srv.host, srv.port) as client:
            client.ehlo()
            assert set(client.esmtp_features["auth"].split()) == {"LOGIN", "PLAIN"}
            assert b"AUTH" in client.docmd("HELP")[1]
            client.login("plain-user", secret_plain)  # smtplib picks PLAIN
            client.sendmail("a@example.com", ["b@example.com"], make_message(subject="plain"))
        # AUTH LOGIN answering both challenges (no initial response).
        with RawSmtpClient(srv.host, srv.port) as c:
            c.reply()
            c.send(b"EHLO raw\r\n")
            c.reply()
            c.send(b"AUTH LOGIN\r\n")
            assert c.reply()[0] == 334
            c.send(base64.b64encode(b"login-user") + b"\r\n")
            assert c.reply()[0] == 334
            c.send(base64.b64encode(secret_login.encode()) + b"\r\n")
            assert c.reply()[0] == 235
            c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n")
            assert [r[0] for r in c.replies(3)] == [250, 250, 354]
            c.send(make_message(subject="login") + b".\r\nQUIT\r\n")
            assert [r[0] for r in c.replies(2)] == [250, 221]
        # Unauthenticated mail is fine in "any" mode.
        with smtplib.SMTP(srv.host, srv.port) as client:
            client.sendmail("a@example.com", ["b@example.com"], make_message(subject="anon"))

    by_subject = {s.subject: mailbox.store.get(s.id) for s in mailbox.list()}
    assert by_subject["plain"].auth_user == "plain-user"
    assert by_subject["login"].auth_user == "login-user"
    assert by_subject["anon"].auth_user is None
    assert "C: AUTH PLAIN ****" in by_subject["plain"].transcript
    login_t = by_subject["login"].transcript
    i = login_t.index("C: AUTH LOGIN")
    assert login_t[i : i + 6] == (
        "C: AUTH LOGIN",
        "S: 334 VXNlciBOYW1lAA==",
        "C: ****",
        "S: 334 UGFzc3dvcmQA",
        "C: ****",
        "S: 235 2.7.0 Authentication successful",
    )

    forms = _secret_forms("plain-user", secret_plain) + _secret_forms("login-user", secret_login)
    for stored in by_subject.values():
        text = "\n".join(stored.transcript).encode()
        assert not any(form in text for form in forms)
    mailbox.close()  # checkpoint and close, then look at every byte on disk
    files = [p for p in store.path.parent.iterdir() if p.is_file()]
    assert store.path in files
    for path in files:
        data = path.read_bytes()
        assert not any(form in data for form in forms), f"a secret leaked into {path.name}"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert any(r.name == "mail.log" for r in caplog.records)  # the session was logged at all
    assert not any(form.decode() in logged for form in forms)


def test_auth_login_with_initial_response_is_redacted(mailbox):
    with (
        running_sink(mailbox, auth=AuthMode("any")) as srv,
        smtplib.SMTP(srv.host, srv.port) as client,
    ):
        client.ehlo()
        client.user, client.password = "init-user", "init-Secret-77"
        code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=True)
        assert code == 235
        client.sendmail("a@example.com", ["b@example.com"], make_message())
    [summary] = mailbox.list()
    stored = mailbox.store.get(summary.id)
    assert stored.auth_user == "init-user"
    assert "C: AUTH LOGIN ****" in stored.transcript
    assert "init-Secret-77" not in "\n".join(stored.transcript)
    assert base64.b64encode(b"init-user").decode() not in "\n".join(stored.transcript)


def test_auth_required_checks_the_credentials(mailbox):
    mode = AuthMode.parse("tester:right-pass")
    with running_sink(mailbox, auth=mode) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        code, text = client.mail("a@example.com")
        assert code == 530 and b"Authentication required" in text
        for user, password in (("tester", "wrong-pass"), ("someone", "right-pass")):
            with pytest.raises(smtplib.SMTPAuthenticationError) as failed:
                client.login(user, password)
            assert failed.value.smtp_code == 535
            assert failed.value.smtp_error.startswith(b"5.7.8")
        code, _ = client.login("tester", "right-pass")
        assert code == 235
        client.sendmail("a@example.com", ["b@example.com"], make_message())
    [summary] = mailbox.list()
    assert mailbox.store.get(summary.id).auth_user == "tester"


def test_auth_none_does_not_offer_auth(mailbox):
    with running_sink(mailbox) as srv, smtplib.SMTP(srv.host, srv.port) as client:
        client.ehlo()
        assert not client.has_extn("auth")
        code, help_text = client.docmd("HELP")
        assert code == 250 and b"MAIL" in help_text and b"AUTH" not in help_text
        code, _ = client.docmd("AUTH", "PLAIN " + base64.b64encode(b"\0u\0p").decode())
        assert code == 502
        client.sendmail("a@example.com", ["b@example.com"], make_message())
    [summary] = mailbox.list()
    stored = mailbox.store.get(summary.id)
    assert stored.auth_user is None
    assert "C: AUTH PLAIN ****" in stored.transcript


# ---- lifecycle --------------------------------------------------------------


def test_stop_closes_open_sessions(mailbox):
    with running_sink(mailbox) as srv:
        idle = RawSmtpClient(srv.host, srv.port)
        busy = RawSmtpClient(srv.host, srv.port)
        try:
            assert idle.reply()[0] == 220
            assert busy.reply()[0] == 220
            busy.send(b"EHLO x\r\nMAIL FROM:<a@example.com>\r\n")
            assert [r[0] for r in busy.replies(2)] == [250, 250]
            assert srv.sink.session_count == 2
            started = time.monotonic()
            srv.run(srv.sink.stop())
            assert time.monotonic() - started < 2
            assert srv.sink.session_count == 0
            for client in (idle, busy):
                assert client.reply()[0] == 421
                assert client.at_eof()
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((srv.host, srv.port), timeout=5).close()
        finally:
            idle.close()
            busy.close()
    assert mailbox.count() == 0
