"""The tag half of ``RemoteMailbox`` over Mailpit's ``/api/v1/tags``.

Mailpit's API has fewer tag verbs than ``MailboxProtocol``:
``PUT /api/v1/tags`` *replaces* the tags of the given messages,
``PUT /api/v1/tags/{Tag}`` renames, ``DELETE /api/v1/tags/{Tag}`` removes a
tag everywhere, ``GET /api/v1/tags`` lists the names (no counts). So:

* ``add_tags``/``remove_tags`` compute each message's new list from the
  summaries the list already read and send one ``PUT`` per distinct result;
* ``tags()`` counts each tag with a one-row search (``tag:"NAME"``);
* ``rename_tag``/``delete_tag`` learn which messages carry the tag (a
  search) before changing it, to announce their new lists and return how
  many there were.

Every operation announces ``TagsChanged`` with each message's full new list;
the server's WebSocket echo (``update`` with ``Tags``) of a list the cache
already has is not announced again.
"""

from __future__ import annotations

import builtins
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from ..models import MailboxEvent, MessageSummary, TagsChanged
from .client import ApiClient
from .convert import IdMap, tags_of
from .memo import Memo

__all__ = ["RemoteTags", "tag_query"]

#: how long the tag counts are remembered when no event says they changed
TAGS_TTL = 5.0


def tag_query(tag: str) -> str:
    """The search for messages carrying ``tag`` (quoted: names may hold spaces)."""
    return 'tag:"' + tag.replace('"', "") + '"'


def _sorted(tags: Sequence[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for t in tags:
        t = t.strip()
        if t and t.lower() not in seen:
            seen[t.lower()] = t
    return tuple(sorted(seen.values(), key=str.lower))


class RemoteTags:
    """Mixin of ``RemoteMailbox``: the tag methods of ``MailboxProtocol``."""

    client: ApiClient
    ids_map: IdMap
    _lock: threading.Lock
    _summaries: OrderedDict[int, MessageSummary]
    memo: Memo

    # ---- provided by RemoteMailbox (which overrides these) ---------------------------------

    def _emit(self, event: MailboxEvent) -> None:
        raise NotImplementedError

    def _server_ids(self, ids: Sequence[int]) -> builtins.list[str]:
        raise NotImplementedError

    def count(self, query: str | None = None) -> int:
        raise NotImplementedError

    def ids(self, query: str | None = None) -> Sequence[int]:
        raise NotImplementedError

    def summary(self, message_id: int) -> MessageSummary:
        raise NotImplementedError

    # ---- reading ---------------------------------------------------------------------------

    def tags(self) -> dict[str, int]:
        """Every tag in use -> how many messages carry it (sorted by name).

        Remembered for ``TAGS_TTL`` seconds unless an event comes (``Memo``):
        the window asks after every burst, and each count is a search."""
        return self.memo.get("tags", TAGS_TTL, self._count_tags)

    def _count_tags(self) -> dict[str, int]:
        names = self.client.get_json("/api/v1/tags")
        if not isinstance(names, builtins.list):
            return {}
        out: dict[str, int] = {}
        for name in sorted((n for n in names if isinstance(n, str) and n), key=str.lower):
            out[name] = self.count(tag_query(name))
        return out

    def _current_tags(self, handle: int) -> tuple[str, ...]:
        with self._lock:
            cached = self._summaries.get(handle)
        if cached is None:
            cached = self.summary(handle)
        return tuple(getattr(cached, "tags", ()))

    # ---- changing ------------------------------------------------------------------------------

    def set_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        """Replace the tags of ``ids`` with ``tags``."""
        self._put_groups({h: _sorted(tags) for h in dict.fromkeys(ids)})

    def add_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        self._put_groups({h: _sorted((*self._current_tags(h), *tags)) for h in dict.fromkeys(ids)})

    def remove_tags(self, ids: Sequence[int], tags: Sequence[str]) -> None:
        gone = {t.strip().lower() for t in tags}
        self._put_groups(
            {
                h: tuple(t for t in self._current_tags(h) if t.lower() not in gone)
                for h in dict.fromkeys(ids)
            }
        )

    def _put_groups(self, wanted: dict[int, tuple[str, ...]]) -> None:
        groups: dict[tuple[str, ...], builtins.list[int]] = {}
        for handle, tags in wanted.items():
            if self.ids_map.server_id(handle) is not None:
                groups.setdefault(tags, []).append(handle)
        updates: builtins.list[tuple[int, tuple[str, ...]]] = []
        for tags, handles in groups.items():
            self._cache_tags([(h, tags) for h in handles])  # before the echo can arrive
            self.client.send_json(
                "PUT", "/api/v1/tags", {"IDs": self._server_ids(handles), "Tags": list(tags)}
            )
            updates.extend((h, tags) for h in handles)
        if updates:
            self._emit(TagsChanged(tuple(updates)))

    def rename_tag(self, old: str, new: str) -> int:
        """Rename ``old`` to ``new`` everywhere; how many messages carried it."""
        handles = builtins.list(self.ids(tag_query(old)))
        self.client.send_json("PUT", "/api/v1/tags/" + quote(old, safe=""), {"Name": new})
        return self._announce_tag_change(handles, old, new)

    def delete_tag(self, tag: str) -> int:
        """Remove ``tag`` from every message; how many carried it."""
        handles = builtins.list(self.ids(tag_query(tag)))
        self.client.request("DELETE", "/api/v1/tags/" + quote(tag, safe=""))
        return self._announce_tag_change(handles, tag, None)

    def _announce_tag_change(self, handles: Sequence[int], old: str, new: str | None) -> int:
        updates = []
        for h in handles:
            kept = [t for t in self._current_tags(h) if t.lower() != old.lower()]
            if new:
                kept.append(new)
            updates.append((h, _sorted(kept)))
        self._cache_tags(updates)
        if updates:
            self._emit(TagsChanged(tuple(updates)))
        return len(handles)

    # ---- the cache and the server's echo -------------------------------------------------

    def _cache_tags(self, updates: Sequence[tuple[int, tuple[str, ...]]]) -> None:
        with self._lock:
            for h, tags in updates:
                s = self._summaries.get(h)
                if s is not None:
                    self._summaries[h] = replace(s, tags=tags)

    def _tags_updated(self, handle: int, data: Any) -> None:
        """The server says ``handle`` now has tags ``data`` (a WebSocket ``update``)."""
        tags = tags_of(data)
        with self._lock:
            s = self._summaries.get(handle)
            if s is not None and tuple(getattr(s, "tags", ())) == tags:
                return
            if s is not None:
                self._summaries[handle] = replace(s, tags=tags)
        self._emit(TagsChanged(((handle, tags),)))
