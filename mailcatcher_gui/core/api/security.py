"""Who may use the HTTP API: Basic auth from an htpasswd file, CORS, and origin checks.

Basic auth works like Mailpit's ``--ui-auth-file``: an htpasswd file, one
``user:hash`` per line, hashes made with ``htpasswd -B`` (bcrypt; other hash
kinds are refused at startup with the line number, so a typo never silently
leaves the API open). ``/livez`` and ``/readyz`` stay open, as in Mailpit, so
a health probe needs no password; everything else answers 401 with a
``WWW-Authenticate`` challenge. bcrypt is slow on purpose (tens of
milliseconds per check), and the API shares its event loop with the SMTP
sink, so a check runs in a worker thread (bcrypt releases the GIL), at most
two at a time, and a verified ``(user, password)`` pair is remembered as a
keyed digest (never the password itself) so a client that sends the same
header with every request costs one hash lookup. Passwords and the
``Authorization`` header are never logged.

Browsers. A page on another site could otherwise make the user's browser
talk to ``127.0.0.1:8025`` (delete mail, send it). As Mailpit does, a request
whose ``Origin`` is neither this server nor the ``--http-cors`` origin gets
403, and WebSockets (which CORS does not cover) are checked the same way.
While the API listens on loopback only, the ``Host`` header must name a
loopback host too, which defeats DNS rebinding (a hostile name that resolves
to 127.0.0.1). CORS headers go out only with ``--http-cors ORIGIN``: that
origin (or ``*`` if the user asked for every origin) gets
``Access-Control-Allow-Origin`` and its preflight ``OPTIONS`` answers 204
without credentials, as browsers send none on a preflight.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import logging
import os
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import bcrypt
from aiohttp import hdrs, web

from .errors import json_error

__all__ = [
    "OPEN_PATHS",
    "AuthFileError",
    "Credentials",
    "OriginPolicy",
    "auth_middleware",
    "install_cors_headers",
    "is_loopback_host",
    "load_htpasswd",
    "origin_middleware",
    "parse_cors_origin",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Paths answered without credentials (Kubernetes-style probes, as in Mailpit).
OPEN_PATHS = frozenset({"/livez", "/readyz"})

REALM = "mailcatcher-gui"
_CHALLENGE = f'Basic realm="{REALM}", charset="UTF-8"'
_BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")
_REMEMBERED = 64  # verified (user, password) digests kept
_CORS_METHODS = "GET, POST, PUT, DELETE, OPTIONS"


class AuthFileError(ValueError):
    """The htpasswd file cannot be used; ``str()`` says why in one sentence."""


# ---- Basic auth ---------------------------------------------------------------------


class Credentials:
    """The users of an htpasswd file and a bounded memory of verified passwords."""

    def __init__(self, users: dict[str, bytes], source: str = "") -> None:
        if not users:
            raise AuthFileError(f"{source or 'the auth file'} has no users")
        self._users = dict(users)
        self.source = source
        self._key = os.urandom(32)  # digests of verified pairs are useless outside this process
        self._verified: OrderedDict[bytes, None] = OrderedDict()
        self._checks = asyncio.Semaphore(2)  # bcrypt runs off the loop, two at a time

    @property
    def users(self) -> tuple[str, ...]:
        return tuple(self._users)

    def _digest(self, user: str, password: str) -> bytes:
        data = user.encode("utf-8", "surrogateescape") + b"\0"
        data += password.encode("utf-8", "surrogateescape")
        return hmac.new(self._key, data, hashlib.sha256).digest()

    def check_sync(self, user: str, password: str) -> bool:
        """True if ``password`` is ``user``'s (blocking: bcrypt takes milliseconds)."""
        stored = self._users.get(user)
        if stored is None:
            return False
        try:
            return bcrypt.checkpw(password.encode("utf-8", "surrogateescape"), stored)
        except ValueError:  # a malformed hash slipped through: refuse rather than crash
            return False

    async def check(self, user: str, password: str) -> bool:
        """``check_sync`` without blocking the loop; verified pairs are remembered."""
        digest = self._digest(user, password)
        if digest in self._verified:
            self._verified.move_to_end(digest)
            return True
        async with self._checks:
            loop = asyncio.get_running_loop()
            ok = await loop.run_in_executor(None, self.check_sync, user, password)
        if ok:
            self._verified[digest] = None
            while len(self._verified) > _REMEMBERED:
                self._verified.popitem(last=False)
        return ok


