"""What a send attempt reports: the transcript first, then the facts.

A developer debugging mail wants to see what went over the wire, the way
``swaks`` shows it, not a "send failed" dialog. So every transport produces a
``SendReport`` whose heart is ``transcript``: each line exchanged, marked
client->server or server->client, with a wall-clock timestamp and the time
since the attempt started. AUTH secrets are redacted and the DATA payload is
summarised (its size), never dumped, so a report can be pasted into a bug
report as it is.

Around the transcript sit the facts a GUI or a script branches on: the TLS
session and the server certificate, the EHLO capabilities, the AUTH mechanism
used, one result per recipient, the final reply (and queue id), the time
spent per stage, and -- when something went wrong -- a ``Failure`` naming the
stage (connect, tls, ehlo, auth, mail, rcpt, data, timeout, ...) with the
server's code and text.

Everything here is a frozen value object: reports cross from the event loop
to the UI thread and must not change underneath the receiver.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Stage(StrEnum):
    """The part of a send attempt a transcript line or a timing belongs to."""

    BUILD = "build"  # building/validating the message before any I/O
    CONNECT = "connect"  # DNS, TCP connect, the server greeting
    TLS = "tls"  # STARTTLS or the implicit-TLS handshake
    EHLO = "ehlo"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"
    QUIT = "quit"
    DELIVER = "deliver"  # non-SMTP transports (local mailbox, file, console, memory)


class FailureStage(StrEnum):
    """Where an attempt failed. Stable: the CLI maps each to an exit code."""

    INPUT = "input"  # bad message/envelope (e.g. header injection): nothing was sent
    CONNECT = "connect"
    TLS = "tls"
    EHLO = "ehlo"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"  # every recipient refused
    DATA = "data"
    TIMEOUT = "timeout"  # see Failure.during for the stage that timed out
    DELIVERY = "delivery"  # a non-SMTP transport could not store/write the message


class Direction(StrEnum):
    CLIENT = "client"  # we sent this (client -> server)
    SERVER = "server"  # the server sent this (server -> client)
    INFO = "info"  # a note from us: connecting, TLS details, results
    ERROR = "error"  # a client-side error: refused connection, timeout, bad cert


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One line of the session, in the order it happened."""

    direction: Direction
    text: str
    at: datetime  # timezone-aware UTC wall clock
    elapsed: float  # seconds since the send attempt started (monotonic clock)
    stage: Stage
    encrypted: bool = False  # exchanged inside TLS
    code: int | None = None  # the reply code, for server lines

    @property
    def is_error(self) -> bool:
        """A client-side error, or a 4xx/5xx server reply."""
        if self.direction is Direction.ERROR:
            return True
        return self.direction is Direction.SERVER and self.code is not None and self.code >= 400


def render_swaks(line: TranscriptLine, *, timestamps: bool = False) -> str:
    """Render a line the way ``swaks`` prints it.

    ``===`` notes, `` ->`` client lines, ``<- `` server lines, ``<**`` error
    replies, ``***`` client-side errors; inside TLS the arrows become ``~>`` /
    ``<~`` (and ``<~*`` for an error reply), as swaks does.
    """
    if line.direction is Direction.INFO:
        prefix = "==="
    elif line.direction is Direction.ERROR:
        prefix = "***"
    elif line.direction is Direction.CLIENT:
        prefix = " ~>" if line.encrypted else " ->"
    elif line.is_error:
        prefix = "<~*" if line.encrypted else "<**"
    else:
        prefix = "<~ " if line.encrypted else "<- "
    text = f"{prefix} {line.text}"
    if timestamps:
        text = f"[{line.elapsed:8.3f}s] {text}"
    return text


@dataclass(frozen=True, slots=True)
class Reply:
    """A complete server reply (possibly multi-line, joined with newlines)."""

    code: int
    text: str

    def __str__(self) -> str:
        return f"{self.code} {self.text}".strip()


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    """The facts a user needs to judge the server certificate."""

    subject: str  # RFC 4514, e.g. "CN=mail.example.com"
    issuer: str
    sans: tuple[str, ...]  # "DNS:mail.example.com", "IP:127.0.0.1"
    not_before: datetime | None
    not_after: datetime | None
    serial: str  # hex
    sha256: str  # fingerprint of the DER certificate, hex with colons


