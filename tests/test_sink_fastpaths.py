"""The sink's shortcuts past aiosmtpd's per-command costs must not change what it answers.

* ``_getaddr``: a regex lane for plain ``<local@domain>`` paths instead of the
  ``email`` header parser; it must agree with aiosmtpd's parser on every input.
* Held replies (RFC 2920): replies to MAIL/RCPT/RSET wait while more commands
  are buffered; they must come out complete, in order, and never wait on a
  command line that has not fully arrived.
* The idle timeout is re-armed lazily instead of with a new timer per
  command; a session that keeps talking stays open, a silent one is closed.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from aiosmtpd.smtp import SMTP
from smtp_helpers import RawSmtpClient, make_message, queued_id, running_sink

from mailcatcher_gui.core.smtp import AuthMode, SinkConfig
from mailcatcher_gui.core.smtp.handler import SinkHandler
from mailcatcher_gui.core.smtp.payload import DataBudget
from mailcatcher_gui.core.smtp.protocol import SinkSMTP


@pytest.fixture(scope="module")
def session():
    loop = asyncio.new_event_loop()
    smtp = SinkSMTP(
        SinkHandler(None, SinkConfig(), None),  # type: ignore[arg-type]
        sessions=set(),
        implicit_tls=None,
        auth=AuthMode("none"),
        data_budget=DataBudget(0),
        hostname="test",
        loop=loop,
    )
    yield smtp
    loop.close()


def _outcome(fn, arg):
    try:
        return fn(arg)
    except Exception as exc:  # the comparison covers raising alike, too
        return type(exc)


EXAMPLES = [
    "<a@b.c>",
    "<a@b.c> SIZE=100",
    "<a@b.c>  BODY=8BITMIME  SIZE=5",
    "<a@b.c>\tSIZE=1",
    "<a@b.c> \t SIZE=1 ",
    "<a@b.c>SIZE=1",
    "<a@b.c> (comment) SIZE=1",
    "<a@b.c>(comment)",
    "<a@b.c>\x0bSIZE=1",
    "<a.b+c@d-e.f>x",
    "<first.last@sub.example.com>",
    "<o'neil@example.com>",
    "<{weird}|~!#$%&*/=?^_`@example.com>",
    '<"quoted local"@b.c>',
    "<a@[192.0.2.1]>",
    "<a@b.c >",
    "< a@b.c>",
    "<@relay.example,@other.example:a@b.c>",
    "<a..b@c>",
    "<.a@c>",
    "<a.@c>",
    "<a@b..c>",
    "<a@.b>",
    "<a@b.>",
    "<a@-b>",
    "<a@>",
    "<@b>",
    "<a>",
    "<>",
    "<> SIZE=1",
    "a@b.c",
    "a@b.c SIZE=1",
    "<ü@example.com>",
    "<a@exämple.com>",
    "<a@b.c",
    "a@b.c>",
    "<<a@b.c>>",
    "<a@b@c>",
    "",
    "<" + "x" * 64 + "@example.com>",
    "<" + "x" * 65 + "@example.com>",
]


@pytest.mark.parametrize("arg", EXAMPLES)
def test_getaddr_agrees_with_aiosmtpd_on_examples(session, arg):
    assert _outcome(session._getaddr, arg) == _outcome(lambda a: SMTP._getaddr(session, a), arg)


def test_getaddr_agrees_with_aiosmtpd_on_random_paths(session):
    rng = random.Random(20261121)
    pieces = list("abcXYZ019.-+_=~!#$%&'*/?^`{|}") + ["", ".", "..", "@", " ", "\t", "(", ")"]
    pieces += ['"', "\\", "[", "]", ",", ":", ";", "<", ">", "é", "\u3042", "\x00", "\r", "\n"]

    def word(n: int) -> str:
        return "".join(rng.choice(pieces) for _ in range(rng.randint(0, n)))

    fast = 0
    for _ in range(4000):
        shape = rng.random()
        if shape < 0.6:
            arg = f"<{word(6)}@{word(6)}>{word(4)}"
        elif shape < 0.8:
            arg = f"<{word(10)}>"
        else:
            arg = word(12)
        ours = _outcome(session._getaddr, arg)
        theirs = _outcome(lambda a: SMTP._getaddr(session, a), arg)
        assert ours == theirs, arg
        fast += isinstance(ours, tuple) and ours[0] not in (None, "")
    assert fast > 200  # the generator does reach the accepted shapes


def test_held_replies_come_out_in_order_with_errors_among_them(mailbox):
    message = make_message(subject="pipelined with errors")
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port) as c:
        assert c.reply()[0] == 220
        c.send(b"EHLO pipeliner\r\n")
        assert c.reply()[0] == 250
        c.send(
            b"MAIL FROM:<a@example.com> BOGUS=1\r\n"  # 555: the transaction never starts
            b"RCPT TO:<b@example.com>\r\n"  # 503: need MAIL
            b"RSET\r\n"
            b"MAIL FROM:<a@example.com>\r\n"
            b"RCPT TO:<b@example.com>\r\n"
            b"RCPT TO:<c@example.com>\r\n"
            b"DATA\r\n"
        )
        replies = c.replies(7)
        assert [code for code, _ in replies] == [555, 503, 250, 250, 250, 250, 354]
        c.send(message + b".\r\n")
        code, lines = c.reply()
        assert code == 250
    stored = mailbox.store.get(queued_id(lines[0]))
    assert stored.raw == message
    assert stored.summary.envelope_to == ("b@example.com", "c@example.com")
    transcript = stored.transcript
    assert transcript.index("C: RSET") < transcript.index("S: 250 OK") < transcript.index("C: DATA")


def test_a_reply_never_waits_for_a_command_that_has_not_fully_arrived(mailbox):
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port, timeout=5) as c:
        assert c.reply()[0] == 220
        c.send(b"EHLO pipeliner\r\n")
        assert c.reply()[0] == 250
        # The MAIL line is complete; the RCPT line is still on its way.
        c.send(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<b@exa")
        assert c.reply()[0] == 250  # the MAIL reply is not held back for the partial line
        c.send(b"mple.com>\r\n")
        assert c.reply()[0] == 250


def test_held_replies_are_sent_before_quit_closes_the_connection(mailbox):
    with running_sink(mailbox) as srv, RawSmtpClient(srv.host, srv.port) as c:
        assert c.reply()[0] == 220
        c.send(
            b"EHLO pipeliner\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nQUIT\r\n"
        )
        assert [code for code, _ in c.replies(4)] == [250, 250, 250, 221]
        assert c.at_eof()


def test_a_session_that_keeps_talking_outlives_the_idle_timeout(mailbox):
    idle = 1.0
    with running_sink(mailbox, idle_timeout=idle) as srv, RawSmtpClient(srv.host, srv.port) as c:
        assert c.reply()[0] == 220
        started = time.monotonic()
        for _ in range(5):  # 5 x 0.4 s: twice the timeout, and alive throughout
            time.sleep(0.4)
            c.send(b"NOOP\r\n")
            assert c.reply()[0] == 250
        assert time.monotonic() - started > 2 * idle
        last = time.monotonic()
        time.sleep(0.3)
        c.send(b"NOOP\r\n")  # 0.3 s after the last command: still well inside the timeout
        assert c.reply()[0] == 250
        last = time.monotonic()
        c.sock.settimeout(idle * 10)
        assert c.at_eof()  # then silence: the server closes the session
        assert time.monotonic() - last >= idle * 0.9