def load_htpasswd(path: str | os.PathLike[str]) -> Credentials:
    """Read an htpasswd file of bcrypt hashes; ``AuthFileError`` names the problem.

    Blank lines and ``#`` comments are skipped. A line's content is never put
    in a message (it holds a hash); its number is.
    """
    where = Path(path).expanduser()
    try:
        text = where.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise AuthFileError(f"--http-auth-file {where}: no such file") from None
    except OSError as exc:
        raise AuthFileError(f"--http-auth-file {where}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise AuthFileError(f"--http-auth-file {where}: not UTF-8 text") from None
    users: dict[str, bytes] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, hashed = line.partition(":")
        if not sep or not user or not hashed:
            raise AuthFileError(
                f"--http-auth-file {where} line {number}: expected USER:HASH "
                "(make the file with 'htpasswd -B -c FILE USER')"
            )
        if not hashed.startswith(_BCRYPT_PREFIXES):
            raise AuthFileError(
                f"--http-auth-file {where} line {number}: only bcrypt hashes are supported "
                "(make them with 'htpasswd -B')"
            )
        users[user] = hashed.encode("ascii", "replace")
    if not users:
        raise AuthFileError(f"--http-auth-file {where}: no USER:HASH lines")
    return Credentials(users, str(where))


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None


def _unauthorized(message: str) -> web.Response:
    return json_error(401, message, headers={"WWW-Authenticate": _CHALLENGE})


def auth_middleware(
    credentials: Credentials,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Every request but the probes and CORS preflights needs a valid Basic login."""

    @web.middleware
    async def check_auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in OPEN_PATHS or _is_preflight(request):
            return await handler(request)
        header = request.headers.get(hdrs.AUTHORIZATION)
        if not header:
            return _unauthorized("authentication required")
        pair = _basic_credentials(header)
        if pair is None or not await credentials.check(*pair):
            log.info("HTTP API: refused a login from %s", request.remote or "?")
            return _unauthorized("wrong user name or password")
        return await handler(request)

    return check_auth


# ---- origins, Host, CORS ------------------------------------------------------------


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` (and ``*.localhost``) and loopback IP addresses."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _split_host(host_header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:8025`` -> ``::1``)."""
    value = host_header.strip()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def parse_cors_origin(text: str) -> str:
    """``--http-cors``'s value as an origin (``scheme://host[:port]``) or ``*``.

    ``ValueError`` with a sentence for anything else (a path, no host).
    """
    value = text.strip()
    if value == "*":
        return value
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"--http-cors {text!r}: use an origin such as http://localhost:3000, or *")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"--http-cors {text!r}: an origin has no path (http://host:port)")
    return f"{parts.scheme}://{parts.netloc.lower()}"


@dataclass(frozen=True)
class OriginPolicy:
    """Which browser origins may call the API; see the module docstring.

    ``cors_origin``: the ``--http-cors`` origin (normalised), ``*``, or None.
    ``loopback_only``: the API listens on loopback addresses only, so the
    ``Host`` header must name a loopback host.
    """

    cors_origin: str | None = None
    loopback_only: bool = True

    def cors_allows(self, origin: str) -> bool:
        if self.cors_origin is None:
            return False
        return self.cors_origin == "*" or _normal_origin(origin) == self.cors_origin

    def allows(self, request: web.Request) -> bool:
        origin = request.headers.get(hdrs.ORIGIN)
        if not origin:
            return True  # not a browser's cross-site request (curl, scripts, same-origin GET)
        if self.cors_allows(origin):
            return True
        try:
            parts = urlsplit(origin)
        except ValueError:
            return False
        return bool(parts.netloc) and parts.netloc.lower() == (request.host or "").lower()


def _normal_origin(origin: str) -> str:
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _is_preflight(request: web.Request) -> bool:
    return (
        request.method == hdrs.METH_OPTIONS
        and hdrs.ORIGIN in request.headers
        and hdrs.ACCESS_CONTROL_REQUEST_METHOD in request.headers
    )


def origin_middleware(
    policy: OriginPolicy,
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """Refuse foreign hosts and origins (403); answer allowed CORS preflights (204)."""

    @web.middleware
    async def check_origin(request: web.Request, handler: Handler) -> web.StreamResponse:
        if policy.loopback_only and not is_loopback_host(_split_host(request.host or "")):
            return json_error(
                403,
                "this API listens on loopback only and answers requests for localhost "
                f"or a loopback address, not {request.host!r}",
            )
        if not policy.allows(request):
            origin = request.headers.get(hdrs.ORIGIN, "")
            return json_error(
                403,
                f"cross-origin request from {origin} refused; "
                f"start with --http-cors {_normal_origin(origin) or 'ORIGIN'} to allow it",
            )
        if _is_preflight(request) and policy.cors_allows(request.headers[hdrs.ORIGIN]):
            asked = request.headers.get(hdrs.ACCESS_CONTROL_REQUEST_HEADERS, "")
            return web.Response(
                status=204,
                headers={
                    hdrs.ACCESS_CONTROL_ALLOW_METHODS: _CORS_METHODS,
                    hdrs.ACCESS_CONTROL_ALLOW_HEADERS: asked or "Authorization, Content-Type",
                    hdrs.ACCESS_CONTROL_MAX_AGE: "600",
                },
            )
        return await handler(request)

    return check_origin


def install_cors_headers(app: web.Application, policy: OriginPolicy) -> None:
    """Add the CORS response headers to every response (errors included) for allowed origins.

    A response signal rather than a middleware: the error middleware, which
    sits outside every other one, makes the 4xx bodies, and a browser can
    only read those when they carry the headers too.
    """
    if policy.cors_origin is None:
        return

    async def add_headers(request: web.Request, response: web.StreamResponse) -> None:
        origin = request.headers.get(hdrs.ORIGIN)
        if not origin or not policy.cors_allows(origin):
            return
        if policy.cors_origin == "*":
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = "*"
        else:
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_ORIGIN] = policy.cors_origin or ""
            response.headers[hdrs.ACCESS_CONTROL_ALLOW_CREDENTIALS] = "true"
            response.headers.add(hdrs.VARY, "Origin")
        response.headers[hdrs.ACCESS_CONTROL_EXPOSE_HEADERS] = "Content-Disposition"

    app.on_response_prepare.append(add_headers)


def middlewares_for(
    policy: OriginPolicy, credentials: Credentials | None
) -> Iterable[Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]]:
    """The security middlewares in their order: origins first, then the login."""
    chain = [origin_middleware(policy)]
    if credentials is not None:
        chain.append(auth_middleware(credentials))
    return chain
