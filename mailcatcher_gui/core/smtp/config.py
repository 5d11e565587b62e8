"""What the sink is told (``SinkConfig``), how it fails to start, and address parsing.

Everything here is plain data and pure functions, so the CLI, the window's
settings and the tests can build and check a configuration without starting
anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .auth import AuthMode

__all__ = [
    "PortInUse",
    "SinkConfig",
    "SinkStartError",
    "SmtpListener",
    "clean_text",
    "format_host",
    "format_listener",
    "format_peer",
    "parse_hostport",
    "parse_listener",
    "parse_listeners",
]


@dataclass(frozen=True)
class SmtpListener:
    """One plain SMTP listener and the mailbox its mail goes to by default.

    ``--smtp 127.0.0.1:1026=projectB``: what arrives there is stored in
    mailbox ``projectB`` (a rule's mailbox action still wins), and rules see
    the listener as ``listener = "projectB"``. Without a mailbox the
    listener's name is ``smtp``.
    """

    address: tuple[str, int]
    mailbox: str | None = None

    @property
    def name(self) -> str:
        return self.mailbox or "smtp"


@dataclass(frozen=True)
class SinkConfig:
    """How to run the sink: listeners, limits, TLS, AUTH, recipient rule, timeouts, rules."""

    smtp: tuple[str, int] = ("127.0.0.1", 1025)
    smtps: tuple[str, int] | None = None  # implicit TLS listener, off by default
    max_size: int = 50 * 1024 * 1024  # SIZE limit in bytes; 0 = unlimited
    auth: AuthMode = AuthMode("none")
    tls_cert: Path | None = None
    tls_key: Path | None = None  # None with tls_cert: the key is in the cert file
    cert_dir: Path | None = None  # where the self-signed cert lives when tls_cert is None
    accept_rcpt: str | None = None  # regex searched in each RCPT address; others get 550
    hostname: str = "mailcatcher-gui"
    idle_timeout: float = 300.0  # seconds a session may stay silent before it is closed
    # Bytes that the payloads of all connections may hold in memory at once
    # (received, not yet stored); a message that does not fit beside the
    # others gets 452 and is retried by its client. A payload alone always
    # fits (only max_size limits it). 0 = unlimited.
    data_budget: int = 256 * 1024 * 1024
    # The rules file (TOML, see core/rules/loading.py), loaded at start and
    # reloaded whenever it changes; None = no file (rules may still be added
    # through RunningSink.rules).
    rules_file: Path | None = None
    # The first listener's default mailbox (``--smtp HOST:PORT=MAILBOX``) and
    # the further plain listeners (``--smtp`` given again), each with its own.
    smtp_mailbox: str | None = None
    extra_smtp: tuple[SmtpListener, ...] = ()

    def smtp_listeners(self) -> tuple[SmtpListener, ...]:
        """Every plain SMTP listener, the first (``smtp``) first."""
        return (SmtpListener(self.smtp, self.smtp_mailbox), *self.extra_smtp)


class SinkStartError(Exception):
    """The sink could not start; ``str()`` is a message for the user."""


class PortInUse(SinkStartError):
    """A listener's port is taken (typically another catcher is running)."""

    def __init__(self, host: str, port: int, flag: str) -> None:
        self.host = host
        self.port = port
        self.flag = flag
        super().__init__(
            f"port {port} on {format_host(host)} is already in use ({flag}); "
            f"stop the other program or choose another port with {flag} HOST:PORT"
        )


def parse_hostport(text: str, default_host: str = "127.0.0.1") -> tuple[str, int]:
    """Parse ``HOST:PORT``, ``:PORT``, ``[IPv6]:PORT`` or a bare ``PORT``.

    Port 0 is allowed (the OS picks a free port; ``RunningSink.listeners``
    reports it).
    """
    value = text.strip()
    if not value:
        raise ValueError("empty address: use HOST:PORT, :PORT or [IPv6]:PORT")
    if value.isdigit():
        host, port_text = default_host, value
    elif value.startswith("["):
        end = value.find("]")
        if end < 0 or not value[end + 1 :].startswith(":"):
            raise ValueError(f"invalid address {text!r}: use [IPv6]:PORT, e.g. [::1]:1025")
        host, port_text = value[1:end], value[end + 2 :]
        if not host:
            raise ValueError(f"invalid address {text!r}: empty IPv6 address in brackets")
    else:
        host, sep, port_text = value.rpartition(":")
        if not sep:
            raise ValueError(f"invalid address {text!r}: missing port; use HOST:PORT or :PORT")
        if ":" in host:
            raise ValueError(
                f"invalid address {text!r}: put IPv6 addresses in brackets, e.g. [::1]:1025"
            )
        host = host or default_host
    if not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise ValueError(f"invalid port {port_text!r} in {text!r}: must be 0-65535")
    return host, int(port_text)


def parse_listener(text: str, default_host: str = "127.0.0.1") -> SmtpListener:
    """``HOST:PORT`` (any ``parse_hostport`` form), optionally ``=MAILBOX``.

    The mailbox name is what ``mailbox:NAME`` searches and the ``listener``
    rule condition matches: no spaces, no control characters, at most 64
    characters.
    """
    address, sep, mailbox = str(text).partition("=")
    host_port = parse_hostport(address, default_host)
    if not sep:
        return SmtpListener(host_port)
    name = mailbox.strip()
    if not name:
        raise ValueError(
            f"empty mailbox name in {text!r}: use HOST:PORT=MAILBOX, e.g. :1026=projectB"
        )
    if len(name) > 64 or any(c.isspace() or ord(c) < 0x20 or c in "\"'" for c in name):
        raise ValueError(
            f"invalid mailbox name {name!r} in {text!r}: at most 64 characters, no spaces or quotes"
        )
    return SmtpListener(host_port, name)


def parse_listeners(text: str) -> tuple[SmtpListener, ...]:
    """Several ``parse_listener`` specs separated by commas or spaces (Settings'
    "More listeners" field); ``ValueError`` names the bad one."""
    return tuple(parse_listener(part) for part in text.replace(",", " ").split())


def format_listener(listener: SmtpListener) -> str:
    """``HOST:PORT[=MAILBOX]``, as ``parse_listener`` reads it."""
    host, port = listener.address
    text = f"{format_host(host)}:{port}"
    return f"{text}={listener.mailbox}" if listener.mailbox else text


def format_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def format_peer(peer: Any) -> str:
    if isinstance(peer, tuple) and len(peer) >= 2:
        return f"{format_host(str(peer[0]))}:{peer[1]}"
    return "" if peer is None else str(peer)


def clean_text(text: str | None) -> str:
    """Undo aiosmtpd's surrogateescape so invalid UTF-8 cannot break storage."""
    if not text:
        return ""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
