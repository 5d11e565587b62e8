"""SMTP delivery through a relay profile, one connection per batch chunk.

``SmtpTransport`` is the ``Transport`` the compose pane, the CLI and release
use for real SMTP. It checks what can be checked before touching the network
(a password for the user name, a loadable CA file, a password that would go
in clear text to a host that is not loopback: ``core.sending.policy``), then drives
``SmtpSession`` objects: one connection carries up to ``max_per_connection``
messages (Flask-Mail's MAIL_MAX_EMAILS) before QUIT and a fresh connection.

A message refused at MAIL/RCPT/DATA is reset (RSET) and the batch goes on; a
failure that leaves the connection unusable (timeout, disconnect, 421) stops
the batch, and the remaining messages report that they were not sent and
why. Cancelling the task closes the connection and raises ``CancelledError``.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Sequence

from .base import Transport
from .draft import OutgoingMessage
from .policy import plaintext_auth_refusal, would_send_password_in_clear
from .profiles import RelayProfile, Security
from .report import Failure, FailureStage, SendReport, Stage
from .session import SmtpSession, StageError
from .tlsinfo import make_tls_context
from .transcript import Recorder, ReportBuilder


class SmtpTransport(Transport):
    """Send through an SMTP relay described by a ``RelayProfile``.

    The password is held in memory only (never in ``repr``, reports or logs).
    """

    kind = "smtp"

    def __init__(
        self,
        profile: RelayProfile,
        password: str | None = None,
        *,
        opportunistic_starttls: bool = False,
    ) -> None:
        self.profile = profile
        self._password = password
        # Security "none", but STARTTLS when the server offers it (the send command).
        self.opportunistic_starttls = opportunistic_starttls

    def __repr__(self) -> str:
        return f"SmtpTransport({self.profile.name!r}, {self.profile.address})"

    @property
    def target(self) -> str:
        return self.profile.address

    def _preflight(self, recorder: Recorder) -> tuple[ssl.SSLContext | None, Failure | None]:
        """Problems we can see before touching the network."""
        p = self.profile
        if p.username and self._password is None:
            source = f"the environment variable {p.password_env}" if p.password_env else None
            hint = f" (set {source} or store it in the keyring)" if source else ""
            message = f"no password available for user {p.username!r}{hint}"
            recorder.error(message)
            return None, Failure(FailureStage.INPUT, message, field="password")
        if would_send_password_in_clear(p, opportunistic=self.opportunistic_starttls):
            refusal = plaintext_auth_refusal(p)  # before connecting: by the host name
            if refusal is not None:
                recorder.error(refusal)
                return None, Failure(FailureStage.AUTH, refusal, during=Stage.AUTH)
        if p.security is Security.NONE and not self.opportunistic_starttls:
            return None, None
        try:
            context = make_tls_context(ca_file=p.ca_file, allow_invalid_cert=p.allow_invalid_cert)
        except (OSError, ssl.SSLError) as exc:
            message = f"cannot load the CA file {p.ca_file!r}: {exc}"
            recorder.error(message)
            return None, Failure(FailureStage.INPUT, message, field="ca_file")
        return context, None

    def _session(self, context: ssl.SSLContext | None, recorder: Recorder) -> SmtpSession:
        return SmtpSession(
            self.profile,
            self._password,
            context,
            recorder,
            opportunistic_starttls=self.opportunistic_starttls,
        )

    async def deliver(
        self, messages: Sequence[OutgoingMessage], recorder: Recorder
    ) -> list[SendReport]:
        reports: list[SendReport] = []
        if not messages:
            return reports
        first = recorder.begin(ReportBuilder(self.kind, self.target, messages[0]))
        context, problem = self._preflight(recorder)
        if problem is not None:
            first.fail(problem)
            reports.append(recorder.finish())
            for out in messages[1:]:
                builder = recorder.begin(ReportBuilder(self.kind, self.target, out))
                builder.fail(problem)
                reports.append(recorder.finish())
            return reports

        limit = self.profile.max_per_connection
        conn: SmtpSession | None = None
        conn_index = -1
        sent_on_conn = 0
        stopped: Failure | None = None
        try:
            for i, out in enumerate(messages):
                builder = (
                    first if i == 0 else recorder.begin(ReportBuilder(self.kind, self.target, out))
                )
                if stopped is not None:
                    builder.connection = max(conn_index, 0)
                    builder.fail(
                        Failure(
                            stopped.stage,
                            f"not sent: an earlier message of this batch failed "
                            f"({stopped.message})",
                            during=stopped.during,
                        )
                    )
                    reports.append(recorder.finish())
                    continue
                if conn is None:
                    conn_index += 1
                    sent_on_conn = 0
                    conn = self._session(context, recorder)
                    try:
                        await conn.open()
                    except StageError as exc:
                        builder.fail(exc.failure)
                        stopped = exc.failure
                        conn.fill(builder)
                        await conn.close()
                        conn = None
                builder.connection = conn_index
                if conn is not None:
                    try:
                        await conn.transact(out, builder)
                    except StageError as exc:
                        builder.fail(exc.failure)
                        if not (exc.usable and await conn.reset()):
                            stopped = exc.failure
                    sent_on_conn += 1
                    conn.fill(builder)
                    last = i == len(messages) - 1
                    if stopped is not None:
                        await conn.close()
                        conn = None
                    elif last or (limit and sent_on_conn >= limit):
                        await conn.quit()
                        conn = None
                reports.append(recorder.finish())
        except asyncio.CancelledError:
            recorder.error("cancelled; closing the connection")
            raise
        finally:
            if conn is not None:
                conn.abort()
        return reports

    async def test(self, recorder: Recorder) -> SendReport:
        """Connect, TLS, EHLO, AUTH and QUIT without sending anything."""
        builder = recorder.begin(ReportBuilder(self.kind, self.target, None))
        context, problem = self._preflight(recorder)
        if problem is not None:
            builder.fail(problem)
            return recorder.finish()
        conn = self._session(context, recorder)
        try:
            await conn.open()
            recorder.info("Connection test passed; nothing was sent")
            conn.fill(builder)
            await conn.quit()
        except StageError as exc:
            builder.fail(exc.failure)
            conn.fill(builder)
            await conn.close()
        except asyncio.CancelledError:
            recorder.error("cancelled; closing the connection")
            raise
        finally:
            conn.abort()
        return recorder.finish()
