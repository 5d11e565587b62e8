"""A shared catcher as a mailbox: ``RemoteMailbox`` over a Mailpit-compatible HTTP API.

``client`` makes the blocking HTTP calls, ``events`` follows the live
WebSocket, ``convert`` maps Mailpit's JSON and string ids onto this app's
values, ``session`` and ``tagging`` carry the session extension and the tag
verbs, ``mailbox`` puts them together behind ``MailboxProtocol``, and
``credentials`` keeps a catcher's password in the system keyring.
"""

from .client import CatcherEndpoint, RemoteAuthError, RemoteError, parse_catcher_url
from .events import ConnectionState
from .mailbox import RemoteMailbox

__all__ = [
    "CatcherEndpoint",
    "ConnectionState",
    "RemoteAuthError",
    "RemoteError",
    "RemoteMailbox",
    "parse_catcher_url",
]
