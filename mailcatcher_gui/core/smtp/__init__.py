"""The SMTP sink: a server on the running asyncio loop that captures every message.

Import the public names from here (``from mailcatcher_gui.core.smtp import
SinkConfig, start_sink``); the modules behind them may move.
"""

from .auth import AuthMode
from .sink import (
    PortInUse,
    RunningSink,
    SinkConfig,
    SinkStartError,
    Transcript,
    parse_hostport,
    start_sink,
)

__all__ = [
    "AuthMode",
    "PortInUse",
    "RunningSink",
    "SinkConfig",
    "SinkStartError",
    "Transcript",
    "parse_hostport",
    "start_sink",
]
