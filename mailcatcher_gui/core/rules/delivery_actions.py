"""After-capture actions that move a message on: ``mailbox``, ``forward``, ``webhook``.

They are plain, immutable data like every other action (``model``); what
they do happens elsewhere:

* ``Route`` (``mailbox = "Orders"``) files the message into a mailbox. The
  sink applies it *while storing* (the message is committed already in its
  mailbox, so the list never shows it in the Inbox first); ``run`` is the
  same thing for a message already stored.
* ``Forward`` and ``Webhook`` hand the message to the sink's ``Outbox``
  (``core.rules.outbox``), which works after the ``250`` on a bounded
  queue, retries with backoff and writes the outcome (a send report, an
  HTTP status, an error) to the message's rule log. A slow or dead
  receiver never slows ingest and never loses a message.

``Retry`` is the shared retry policy: ``attempts`` tries in all, waiting
``backoff`` seconds before the second, doubling after each (at most
``MAX_BACKOFF``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

from ..mailbox_names import MAX_MAILBOX_LENGTH, clean_mailbox, display_mailbox
from .model import AfterCaptureAction, CapturedMessages

__all__ = ["Deliveries", "Forward", "Retry", "Route", "Webhook", "routed_mailbox"]

MAX_ATTEMPTS = 10
MAX_BACKOFF = 3600.0


@runtime_checkable
class Deliveries(Protocol):
    """What ``Forward``/``Webhook`` need from their host: the sink's outbox, by rule."""

    def deliver(self, action: AfterCaptureAction, message_id: int) -> None: ...


@dataclass(frozen=True)
class Retry:
    attempts: int = 3
    backoff: float = 1.0  # seconds before the 2nd attempt; doubles each time

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (2, 3, ...)."""
        return float(min(MAX_BACKOFF, self.backoff * (2 ** max(0, attempt - 2))))

    def problems(self, key: str) -> list[str]:
        errs = []
        if not 1 <= self.attempts <= MAX_ATTEMPTS:
            errs.append(f"{key} attempts must be 1..{MAX_ATTEMPTS}, not {self.attempts}")
        if not 0 <= self.backoff <= MAX_BACKOFF:
            errs.append(f"{key} backoff must be 0..{MAX_BACKOFF:g} seconds, not {self.backoff}")
        return errs


def _hand_over(mailbox: CapturedMessages, action: AfterCaptureAction, message_id: int) -> None:
    # getattr, not isinstance(runtime Protocol): this runs for every message
    deliver = getattr(mailbox, "deliver", None)
    if deliver is None:
        raise RuntimeError(f"cannot {action.describe()}: no outbox (the sink is not running)")
    deliver(action, message_id)


@dataclass(frozen=True)
class Route(AfterCaptureAction):
    """``mailbox = "NAME"``: file the message into mailbox NAME ("Inbox" = the default)."""

    key = "mailbox"
    name: str

    @property
    def stored_name(self) -> str:
        """The name as the store keeps it (``''`` for the Inbox)."""
        return clean_mailbox(self.name)

    def describe(self) -> str:
        try:
            shown = display_mailbox(self.stored_name)
        except ValueError:
            shown = self.name
        return f"move the message to mailbox {shown}"

    def problems(self) -> list[str]:
        try:
            clean_mailbox(self.name)
        except ValueError:
            return [f"mailbox names are at most {MAX_MAILBOX_LENGTH} characters"]
        return []

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        mailbox.set_mailbox([message_id], self.name)


@dataclass(frozen=True)
class Forward(AfterCaptureAction):
    """``forward``: send the message unchanged through a relay.

    ``profile`` names a saved relay profile (its password comes from its
    environment variable or the keyring, never a prompt); or ``host`` and
    ``port`` name a plain SMTP server without login. ``to`` replaces the
    envelope recipients (default: the message's own). The envelope sender
    and the bytes are the message's own.
    """

    key = "forward"
    profile: str = ""
    host: str = ""
    port: int = 25
    to: tuple[str, ...] = ()
    retry: Retry = field(default_factory=Retry)
    timeout: float = 30.0  # connect and each command

    @property
    def target(self) -> str:
        if self.profile:
            return f"profile {self.profile}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def describe(self) -> str:
        to = f" to {', '.join(self.to)}" if self.to else ""
        return f"forward the message via {self.target}{to}"

    def problems(self) -> list[str]:
        errs = []
        if bool(self.profile.strip()) == bool(self.host.strip()):
            errs.append("forward needs either profile = NAME or host (and port)")
        if not 0 < self.port < 65536:
            errs.append(f"forward port {self.port} is out of range")
        if not 0 < self.timeout <= 600:
            errs.append(f"forward timeout must be 0..600 seconds, not {self.timeout}")
        for address in self.to:
            if not address.strip() or any(c in address for c in "\r\n\x00<>, "):
                errs.append(f"forward to: {address!r} is not one address")
        errs.extend(self.retry.problems("forward"))
        return errs

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        _hand_over(mailbox, self, message_id)


@dataclass(frozen=True)
class Webhook(AfterCaptureAction):
    """``webhook``: POST the message's summary (Mailpit's JSON) to ``url``."""

    key = "webhook"
    url: str
    retry: Retry = field(default_factory=Retry)
    timeout: float = 10.0  # the whole request, per attempt

    def describe(self) -> str:
        return f"post the message to the webhook {self.url}"

    def problems(self) -> list[str]:
        errs = []
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            errs.append(f"webhook must be an http:// or https:// URL, not {self.url!r}")
        if any(c in self.url for c in "\r\n\x00 "):
            errs.append("webhook URL must not contain spaces or line breaks")
        if not 0 < self.timeout <= 600:
            errs.append(f"webhook timeout must be 0..600 seconds, not {self.timeout}")
        errs.extend(self.retry.problems("webhook"))
        return errs

    async def run(self, mailbox: CapturedMessages, message_id: int) -> None:
        _hand_over(mailbox, self, message_id)


def routed_mailbox(actions: Sequence[tuple[str, AfterCaptureAction]]) -> str | None:
    """The mailbox the last ``Route`` of ``actions`` names (stored form), or None."""
    name: str | None = None
    for _rule, action in actions:
        if isinstance(action, Route):
            name = action.stored_name
    return name
