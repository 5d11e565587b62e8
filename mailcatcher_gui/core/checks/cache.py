"""A small bounded cache of check reports: re-opening a message shows its checks at once.

Keyed by (message id, options fingerprint, raw-bytes fingerprint): the
options decide what the network-dependent parts did (DNS for DKIM keys, the
keys the user gave), and the raw fingerprint (length plus a hash of the
first and last 4 KB) keeps a reused id (a store emptied and refilled) from
returning another message's report. Least-recently-used entries go first;
a lock makes it safe to fill from a worker thread while the window reads.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable

from ..models import OpenedMessage
from .model import CheckOptions, ChecksReport

__all__ = ["ChecksCache", "cache_key", "options_fingerprint"]

CacheKey = tuple[int, str, str]


def options_fingerprint(options: CheckOptions) -> str:
    """A stable digest of every option (the DKIM keys included, by value)."""
    parts = [
        repr(sorted((k, bytes(v)) for k, v in options.dkim_keys.items())),
        repr(options.resolve_dns),
        repr(options.spamassassin),
        repr(options.spam_timeout),
        repr(options.allow_local_links),
        repr(options.link_timeout),
        repr(options.link_concurrency),
    ]
    return hashlib.blake2b("\x00".join(parts).encode(), digest_size=16).hexdigest()


def _raw_fingerprint(raw: bytes) -> str:
    h = hashlib.blake2b(digest_size=16)
    h.update(len(raw).to_bytes(8, "little"))
    h.update(raw[:4096])
    h.update(raw[-4096:])
    return h.hexdigest()


def cache_key(opened: OpenedMessage, options: CheckOptions) -> CacheKey:
    return (opened.id, options_fingerprint(options), _raw_fingerprint(opened.stored.raw))


class ChecksCache:
    """LRU of ``ChecksReport`` values, at most ``maxsize`` of them."""

    def __init__(self, maxsize: int = 64) -> None:
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        self.maxsize = maxsize
        self._items: OrderedDict[CacheKey, ChecksReport] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def get(self, opened: OpenedMessage, options: CheckOptions) -> ChecksReport | None:
        key = cache_key(opened, options)
        with self._lock:
            report = self._items.get(key)
            if report is not None:
                self._items.move_to_end(key)
            return report

    def put(self, opened: OpenedMessage, options: CheckOptions, report: ChecksReport) -> None:
        key = cache_key(opened, options)
        with self._lock:
            self._items[key] = report
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def get_or_run(
        self,
        opened: OpenedMessage,
        options: CheckOptions,
        run: Callable[[OpenedMessage, CheckOptions], ChecksReport],
    ) -> ChecksReport:
        """The cached report, or ``run(opened, options)`` stored and returned.

        ``run`` is called outside the lock (checks take time); two threads
        asking at once may both run it, and the later result is kept.
        """
        report = self.get(opened, options)
        if report is None:
            report = run(opened, options)
            self.put(opened, options, report)
        return report

    def update(self, opened: OpenedMessage, options: CheckOptions, report: ChecksReport) -> None:
        """Replace the stored report (e.g. after links or spam were run on request)."""
        self.put(opened, options, report)

    def invalidate(self, message_id: int) -> None:
        """Forget every report of ``message_id`` (deleted, or its options changed)."""
        with self._lock:
            for key in [k for k in self._items if k[0] == message_id]:
                del self._items[key]

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
