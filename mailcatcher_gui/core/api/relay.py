"""The relay ``POST /api/v1/message/{ID}/release`` sends through, chosen in the window.

Mailpit releases through the one SMTP relay its command line configures. The
window's equivalent is the relay the user last released to from "Release
To..." (remembered in the profile store, ``Destinations.last_relay``): a
relay the user has already chosen and trusted, never a preset nobody picked,
so the API cannot be used to relay anywhere the user has not sent mail
before. No relay used yet means none is configured and release answers 400,
as Mailpit's does.

An HTTP request must never open a password dialog, so the lookup has no
prompt: a relay whose password is neither in the environment variable nor
in the keyring is treated as not configured (and logged), rather than
blocking the loop on a dialog nobody asked for.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..sending.destinations import DestinationError, Destinations

if TYPE_CHECKING:
    from ..mailbox_protocol import MailboxProtocol
    from ..sending.base import Transport
    from ..sending.profiles import ProfileStore

__all__ = ["last_relay_transport"]

log = logging.getLogger(__name__)


def last_relay_transport(
    profiles: ProfileStore, mailbox: MailboxProtocol
) -> Callable[[], Transport | None]:
    """``ApiContext.relay_transport`` for the window: the last relay used, or None."""

    def relay_transport() -> Transport | None:
        destinations = Destinations(profiles, mailbox)  # no password prompt, no sink
        key = destinations.last_relay()
        if not key:
            return None
        try:
            return destinations.transport_for(key)
        except DestinationError as exc:
            log.warning("HTTP API release: the last relay cannot be used: %s", exc)
            return None

    return relay_transport
