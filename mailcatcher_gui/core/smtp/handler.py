"""The aiosmtpd handler: the recipient rule, the MAIL/RCPT/DATA rule stages, storing.

Every accepted message becomes a ``Capture``: the raw bytes exactly as
received (after dot-unstuffing only; nothing is added or rewritten), the
envelope, who connected, TLS and AUTH facts and the session transcript.
``250 2.0.0 Ok: queued as <id>`` is sent only after the mailbox has
committed the message; a storage failure answers ``451`` so the client keeps
the message and retries.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiosmtpd.smtp import Envelope, Session, TLSSetupException

from ..models import Capture
from ..store.database import StoreError
from .auth import auth_user
from .config import SinkConfig, clean_text, format_peer
from .rule_hooks import plan_after_capture, rule_events_from_transcript, run_after_capture

if TYPE_CHECKING:  # the sink only needs Mailbox.accept (and, for rules, add_tags/mark_read)
    from ..mailbox import Mailbox
    from ..rules import Outbox
    from ..rules.actions import Verdict
    from .protocol import SinkSMTP

__all__ = ["SinkHandler"]

log = logging.getLogger(__name__)


class SinkHandler:
    """aiosmtpd handler hooks: recipient rule, storage.

    There is deliberately no ``handle_EHLO`` (the EHLO reply is shaped in
    ``SinkSMTP.smtp_EHLO``): with one, aiosmtpd runs ``inspect.signature``
    on it for every connection.
    """

    _members = ("handle_DATA", "handle_MAIL", "handle_RCPT", "handle_exception")

    def __dir__(self) -> list[str]:
        # aiosmtpd scans dir(handler) per connection for handle_* / auth_*.
        return list(self._members)

    def __init__(
        self,
        mailbox: Mailbox,
        config: SinkConfig,
        rcpt_rule: re.Pattern[str] | None,
        outbox: Outbox | None = None,
    ):
        self._mailbox = mailbox
        self._config = config
        self._rcpt_rule = rcpt_rule
        self._outbox = outbox

    async def handle_exception(self, error: Exception) -> str:
        if isinstance(error, TLSSetupException):
            # Typically a client that does not trust the certificate: worth a
            # line, not a traceback. aiosmtpd closes the connection itself.
            log.warning("STARTTLS handshake failed: %s", error.__cause__ or error)
            return "454 4.7.0 TLS handshake failed"
        log.exception("SMTP session error")
        return f"500 Error: ({type(error).__name__}) {error}"

    async def handle_MAIL(
        self,
        server: SinkSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        stage_rules = server.rules.snapshot.mail
        if stage_rules:
            answer = await server.ask_rules(stage_rules, mail_from=address)
            if answer is not None:
                return answer
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SinkSMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if self._rcpt_rule is not None and not self._rcpt_rule.search(address):
            return f"550 5.1.1 <{address}>: recipient rejected by this mail catcher's rules"
        stage_rules = server.rules.snapshot.rcpt
        if stage_rules:  # a RCPT rule answers for the matching recipients only
            answer = await server.ask_rules(stage_rules, rcpt=address)
            if answer is not None:
                return answer
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SinkSMTP, session: Session, envelope: Envelope) -> str:
        rules = server.rules
        snapshot = rules.snapshot
        after: Verdict | None = None
        if snapshot.data or snapshot.stored:
            ctx = server.rule_context(raw=envelope.original_content or b"")
            if snapshot.data:
                verdict = rules.evaluate(snapshot.data, ctx)
                if verdict is not None:
                    answer = await server.carry_out(verdict)
                    if answer is not None:  # refused (or dropped): nothing is stored
                        return answer
            if snapshot.stored:  # decided now, so the stored transcript shows it
                after = rules.evaluate(snapshot.stored, ctx)
                if after is not None:
                    await server.carry_out(after)
        mail_from = clean_text(envelope.mail_from)
        transcript = server.transcript.snapshot()
        events = rule_events_from_transcript(transcript) if server.transcript.ruled else ()
        routed, actions, events = plan_after_capture(
            after.after if after else (), self._outbox, events
        )
        capture = Capture(
            raw=envelope.original_content or b"",
            envelope_from="" if mail_from == "<>" else mail_from,  # null reverse-path
            envelope_to=tuple(clean_text(a) for a in envelope.rcpt_tos),
            received_at=datetime.now(UTC),
            peer=format_peer(session.peer),
            helo=clean_text(session.host_name),
            tls=server.tls_info(),
            auth_user=auth_user(session.auth_data) if session.authenticated else None,
            transcript=transcript,
            source="smtp",
            # routed and logged in the same commit (no Inbox flicker, no extra write):
            # a rule's mailbox action wins over the listener's default mailbox
            mailbox=routed if routed is not None else server.default_mailbox or "",
            rule_events=events,
        )
        server.storing = True
        try:
            message_id = await self._mailbox.accept(capture)
        except Exception as exc:
            log.error(
                "could not store a %d-byte message from %s; replied 451: %s",
                len(capture.raw),
                capture.peer,
                exc,
                exc_info=not isinstance(exc, StoreError),  # the environment needs no traceback
            )
            return "451 4.3.0 Error: could not store the message, please try again later"
        finally:
            server.storing = False
        if actions:  # committed: a failure here loses nothing; forward/webhook only queue
            await run_after_capture(rules, actions, self._mailbox, message_id, self._outbox)
        server.transcript.message_stored()
        log.info(
            "stored message %d (%d bytes) from %s, envelope %s -> %s",
            message_id,
            len(capture.raw),
            capture.peer,
            capture.envelope_from or "<>",
            ", ".join(capture.envelope_to),
        )
        return f"250 2.0.0 Ok: queued as {message_id}"
