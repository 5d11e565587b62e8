"""The pytest plugin, tested the way users meet it: generated test projects run by pytester.

Each project runs in a subprocess (``runpytest_subprocess``) with the plugin
loaded from its ``pytest11`` entry point, exactly as after ``pip install
mailcatcher-gui``; the mail goes over real SMTP to the plugin's real sink.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest_plugins = ("pytester",)

INI = """
[pytest]
addopts = -p no:cacheprovider
filterwarnings = error
"""

SMTPLIB_TESTS = """
import smtplib
from email.message import EmailMessage

def send(catcher, subject, to="ann@example.com", bcc=(), html=None, attach=None):
    msg = EmailMessage()
    msg["From"] = "App <app@example.com>"
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content("Your code is 493-221.\\nReset: https://app.example.com/reset?t=abc123.\\n")
    if html:
        msg.add_alternative(html, subtype="html")
    if attach:
        msg.add_attachment(attach, maintype="application", subtype="pdf", filename="invoice.pdf")
    with smtplib.SMTP(catcher.host, catcher.port) as smtp:
        smtp.send_message(msg, to_addrs=[to, *bcc])

def test_reset(mail_catcher):
    send(mail_catcher, "Reset your password", bcc=["audit@example.com"],
         html='<p><a href="https://app.example.com/reset?t=abc123">Reset</a></p>',
         attach=b"%PDF-1.4 fake")
    (msg,) = mail_catcher.wait_for(subject="Reset your password", to="ann@example.com")
    assert msg.links == ["https://app.example.com/reset?t=abc123"]
    assert msg.find(r"code is (\\d{3}-\\d{3})") == "493-221"
    assert msg.from_ == "app@example.com" and msg.to == ["ann@example.com"]
    assert msg.envelope_to == ["ann@example.com", "audit@example.com"]
    assert msg.bcc == ["audit@example.com"]
    assert [(a.name, a.content_type, a.data) for a in msg.attachments] == [
        ("invoice.pdf", "application/pdf", b"%PDF-1.4 fake")
    ]
    assert "Reset</a>" in msg.html and "493-221" in msg.text
    assert msg.headers["Subject"] == "Reset your password"
    assert msg.raw.startswith(b"From: ") or b"\\r\\nFrom: " in msg.raw
    assert mail_catcher.latest is msg or mail_catcher.latest.id == msg.id
    assert mail_catcher.smtp_url == f"smtp://127.0.0.1:{mail_catcher.port}"
    report = msg.checks()
    assert [f.family for f in report.families][:1] == ["compatibility"]
    assert report.family("headers").verdict.value in {"ok", "info", "warning", "error"}

def test_isolated_from_the_previous_test(mail_catcher):
    assert mail_catcher.messages == []
    send(mail_catcher, "second")
    assert [m.subject for m in mail_catcher.wait_for()] == ["second"]

def test_clear_and_count(mail_catcher):
    send(mail_catcher, "one")
    send(mail_catcher, "two")
    assert len(mail_catcher.wait_for(count=2)) == 2
    mail_catcher.clear()
    assert mail_catcher.messages == []
    send(mail_catcher, "three")
    assert [m.subject for m in mail_catcher.wait_for(subject="three")] == ["three"]
"""


def test_smtplib_project_passes(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_app=SMTPLIB_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3)


def test_mail_that_never_comes_fails_with_what_did_arrive(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_missing=SMTPLIB_TESTS.split("def test_reset")[0]
        + """
def test_nothing(mail_catcher):
    mail_catcher.wait_for(subject="Welcome", timeout=0.3)

def test_something_else(mail_catcher):
    send(mail_catcher, "Reset your password")
    mail_catcher.wait_for(subject="Welcome", timeout=0.3)
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*expected 1 message(s) matching subject='Welcome' within 0.3 s, got 0 matching.*",
            "*No mail arrived at 127.0.0.1:* during this test.*",
            "*1 message(s) arrived during this test:*",
            "*#* 'Reset your password' from app@example.com to ann@example.com*",
            # the failing test's report section lists its mail
            "*mailcatcher*",
            "*keep them for the window with: pytest --mailcatcher-store PATH*",
        ]
    )


def test_store_option_tags_each_tests_mail(pytester: pytest.Pytester, tmp_path: Path) -> None:
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.store import Store

    pytester.makeini(INI)
    pytester.makepyfile(
        test_kept=SMTPLIB_TESTS.split("def test_reset")[0]
        + """
def test_good(mail_catcher):
    send(mail_catcher, "good one")
    mail_catcher.wait_for()

def test_bad(mail_catcher):
    send(mail_catcher, "bad one")
    mail_catcher.wait_for()
    assert False, "the app is broken"
"""
    )
    store = tmp_path / "kept.sqlite3"
    result = pytester.runpytest_subprocess("--mailcatcher-store", str(store))
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [f'*open them: mailcatcher-gui --db {store}*tag:"test_kept.py test_bad"*']
    )
    mailbox = Mailbox(Store(store))
    try:
        by_subject = {s.subject: set(s.tags) for s in mailbox.list()}
        assert by_subject == {
            "good one": {"test_kept.py test_good", "passed"},
            "bad one": {"test_kept.py test_bad", "failed"},
        }
        assert [s.subject for s in mailbox.list(query='tag:"test_kept.py test_bad"')] == ["bad one"]
    finally:
        mailbox.close()


