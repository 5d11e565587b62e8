"""The sink's outbox: forward and webhook deliveries, after the 250, never in its way.

Why a queue and not an ``await`` in the session: a webhook receiver that
never answers (or a relay that greylists) must not hold the client's ``250``
or slow the next message. ``submit`` is a ``put_nowait`` on a bounded
queue; a few worker tasks on the sink's loop do the network work with
per-attempt timeouts, retry temporary failures with exponential backoff
(``delivery_actions.Retry``) and write each outcome as ONE rule-log line
(``message_rule_log``: the send report's summary and transcript, the HTTP
status, the error). When the queue is full the delivery is skipped and that
is logged instead: the message itself is always stored already.

Outcome lines are written in batches (one transaction per ``FLUSH_DELAY``)
on a worker thread, so even thousands of failing deliveries cost ingest
little: the store's single write lock is not taken once per message.

Forwarding uses the one sending path (``core.sending.api.send`` with a
``RawMessage``: the bytes go out exactly as they were received). A relay
profile's password comes from its environment variable or the keyring,
never a prompt (as for the HTTP API's release).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import aiohttp

from ..models import MessageSummary, RuleEvent, StoredMessage
from ..sending.api import SendRequest, send
from ..sending.draft import RawMessage
from ..sending.profiles import ProfileError, RelayProfile, resolve_password
from ..sending.report import SendReport, render_swaks
from ..sending.smtp import SmtpTransport
from ..store import MessageNotFound
from .delivery_actions import Forward, Webhook
from .model import AfterCaptureAction, CapturedMessages

if TYPE_CHECKING:
    from ..sending.profiles import ProfileStore

__all__ = ["ActionHost", "Outbox", "OutboxMailbox"]

log = logging.getLogger(__name__)

FLUSH_DELAY = 0.2  # seconds: outcome lines written together
MAX_REPORT_LINES = 40  # transcript lines kept in a forward's log line
MAX_RESPONSE_BYTES = 64 * 1024  # read of a webhook's answer (then dropped)


class OutboxMailbox(Protocol):
    """What the outbox reads and writes (``core.mailbox.Mailbox`` has it)."""

    def summary(self, message_id: int) -> MessageSummary: ...

    def get_stored(self, message_id: int) -> StoredMessage: ...

    def log_rule_events(self, message_id: int, events: Sequence[RuleEvent]) -> None: ...


class DeliveryFailed(Exception):
    """A delivery that cannot even be tried (unknown profile, no password)."""


class ActionHost:
    """What one rule's after-capture action sees: the mailbox, and the outbox by rule name."""

    __slots__ = ("_mailbox", "_outbox", "rule")

    def __init__(self, mailbox: Any, outbox: Outbox | None, rule: str) -> None:
        self._mailbox: CapturedMessages = mailbox
        self._outbox = outbox
        self.rule = rule

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._mailbox.add_tags(ids, tags)

    def mark_read(self, ids: Sequence[int], read: bool = True) -> None:
        self._mailbox.mark_read(ids, read)

    def set_mailbox(self, ids: Sequence[int], name: str) -> None:
        self._mailbox.set_mailbox(ids, name)

    def deliver(self, action: AfterCaptureAction, message_id: int) -> None:
        if self._outbox is None:
            raise RuntimeError(f"cannot {action.describe()}: this sink has no outbox")
        self._outbox.submit(self.rule, action, message_id)


