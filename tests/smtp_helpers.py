"""Shared helpers for tests that talk SMTP to the real sink.

Import with ``from smtp_helpers import ...`` (pytest puts ``tests/`` on
``sys.path`` because it has a conftest and no ``__init__``).

* ``running_sink(mailbox, **config)`` starts the real sink on port 0 on a
  fresh asyncio loop in a background thread, so synchronous clients
  (smtplib, raw sockets) can be used from the test thread, and stops
  everything (sessions, listeners, loop) on exit.
* ``catching_server(directory, **config)`` does the same with its own Store
  and Mailbox on a real SQLite file in ``directory``.
* ``shared_cert_dir()`` / ``shared_test_ca()`` give certificates generated
  once per test process (RSA generation is not free).
* ``client_context(cafile)`` is a verifying client context with OpenSSL's
  strict X.509 checks on, as newer Pythons use by default.
"""

from __future__ import annotations

import asyncio
import atexit
import re
import shutil
import socket
import ssl
import tempfile
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiosmtplib
from tls_helpers import make_test_ca

from mailcatcher_gui.core.smtp import RunningSink, SinkConfig, start_sink
from mailcatcher_gui.core.smtp.tls import ensure_self_signed

HOST = "127.0.0.1"

_tmp_root: Path | None = None
_lock = threading.Lock()


def _process_tmp() -> Path:
    global _tmp_root
    with _lock:
        if _tmp_root is None:
            _tmp_root = Path(tempfile.mkdtemp(prefix="mailcatcher-tests-"))
            atexit.register(shutil.rmtree, _tmp_root, True)
        return _tmp_root


def shared_cert_dir() -> Path:
    """A cert_dir whose self-signed certificate is generated once per process."""
    directory = _process_tmp() / "selfsigned"
    with _lock:
        ensure_self_signed(directory)
    return directory


_test_ca: tuple[Path, Path, Path] | None = None


def shared_test_ca() -> tuple[Path, Path, Path]:
    """(ca_cert, server_cert, server_key) from ``make_test_ca``, made once per process."""
    global _test_ca
    root = _process_tmp()
    with _lock:
        if _test_ca is None:
            _test_ca = make_test_ca(root / "test-ca")
        return _test_ca


def client_context(cafile: str | Path) -> ssl.SSLContext:
    """A client context that trusts only ``cafile`` and verifies strictly."""
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.verify_flags |= ssl.VERIFY_X509_STRICT
    return ctx


def free_port(host: str = HOST) -> int:
    """A port that was free a moment ago (for tests that need to know it in advance)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


QUEUED = re.compile(r"queued as (\d+)")


def queued_id(reply: bytes | str) -> int:
    """The message id from a ``250 2.0.0 Ok: queued as <id>`` reply text."""
    text = reply.decode() if isinstance(reply, bytes) else reply
    m = QUEUED.search(text)
    assert m, f"no 'queued as <id>' in reply {text!r}"
    return int(m.group(1))


def make_message(
    subject: str = "Hello", body: bytes = b"Hello there.\r\n", **headers: str
) -> bytes:
    """A small CRLF-terminated message; keyword arguments add or replace headers."""
    head = {
        "From": "Alice <alice@example.com>",
        "To": "Bob <bob@example.com>",
        "Subject": subject,
        "Message-ID": f"<{subject.replace(' ', '-')}@test.example>",
        **headers,
    }
    lines = "".join(f"{k}: {v}\r\n" for k, v in head.items())
    return lines.encode("utf-8") + b"\r\n" + body


def sized_message(size: int) -> bytes:
    """A valid message of exactly ``size`` bytes (no line starts with a dot)."""
    base = make_message(subject="sized", body=b"")
    fill = size - len(base)
    assert fill >= 3
    body = b""
    while fill - len(body) > 80:
        body += b"y" * 76 + b"\r\n"
    body += b"z" * (fill - len(body) - 2) + b"\r\n"
    msg = base + body
    assert len(msg) == size
    return msg


def dot_stuff(raw: bytes) -> bytes:
    return b"\r\n".join(
        b"." + line if line.startswith(b".") else line for line in raw.split(b"\r\n")
    )


class SinkThread:
    """A running sink on a background loop; ``run(coro)`` executes on that loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sink: RunningSink, mailbox: Any) -> None:
        self.loop = loop
        self.sink = sink
        self.mailbox = mailbox
        self.host = HOST

    @property
    def port(self) -> int:
        return self.sink.port("smtp")

    @property
    def smtps_port(self) -> int:
        return self.sink.port("smtps")

    @property
    def certificate(self) -> Path:
        return self.sink.certificate

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)


