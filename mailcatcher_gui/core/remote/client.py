"""Blocking calls to a Mailpit-compatible HTTP API (``/api/v1/...``).

Why ``http.client`` with one keep-alive connection per thread, and not
aiohttp: the window reads its mailbox *synchronously* from the GUI thread
(``MailboxProtocol`` is sync, like the local SQLite reads), and an export
job reads from a worker thread. An aiohttp session on a private loop thread
would put a cross-thread future hop on every call and tie the session's
lifetime to that loop; a plain ``HTTPConnection`` per calling thread keeps a
call to one request/response on an open socket (about a millisecond on
loopback), needs no loop, and cannot be shared by two threads by accident.
Timeouts are short (``connect_timeout``, ``read_timeout``), because a
catcher that stopped answering must not freeze the window: the call raises
``RemoteError`` and the caller shows it. A keep-alive socket that the server
closed while idle is noticed on the next call and that call is retried once
on a fresh connection (only for idempotent methods: GET, PUT, DELETE).

The live events (``/api/events``, a WebSocket) are a separate concern:
``core.remote.events`` runs them on their own thread with aiohttp.

Errors: ``RemoteError`` (a ``core.store.StoreError``, so every caller that
already reports a store failure reports this one) for an unreachable server
or an unexpected answer; ``RemoteAuthError`` for 401/403; ``HttpStatusError``
carries the status and the server's text for the callers that map a 404 to
``MessageNotFound`` or a 400 to ``QueryError``.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..store import StoreError

__all__ = [
    "ApiClient",
    "CatcherEndpoint",
    "HttpStatusError",
    "RemoteAuthError",
    "RemoteError",
    "parse_catcher_url",
]

_IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD"})
_STALE = (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)


class RemoteError(StoreError):
    """The catcher could not be reached or answered something unusable."""


class RemoteAuthError(RemoteError):
    """The catcher refused the credentials (401/403)."""


class HttpStatusError(RemoteError):
    """A non-2xx answer: ``status`` and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class CatcherEndpoint:
    """Where a catcher's API is and how to log in (the password never printed)."""

    base_url: str  # "http://host:port" or with a path prefix ("…/mailpit"), no trailing "/"
    username: str = ""
    password: str = ""
    connect_timeout: float = 3.0
    read_timeout: float = 15.0
    verify_tls: bool = True

    def __repr__(self) -> str:
        return f"CatcherEndpoint({self.base_url!r}, username={self.username!r})"

    @property
    def websocket_url(self) -> str:
        """The live events' URL (``ws://…/api/events``)."""
        scheme = "wss" if self.base_url.startswith("https:") else "ws"
        return scheme + self.base_url[self.base_url.index(":") :] + "/api/events"

    def auth_header(self) -> str | None:
        """The ``Authorization`` value for Basic auth, None without a user."""
        if not self.username:
            return None
        token = f"{self.username}:{self.password}".encode()
        return "Basic " + base64.b64encode(token).decode("ascii")


def parse_catcher_url(text: str) -> str:
    """A normalised base URL from what a user typed; ``ValueError`` says what is wrong.

    ``localhost:8025`` becomes ``http://localhost:8025``; a trailing ``/`` and
    a pasted ``/api/v1…`` or ``/#…`` are dropped; credentials in the URL are
    refused (they belong in the user/password fields, i.e. the keyring).
    """
    raw = text.strip()
    if not raw:
        raise ValueError("the catcher's URL is empty")
    if "://" not in raw:
        raw = "http://" + raw
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"the catcher's URL must start with http:// or https://, not {parts.scheme}://"
        )
    if parts.username or parts.password:
        raise ValueError("put the user name and password in their own fields, not in the URL")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"the port in {text.strip()!r} is not a number from 1 to 65535") from None
    if not parts.hostname:
        raise ValueError(f"{text.strip()!r} names no host")
    path = parts.path
    if "/api/" in path + "/":
        path = path[: (path + "/").index("/api/")]
    path = path.rstrip("/")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{host}:{port}" if port else host
    return f"{parts.scheme}://{netloc}{path}"


