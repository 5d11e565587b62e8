"""What every network-free check reads, worked out once per message.

The families share one MIME tree (offsets into the raw bytes, so a header
or a part can be pointed at by line), one parse of the HTML body and one
line index. ``CheckInput.build`` never raises; the lazy pieces (the HTML
document) are computed on first use.

Lines: a line is 1 + the number of ``\\n`` bytes before an offset in the raw
message, which is what the Source tab shows (one line per LF, CRLF or LF).
HTML positions are mapped back to the raw source by ``HtmlLocator``:

- a 7bit/8bit/binary HTML part: exact (its decoded text has the same line
  breaks as the raw bytes);
- quoted-printable: the hard line breaks are exact; within a logical line
  cut by soft breaks (``=`` at the end of a raw line), the raw line is found
  by counting decoded bytes per raw line, exact for ASCII and off by a few
  characters' worth for non-ASCII text;
- base64 (or anything else): the part's first line (its headers), because a
  base64 line holds no readable position;
- an HTML part inside an embedded message that was itself transfer-encoded:
  the first line of the outermost part that is in the raw bytes.
"""

from __future__ import annotations

import binascii
import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..mime.bodies import select_bodies
from ..mime.decode import IDENTITY, QP
from ..mime.entity import Entity, Tree
from ..mime.tree import build_tree

if TYPE_CHECKING:
    from ..models import OpenedMessage
    from .htmlscan import HtmlDoc

__all__ = ["CheckInput", "HtmlLocator", "LineIndex"]

_NL = re.compile(rb"\n")


class LineIndex:
    """Offset -> 1-based line of one buffer (bisect over the newline offsets)."""

    __slots__ = ("_nl",)

    def __init__(self, buf: bytes | str) -> None:
        if isinstance(buf, str):
            self._nl = [m.start() for m in re.finditer("\n", buf)]
        else:
            self._nl = [m.start() for m in _NL.finditer(buf)]

    def line(self, offset: int) -> int:
        return bisect_right(self._nl, offset - 1) + 1

    def line_start(self, line: int) -> int:
        """Offset where 1-based ``line`` starts."""
        if line <= 1:
            return 0
        return self._nl[min(line - 2, len(self._nl) - 1)] + 1

    @property
    def count(self) -> int:
        return len(self._nl) + 1


class HtmlLocator:
    """Offset in the decoded HTML text -> line in the raw message (see module doc)."""

    def __init__(self, raw_lines: LineIndex, html: str, entity: Entity | None, fixed: int | None):
        self._fixed = fixed
        self._html_lines = LineIndex(html) if entity is not None else None
        self._base = raw_lines.line(entity.body_start) if entity is not None else 0
        self._qp: list[tuple[list[int], list[int]]] | None = None
        if entity is not None and entity.cte == QP:
            self._qp = _qp_segments(entity.payload())

    def line(self, offset: int) -> int | None:
        if self._fixed is not None or self._html_lines is None:
            return self._fixed
        hline = self._html_lines.line(offset)  # 1-based line in the decoded HTML
        if self._qp is None:
            return self._base + hline - 1
        if not self._qp:
            return self._base
        if hline - 1 >= len(self._qp):
            return self._base + self._qp[-1][0][0]
        column = offset - self._html_lines.line_start(hline)
        raw_lines, ends = self._qp[hline - 1]
        # the first raw line whose decoded end lies past the column (bisect: a
        # minified page is one logical line of thousands of soft-broken lines)
        k = min(bisect_right(ends, column), len(raw_lines) - 1)
        return self._base + raw_lines[k]


def _qp_segments(payload: bytes) -> list[tuple[list[int], list[int]]]:
    """Per decoded (logical) line: (raw line indexes, decoded bytes up to each one's end)."""
    out: list[tuple[list[int], list[int]]] = []
    idxs: list[int] = []
    ends: list[int] = []
    total = 0
    for i, line in enumerate(payload.split(b"\n")):
        seg = line.rstrip(b"\r")
        soft = seg.endswith(b"=")
        try:
            total += len(binascii.a2b_qp(seg[:-1] if soft else seg))
        except (binascii.Error, ValueError):
            total += len(seg)
        idxs.append(i)
        ends.append(total)
        if not soft:
            out.append((idxs, ends))
            idxs, ends, total = [], [], 0
    if idxs:
        out.append((idxs, ends))
    return out


@dataclass
class CheckInput:
    """One message, prepared for the checks (built by ``CheckInput.build``)."""

    opened: OpenedMessage
    tree: Tree
    html_index: int | None
    text_index: int | None
    lines: LineIndex

    @classmethod
    def build(cls, opened: OpenedMessage) -> CheckInput:
        raw = opened.stored.raw
        tree = build_tree(raw)
        sel = select_bodies(tree)
        return cls(opened, tree, sel.html, sel.text, LineIndex(raw))

    @property
    def raw(self) -> bytes:
        return self.opened.stored.raw

    @property
    def html(self) -> str | None:
        return self.opened.parsed.html

    def header_line(self, name: str) -> int | None:
        """Line of the first top-level header ``name`` (case-insensitive)."""
        lname = name.lower()
        for _n, fname, a, _b in self.tree.root.fields:
            if fname == lname:
                return self.lines.line(a)
        return None

    def header_lines(self, name: str) -> list[int]:
        lname = name.lower()
        return [self.lines.line(a) for _n, f, a, _b in self.tree.root.fields if f == lname]

    def entity_line(self, entity: Entity) -> int | None:
        """Line of ``entity``'s Content-Type (else its first line), or of its outermost
        ancestor in the raw bytes when it is inside a decoded embedded message."""
        e: Entity | None = entity
        while e is not None and e.buf is not self.tree.root.buf:
            e = self.tree.entities[e.parent] if e.parent >= 0 else None
        if e is None:
            return None
        for _n, fname, a, _b in e.fields:
            if fname == "content-type":
                return self.lines.line(a)
        return self.lines.line(e.start)

    def part_line(self, part_id: str) -> int | None:
        e = self.tree.find(part_id)
        return None if e is None else self.entity_line(e)

    @cached_property
    def html_entity(self) -> Entity | None:
        return None if self.html_index is None else self.tree.entities[self.html_index]

    @cached_property
    def locator(self) -> HtmlLocator:
        e = self.html_entity
        html = self.html or ""
        if e is None:
            return HtmlLocator(self.lines, html, None, None)
        if e.buf is not self.tree.root.buf:
            return HtmlLocator(self.lines, html, None, self.entity_line(e))
        if e.cte == IDENTITY or e.cte == QP:
            return HtmlLocator(self.lines, html, e, None)
        return HtmlLocator(self.lines, html, None, self.entity_line(e))

    @cached_property
    def doc(self) -> HtmlDoc | None:
        """The HTML body parsed (selectolax) and scanned once, or None without one."""
        if not self.html:
            return None
        from .htmlscan import scan_html

        return scan_html(self.html, self.locator)
