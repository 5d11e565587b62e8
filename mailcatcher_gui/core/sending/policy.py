"""When a password may cross the wire in clear text: one rule for compose, release and ``send``.

A password sent without TLS is readable by anyone on the path. To a
loopback address nothing crosses a network (the sink on 127.0.0.1, a tunnel
on localhost), so it is allowed; to anything else it is refused unless the
profile says ``allow_plaintext_auth`` (``send --allow-plaintext-auth``).

The rule looks at two things, and both must be loopback:

* the configured host *name* (``localhost``, ``*.localhost`` per RFC 6761,
  an address in 127.0.0.0/8 or ``::1``) -- known before connecting, so a
  profile that would send a password to ``smtp.example.com`` without TLS is
  refused before any connection is made (``SmtpTransport``'s preflight);
* the *peer address* the socket actually reached -- known after connecting:
  a ``localhost`` that resolves elsewhere is not loopback
  (``SmtpSession`` checks again just before AUTH).

``send`` without a security option uses STARTTLS whenever offered, and for a
non-loopback host with a password makes it required (see ``cli.send``), so
the rule there only decides whether ``--no-starttls`` is refused.
"""

from __future__ import annotations

import ipaddress

from .profiles import RelayProfile, Security

__all__ = ["is_loopback", "plaintext_auth_refusal", "would_send_password_in_clear"]


def is_loopback(host: str) -> bool:
    """``localhost``, ``*.localhost`` (RFC 6761), 127.0.0.0/8 or ``::1``: no network crossed."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    name = name.partition("%")[0]  # an IPv6 zone (fe80::1%eth0) is never loopback anyway
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback  # ::ffff:127.0.0.1 from a dual-stack socket
    return address.is_loopback


def plaintext_auth_refusal(
    profile: RelayProfile, *, peer: str | None = None, allow: bool | None = None
) -> str | None:
    """Why the password must not be sent in clear to ``profile``'s host, or None if it may.

    Call it only when the password would go without TLS. ``peer`` is the
    address the connection reached (None before connecting); ``allow``
    overrides ``profile.allow_plaintext_auth``.
    """
    allowed = profile.allow_plaintext_auth if allow is None else allow
    if allowed:
        return None
    who = f"the password for {profile.username!r}" if profile.username else "a password"
    if not is_loopback(profile.host):
        return (
            f"refusing to send {who} to {profile.host} without TLS (it is not a loopback "
            "address); use STARTTLS or TLS, or allow plaintext AUTH for this profile"
        )
    if peer is not None and not is_loopback(peer):
        return (
            f"refusing to send {who} without TLS: {profile.host} reached {peer}, which is "
            "not a loopback address; use STARTTLS or TLS, or allow plaintext AUTH"
        )
    return None


def would_send_password_in_clear(profile: RelayProfile, *, opportunistic: bool) -> bool:
    """Before connecting: is the password certain to go without TLS?

    True for security ``none`` with a user name, unless STARTTLS may still be
    used when offered (``opportunistic``); then only the session, after EHLO,
    knows.
    """
    return bool(profile.username) and profile.security is Security.NONE and not opportunistic
