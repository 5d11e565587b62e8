"""pytest plugin: a real SMTP catcher for the tests of apps that send mail.

Installed with the package and loaded by pytest through the ``pytest11``
entry point, so ``pip install mailcatcher-gui`` is all a suite needs::

    def test_reset(client, mail_catcher):
        client.post("/password-reset", {"email": "ann@example.com"})
        (msg,) = mail_catcher.wait_for(subject="Reset your password", to="ann@example.com")
        assert msg.links

Fixtures:

* ``mail_catcher`` (function scope): the ``MailCatcher`` of this test
  (``host``, ``port``, ``smtp_url``, ``messages``, ``latest``, ``wait_for``,
  ``clear``, ``fail``); it sees only the mail sent during its test, and
  the faults it adds (``mail_catcher.fail("RCPT", 550, rcpt="bob@x")``, the
  rules engine of ``core.rules``) are removed when the test ends.
* ``mail_catcher_server`` (session scope): the sink itself, started on first
  use on ``127.0.0.1:0`` with its own event loop thread (one per xdist worker).
  Override ``mail_catcher_options`` (session scope, returns keyword arguments
  for ``core.smtp.SinkConfig``, e.g. ``{"auth": AuthMode.parse("u:p")}``) to
  turn on AUTH, TLS or a size limit.
* ``mail_catcher_django``: points Django's ``EMAIL_*`` settings at the
  catcher through pytest-django's ``settings`` fixture.
* ``mail_catcher_flask_config``: the ``MAIL_*`` keys for a Flask-Mail app
  factory; ``mail_catcher_flask`` also repoints an existing ``app`` fixture.

``--mailcatcher-store PATH`` keeps every message in that store file too,
tagged with the test's node id and its outcome, so ``mailcatcher-gui --db
PATH`` shows what each test sent; a failing test's report lists its mail and
the command to open it.

Importing this module costs little: the core is imported when a fixture is
first used, and Qt never.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .testing import CatcherServer, MailCatcher

_STORE_OPTION = "--mailcatcher-store"
_CATCHER_KEY = pytest.StashKey["MailCatcher"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("mailcatcher", "mailcatcher-gui mail catcher")
    group.addoption(
        _STORE_OPTION,
        dest="mailcatcher_store",
        metavar="PATH",
        default=None,
        help="keep the mail every test sends in this store file, tagged with the test's "
        "node id and outcome (open it with: mailcatcher-gui --db PATH)",
    )


@pytest.fixture(scope="session")
def mail_catcher_options() -> dict[str, Any]:
    """Keyword arguments for the session sink's ``SinkConfig``; override to change it."""
    return {}


@pytest.fixture(scope="session")
def mail_catcher_server(
    request: pytest.FixtureRequest, mail_catcher_options: dict[str, Any]
) -> Iterator[CatcherServer]:
    from .testing import CatcherServer

    wanted = request.config.getoption("mailcatcher_store")
    if wanted:
        store = store_path_for_worker(Path(wanted).expanduser().resolve())
        store.parent.mkdir(parents=True, exist_ok=True)
        server = CatcherServer(store, **mail_catcher_options)
        try:
            yield server
        finally:
            server.close()
        return
    with tempfile.TemporaryDirectory(prefix="mailcatcher-pytest-") as folder:
        server = CatcherServer(Path(folder) / "mail.sqlite3", **mail_catcher_options)
        try:
            yield server
        finally:
            server.close()


@pytest.fixture
def mail_catcher(
    request: pytest.FixtureRequest, mail_catcher_server: CatcherServer
) -> Iterator[MailCatcher]:
    from .testing import MailCatcher

    catcher = MailCatcher(mail_catcher_server)
    request.node.stash[_CATCHER_KEY] = catcher
    try:
        yield catcher
    finally:
        catcher.reset_faults()


@pytest.fixture
def mail_catcher_django(request: pytest.FixtureRequest, mail_catcher: MailCatcher) -> MailCatcher:
    """Django's e-mail settings pointed at the catcher (needs pytest-django)."""
    try:
        settings = request.getfixturevalue("settings")
    except pytest.FixtureLookupError:
        pytest.fail("mail_catcher_django needs pytest-django (its 'settings' fixture)")
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = mail_catcher.host
    settings.EMAIL_PORT = mail_catcher.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    return mail_catcher


