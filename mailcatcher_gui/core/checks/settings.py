"""The two check settings people type, parsed once for the Settings dialog and the CLI.

``--dkim-key SELECTOR._domainkey.DOMAIN=FILE`` (a line of the Settings' DKIM
keys box) and ``--spamassassin HOST:PORT|unix:/PATH`` (the Settings'
SpamAssassin field) mean the same in both places, so both check them here and
only word the error their own way. Key files are read by the callers (the
CLI fails at once, the window logs and goes on).
"""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["parse_dkim_key", "parse_spamd_address"]

_KEY_NAME = re.compile(r"^[a-z0-9_.-]+\._domainkey\.[a-z0-9.-]+$")
_HOST_PORT = re.compile(r"^(\[[0-9a-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$", re.IGNORECASE)


def parse_dkim_key(text: str) -> tuple[str, Path]:
    """``SELECTOR._domainkey.DOMAIN=FILE`` -> (lower-case name, path); ``ValueError`` if not.

    Names are lower-cased and lose a final dot: DNS names are case-insensitive,
    and ``CheckOptions.dkim_keys`` is keyed that way.
    """
    name, sep, file = text.partition("=")
    name, file = name.strip().lower().rstrip("."), file.strip()
    if not sep or not file:
        raise ValueError("expected SELECTOR._domainkey.DOMAIN=FILE")
    if not _KEY_NAME.match(name):
        raise ValueError(f"{name!r} is not SELECTOR._domainkey.DOMAIN")
    return name, Path(file).expanduser()


def parse_spamd_address(text: str) -> str:
    """A spamd address, ``HOST:PORT`` or ``unix:/PATH``, stripped; ``ValueError`` if not."""
    spamd = text.strip()
    if spamd.startswith("unix:"):
        if len(spamd) == len("unix:"):
            raise ValueError("spamd's Unix socket needs a path: unix:/PATH")
        return spamd
    match = _HOST_PORT.match(spamd)
    if match is None or not 0 < int(match.group(2)) < 65536:
        raise ValueError(f"expected HOST:PORT (e.g. 127.0.0.1:783) or unix:/PATH, not {spamd!r}")
    return spamd