@dataclass(frozen=True, slots=True)
class TlsReport:
    """The TLS session of an SMTP attempt, whether or not it succeeded."""

    mode: str  # "starttls" | "implicit"
    version: str | None = None  # "TLSv1.3"; None when the handshake failed
    cipher: str | None = None
    bits: int | None = None
    certificate: CertificateInfo | None = None
    # verification: "verified" (chain + hostname checked), "failed" (handshake
    # refused; see verify_error), "skipped" (allow_invalid_cert was set)
    verification: str = "verified"
    verify_error: str | None = None  # OpenSSL's reason, e.g. "self-signed certificate"
    ca_file: str | None = None  # the CA bundle used instead of the system store

    @property
    def established(self) -> bool:
        return self.version is not None


@dataclass(frozen=True, slots=True)
class RecipientResult:
    """The server's answer to one RCPT TO (or the local outcome)."""

    address: str
    accepted: bool
    code: int | None = None
    text: str = ""


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an attempt failed, classified by stage. Never a bare "send failed"."""

    stage: FailureStage
    message: str  # human sentence, complete on its own
    code: int | None = None  # the server's reply code, when a reply caused it
    server_text: str | None = None  # the server's reply text
    during: Stage | None = None  # the stage that was running (e.g. which step timed out)
    field: str | None = None  # for INPUT failures: the offending field ("to", "subject", ...)

    def __str__(self) -> str:
        return f"{self.stage}: {self.message}"


@dataclass(frozen=True, slots=True)
class SendReport:
    """Everything known about one message's send attempt (or a connection test)."""

    transport: str  # "smtp" | "local" | "file" | "console" | "memory"
    target: str  # "smtp.example.com:587", "mailbox", a folder, "stream"
    envelope_from: str
    envelope_to: tuple[str, ...]
    message_id: str | None
    size: int  # bytes of the message (0 for a connection test)
    started_at: datetime
    duration: float  # seconds
    transcript: tuple[TranscriptLine, ...]
    recipients: tuple[RecipientResult, ...] = ()
    tls: TlsReport | None = None
    capabilities: tuple[str, ...] = ()  # EHLO keywords and params, e.g. "SIZE 10240000"
    auth_mechanism: str | None = None  # "PLAIN" | "LOGIN" | "CRAM-MD5"
    final_reply: Reply | None = None  # the reply to the end of DATA
    queue_id: str | None = None  # parsed from final_reply when the server states one
    stage_times: dict[Stage, float] = field(default_factory=dict, hash=False)
    failure: Failure | None = None
    connection: int = 0  # which connection of a batch carried this message (0-based)
    stored_id: int | None = None  # local transport: the id in this app's mailbox
    path: str | None = None  # file transport: the .eml written

    @property
    def ok(self) -> bool:
        """Delivered to at least one recipient (or the test passed)."""
        return self.failure is None

    @property
    def accepted(self) -> tuple[str, ...]:
        return tuple(r.address for r in self.recipients if r.accepted)

    @property
    def refused(self) -> tuple[RecipientResult, ...]:
        return tuple(r for r in self.recipients if not r.accepted)


_QUEUE_ID_PATTERNS = (
    re.compile(r"queued as\s+<?([^\s>]+)>?", re.IGNORECASE),  # Postfix, this app's sink
    re.compile(r"\bid=([^\s]+)", re.IGNORECASE),  # Exim
    re.compile(r"^(?:2\.\d\.\d\s+)?Ok:?\s+([0-9A-Za-z][\w.-]{7,})\s*$", re.IGNORECASE),  # SES
)


def parse_queue_id(text: str) -> str | None:
    """Best-effort queue id from a final DATA reply; None when none is stated."""
    for pattern in _QUEUE_ID_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).rstrip(".,;")
    return None
