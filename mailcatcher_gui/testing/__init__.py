"""Testing support: a real mail catcher for the tests of apps that send mail.

``pytest_plugin`` (registered through the ``pytest11`` entry point) gives
every pytest suite the ``mail_catcher`` fixture; ``catcher`` and ``message``
are what it is made of, usable without pytest too. Nothing here imports Qt.
"""

from .catcher import CatcherServer, MailCatcher, WaitTimeout
from .message import CaughtAttachment, CaughtMessage

__all__ = ["CatcherServer", "CaughtAttachment", "CaughtMessage", "MailCatcher", "WaitTimeout"]
