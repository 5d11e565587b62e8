"""What a tag is: the one cleaning rule shared by ingest, the store, the search and the API.

Tags follow Mailpit's rules so a client written for Mailpit sees the same
tags here: every character other than an ASCII letter, digit, space, ``-``,
``_`` or ``.`` becomes a space, runs of whitespace fold to one space, and the
ends are trimmed (``"  urgent!!  "`` -> ``"urgent"``, ``"a/b"`` -> ``"a b"``).
What is left empty is no tag. Tags are unique case-insensitively (the first
spelling wins, as in Mailpit, whose tag names compare with ``NOCASE``) and
are listed sorted case-insensitively.

The ``X-Tags`` header carries tags at ingest: a comma-separated list, each
item cleaned as above: ``X-Tags: Signup, newsletter , signup`` gives
``("newsletter", "Signup")``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

__all__ = [
    "MAX_HEADER_TAGS",
    "MAX_TAG_LENGTH",
    "clean_tag",
    "sort_tags",
    "tag_query",
    "tags_from_header",
    "unique_tags",
]

#: Longer tags are cut (a header of megabytes must not become one index key).
MAX_TAG_LENGTH = 100
#: At most this many tags are taken from one ``X-Tags`` header.
MAX_HEADER_TAGS = 100

_INVALID = re.compile(r"[^A-Za-z0-9\-_. ]")
_SPACES = re.compile(r"\s+")


def clean_tag(text: str) -> str:
    """``text`` by Mailpit's rule (see the module docstring); ``""`` when nothing is left."""
    cleaned = _SPACES.sub(" ", _INVALID.sub(" ", text)).strip()
    if len(cleaned) > MAX_TAG_LENGTH:
        cleaned = cleaned[:MAX_TAG_LENGTH].rstrip()
    return cleaned


def sort_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags in display order: case-insensitive, then by spelling (stable across runs)."""
    return tuple(sorted(tags, key=lambda t: (t.casefold(), t)))


def unique_tags(values: Iterable[str]) -> tuple[str, ...]:
    """Each value cleaned; empty ones dropped; case-insensitive duplicates dropped (first
    spelling wins); sorted with ``sort_tags``."""
    seen: dict[str, str] = {}
    for value in values:
        tag = clean_tag(value)
        if tag:
            seen.setdefault(tag.casefold(), tag)
    return sort_tags(seen.values())


def tags_from_header(value: str) -> tuple[str, ...]:
    """The tags of an ``X-Tags`` header value (comma-separated)."""
    if not value or value.isspace():
        return ()
    return unique_tags(value.split(",")[:MAX_HEADER_TAGS])


def tag_query(tag: str) -> str:
    """The search for messages tagged ``tag``: ``tag:urgent``, ``tag:"two words"``."""
    return f'tag:"{tag}"' if " " in tag else f"tag:{tag}"