class ApiClient:
    """JSON and bytes over HTTP/1.1 keep-alive; one connection per calling thread."""

    def __init__(self, endpoint: CatcherEndpoint) -> None:
        self.endpoint = endpoint
        parts = urlsplit(endpoint.base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "localhost"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[http.client.HTTPConnection] = []
        self._closed = False
        self._headers = {"Accept": "application/json", "User-Agent": "mailcatcher-gui"}
        auth = endpoint.auth_header()
        if auth:
            self._headers["Authorization"] = auth

    # ---- connections ---------------------------------------------------------------

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's connection and whether it was used before."""
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        if self._closed:
            raise RemoteError(f"the connection to {self.endpoint.base_url} was closed")
        timeout = self.endpoint.connect_timeout
        if self._https:
            context = ssl.create_default_context()
            if not self.endpoint.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            conn = http.client.HTTPSConnection(
                self._host, self._port, timeout=timeout, context=context
            )
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn, False

    def _drop_connection(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            conn.close()
            with self._lock:
                if conn in self._connections:
                    self._connections.remove(conn)

    def close(self) -> None:
        """Close every thread's connection; later calls raise ``RemoteError``."""
        with self._lock:
            self._closed = True
            conns, self._connections = self._connections, []
        for conn in conns:
            conn.close()

    # ---- requests --------------------------------------------------------------------

    def url(self, path: str, query: dict[str, Any] | None = None) -> str:
        """The request target for ``path`` (``/api/v1/...``) below the base URL."""
        target = self._prefix + path
        if query:
            target += "?" + urlencode({k: v for k, v in query.items() if v is not None})
        return target

    def request(
        self,
        method: str,
        path: str,
        *,
        query: dict[str, Any] | None = None,
        body: Any = None,
    ) -> tuple[int, bytes]:
        """One call; returns (status, body) for 2xx and raises for anything else."""
        target = self.url(path, query)
        headers = dict(self._headers)
        payload: bytes | None = None
        if body is not None:
            payload = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            conn, reused = self._connection()
            try:
                conn.request(method, target, body=payload, headers=headers)
                if conn.sock is not None:
                    conn.sock.settimeout(self.endpoint.read_timeout)
                response = conn.getresponse()
                data = response.read()
            except _STALE as exc:
                self._drop_connection()
                if reused and attempt == 1 and method in _IDEMPOTENT:
                    continue  # the server closed an idle keep-alive socket
                raise self._unreachable(exc) from exc
            except (OSError, http.client.HTTPException) as exc:
                self._drop_connection()
                raise self._unreachable(exc) from exc
            if response.will_close:
                self._drop_connection()
            return self._checked(response.status, data, method, target)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    def _unreachable(self, exc: BaseException) -> RemoteError:
        if isinstance(exc, socket.timeout | TimeoutError):
            why = "it did not answer in time"
        elif isinstance(exc, ConnectionRefusedError):
            why = "the connection was refused"
        elif isinstance(exc, ssl.SSLError):
            why = f"TLS failed ({exc.reason or exc})"
        else:
            why = str(exc) or type(exc).__name__
        return RemoteError(f"cannot reach the catcher at {self.endpoint.base_url}: {why}")

    def _checked(self, status: int, data: bytes, method: str, target: str) -> tuple[int, bytes]:
        if 200 <= status < 300:
            return status, data
        text = _error_text(data) or http.client.responses.get(status, "error")
        if status in (401, 403):
            raise RemoteAuthError(
                f"the catcher at {self.endpoint.base_url} refused the login ({status}): {text}"
            )
        raise HttpStatusError(status, f"{method} {target}: {status} {text}")

    def get_json(self, path: str, query: dict[str, Any] | None = None) -> Any:
        _status, data = self.request("GET", path, query=query)
        try:
            return json.loads(data)
        except ValueError as exc:
            raise RemoteError(
                f"the catcher at {self.endpoint.base_url} sent no JSON for {path}"
            ) from exc

    def get_bytes(self, path: str) -> bytes:
        return self.request("GET", path)[1]

    def send_json(self, method: str, path: str, body: Any) -> bytes:
        return self.request(method, path, body=body)[1]


def message_path(server_id: str, suffix: str = "") -> str:
    """``/api/v1/message/{ID}{suffix}`` with the id escaped for a URL path."""
    return f"/api/v1/message/{quote(server_id, safe='')}{suffix}"


def _error_text(data: bytes) -> str:
    """The server's error: Mailpit sends plain text; ours ``{"Error": ...}``."""
    text = data.decode("utf-8", "replace").strip()
    if text.startswith("{"):
        try:
            obj = json.loads(text)
        except ValueError:
            return text[:300]
        if isinstance(obj, dict):
            for key in ("Error", "error", "message"):
                if isinstance(obj.get(key), str):
                    return str(obj[key])[:300]
    return text[:300]