class Outbox:
    """Bounded, retrying forward/webhook deliveries on the running loop (see the module)."""

    def __init__(
        self,
        mailbox: OutboxMailbox,
        *,
        profiles: ProfileStore | None = None,
        api_base: Callable[[], str | None] = lambda: None,
        max_queue: int = 1000,
        workers: int = 4,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.mailbox = mailbox
        self.profiles = profiles
        #: the HTTP API's base URL while it runs (webhooks link to the message)
        self.api_base = api_base
        self.max_queue = max_queue
        self.workers = workers
        self._env = env
        self._queue: asyncio.Queue[tuple[str, AfterCaptureAction, int]] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._busy = 0
        self._pending: list[tuple[int, RuleEvent]] = []
        self._flush: asyncio.Task[None] | None = None
        self._http: aiohttp.ClientSession | None = None
        self._closed = False
        self.skipped = 0  # deliveries dropped because the queue was full
        #: the sink's own ports (start_sink sets them): a forward there would loop
        self.own_ports: frozenset[int] = frozenset()

    # ---- the sink's side ----------------------------------------------------------

    def submit(self, rule: str, action: AfterCaptureAction, message_id: int) -> bool:
        """Queue a delivery (on the loop's thread); False when it was skipped (logged)."""
        if self._closed:
            self.record(message_id, RuleEvent(rule, action.key, "not sent: the sink stopped"))
            return False
        if self._queue is None:
            self._queue = asyncio.Queue(self.max_queue)
            self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        if not self._queue.full():
            self._queue.put_nowait((rule, action, message_id))
            return True
        self.record(message_id, self.skip(rule, action))
        return False

    def has_room(self) -> bool:
        """Whether a delivery submitted now would be queued (the sink asks before storing)."""
        return not self._closed and (self._queue is None or not self._queue.full())

    def skip(self, rule: str, action: AfterCaptureAction) -> RuleEvent:
        """Count a delivery skipped for a full queue; its rule log line (the caller stores it).

        The sink asks ``has_room`` before committing a message and stores
        this line with it, so a flood of mail to a dead receiver costs no
        write beyond the message's own.
        """
        self.skipped += 1
        detail = f"not sent: {self.max_queue} deliveries were already waiting"
        if self.skipped == 1 or self.skipped % 1000 == 0:  # a flood must not flood the log
            log.warning(
                "rule %r: %s %s (%d skipped so far)",
                rule,
                action.describe(),
                detail,
                self.skipped,
            )
        return RuleEvent(rule, action.key, detail)

    @property
    def pending(self) -> int:
        """Deliveries queued or in progress."""
        return (self._queue.qsize() if self._queue is not None else 0) + self._busy

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait until nothing is queued or in progress and every outcome is written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.pending and loop.time() < deadline:
            await asyncio.sleep(0.01)
        await self._write_pending()

    async def close(self) -> None:
        """Stop the workers (queued deliveries are logged as not sent) and write the log."""
        self._closed = True
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._queue is not None:
            while not self._queue.empty():
                rule, action, message_id = self._queue.get_nowait()
                self.record(message_id, RuleEvent(rule, action.key, "not sent: the sink stopped"))
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._flush is not None:
            self._flush.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flush
            self._flush = None
        await self._write_pending()

    # ---- the rule log, in batches ------------------------------------------------

    def record(self, message_id: int, event: RuleEvent) -> None:
        self._pending.append((message_id, event))
        if self._flush is None and not self._closed:
            self._flush = asyncio.get_running_loop().create_task(self._flush_later())

    async def _flush_later(self) -> None:
        await asyncio.sleep(FLUSH_DELAY)
        self._flush = None
        await self._write_pending()

    async def _write_pending(self) -> None:
        batch, self._pending = self._pending, []
        if not batch:
            return
        grouped: dict[int, list[RuleEvent]] = {}
        for message_id, event in batch:
            grouped.setdefault(message_id, []).append(event)
        items = list(grouped.items())
        many = getattr(self.mailbox, "log_rule_events_many", None)

        def write() -> None:
            if many is not None:
                many(items)
            else:
                for message_id, events in items:
                    self.mailbox.log_rule_events(message_id, events)

        try:
            await asyncio.get_running_loop().run_in_executor(None, write)
        except Exception as exc:  # a closed or full store: the log line is lost, not the mail
            log.warning("could not write %d rule log line(s): %s", len(batch), exc)

    # ---- the workers ----------------------------------------------------------

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            rule, action, message_id = await self._queue.get()
            self._busy += 1
            try:
                event = await self._deliver(rule, action, message_id)
                if event is not None:
                    self.record(message_id, event)
            except asyncio.CancelledError:
                self.record(message_id, RuleEvent(rule, action.key, "not sent: the sink stopped"))
                raise
            except Exception as exc:  # a bug must not stop the worker
                log.exception("rule %r: %s failed", rule, action.describe())
                self.record(message_id, RuleEvent(rule, action.key, f"failed: {exc!r}"))
            finally:
                self._busy -= 1

    async def _deliver(
        self, rule: str, action: AfterCaptureAction, message_id: int
    ) -> RuleEvent | None:

        try:
            if isinstance(action, Forward):
                return await self._forward(rule, action, message_id)
            if isinstance(action, Webhook):
                return await self._webhook(rule, action, message_id)
        except MessageNotFound:
            log.info("rule %r: message %d was deleted before it could be sent", rule, message_id)
            return None
        except DeliveryFailed as exc:
            log.warning("rule %r: %s: %s", rule, action.describe(), exc)
            return RuleEvent(rule, action.key, f"not sent: {exc}")
        raise TypeError(f"the outbox cannot {action.describe()}")

    # ---- forward ------------------------------------------------------------

    def _profile(self, action: Forward) -> tuple[RelayProfile, str | None]:
        if not action.profile:
            profile = RelayProfile(
                name=f"forward {action.target}",
                host=action.host,
                port=action.port,
                connect_timeout=action.timeout,
                command_timeout=action.timeout,
            )
            self._no_loop(profile)
            return profile, None
        if self.profiles is None:
            raise DeliveryFailed(f"no relay profiles here to find {action.profile!r} in")
        try:
            profile = self.profiles.get(action.profile)
        except KeyError:
            raise DeliveryFailed(f"no relay profile named {action.profile!r}") from None
        except ProfileError as exc:
            raise DeliveryFailed(str(exc)) from None
        self._no_loop(profile)
        password = resolve_password(profile, store=self.profiles, env=self._env)
        if profile.username and password is None:
            raise DeliveryFailed(
                f"no password for {profile.username!r} at {profile.address} "
                "(set its environment variable or save it in the keyring)"
            )
        return profile, password

    def _no_loop(self, profile: RelayProfile) -> None:
        """Refuse a forward to this sink itself: the copy would match the rule again."""
        host = profile.host.strip("[]").lower()
        local = host in ("localhost", "::1", "::", "0.0.0.0") or host.startswith("127.")
        if local and profile.port in self.own_ports:
            raise DeliveryFailed(
                f"{profile.address} is this sink itself: forwarding there would loop"
            )

    async def _forward(self, rule: str, action: Forward, message_id: int) -> RuleEvent:
        loop = asyncio.get_running_loop()
        stored = await loop.run_in_executor(None, self.mailbox.get_stored, message_id)
        profile, password = self._profile(action)
        summary = stored.summary
        message = RawMessage(stored.raw, summary.envelope_from, action.to or summary.envelope_to)
        transport = SmtpTransport(profile, password)
        attempt = 0
        report: SendReport | None = None
        while attempt < action.retry.attempts:
            attempt += 1
            if attempt > 1:
                await asyncio.sleep(action.retry.delay(attempt))
            report = await send(SendRequest(message, transport))
            if report.ok or not _temporary(report):
                break
            log.info("rule %r: forward attempt %d failed: %s", rule, attempt, report.failure)
        assert report is not None
        return RuleEvent(rule, "forward", _forward_detail(report, attempt))

    # ---- webhook ------------------------------------------------------------

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.workers * 2),
                headers={"User-Agent": "mailcatcher-gui webhook"},
            )
        return self._http

    def webhook_body(self, rule: str, summary: MessageSummary) -> dict[str, Any]:
        """Mailpit's message summary, plus ``Link`` (the API's message URL) and ``Rule``."""
        from ..api.shapes import message_id_string, summary_json

        base = self.api_base()
        body = summary_json(summary)
        body["Link"] = (
            f"{base.rstrip('/')}/api/v1/message/{message_id_string(summary.id)}" if base else None
        )
        body["Rule"] = rule
        return body

    async def _webhook(self, rule: str, action: Webhook, message_id: int) -> RuleEvent:
        body = self.webhook_body(rule, self.mailbox.summary(message_id))
        session = self._session()
        attempt = 0
        outcome = ""
        while attempt < action.retry.attempts:
            attempt += 1
            if attempt > 1:
                await asyncio.sleep(action.retry.delay(attempt))
            try:
                async with session.post(
                    action.url,
                    json=body,
                    timeout=aiohttp.ClientTimeout(total=action.timeout),
                    allow_redirects=False,
                ) as response:
                    await response.content.read(MAX_RESPONSE_BYTES)
                    status = response.status
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
                outcome = _http_error(exc, action.timeout)
                retry = not isinstance(exc, aiohttp.InvalidURL | ValueError)
            else:
                if 200 <= status < 300:
                    return RuleEvent(
                        rule, "webhook", f"POST {action.url}: HTTP {status} ({_tries(attempt)})"
                    )
                outcome = f"HTTP {status}"
                retry = status >= 500 or status in (408, 425, 429)
            log.info("rule %r: webhook attempt %d to %s: %s", rule, attempt, action.url, outcome)
            if not retry:
                break
        log.warning("rule %r: webhook %s failed: %s", rule, action.url, outcome)
        return RuleEvent(
            rule, "webhook", f"POST {action.url} failed: {outcome} ({_tries(attempt)})"
        )


def _tries(attempt: int) -> str:
    return f"{attempt} attempt" + ("s" if attempt != 1 else "")


def _temporary(report: SendReport) -> bool:
    """Worth another attempt: no reply at all (network, timeout) or a 4xx reply."""
    failure = report.failure
    if failure is None or str(failure.stage) == "input":
        return False
    return failure.code is None or 400 <= failure.code < 500


def _http_error(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no answer within {timeout:g} s"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _forward_detail(report: SendReport, attempt: int) -> str:
    """The send report as a log line: the outcome, then the transcript (swaks style)."""
    if report.ok:
        head = f"delivered to {report.target} ({_tries(attempt)})"
        if report.final_reply is not None:
            head += f": {report.final_reply}"
        if report.refused:
            head += "; refused " + ", ".join(f"{r.address} ({r.code})" for r in report.refused)
    else:
        head = f"failed via {report.target} ({_tries(attempt)}): {report.failure}"
    lines = [render_swaks(line) for line in report.transcript]
    if len(lines) > MAX_REPORT_LINES:
        lines = [*lines[: MAX_REPORT_LINES - 1], f"... {len(lines) - MAX_REPORT_LINES + 1} more"]
    return "\n".join([head, *lines])
