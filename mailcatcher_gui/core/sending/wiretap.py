"""A tap on aiosmtplib's protocol: every line in and out goes to the transcript.

aiosmtplib has no logging hook per line, so the tap replaces the protocol
object's ``write`` and ``read_response`` with wrappers (instance attributes
shadow the methods, so the protocol's own internal calls go through them
too). Two things never reach the transcript: AUTH secrets, which are
replaced by ``********`` before the line is recorded, and the DATA payload,
which is recorded as its size only.
"""

from __future__ import annotations

from typing import Any

from aiosmtplib.response import SMTPResponse

from .transcript import Recorder

REDACTED = "********"


class WireTap:
    """Records what aiosmtplib's protocol writes and reads, redacting secrets."""

    def __init__(self, recorder: Recorder) -> None:
        self.rec = recorder
        self.auth_mechanism: str | None = None
        self._auth_lines = 0
        self._data_sent = False
        self._payload_next = False

    def attach(self, protocol: Any) -> None:
        original_write = protocol.write
        original_read = protocol.read_response

        def write(data: bytes) -> None:
            self._on_write(data)
            original_write(data)

        async def read_response(timeout: float | None = None) -> SMTPResponse:
            response: SMTPResponse = await original_read(timeout=timeout)
            self._on_reply(response)
            return response

        # Instance attributes shadow the methods, so the protocol's own calls
        # (self.write / self.read_response) go through the tap as well.
        protocol.write = write
        protocol.read_response = read_response

    def begin_auth(self, mechanism: str) -> None:
        self.auth_mechanism = mechanism
        self._auth_lines = 0

    def end_auth(self) -> None:
        self.auth_mechanism = None

    def _on_write(self, data: bytes) -> None:
        if self._payload_next:
            self._payload_next = False
            body = data[:-3] if data.endswith(b"\r\n.\r\n") else data
            lines = body.count(b"\n")
            self.rec.client(f"<message data: {len(body):,} bytes, {lines:,} lines, not shown>")
            self.rec.client(".")
            return
        text = data.decode("utf-8", "replace").rstrip("\r\n")
        if self.auth_mechanism is not None:
            text = self._redact(text)
        elif text.upper() == "DATA":
            self._data_sent = True
        self.rec.client(text)

    def _redact(self, text: str) -> str:
        first = self._auth_lines == 0
        self._auth_lines += 1
        if first:
            # "AUTH <mech> [initial response]": PLAIN's initial response holds
            # the password; LOGIN's holds only the user name (kept, as swaks does).
            parts = text.split(" ", 2)
            if len(parts) == 3 and parts[1].upper() != "LOGIN":
                return f"{parts[0]} {parts[1]} {REDACTED}"
            return text
        return f"{REDACTED} (redacted {self.auth_mechanism} response)"

    def _on_reply(self, response: SMTPResponse) -> None:
        if self._data_sent:
            self._data_sent = False
            self._payload_next = response.code == 354
        self.rec.server(response.code, response.message)
