"""Shared helpers for the message viewer tests (test_viewer*, test_web_privacy)."""

from __future__ import annotations

import http.server
import struct
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from PySide6.QtCore import QUrl

from mailcatcher_gui.core.models import (
    Attachment,
    Header,
    MessageSummary,
    OpenedMessage,
    ParsedMessage,
    StoredMessage,
    TlsInfo,
)
from mailcatcher_gui.ui.viewer.tabs.dialogs import Conflict, ViewerDialogs

# Offscreen Chromium without a GPU: Qt's RHI cannot get a GL context and falls
# back to software, QtWebEngine notes it has no GPU info, and the offscreen
# platform plugin cannot forward size hints. All harmless, all environmental;
# ignored by exact text so any other warning still fails the test.
# (pytest-qt reads only the closest qt_log_ignore marker: extend, don't stack.)
WEB_ENV_PATTERNS = (
    r"^QRhiGles2: Failed to create (temporary )?context$",
    r"^Failed to create RHI for backend: OpenGL$",
    r"^GPUInfo not initialized on GpuInfoUpdate$",
    r"^This plugin does not support propagateSizeHints\(\)$",
)
WEB_ENV_LOG_IGNORE = pytest.mark.qt_log_ignore(*WEB_ENV_PATTERNS)


def png_bytes(rgb: tuple[int, int, int], width: int = 64, height: int = 64) -> bytes:
    """A real, solid-colour PNG (so a grab can find the colour on screen)."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def attachment(
    index: int,
    filename: str,
    data: bytes,
    content_type: str = "application/octet-stream",
    *,
    content_id: str | None = None,
    inline: bool = False,
    part_id: str | None = None,
) -> Attachment:
    return Attachment(
        index=index,
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256="",
        content_id=content_id,
        inline=inline,
        part_id=part_id or str(index + 2),
        data=data,
    )


def make_opened(
    *,
    html: str | None = None,
    text: str | None = "plain body",
    attachments: tuple[Attachment, ...] = (),
    headers: tuple[tuple[str, str], ...] = (
        ("From", "Alice <alice@example.com>"),
        ("To", "Bob <bob@example.com>"),
        ("Subject", "Hello there"),
        ("Date", "Tue, 03 Jun 2025 14:05:09 +0000"),
    ),
    raw: bytes | None = None,
    envelope_from: str = "alice@example.com",
    envelope_to: tuple[str, ...] = ("bob@example.com",),
    message_id: int = 1,
    transcript: tuple[str, ...] = ("S: 220 ready", "C: EHLO client", "S: 250 ok"),
    tls: TlsInfo | None = None,
    auth_user: str | None = None,
    parts=(),
) -> OpenedMessage:
    """A hand-built OpenedMessage (no parser needed)."""
    hdrs = tuple(Header(name=n, value=v, raw=v) for n, v in headers)
    if raw is None:
        raw = ("".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n" + (text or "")).encode()
    values = dict(headers)
    summary = MessageSummary(
        id=message_id,
        received_at=datetime(2025, 6, 3, 14, 5, 10, tzinfo=UTC),
        envelope_from=envelope_from,
        envelope_to=envelope_to,
        from_=values.get("From", ""),
        to=tuple(v for n, v in headers if n == "To"),
        cc=tuple(v for n, v in headers if n == "Cc"),
        subject=values.get("Subject", ""),
        message_id="<m1@example.com>",
        size=len(raw),
        has_html=html is not None,
        has_text=text is not None,
        attachments=len(attachments),
        read=False,
    )
    stored = StoredMessage(
        summary=summary,
        raw=raw,
        peer="127.0.0.1:40000",
        helo="client.example",
        tls=tls,
        auth_user=auth_user,
        transcript=transcript,
        source="smtp",
    )
    parsed = ParsedMessage(
        headers=hdrs,
        text=text,
        html=html,
        attachments=attachments,
        parts=tuple(parts),
        defects=(),
    )
    return OpenedMessage(stored=stored, parsed=parsed)


class RecordingDialogs(ViewerDialogs):
    """Answers every prompt from attributes and records what was asked."""

    def __init__(self) -> None:
        self.confirm_links = True
        self.confirm_files = True
        self.save_path = None
        self.directory = None
        self.conflict = Conflict.KEEP_BOTH
        self.link_questions: list[str] = []
        self.file_questions: list[str] = []
        self.opened_urls: list[QUrl] = []
        self.conflict_questions: list[list] = []
        self.errors: list[str] = []
        self.save_suggestions: list = []
        self.save_instead = True
        self.open_failures: list[str] = []

    def confirm_open_link(self, parent, url):
        self.link_questions.append(url)
        return self.confirm_links

    def confirm_open_file(self, parent, name):
        self.file_questions.append(name)
        return self.confirm_files

    def open_url(self, url):
        self.opened_urls.append(QUrl(url))
        return True

    def choose_save_path(self, parent, suggested):
        self.save_suggestions.append(suggested)
        return self.save_path

    def choose_directory(self, parent, start):
        return self.directory

    def resolve_conflicts(self, parent, existing):
        self.conflict_questions.append(list(existing))
        return self.conflict

    def show_error(self, parent, title, text):
        self.errors.append(text)

    def offer_save_instead(self, parent, name):
        self.open_failures.append(name)
        return self.save_instead


class CountingServer:
    """A loopback HTTP server counting connections and requests (for privacy tests)."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.connections = 0
        lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                with lock:
                    outer.requests.append(self.path)
                body = png_bytes((0, 0, 255), 8, 8) if self.path.endswith(".png") else b"/* */"
                ctype = "image/png" if self.path.endswith(".png") else "text/css"
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request, client_address):
                with lock:
                    outer.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> CountingServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@contextmanager
def counting_server() -> Iterator[CountingServer]:
    server = CountingServer().start()
    try:
        yield server
    finally:
        server.stop()
