"""Ask one URL for its status: HEAD, GET when HEAD is refused, redirects hop by hop, an SSRF guard.

A link check makes *this machine* request URLs that someone else wrote into
a message, and some captured mail is hostile. So before every connection
(the first request and every redirect hop) the target is checked:

* an IP literal is judged directly;
* a host name is resolved by ``GuardedResolver``, the only resolver the
  HTTP client uses, and EVERY address it returns must be public: loopback,
  private, link-local, cloud metadata (169.254.169.254, fd00:ec2::254),
  multicast, reserved and IPv4-mapped forms of those are refused. Because the
  client connects only to the addresses the guard saw, a name cannot be
  re-pointed ("DNS rebinding") between the check and the connection.

``CheckOptions.allow_local_links`` turns the guard off (a developer checking
links to their own dev server; the tests do it for loopback servers).

Redirects are followed by hand (never by the client) so each hop is guarded
and shown; at most ``MAX_HOPS``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import urljoin, urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import ThreadedResolver

__all__ = ["MAX_HOPS", "GuardedResolver", "Policy", "Probe", "address_refusal", "probe_url"]

# address → why it is refused, or None to allow (``address_refusal`` is the real one)
Policy = Callable[[str], "str | None"]

MAX_HOPS = 10
# HEAD answers that often mean "this server does not do HEAD", not "the link is broken".
GET_FALLBACK = frozenset({400, 403, 405, 406, 500, 501})
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def address_refusal(address: str) -> str | None:
    """Why a link check must not connect to ``address``, or None when it is public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return f"{address} is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip in _METADATA:
        kind = "a cloud metadata address"
    elif ip.is_unspecified:
        kind = "the unspecified address (this machine)"
    elif ip.is_loopback:
        kind = "a loopback address"
    elif ip.is_link_local:
        kind = "a link-local address"
    elif ip.is_private:
        kind = "a private address"
    elif ip.is_multicast or ip.is_reserved or not ip.is_global:
        kind = "not a public address"
    else:
        return None
    return f"{ip} is {kind}"


class LinkRefused(OSError):
    """The guard refused a target; aiohttp wraps it, ``GuardedResolver.refusals`` keeps why."""


class GuardedResolver(AbstractResolver):
    """Resolves like aiohttp's default, then refuses the host if ANY address is not public."""

    def __init__(self, policy: Policy | None = None) -> None:
        self._inner = ThreadedResolver()
        self._policy: Policy = policy or address_refusal
        self.refusals: dict[str, str] = {}  # host → reason

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = self._policy(result["host"])
            if reason is not None:
                key = host.rstrip(".").lower()
                self.refusals[key] = f"{key} resolves to {reason}"
                raise LinkRefused(self.refusals[key])
        return results

    async def close(self) -> None:
        await self._inner.close()


@dataclass
class Probe:
    """What asking one URL found; ``status_code`` 0 means no HTTP answer (see ``status``)."""

    url: str
    status_code: int = 0
    status: str = ""
    method: str = "HEAD"
    hops: list[tuple[str, int]] = field(default_factory=list)  # (url, 3xx status) per redirect
    final_url: str = ""
    refused: bool = False  # the SSRF guard stopped it (``status`` says why)
    error: str = ""  # the network error, timeout, or refusal, when there was no answer


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return f"HTTP {code}"


def _literal_refusal(url: str, policy: Policy) -> str | None:
    try:
        host = (urlsplit(url).hostname or "").strip("[]")
    except ValueError:
        return None  # unparseable: the client refuses it with its own error
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None  # a name: the resolver judges it
    return policy(host)


async def _ask(
    session: aiohttp.ClientSession, url: str, timeout: float
) -> tuple[int, str | None, str]:
    """(status, Location, method) of HEAD, or of GET when HEAD looks unsupported."""
    limit = aiohttp.ClientTimeout(total=timeout)
    async with session.head(url, allow_redirects=False, timeout=limit) as response:
        status, location = response.status, response.headers.get("Location")
    if status not in GET_FALLBACK:
        return status, location, "HEAD"
    async with session.get(url, allow_redirects=False, timeout=limit) as response:
        return response.status, response.headers.get("Location"), "GET"  # body left unread


async def probe_url(
    session: aiohttp.ClientSession,
    resolver: GuardedResolver | None,
    url: str,
    *,
    timeout: float,
    follow: bool,
    policy: Policy | None,
) -> Probe:
    """Ask ``url`` (following redirects when ``follow``); never raises for network trouble.

    ``policy`` judges IP-literal targets at every hop (None: no guard); host
    names are judged by ``resolver``, which must use the same policy.
    """
    probe = Probe(url=url, final_url=url)
    current = url
    for _hop in range(MAX_HOPS + 1):
        refusal = _literal_refusal(current, policy) if policy is not None else None
        if refusal is not None:
            return _refused(probe, refusal)
        try:
            status, location, method = await _ask(session, current, timeout)
        except TimeoutError:
            return _failed(probe, f"timed out after {timeout:g} s")
        except aiohttp.ClientConnectorError as exc:
            host = (exc.host or "").rstrip(".").lower()
            if resolver is not None and host in resolver.refusals:
                return _refused(probe, resolver.refusals[host])
            return _failed(probe, _plain(exc))
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            return _failed(probe, _plain(exc))
        probe.method, probe.final_url = method, current
        if follow and 300 <= status < 400 and location:
            probe.hops.append((current, status))
            try:
                nxt = urljoin(current, location)
                scheme = urlsplit(nxt).scheme.lower()
            except ValueError:
                return _failed(probe, f"redirects to an invalid URL: {location[:200]}")
            if scheme not in ("http", "https"):
                probe.status_code, probe.status = status, f"redirects to {nxt} (not checked)"
                return probe
            current = nxt
            continue
        probe.status_code, probe.status = status, _phrase(status)
        return probe
    return _failed(probe, f"more than {MAX_HOPS} redirects")


def _refused(probe: Probe, reason: str) -> Probe:
    probe.refused = True
    probe.error = probe.status = f"not checked: {reason}"
    return probe


def _failed(probe: Probe, reason: str) -> Probe:
    probe.error = probe.status = reason
    return probe


def _plain(exc: BaseException) -> str:
    """A client error in plain words ("cannot connect to HOST:PORT: Connection refused")."""
    if isinstance(exc, aiohttp.ClientConnectorError):
        inner = exc.os_error
        text = inner.strerror or str(inner) if isinstance(inner, OSError) else str(inner)
        return f"cannot connect to {exc.host}:{exc.port}: {text}"
    text = str(exc) or type(exc).__name__
    return text.rsplit(": ", 1)[-1] if len(text) > 200 else text