@pytest.fixture
def mail_catcher_flask_config(mail_catcher: MailCatcher) -> dict[str, Any]:
    """Flask-Mail's settings for the catcher: pass them to the app factory."""
    return {
        "MAIL_SERVER": mail_catcher.host,
        "MAIL_PORT": mail_catcher.port,
        "MAIL_USE_TLS": False,
        "MAIL_USE_SSL": False,
        "MAIL_USERNAME": None,
        "MAIL_PASSWORD": None,
        "MAIL_SUPPRESS_SEND": False,
    }


@pytest.fixture
def mail_catcher_flask(
    request: pytest.FixtureRequest,
    mail_catcher: MailCatcher,
    mail_catcher_flask_config: dict[str, Any],
) -> MailCatcher:
    """Repoint an existing ``app`` fixture's Flask-Mail at the catcher.

    Flask-Mail copies the settings when ``Mail(app)`` runs, so besides
    ``app.config`` the extension's own state is updated.
    """
    try:
        app = request.getfixturevalue("app")
    except pytest.FixtureLookupError:
        pytest.fail("mail_catcher_flask needs an 'app' fixture (or use mail_catcher_flask_config)")
    app.config.update(mail_catcher_flask_config)
    state = app.extensions.get("mail")
    if state is not None:
        for key, value in mail_catcher_flask_config.items():
            attribute = key.removeprefix("MAIL_").lower()
            if attribute == "suppress_send":
                attribute = "suppress"
            if hasattr(state, attribute):
                setattr(state, attribute, value)
    return mail_catcher


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    catcher = item.stash.get(_CATCHER_KEY, None)
    if catcher is None:
        return report
    if report.when == "call" or (report.when == "setup" and report.failed):
        _after_test(item, catcher, report)
    return report


def _after_test(item: pytest.Item, catcher: MailCatcher, report: pytest.TestReport) -> None:
    keep = item.config.getoption("mailcatcher_store")
    try:
        messages = catcher.messages
    except Exception as exc:  # noqa: BLE001 - a report must not fail because of us
        report.sections.append(("mailcatcher", f"could not list the captured mail: {exc}"))
        return
    if keep and messages:
        outcome = "passed" if report.passed else "failed" if report.failed else "skipped"
        ids = [m.id for m in messages]
        try:
            catcher.tag(ids, [node_tag(item.nodeid), outcome])
        except Exception as exc:  # noqa: BLE001 - a report must not fail because of us
            report.sections.append(("mailcatcher", f"could not tag the captured mail: {exc}"))
    if report.failed and messages:
        lines = [f"{len(messages)} message(s) sent during this test:"]
        lines += [f"  #{m.id} {m.subject!r} to {', '.join(m.envelope_to)}" for m in messages]
        if keep:
            tag = node_tag(item.nodeid)
            lines.append(
                f'open them: mailcatcher-gui --db {catcher.store_path}  (search: tag:"{tag}")'
            )
        else:
            lines.append(f"keep them for the window with: pytest {_STORE_OPTION} PATH")
        report.sections.append(("mailcatcher", "\n".join(lines)))


def node_tag(nodeid: str) -> str:
    """The tag a test's messages get in ``--mailcatcher-store``: its node id, as a tag.

    Tags follow Mailpit's character rule (``core.tag_names``), so
    ``tests/test_x.py::test_y[a]`` becomes ``tests test_x.py test_y a``.
    """
    from .core.tag_names import clean_tag

    return clean_tag(nodeid)


def store_path_for_worker(path: Path) -> Path:
    """Under pytest-xdist each worker keeps its own file (``mail-gw0.sqlite3``...).

    Each worker is a process with its own sink; sharing one file would let a
    worker's ``mail_catcher`` see another worker's mail, as tests tell their
    messages apart by arrival.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return path.with_name(f"{path.stem}-{worker}{path.suffix}") if worker else path