def sink_config(**overrides: Any) -> SinkConfig:
    """Test defaults: loopback, port 0, the shared self-signed cert."""
    base = SinkConfig(smtp=(HOST, 0), cert_dir=overrides.pop("cert_dir", None) or shared_cert_dir())
    return replace(base, **overrides)


@contextmanager
def background_loop() -> Iterator[tuple[asyncio.AbstractEventLoop, list[dict]]]:
    """A fresh event loop running in a thread; yields (loop, errors it reported).

    Errors the loop reports through its exception handler ("Task exception
    was never retrieved", callback failures) are collected so a test can
    assert there were none.
    """
    loop = asyncio.new_event_loop()
    errors: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: errors.append(context))

    def main() -> None:
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()

    thread = threading.Thread(target=main, name="sink-test-loop", daemon=True)
    thread.start()
    try:
        yield loop, errors
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        assert not thread.is_alive(), "sink test loop did not stop"


@contextmanager
def running_sink(
    mailbox: Any,
    config: SinkConfig | None = None,
    *,
    allow_loop_errors: bool = False,
    **overrides: Any,
) -> Iterator[SinkThread]:
    """Start the real sink for ``mailbox`` on port 0 in a background loop."""
    cfg = replace(config, **overrides) if config is not None else sink_config(**overrides)
    with background_loop() as (loop, errors):
        sink = asyncio.run_coroutine_threadsafe(start_sink(cfg, mailbox), loop).result(30)
        handle = SinkThread(loop, sink, mailbox)
        try:
            yield handle
        finally:
            handle.run(sink.stop())
    if not allow_loop_errors:
        assert not errors, f"the sink's event loop reported errors: {errors!r}"


@contextmanager
def catching_server(directory: str | Path, **overrides: Any) -> Iterator[SinkThread]:
    """A Store + Mailbox on ``directory/mail.sqlite3`` and the sink in front of it."""
    from mailcatcher_gui.core.mailbox import Mailbox
    from mailcatcher_gui.core.store.database import Store

    mailbox = Mailbox(Store(Path(directory) / "mail.sqlite3"))
    try:
        with running_sink(mailbox, **overrides) as handle:
            yield handle
    finally:
        mailbox.close()


class RawSmtpClient:
    """A bare socket SMTP client for what smtplib cannot do (pipelining, exact bytes).

    ``replies(n)`` reads ``n`` complete replies (multi-line replies joined)
    and returns them as ``(code, [text lines])``.
    """

    def __init__(self, host: str, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self._buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while b"\r\n" not in self._buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"connection closed; unparsed data {self._buf!r}")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\r\n", 1)
        return line

    def reply(self) -> tuple[int, list[str]]:
        lines: list[str] = []
        while True:
            line = self._line().decode("utf-8", "replace")
            lines.append(line[4:])
            if line[3:4] != "-":
                return int(line[:3]), lines

    def replies(self, n: int) -> list[tuple[int, list[str]]]:
        return [self.reply() for _ in range(n)]

    def at_eof(self) -> bool:
        """True once the server has closed the connection (after buffered data)."""
        if self._buf:
            return False
        return self.sock.recv(1) == b""

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> RawSmtpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@asynccontextmanager
async def aiosmtplib_client(**kwargs: Any) -> AsyncIterator[aiosmtplib.SMTP]:
    """A connected ``aiosmtplib.SMTP`` that, on exit, QUITs and waits for the socket to close.

    aiosmtplib's ``close()`` only starts closing; over TLS the close waits for
    the server's close_notify, so a test that ends its ``asyncio.run`` right
    away closes the loop under a still-open socket (a ResourceWarning later).
    """
    client = aiosmtplib.SMTP(**kwargs)
    await client.connect()
    sock = client.get_transport_info("socket")
    try:
        yield client
    finally:
        if client.is_connected:
            with suppress(aiosmtplib.SMTPException):
                await client.quit()
        client.close()
        for _ in range(500):
            if sock.fileno() == -1:
                break
            await asyncio.sleep(0.01)
        assert sock.fileno() == -1, "the aiosmtplib connection did not close"