DJANGO_SETTINGS = """
SECRET_KEY = "test"
INSTALLED_APPS = []
DATABASES = {}
USE_TZ = True
"""

DJANGO_TESTS = """
from email.mime.image import MIMEImage
from django.core.mail import EmailMultiAlternatives, send_mail

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)

def test_send_mail(mail_catcher_django):
    send_mail("Welcome", "Hi https://example.com/start", "app@example.com", ["ann@example.com"])
    (msg,) = mail_catcher_django.wait_for(subject="Welcome")
    assert msg.to == ["ann@example.com"] and msg.links == ["https://example.com/start"]

def test_multi_alternatives(mail_catcher_django):
    email = EmailMultiAlternatives(
        "Invoice", "See the HTML", "billing@example.com", ["bob@example.com"],
        bcc=["archive@example.com"],
    )
    html = '<p>Logo <img src="cid:logo"></p><a href="https://example.com/pay">Pay</a>'
    email.attach_alternative(html, "text/html")
    email.mixed_subtype = "related"
    image = MIMEImage(PNG, "png")
    image.add_header("Content-ID", "<logo>")
    image.add_header("Content-Disposition", "inline", filename="logo.png")
    email.attach(image)
    email.attach("invoice.txt", "total: 10 EUR", "text/plain")
    email.send()
    (msg,) = mail_catcher_django.wait_for(subject="Invoice", bcc="archive@example.com")
    assert b"archive@example.com" not in msg.raw  # Bcc stays in the envelope
    assert "https://example.com/pay" in msg.links
    names = {(a.name, a.inline, a.content_id) for a in msg.attachments}
    assert ("logo.png", True, "logo") in names
    assert ("invoice.txt", False, None) in names
"""


