"""The parts of a parsed MIME tree: ``Entity`` (one part) and ``Tree`` (all of them).

``tree.build_tree`` finds the structure; these are what it produces and
what the summary, the full parse and the body selection read. An entity
keeps its header values as raw bytes (offsets into the buffer) and decodes
a value, a charset, a filename or the payload only when asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from .decode import IDENTITY
from .params import clean_filename
from .words import decode_value, header_bytes_to_str, unfold

__all__ = ["LEAF", "MESSAGE", "MULTIPART", "Entity", "Tree"]

LEAF = 0
MULTIPART = 1
MESSAGE = 2

_ANGLED = re.compile(r"<([^<>]*)>")


class Entity:
    """One MIME entity: where it is in its buffer and what its headers say."""

    __slots__ = (
        "buf",
        "start",
        "body_start",
        "body_end",
        "end",
        "fields",
        "ctype",
        "params",
        "cte_label",
        "cte",
        "disposition",
        "dparams",
        "kind",
        "boundary",
        "parent",
        "children",
        "part_id",
        "depth",
        "scope",
        "started",
        "closed",
        "registered",
        "preview",
    )

    def __init__(self, buf: bytes, start: int, parent: int, depth: int) -> None:
        self.buf = buf
        self.start = start
        self.body_start = start
        self.body_end: int | None = None
        self.end: int | None = None
        # (name as written, lowercased name, value start, value end) per header field
        self.fields: list[tuple[str, str, int, int]] = []
        self.ctype = "text/plain"
        self.params: dict[str, str] = {}
        self.cte_label: str | None = None
        self.cte = IDENTITY
        self.disposition: str | None = None
        self.dparams: dict[str, str] = {}
        self.kind = LEAF
        self.boundary: bytes | None = None
        self.parent = parent
        self.children: list[int] = []
        self.part_id = ""
        self.depth = depth
        self.scope = -1
        self.started = False
        self.closed = False
        self.registered = False
        # For an embedded message too big to expand (summary only): its root's
        # headers, read from the first bytes, so it can still be named.
        self.preview: Entity | None = None

    # ---- header access (raw values are decoded on demand) ----

    def raw_value(self, i: int) -> bytes:
        _name, _lname, a, b = self.fields[i]
        return self.buf[a:b]

    def first(self, name: str) -> bytes | None:
        lname = name.lower()
        for _name, fname, a, b in self.fields:
            if fname == lname:
                return self.buf[a:b]
        return None

    def header(self, name: str, notes: list[str] | None = None) -> str | None:
        raw = self.first(name)
        return None if raw is None else decode_value(raw, notes)

    def payload(self) -> bytes:
        """The body bytes, still transfer-encoded."""
        end = self.body_end if self.body_end is not None else self.end
        if end is None:
            end = len(self.buf)
        return self.buf[self.body_start : end]

    def payload_head(self, n: int) -> bytes:
        """The first ``n`` body bytes, still transfer-encoded."""
        end = self.body_end if self.body_end is not None else self.end
        if end is None:
            end = len(self.buf)
        return self.buf[self.body_start : min(end, self.body_start + n)]

    def payload_size(self) -> int:
        end = self.body_end if self.body_end is not None else self.end
        if end is None:
            end = len(self.buf)
        return max(0, end - self.body_start)

    @property
    def charset(self) -> str | None:
        cs = self.params.get("charset")
        if cs is None:
            return None
        return cs.strip().strip("\"'") or None

    @property
    def content_id(self) -> str | None:
        raw = self.first("content-id")
        if raw is None:
            return None
        text = unfold(header_bytes_to_str(raw)).strip()
        m = _ANGLED.search(text)  # "<id@host>", possibly followed by a comment
        cid = m.group(1) if m is not None else text
        cid = cid.replace("<", "").replace(">", "").strip()
        return cid or None

    def filename(self) -> str | None:
        return clean_filename(self.dparams.get("filename")) or clean_filename(
            self.params.get("name")
        )


class Tree:
    """All entities of one message, ``order`` listing them in document order."""

    def __init__(self) -> None:
        self.entities: list[Entity] = []
        self.order: list[int] = []
        self._defects: list[tuple[int, str]] = []
        self.jobs: list[int] = []
        self.part_cap_hit = False

    @property
    def root(self) -> Entity:
        return self.entities[0]

    def defect(self, idx: int, text: str) -> None:
        if len(self._defects) < 1000:
            self._defects.append((idx, text))

    def defects(self) -> list[str]:
        out = []
        for idx, text in self._defects:
            pid = self.entities[idx].part_id if 0 <= idx < len(self.entities) else "?"
            out.append(f"{pid}: {text}")
        return out

    def iter_order(self) -> Iterator[tuple[int, Entity]]:
        ents = self.entities
        for idx in self.order:
            yield idx, ents[idx]

    def find(self, part_id: str) -> Entity | None:
        for e in self.entities:
            if e.part_id == part_id:
                return e
        return None


# ---------------------------------------------------------------------------
# building
