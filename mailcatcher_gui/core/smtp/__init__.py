"""The SMTP sink: a server on the running asyncio loop that captures every message.

Import the public names from here (``from mailcatcher_gui.core.smtp import
SinkConfig, start_sink``); the modules behind them may move:

* ``config``: ``SinkConfig``, ``parse_hostport``, the start errors
* ``server``: ``start_sink`` and the ``RunningSink`` handle
* ``listen``: binding the listening sockets
* ``protocol``: one connection (aiosmtpd's ``SMTP`` with the sink's changes)
* ``payload``: reading the DATA payload
* ``handler``: the recipient rule and storing a message
* ``transcript``: the session transcript kept with each message
* ``tls``, ``auth``: certificates and the AUTH policy
"""

from .auth import AuthMode
from .config import (
    PortInUse,
    SinkConfig,
    SinkStartError,
    SmtpListener,
    format_listener,
    parse_hostport,
    parse_listener,
)
from .server import RunningSink, start_sink
from .transcript import Transcript

__all__ = [
    "AuthMode",
    "PortInUse",
    "RunningSink",
    "SinkConfig",
    "SinkStartError",
    "SmtpListener",
    "Transcript",
    "format_listener",
    "parse_hostport",
    "parse_listener",
    "start_sink",
]
