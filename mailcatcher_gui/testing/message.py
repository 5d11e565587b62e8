"""``CaughtMessage``: one captured message as a test reads it.

Everything is computed from the stored bytes on first use and kept, so a
test that only looks at ``subject`` never parses MIME. Addresses are plain
``addr`` strings (``to == ["bob@example.com"]`` is what assertions want);
``headers`` is the parsed ``email.message.EmailMessage`` header view
(``msg.headers["List-Unsubscribe"]``, ``msg.headers.get_all("Received")``).
"""

from __future__ import annotations

import email.policy
import functools
import re
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mailcatcher_gui.core.models import OpenedMessage, StoredMessage

__all__ = ["CaughtAttachment", "CaughtMessage"]

# The kinds of ``core.checks.links.LinkRef`` a person clicks.
_CLICKABLE = frozenset({"a", "area", "text"})


@dataclass(frozen=True, slots=True)
class CaughtAttachment:
    """An attachment or inline part: its file name, content type and decoded bytes."""

    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


class CaughtMessage:
    """One message the catcher received (see the module docstring)."""

    def __init__(self, stored: StoredMessage, opener: Any) -> None:
        self._stored = stored
        self._opener = opener  # message id -> OpenedMessage (the mailbox's get)

    def __repr__(self) -> str:
        return f"<CaughtMessage #{self.id} {self.subject!r} to {', '.join(self.envelope_to)}>"

    # ---- envelope and summary (no MIME parsing) ----------------------------

    @property
    def id(self) -> int:
        return self._stored.summary.id

    @property
    def raw(self) -> bytes:
        """The message exactly as it arrived."""
        return self._stored.raw

    @property
    def envelope_from(self) -> str:
        return self._stored.summary.envelope_from

    @property
    def envelope_to(self) -> list[str]:
        """Every RCPT TO address, Bcc recipients included."""
        return list(self._stored.summary.envelope_to)

    @property
    def subject(self) -> str:
        return self._stored.summary.subject

    @property
    def from_(self) -> str:
        """The From address (the first, if there are several)."""
        addrs = self._stored.summary.from_addrs
        return addrs[0].addr if addrs else ""

    @property
    def to(self) -> list[str]:
        return [a.addr for a in self._stored.summary.to_addrs]

    @property
    def cc(self) -> list[str]:
        return [a.addr for a in self._stored.summary.cc_addrs]

    @property
    def bcc(self) -> list[str]:
        """Envelope recipients that no To or Cc header names: the Bcc recipients."""
        shown = {a.lower() for a in (*self.to, *self.cc)}
        return [r for r in self.envelope_to if r.lower() not in shown]

    # ---- parsed (on first use) ---------------------------------------------

    @functools.cached_property
    def _opened(self) -> OpenedMessage:
        opened: OpenedMessage = self._opener(self.id)
        return opened

    @functools.cached_property
    def headers(self) -> EmailMessage:
        parsed = BytesHeaderParser(policy=email.policy.default).parsebytes(self.raw)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def text(self) -> str:
        """The text/plain body ("" when there is none)."""
        return self._opened.parsed.text or ""

    @property
    def html(self) -> str:
        """The text/html body ("" when there is none)."""
        return self._opened.parsed.html or ""

    @functools.cached_property
    def attachments(self) -> list[CaughtAttachment]:
        return [
            CaughtAttachment(a.filename, a.content_type, a.data, a.inline, a.content_id)
            for a in self._opened.parsed.attachments
        ]

    @functools.cached_property
    def links(self) -> list[str]:
        """The http(s) links a reader can follow (HTML ``<a>``/``<area>`` and text URLs).

        In order, without repeats. Images, stylesheets and List-Unsubscribe are
        not links to click; ``core.checks.links.extract_links`` lists those too.
        """
        from mailcatcher_gui.core.checks.links import extract_links

        seen: dict[str, None] = {}
        for ref in extract_links(self._opened):
            if ref.kind in _CLICKABLE and ref.url.lower().startswith(("http://", "https://")):
                seen.setdefault(ref.url, None)
        return list(seen)

    def find(self, pattern: str | re.Pattern[str]) -> str | None:
        """The first match of ``pattern`` in the subject, text or HTML (a one-time code).

        Returns group 1 when the pattern has a group, else the whole match;
        None when nothing matches.
        """
        regex = re.compile(pattern) if isinstance(pattern, str) else pattern
        for haystack in (self.subject, self.text, self.html):
            match = regex.search(haystack)
            if match:
                return match.group(1) if regex.groups else match.group(0)
        return None

    def checks(self, **options: Any) -> Any:
        """The inspection checks' report (``core.checks``) for this message."""
        from mailcatcher_gui.core.checks import CheckOptions
        from mailcatcher_gui.core.checks.runner import run_local_checks

        return run_local_checks(self._opened, CheckOptions(**options))

    def matches(self, **criteria: Any) -> bool:
        """Whether every criterion holds (see ``MailCatcher.wait_for``)."""
        return all(
            _matches(getattr(self, _attribute(name)), want) for name, want in criteria.items()
        )


def _attribute(name: str) -> str:
    if name == "from":
        return "from_"
    if name not in _CRITERIA:
        raise TypeError(
            f"wait_for() cannot match on {name!r}; use one of {', '.join(sorted(_CRITERIA))}"
        )
    return name


_CRITERIA = {
    "subject",
    "from_",
    "to",
    "cc",
    "bcc",
    "envelope_from",
    "envelope_to",
    "text",
    "html",
}


def _matches(value: Any, want: Any) -> bool:
    """``want`` as a test means it: a callable is a predicate, a pattern a search, a
    string equality (or membership for address lists)."""
    if callable(want) and not isinstance(want, (str, re.Pattern)):
        return bool(want(value))
    if isinstance(value, list):
        return any(_matches(v, want) for v in value)
    if isinstance(want, re.Pattern):
        return want.search(value) is not None
    if isinstance(want, str) and isinstance(value, str) and "@" in want:
        return value.lower() == want.lower()
    return bool(value == want)
