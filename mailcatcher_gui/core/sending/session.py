"""One SMTP connection driven step by step, so every failure has a stage.

``SmtpSession`` opens a connection (TCP, greeting, TLS, EHLO, AUTH), carries
messages (MAIL, RCPT, DATA) and closes it, always knowing which stage it is
in. Driving the steps ourselves rather than calling aiosmtplib's
``sendmail`` is what yields one result per recipient and failures classified
by stage with the server's own code and text (``StageError``).

Details that matter to a user reading the transcript:

* The TCP connection is opened here (then handed to aiosmtplib as a socket)
  so "could not connect" and "connected, but no greeting" are told apart.
* Security is what the profile says: ``none`` never upgrades, ``starttls``
  refuses to continue without TLS, ``tls`` is TLS from the first byte.
  ``opportunistic_starttls`` (the ``send`` command without a security
  option) makes ``none`` use STARTTLS whenever the server offers it.
* When certificate verification fails, the certificate is still fetched over
  a second, unverified handshake that sends nothing (``tls_steps``).
* Failures are classified by stage in ``stages``; closing at once and lost
  cancellations are ``closing``'s.
* A password never goes in clear text to a host that is not loopback unless
  the profile allows it (``core.sending.policy``; checked again here against
  the address actually reached).
* ``auto`` AUTH prefers PLAIN/LOGIN inside TLS and CRAM-MD5 in clear text,
  and only moves to the next mechanism on 504 (not supported), never after a
  535, so a wrong password is tried once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl

import aiosmtplib
from aiosmtplib.errors import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPHeloError,
    SMTPRecipientRefused,
    SMTPServerDisconnected,
)
from aiosmtplib.protocol import normalize_message_line_endings

from .closing import LOST_CANCEL_GRACE, drop, drop_and_settle, raise_if_cancel_lost
from .closing import abort_transport as _abort
from .draft import OutgoingMessage
from .policy import plaintext_auth_refusal
from .profiles import RelayProfile, Security
from .report import Failure, FailureStage, RecipientResult, Reply, Stage, TlsReport, parse_queue_id
from .stages import StageError, classify, connect_failure
from .tls_steps import record_tls, tls_failure
from .tlsinfo import find_ssl_error
from .transcript import Recorder, ReportBuilder
from .wiretap import WireTap

__all__ = ["SmtpSession", "StageError", "drop", "drop_and_settle"]

# Preference when the profile says "auto": inside TLS the simple mechanisms
# are fine; in clear text CRAM-MD5 at least keeps the password off the wire.
_AUTH_ORDER_TLS = ("PLAIN", "LOGIN", "CRAM-MD5")
_AUTH_ORDER_CLEAR = ("CRAM-MD5", "PLAIN", "LOGIN")


class SmtpSession:
    """One SMTP connection: open (connect, TLS, EHLO, AUTH), transact, quit."""

    def __init__(
        self,
        profile: RelayProfile,
        password: str | None,
        context: ssl.SSLContext | None,
        recorder: Recorder,
        *,
        opportunistic_starttls: bool = False,
    ) -> None:
        self.profile = profile
        self.opportunistic_starttls = opportunistic_starttls
        self.password = password
        self.context = context
        self.rec = recorder
        self.tap = WireTap(recorder)
        self.client: aiosmtplib.SMTP | None = None
        self.sock: socket.socket | None = None
        self.tls: TlsReport | None = None
        self.capabilities: tuple[str, ...] = ()
        self.auth_mechanism: str | None = None

    # ---- facts for the report -------------------------------------------

    def fill(self, builder: ReportBuilder) -> None:
        builder.tls = self.tls
        builder.capabilities = self.capabilities
        builder.auth_mechanism = self.auth_mechanism

    @property
    def usable(self) -> bool:
        return self.client is not None and self.client.is_connected

    # ---- opening -----------------------------------------------------------

    async def open(self) -> None:
        p = self.profile
        rec = self.rec
        rec.stage = Stage.CONNECT
        rec.info(f"Trying {p.address}...")
        self.sock = sock = await self._tcp_connect()
        implicit = p.security is Security.TLS
        self.client = client = aiosmtplib.SMTP(
            hostname=p.host,
            timeout=p.command_timeout,
            local_hostname=p.helo_name or None,
            use_tls=implicit,
            start_tls=False,
            tls_context=self.context if implicit else None,
            sock=sock,
        )
        if implicit:
            rec.stage = Stage.TLS
        try:
            greeting = await self._connect_client(client)
        except Exception as exc:
            self.client = None
            await drop_and_settle(client, sock)
            raise await self._connect_failure(exc, implicit) from exc
        except BaseException:
            self.abort()
            raise
        raise_if_cancel_lost()
        self.tap.attach(client.protocol)
        if implicit:
            self._record_tls("implicit")
        rec.stage = Stage.CONNECT
        rec.server(greeting.code, greeting.message)

        rec.stage = Stage.EHLO
        await self._ehlo()
        raise_if_cancel_lost()
        if p.security is Security.STARTTLS or self._opportunistic(client):
            rec.stage = Stage.TLS
            await self._starttls()
            raise_if_cancel_lost()
            rec.stage = Stage.EHLO
            await self._ehlo()
            raise_if_cancel_lost()
        if p.username:
            rec.stage = Stage.AUTH
            await self._auth()
            raise_if_cancel_lost()

    async def _connect_client(self, client: aiosmtplib.SMTP) -> aiosmtplib.SMTPResponse:
        """``client.connect`` (greeting included), cancellable at every instant.

        Python 3.11's ``asyncio.wait_for``, which aiosmtplib awaits the
        transport and every reply with, loses a cancellation that arrives just
        as the awaited operation completes. Cancelled right after the TCP
        connect, the connect then carried on and waited for the greeting (up
        to the connect timeout), its socket open. So the connect runs as a
        task of its own: our cancellation cancels it and, should it carry on
        anyway, aborts its transport so its read fails at once; then the
        socket is closed (``abort``), also when no transport ever adopted it.
        """
        inner = asyncio.ensure_future(client.connect(timeout=self.profile.connect_timeout))
        try:
            return await asyncio.shield(inner)
        except asyncio.CancelledError:
            inner.cancel()
            try:
                while not inner.done():
                    await asyncio.wait({inner}, timeout=LOST_CANCEL_GRACE)
                    drop(client)  # still running: it swallowed the cancel; end its read
                if not inner.cancelled():
                    inner.exception()  # retrieved: after a cancel its outcome is no news
            finally:
                self.abort()
            raise

    def _opportunistic(self, client: aiosmtplib.SMTP) -> bool:
        """Whether a ``none`` profile upgrades anyway (``opportunistic_starttls``)."""
        if not self.opportunistic_starttls or self.profile.security is not Security.NONE:
            return False
        if client.supports_extension("starttls"):
            self.rec.info("The server offers STARTTLS; using it")
            return True
        self.rec.info("The server does not offer STARTTLS; continuing without TLS")
        return False

    async def _tcp_connect(self) -> socket.socket:
        p = self.profile
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(p.connect_timeout):
                infos = await loop.getaddrinfo(p.host, p.port, type=socket.SOCK_STREAM)
                last: OSError | None = None
                for family, type_, proto, _, addr in infos:
                    sock = socket.socket(family, type_, proto)
                    sock.setblocking(False)
                    try:
                        await loop.sock_connect(sock, addr)
                    except BaseException as exc:
                        sock.close()
                        if not isinstance(exc, OSError):
                            raise
                        last = exc
                        continue
                    self.rec.info(f"Connected to {addr[0]}.")
                    return sock
                raise last or OSError(f"no address found for {p.host}")
        except TimeoutError:
            message = f"could not connect to {p.address} within {p.connect_timeout:g}s"
            self.rec.error(message)
            raise StageError(
                Failure(FailureStage.TIMEOUT, message, during=Stage.CONNECT), usable=False
            ) from None
        except socket.gaierror as exc:
            message = f"cannot resolve {p.host!r}: {exc.strerror or exc}"
            self.rec.error(message)
            raise StageError(Failure(FailureStage.CONNECT, message), usable=False) from None
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else str(exc)
            message = f"error connecting to {p.address}: {reason}"
            self.rec.error(message)
            raise StageError(Failure(FailureStage.CONNECT, message), usable=False) from None

    async def _connect_failure(self, exc: Exception, implicit: bool) -> StageError:
        """Classify what went wrong between TCP connect and the greeting."""
        ssl_error = find_ssl_error(exc)
        if implicit and ssl_error is not None:
            return await self._tls_failure(ssl_error, "implicit")
        return connect_failure(exc, implicit, self.profile, self.rec)

    # ---- TLS -----------------------------------------------------------------

    async def _starttls(self) -> None:
        client = self._client()
        rec = self.rec
        if not client.supports_extension("starttls"):
            message = (
                "the server does not offer STARTTLS, and this profile requires it "
                "(choose security 'none' to send without TLS)"
            )
            rec.error(message)
            raise StageError(Failure(FailureStage.TLS, message, during=Stage.TLS), usable=True)
        try:
            await client.starttls(tls_context=self.context)
        except ssl.SSLError as exc:
            await self.close()
            raise await self._tls_failure(exc, "starttls") from None
        except Exception as exc:  # noqa: BLE001 - classified below
            raise self._classify(exc, Stage.TLS) from None
        self._record_tls("starttls")

    def _record_tls(self, mode: str) -> None:
        self.tls = record_tls(self._client(), mode, self.profile, self.rec)

    async def _tls_failure(self, exc: ssl.SSLError, mode: str) -> StageError:
        error, self.tls = await tls_failure(exc, mode, self.profile, self.rec)
        return error

    # ---- EHLO, AUTH ----------------------------------------------------------

    async def _ehlo(self) -> None:
        client = self._client()
        try:
            await client.ehlo()
        except SMTPHeloError as exc:
            if not client.is_connected:
                raise self._classify(exc, Stage.EHLO) from None
            self.rec.info(f"EHLO refused ({exc.code}); trying HELO")
            try:
                await client.helo()
            except Exception as exc2:  # noqa: BLE001
                raise self._classify(exc2, Stage.EHLO) from None
            self.capabilities = ()
            return
        except Exception as exc:  # noqa: BLE001
            raise self._classify(exc, Stage.EHLO) from None
        response = client.last_ehlo_response
        lines = response.message.split("\n")[1:] if response else []
        self.capabilities = tuple(line.strip() for line in lines if line.strip())

    async def _auth(self) -> None:
        client = self._client()
        p = self.profile
        rec = self.rec
        if self.password is None:  # checked before connecting; defensive
            raise StageError(
                Failure(FailureStage.AUTH, f"no password for {p.username}"), usable=True
            )
        if not client.supports_extension("auth"):
            message = "the server does not offer AUTH"
            if not rec.encrypted:
                message += " (many servers offer it only after STARTTLS)"
            rec.error(message)
            raise StageError(Failure(FailureStage.AUTH, message, during=Stage.AUTH), usable=True)
        offered = [m.upper() for m in client.server_auth_methods]
        if p.auth.lower() == "auto":
            order = _AUTH_ORDER_TLS if rec.encrypted else _AUTH_ORDER_CLEAR
            candidates = [m for m in order if m in offered]
        else:
            candidates = [p.auth.upper()] if p.auth.upper() in offered else []
        if not candidates:
            wanted = "PLAIN, LOGIN or CRAM-MD5" if p.auth.lower() == "auto" else p.auth.upper()
            message = (
                f"the server offers AUTH {' '.join(offered) or '(nothing)'}, "
                f"but this profile needs {wanted}"
            )
            rec.error(message)
            raise StageError(Failure(FailureStage.AUTH, message, during=Stage.AUTH), usable=True)
        if not rec.encrypted:
            refusal = plaintext_auth_refusal(p, peer=self._peer_address())
            if refusal is not None:
                rec.error(refusal)
                raise StageError(
                    Failure(FailureStage.AUTH, refusal, during=Stage.AUTH), usable=True
                )
            rec.info("Warning: sending credentials over a connection without TLS")
        methods = {
            "PLAIN": client.auth_plain,
            "LOGIN": client.auth_login,
            "CRAM-MD5": client.auth_crammd5,
        }
        for i, mechanism in enumerate(candidates):
            self.tap.begin_auth(mechanism)
            try:
                await methods[mechanism](p.username, self.password)
            except SMTPAuthenticationError as exc:
                if exc.code == 504 and i + 1 < len(candidates) and client.is_connected:
                    rec.info(f"{mechanism} not accepted; trying {candidates[i + 1]}")
                    continue
                message = (
                    f"authentication as {p.username!r} with {mechanism} failed: "
                    f"{exc.code} {exc.message}"
                )
                raise StageError(
                    Failure(FailureStage.AUTH, message, exc.code, exc.message, Stage.AUTH),
                    usable=client.is_connected,
                ) from None
            except Exception as exc:  # noqa: BLE001
                raise self._classify(exc, Stage.AUTH) from None
            finally:
                self.tap.end_auth()
            self.auth_mechanism = mechanism
            rec.info(f"Authenticated as {p.username!r} with {mechanism}")
            return

    def _peer_address(self) -> str | None:
        """The address the socket reached (what the plaintext rule judges), if known."""
        try:
            peer = self.sock.getpeername() if self.sock is not None else None
        except OSError:
            return None
        return str(peer[0]) if peer else None

    # ---- one message ---------------------------------------------------------

    async def transact(self, out: OutgoingMessage, builder: ReportBuilder) -> None:
        client = self._client()
        rec = self.rec
        rec.stage = Stage.MAIL
        if out.smtputf8 and not client.supports_extension("smtputf8"):
            message = (
                "an envelope address is non-ASCII, which needs SMTPUTF8, "
                "but the server does not offer it"
            )
            rec.error(message)
            raise StageError(Failure(FailureStage.MAIL, message, during=Stage.MAIL), usable=True)
        options: list[str] = []
        if client.supports_extension("size"):
            options.append(f"SIZE={len(normalize_message_line_endings(out.raw))}")
        if out.smtputf8:
            options.append("SMTPUTF8")
        if out.eight_bit and client.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if out.smtputf8 else "ascii"
        raise_if_cancel_lost()
        try:
            await client.mail(out.envelope_from, options=options, encoding=encoding)
        except Exception as exc:  # noqa: BLE001
            raise self._classify(exc, Stage.MAIL) from None

        rec.stage = Stage.RCPT
        for address in out.envelope_to:
            try:
                reply = await client.rcpt(address, encoding=encoding)
            except SMTPRecipientRefused as exc:
                builder.recipients.append(RecipientResult(address, False, exc.code, exc.message))
                if not client.is_connected:
                    raise self._classify(exc, Stage.RCPT) from None
                continue
            except Exception as exc:  # noqa: BLE001
                raise self._classify(exc, Stage.RCPT) from None
            builder.recipients.append(RecipientResult(address, True, reply.code, reply.message))
        if not any(r.accepted for r in builder.recipients):
            last = builder.recipients[-1]
            count = len(builder.recipients)
            message = (
                f"the server refused every recipient ({count}); last reply: {last.code} {last.text}"
            )
            rec.error(message)
            raise StageError(
                Failure(FailureStage.RCPT, message, last.code, last.text, Stage.RCPT),
                usable=client.is_connected,
            )

        raise_if_cancel_lost()
        rec.stage = Stage.DATA
        try:
            reply = await client.data(out.raw)
        except Exception as exc:  # noqa: BLE001
            raise self._classify(exc, Stage.DATA) from None
        builder.final_reply = Reply(reply.code, reply.message)
        builder.queue_id = parse_queue_id(reply.message)
        accepted = sum(r.accepted for r in builder.recipients)
        queued = f", queue id {builder.queue_id}" if builder.queue_id else ""
        total = len(builder.recipients)
        rec.info(f"Message accepted for {accepted} of {total} recipient(s){queued}")

    async def reset(self) -> bool:
        """RSET after a refused message; False if the connection is no longer usable."""
        if not self.usable:
            return False
        try:
            await self._client().rset()
        except (SMTPException, OSError):
            return False
        return self.usable

    async def quit(self) -> None:
        """Polite QUIT; problems here do not change the outcome of any message."""
        client = self.client
        if client is None:
            return
        self.rec.stage = Stage.QUIT
        transport = client.transport
        if client.is_connected:
            try:
                await client.quit()
            except (SMTPException, OSError) as exc:
                self.rec.info(f"QUIT did not complete cleanly: {exc}")
        _abort(transport)  # quit() closed it gracefully; do not wait for TLS
        await self._release()
        self.rec.info("Connection closed with remote host.")

    async def close(self) -> None:
        """Drop the connection without QUIT (after a failure)."""
        if self.client is not None and self.client.is_connected:
            self.rec.info("Closing the connection.")
        await self._release()

    async def _release(self) -> None:
        client, self.client = self.client, None
        sock, self.sock = self.sock, None
        self.rec.encrypted = False
        await drop_and_settle(client, sock)

    def abort(self) -> None:
        """Synchronous last resort (cancellation, unexpected errors).

        Closes our socket as well as the client: a cancellation between the
        TCP connect and aiosmtplib's transport (it first looks up the local
        host name in an executor, then creates the transport) leaves a socket
        no transport owns, and nothing else would ever close it. If a transport
        does own it, ``drop`` has just aborted that transport (taking the
        socket out of the selector at once), and its own later close of the
        same socket object is a no-op.
        """
        client, self.client = self.client, None
        sock, self.sock = self.sock, None
        self.rec.encrypted = False
        drop(client)
        if sock is not None:
            sock.close()

    # ---- helpers -----------------------------------------------------------

    def _client(self) -> aiosmtplib.SMTP:
        if self.client is None:
            raise SMTPServerDisconnected("not connected")
        return self.client

    def _classify(self, exc: Exception, stage: Stage) -> StageError:
        """Turn an aiosmtplib/OS exception at ``stage`` into a failure (and a line)."""
        return classify(exc, stage, profile=self.profile, rec=self.rec, usable=self.usable)