def test_django_project(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI + "DJANGO_SETTINGS_MODULE = djsettings\npythonpath = .\n")
    pytester.makepyfile(djsettings=DJANGO_SETTINGS, test_django_mail=DJANGO_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


FLASK_TESTS = """
import pytest
from flask import Flask
from flask_mail import Mail, Message

def create_app(config):
    app = Flask(__name__)
    app.config.update(config)
    Mail(app)
    return app

def test_factory_config(mail_catcher, mail_catcher_flask_config):
    app = create_app(mail_catcher_flask_config)
    with app.app_context():
        msg = Message("Hello", sender="app@example.com", recipients=["ann@example.com"],
                      body="text https://example.com/a", html="<a href='https://example.com/b'>b</a>")
        msg.attach("data.csv", "text/csv", b"a,b\\n1,2\\n")
        app.extensions["mail"].send(msg)
    (caught,) = mail_catcher.wait_for(subject="Hello")
    assert caught.links == ["https://example.com/b", "https://example.com/a"]
    assert [(a.name, a.data) for a in caught.attachments] == [("data.csv", b"a,b\\n1,2\\n")]

@pytest.fixture
def app():
    return create_app({"MAIL_SERVER": "mail.invalid", "MAIL_PORT": 2525})

def test_existing_app(app, mail_catcher_flask):
    with app.app_context():
        msg = Message("Repointed", sender="a@example.com", recipients=["b@example.com"], body="x")
        app.extensions["mail"].send(msg)
    assert [m.subject for m in mail_catcher_flask.wait_for()] == ["Repointed"]
"""


def test_flask_mail_project(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_flask_mail=FLASK_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


QT_TESTS = """
import smtplib
from email.message import EmailMessage
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QPushButton

def make_button(catcher, later):
    button = QPushButton("Send")
    def send():
        msg = EmailMessage()
        msg["From"], msg["To"], msg["Subject"] = "ui@example.com", "ann@example.com", "Clicked"
        msg.set_content("from a button")
        with smtplib.SMTP(catcher.host, catcher.port) as smtp:
            smtp.send_message(msg)
    # later=True: the slot only schedules the send on the Qt loop, so waiting
    # must keep the Qt event loop running or the mail never goes out.
    button.clicked.connect((lambda: QTimer.singleShot(50, send)) if later else send)
    return button

def test_wait_until(qtbot, mail_catcher):
    button = make_button(mail_catcher, later=True)
    qtbot.addWidget(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(mail_catcher.messages) == 1, timeout=5000)
    assert mail_catcher.latest.subject == "Clicked"

def test_wait_for_keeps_qt_running(qtbot, mail_catcher):
    button = make_button(mail_catcher, later=True)
    qtbot.addWidget(button)
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    (msg,) = mail_catcher.wait_for(subject="Clicked", timeout=5)
    assert msg.text.strip() == "from a button"
"""


def test_pytest_qt_project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    pytester.makeini(INI + "qt_api = pyside6\n")
    pytester.makepyfile(test_qt_mail=QT_TESTS)
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_xdist_workers_have_their_own_sink(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makeini(INI)
    tests = SMTPLIB_TESTS.split("def test_reset")[0] + "".join(
        f"""
def test_worker_{i}(mail_catcher):
    import os
    send(mail_catcher, "mail {i} " + os.environ.get("PYTEST_XDIST_WORKER", "?"))
    (msg,) = mail_catcher.wait_for()
    assert msg.subject.startswith("mail {i} ")
    assert len(mail_catcher.messages) == 1
"""
        for i in range(8)
    )
    pytester.makepyfile(test_parallel=tests)
    store = tmp_path / "mail.sqlite3"
    result = pytester.runpytest_subprocess("-n", "2", "--mailcatcher-store", str(store))
    result.assert_outcomes(passed=8)
    files = sorted(p.name for p in tmp_path.glob("mail-gw*.sqlite3"))
    assert files == ["mail-gw0.sqlite3", "mail-gw1.sqlite3"]


def test_importing_the_plugin_costs_little() -> None:
    code = textwrap.dedent(
        """
        import sys
        import mailcatcher_gui.pytest_plugin
        heavy = sorted(m for m in sys.modules if m.startswith(("PySide6", "qasync", "aiosmtpd",
            "mailcatcher_gui.core.mailbox", "mailcatcher_gui.core.smtp", "mailcatcher_gui.ui")))
        print(heavy)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_options_turn_on_auth_and_async_tests_work(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makeconftest(
        """
import pytest
from mailcatcher_gui.core.smtp import AuthMode

@pytest.fixture(scope="session")
def mail_catcher_options():
    return {"auth": AuthMode.parse("app:s3cret")}
"""
    )
    pytester.makepyfile(
        test_auth="""
import asyncio
import smtplib
import aiosmtplib
import pytest

MESSAGE = b"From: a@example.com\\r\\nTo: b@example.com\\r\\nSubject: %s\\r\\n\\r\\nbody\\r\\n"

def test_login_required(mail_catcher):
    with smtplib.SMTP(mail_catcher.host, mail_catcher.port) as smtp:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.sendmail("a@example.com", ["b@example.com"], MESSAGE % b"anonymous")
        assert refused.value.smtp_code == 530
    assert mail_catcher.messages == []

def test_asyncio_client(mail_catcher):
    async def main():
        await aiosmtplib.send(
            MESSAGE % b"async", sender="a@example.com", recipients=["b@example.com"],
            hostname=mail_catcher.host, port=mail_catcher.port,
            username="app", password="s3cret", start_tls=False,
        )
    asyncio.run(main())
    (msg,) = mail_catcher.wait_for(subject="async")
    assert msg.envelope_to == ["b@example.com"]
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=2)


def test_faults_from_a_test_are_reset_after_it(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(
        test_faults="""
import smtplib
import pytest


MESSAGE = b"From: a@example.com\\r\\nTo: x@example.com\\r\\nSubject: %s\\r\\n\\r\\nbody\\r\\n"

def test_one_recipient_refused(mail_catcher):
    mail_catcher.fail("RCPT", 550, "5.1.1 no such user", rcpt="bob@example.com")
    with smtplib.SMTP(mail_catcher.host, mail_catcher.port) as smtp:
        to = ["ann@example.com", "bob@example.com"]
        refused = smtp.sendmail("a@example.com", to, MESSAGE % b"one")
    assert refused == {"bob@example.com": (550, b"5.1.1 no such user")}
    (msg,) = mail_catcher.wait_for(subject="one")
    assert msg.envelope_to == ["ann@example.com"]

def test_the_fault_is_gone_in_the_next_test(mail_catcher):
    with smtplib.SMTP(mail_catcher.host, mail_catcher.port) as smtp:
        refused = smtp.sendmail("a@example.com", ["bob@example.com"], MESSAGE % b"two")
    assert refused == {}
    assert mail_catcher.wait_for(subject="two")[0].envelope_to == ["bob@example.com"]

def test_data_fault_and_greylisting(mail_catcher):
    mail_catcher.fail("DATA", 552, "5.3.4 too big for this test", first=1)
    with smtplib.SMTP(mail_catcher.host, mail_catcher.port) as smtp:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            smtp.sendmail("a@example.com", ["c@example.com"], MESSAGE % b"three")
        assert refused.value.smtp_code == 552
        smtp.sendmail("a@example.com", ["c@example.com"], MESSAGE % b"three")  # first=1: accepted
    assert [m.subject for m in mail_catcher.wait_for(subject="three")] == ["three"]
"""
    )
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3)
