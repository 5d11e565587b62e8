"""What a Django application sees when rules make the sink fail (README:
"Testing failure paths"). Django's real SMTP backend (``send_mail``) against
the real sink on port 0, settings configured in-process.

Settings are the minimum (``settings.configure``), and each test passes an
explicit connection to the sink's port. Findings these tests pin down
(Django's ``EmailBackend`` uses smtplib's ``sendmail``):

* one bad recipient in a batch: NO exception, ``send_mail`` returns 1, the
  message is delivered to the others and the refused address is silently
  dropped, even with ``fail_silently=False``;
* every recipient refused: ``smtplib.SMTPRecipientsRefused`` (``fail_silently
  =False``) with each address's code and text; 0 with ``fail_silently=True``;
* greylisting: the first attempt raises ``SMTPRecipientsRefused`` with 451
  (Django does not retry); sending again later succeeds.
"""

from __future__ import annotations

import smtplib

import django
import pytest
from django.conf import settings
from smtp_helpers import HOST, catching_server

from mailcatcher_gui.core.rules import Greylist, Reply, Rule

# Another module (or pytest-django with DJANGO_SETTINGS_MODULE) may have
# configured Django already: its settings do, the connection below is explicit.
if not settings.configured:
    settings.configure(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        DEFAULT_FROM_EMAIL="app@example.com",
        EMAIL_TIMEOUT=10,
    )
    django.setup()

from django.core.mail import get_connection, send_mail  # noqa: E402


@pytest.fixture
def srv(tmp_path):
    with catching_server(tmp_path) as handle:
        yield handle


def django_send(srv, recipients, *, fail_silently=False) -> int:
    connection = get_connection(
        "django.core.mail.backends.smtp.EmailBackend",
        host=HOST,
        port=srv.port,
        fail_silently=fail_silently,
        timeout=10,
    )
    return send_mail(
        "Your order",
        "Thanks for ordering.",
        "shop@example.com",
        recipients,
        fail_silently=fail_silently,
        connection=connection,
    )


def test_one_bad_recipient_in_a_batch_is_dropped_silently(srv):
    srv.sink.rules.add(
        Rule.make("bob is unknown", "rcpt", Reply(550, "5.1.1 no such user"), rcpt="bob@*")
    )
    sent = django_send(srv, ["ann@example.com", "bob@example.com", "cid@example.com"])
    assert sent == 1  # no exception: Django reports success
    stored = srv.mailbox.get_stored(max(srv.mailbox.ids()))
    assert stored.summary.envelope_to == ("ann@example.com", "cid@example.com")
    assert any("550 5.1.1 no such user" in line for line in stored.transcript)
    # the rule does not fire for a batch without bob
    assert django_send(srv, ["ann@example.com"]) == 1
    assert srv.mailbox.get_stored(max(srv.mailbox.ids())).summary.envelope_to == (
        "ann@example.com",
    )


def test_every_recipient_refused_raises_recipients_refused(srv):
    srv.sink.rules.add(Rule.make("bob is unknown", "rcpt", Reply(550, "5.1.1 gone"), rcpt="bob@*"))
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        django_send(srv, ["bob@example.com"])
    assert caught.value.recipients == {"bob@example.com": (550, b"5.1.1 gone")}
    assert django_send(srv, ["bob@example.com"], fail_silently=True) == 0
    assert srv.mailbox.ids() == []


def test_greylisting_fails_the_first_attempt_and_a_retry_gets_through(srv):
    srv.sink.rules.add(Rule.make("greylist", "rcpt", Greylist(attempts=1, window=0)))
    with pytest.raises(smtplib.SMTPRecipientsRefused) as caught:
        django_send(srv, ["ann@example.com"])
    code, text = caught.value.recipients["ann@example.com"]
    assert code == 451 and text.startswith(b"4.7.1 Greylisted")
    assert srv.mailbox.ids() == []
    assert django_send(srv, ["ann@example.com"]) == 1  # the retry (a new connection)
    assert len(srv.mailbox.ids()) == 1
