"""The fence around the private APIs the code relies on (issue 9 item 8).

The sink subclasses aiosmtpd's ``SMTP`` and overrides or calls several of
its private methods; the window's loop overrides qasync's notifier methods;
the DATA reader peeks at ``asyncio.StreamReader._buffer``; the sending
transcript replaces aiosmtplib protocol methods on the instance. None of
that is a promised interface. pyproject bounds the three libraries below
their next minor/major version; when a bump is tried, this file is the one
place that says what to re-check: each failure names the private name, what
was expected, what was found, and the installed and pinned versions.

Signatures are compared by parameter names, kinds (``*args``) and whether
a default exists; annotations are ignored (they are not the contract).
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import inspect
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.smtp import SMTP, Session
from aiosmtplib.protocol import SMTPProtocol
from smtp_helpers import HOST, RawSmtpClient, running_sink

from mailcatcher_gui.core.smtp.protocol import SinkSMTP
from mailcatcher_gui.core.smtp.transcript import TranscribingReader

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def _pin(dist: str) -> str:
    """The dependency line for ``dist`` in pyproject.toml (its version bounds)."""
    deps = tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"]
    for dep in deps:
        if re.match(rf"{re.escape(dist)}\b", dep):
            return dep
    return f"{dist} (not pinned in pyproject.toml)"


def _recheck(dist: str) -> str:
    if dist == "python":
        return f"Re-check against CPython {sys.version.split()[0]} (pyproject: requires-python)."
    installed = importlib.metadata.version(dist)
    return f"Re-check against {dist} {installed} (pyproject pins {_pin(dist)!r})."


def _shape(func: Callable[..., Any]) -> str:
    """``(self, fd, callback, *args)``: names, kinds and defaults, no annotations."""
    parts = []
    for p in inspect.signature(func).parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            parts.append(f"*{p.name}")
        elif p.kind is p.VAR_KEYWORD:
            parts.append(f"**{p.name}")
        else:
            parts.append(p.name + ("=" if p.default is not p.empty else ""))
    prefix = "async " if inspect.iscoroutinefunction(func) else ""
    return f"{prefix}({', '.join(parts)})"


def _event_loop_base() -> type:
    import qasync

    return qasync._QEventLoop  # the class that defines the notifier methods


# (distribution, owner, name, expected shape, what relies on it)
METHODS: list[tuple[str, Callable[[], Any], str, str, str]] = [
    # aiosmtpd: overridden in core/smtp/protocol.py (SinkSMTP) ...
    ("aiosmtpd", lambda: SMTP, "_create_session", "(self)", "SinkSMTP._create_session"),
    (
        "aiosmtpd",
        lambda: SMTP,
        "_cb_client_connected",
        "(self, reader, writer)",
        "SinkSMTP wraps the reader for the transcript",
    ),
    ("aiosmtpd", lambda: SMTP, "_getaddr", "(self, arg)", "SinkSMTP._getaddr fast lane"),
    (
        "aiosmtpd",
        lambda: SMTP,
        "_reset_timeout",
        "(self, duration=)",
        "SinkSMTP._reset_timeout keeps one idle timer",
    ),
    ("aiosmtpd", lambda: SMTP, "_timeout_cb", "(self)", "SinkSMTP._timeout_cb re-arms it"),
    ("aiosmtpd", lambda: SMTP, "push", "async (self, status)", "SinkSMTP.push batches replies"),
    ("aiosmtpd", lambda: SMTP, "smtp_DATA", "async (self, arg)", "SinkSMTP.smtp_DATA rewritten"),
    ("aiosmtpd", lambda: SMTP, "smtp_EHLO", "async (self, hostname)", "SinkSMTP.smtp_EHLO"),
    ("aiosmtpd", lambda: SMTP, "smtp_MAIL", "async (self, arg)", "SinkSMTP pipelining"),
    ("aiosmtpd", lambda: SMTP, "smtp_RCPT", "async (self, arg)", "SinkSMTP pipelining"),
    ("aiosmtpd", lambda: SMTP, "smtp_RSET", "async (self, arg)", "SinkSMTP pipelining"),
    ("aiosmtpd", lambda: SMTP, "smtp_AUTH", "async (self, arg)", "SinkSMTP.smtp_AUTH"),
    ("aiosmtpd", lambda: SMTP, "smtp_STARTTLS", "async (self, arg)", "SinkSMTP.smtp_STARTTLS"),
    (
        "aiosmtpd",
        lambda: SMTP,
        "check_auth_needed",
        "async (self, caller_method)",
        "SinkSMTP.check_auth_needed",
    ),
    ("aiosmtpd", lambda: SMTP, "_handle_client", "async (self)", "RuleHooks: connect rules"),
    ("aiosmtpd", lambda: SMTP, "smtp_HELO", "async (self, hostname)", "RuleHooks: HELO rules"),
    ("aiosmtpd", lambda: SMTP, "connection_made", "(self, transport)", "implicit TLS"),
    ("aiosmtpd", lambda: SMTP, "connection_lost", "(self, error)", "implicit TLS"),
    ("aiosmtpd", lambda: SMTP, "eof_received", "(self)", "implicit TLS"),
    # ... and called from there.
    ("aiosmtpd", lambda: SMTP, "check_helo_needed", "async (self, helo=)", "smtp_DATA"),
    (
        "aiosmtpd",
        lambda: SMTP,
        "_call_handler_hook",
        "async (self, command, *args)",
        "smtp_DATA calls handle_DATA through it",
    ),
    ("aiosmtpd", lambda: SMTP, "_set_post_data_state", "(self)", "smtp_DATA"),
    ("aiosmtpd", lambda: Session, "__init__", "(self, loop)", "SinkSMTP._create_session"),
    # qasync: overridden in ui/event_loop.py (QtAsyncLoop).
    (
        "qasync",
        _event_loop_base,
        "_add_reader",
        "(self, fd, callback, *args)",
        "QtAsyncLoop._add_reader",
    ),
    (
        "qasync",
        _event_loop_base,
        "_add_writer",
        "(self, fd, callback, *args)",
        "QtAsyncLoop._add_writer",
    ),
    ("qasync", _event_loop_base, "_remove_reader", "(self, fd)", "QtAsyncLoop._remove_reader"),
    ("qasync", _event_loop_base, "_remove_writer", "(self, fd)", "QtAsyncLoop._remove_writer"),
    (
        "qasync",
        _event_loop_base,
        "_add_callback",
        "(self, handle, delay=)",
        "QtAsyncLoop.call_soon arms one round",
    ),
    # aiosmtplib: replaced on the protocol instance in core/sending/wiretap.py.
    ("aiosmtplib", lambda: SMTPProtocol, "write", "(self, data)", "WireTap.attach"),
    (
        "aiosmtplib",
        lambda: SMTPProtocol,
        "read_response",
        "async (self, timeout=)",
        "WireTap.attach",
    ),
    # CPython asyncio: used by ui/event_loop.py.
    ("python", lambda: asyncio.Handle, "_run", "(self)", "QtAsyncLoop runs handles directly"),
    (
        "python",
        lambda: asyncio.BaseEventLoop,
        "_check_closed",
        "(self)",
        "QtAsyncLoop._watch",
    ),
]


@pytest.mark.parametrize(
    ("dist", "owner", "name", "expected", "used_by"),
    METHODS,
    ids=[f"{m[0]}:{m[2]}" for m in METHODS],
)
def test_private_method_still_has_the_expected_signature(dist, owner, name, expected, used_by):
    cls = owner()
    func = getattr(cls, name, None)
    assert func is not None, (
        f"{cls.__module__}.{cls.__qualname__}.{name} is gone; {used_by} relies on it. "
        + _recheck(dist)
    )
    found = _shape(func)
    assert found == expected, (
        f"{cls.__module__}.{cls.__qualname__}.{name} changed: expected {expected}, "
        f"found {found}; {used_by} relies on it. " + _recheck(dist)
    )


def _has(obj: object, name: str, kind: type | tuple[type, ...], dist: str, used_by: str) -> None:
    owner = type(obj).__qualname__
    assert hasattr(obj, name), f"{owner}.{name} is gone; {used_by} relies on it. " + _recheck(dist)
    value = getattr(obj, name)
    assert isinstance(value, kind), (
        f"{owner}.{name} is now {type(value).__name__}, expected {kind}; "
        f"{used_by} relies on it. " + _recheck(dist)
    )


def test_live_sink_session_has_the_private_state_it_uses(mailbox):
    """Names aiosmtpd sets on a connected session (and the asyncio reader's buffer)."""

    with running_sink(mailbox) as srv, RawSmtpClient(HOST, srv.port) as client:
        assert client.reply()[0] == 220
        (session,) = list(srv.sink._sessions)
        assert isinstance(session, SinkSMTP)
        attrs: list[tuple[str, type | tuple[type, ...], str]] = [
            ("_handler_coroutine", asyncio.Task, "SinkSMTP.tasks and _consume_result"),
            ("_timeout_handle", asyncio.TimerHandle, "SinkSMTP._reset_timeout"),
            ("_timeout_duration", (int, float), "SinkSMTP._reset_timeout"),
            ("_tls_protocol", type(None), "SinkSMTP.smtp_STARTTLS and shut_down"),
            ("_original_transport", type(None), "SinkSMTP.abort"),
            ("_reader", TranscribingReader, "SinkSMTP._cb_client_connected"),
            ("_writer", asyncio.StreamWriter, "SinkSMTP.push"),
            ("_paused", bool, "SinkSMTP.push (drain only when paused)"),
            ("command_size_limits", dict, "SinkSMTP.__init__ (per-connection limits)"),
            ("local_part_limit", int, "SinkSMTP._getaddr"),
            ("session", Session, "SinkSMTP"),
            ("_smtp_methods", dict, "SinkSMTP.__dir__ (commands found through dir())"),
        ]
        for name, kind, used_by in attrs:
            _has(session, name, kind, "aiosmtpd", used_by)
        assert session._smtp_methods.get("DATA") == session.smtp_DATA, (
            "aiosmtpd no longer finds smtp_* commands through dir(); SinkSMTP.__dir__ "
            "relies on it. " + _recheck("aiosmtpd")
        )
        # CPython: the DATA reader and the reply batching peek at the buffer.
        _has(session._stream, "_buffer", bytearray, "python", "payload.read_payload, push")
        for name in ("line_length_limit", "command_size_limit"):
            _has(SMTP, name, int, "aiosmtpd", "SinkSMTP (class-level limits)")


def test_qasync_loop_has_the_notifier_maps(qapp):
    from gui_helpers import qasync_loop

    with qasync_loop(qapp) as loop:
        for name in ("_read_notifiers", "_write_notifiers"):
            _has(loop, name, dict, "qasync", "QtAsyncLoop._add_reader/_remove_reader")
    handle = asyncio.Handle(lambda: None, (), asyncio.new_event_loop())
    try:
        _has(handle, "_cancelled", bool, "python", "QtAsyncLoop._run_ready_round")
    finally:
        handle._loop.close()


def test_aiosmtplib_protocol_methods_can_be_shadowed_on_the_instance(mailbox):
    """WireTap.attach sets ``write``/``read_response`` on the protocol instance and
    relies on the protocol's own calls going through them."""
    seen: list[bytes] = []

    async def session(port: int) -> None:
        client = aiosmtplib.SMTP(hostname=HOST, port=port, start_tls=False)
        await client.connect()
        try:
            protocol = client.protocol
            assert isinstance(protocol, SMTPProtocol)
            original = protocol.write

            def write(data: bytes) -> None:
                seen.append(data)
                original(data)

            protocol.write = write  # type: ignore[method-assign]
            await client.noop()
        finally:
            await client.quit()

    with running_sink(mailbox) as srv:
        srv.run(session(srv.port))
    assert b"NOOP\r\n" in seen, (
        f"aiosmtplib's protocol no longer writes through self.write ({seen!r}); "
        "WireTap.attach relies on it. " + _recheck("aiosmtplib")
    )
