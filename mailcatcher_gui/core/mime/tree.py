"""The MIME structure of a raw message, found in one linear pass.

Why not ``email.parser``: its feed parser nests one generator per multipart
level (a 1000-level message hits the recursion limit), checks every line
against every open boundary (quadratic in depth), and builds decoded
``Message`` objects for every part even when the caller only wants to know
where the parts are. A mail catcher needs the opposite trade-off: find the
structure cheaply for every incoming message (``summary``), decode only
what a viewer opens (``parsing``), and never fail.

How it works:
- Header blocks are read line by line with ``bytes.find``; values stay raw
  bytes (offsets into the buffer) until someone asks for them.
- The body is scanned once, front to back, with an explicit stack of the
  open entities (``path``) and a map of the open multipart boundaries. The
  next delimiter line is found with ``bytes.find`` on ``"\\n--" + boundary``
  (cached per boundary while few are open) or, with many open boundaries,
  on ``"\\n--"`` plus one dictionary lookup, so the cost is linear in the
  message size whatever the nesting depth. As in RFC 2046 and Python's
  parser, a delimiter of an outer multipart ends every part inside it
  (when two levels share a boundary, the outer one wins, as in Python).
- ``message/rfc822`` (and ``message/global``/``news``) parts are parsed in
  place when not transfer-encoded; encoded ones are decoded and parsed as a
  new buffer afterwards (jobs), so nothing recurses.
- Part ids, depths and document order are assigned at the end by an
  iterative walk: root ``"0"``, its children ``"1"``, ``"2"``; children of
  ``"1"`` are ``"1.1"``; the root of a message embedded at part ``"2"`` is
  ``"2.0"`` and its children are ``"2.1"``, ``"2.2"`` (IMAP numbering, with
  ``.0`` naming the embedded message's own root entity).
- Broken structure is repaired the way Python's parser does and recorded as
  a defect with the same names (``StartBoundaryNotFound``, ...). Hostile
  sizes are capped (nesting depth, number of parts, header lines) with a
  defect instead of unbounded memory or time.

The parts it produces, ``Entity`` and ``Tree``, are in ``entity`` (and
importable from here). ``bodies`` then applies the one rule, shared by the
summary and the full parse, for which parts are "the" text and HTML bodies
and which are attachments.
"""

from __future__ import annotations

import re

from .decode import IDENTITY, decode_payload, decode_prefix, normalize_cte
from .entity import LEAF, MESSAGE, MULTIPART, Entity, Tree
from .params import parse_content_type, parse_disposition, parse_params
from .words import header_bytes_to_str, unfold

__all__ = [
    "EMBEDDED_MESSAGE_TYPES",
    "LEAF",
    "MAX_DEPTH",
    "MAX_HEADER_LINES",
    "MAX_PARTS",
    "MESSAGE",
    "MULTIPART",
    "PREVIEW_BYTES",
    "Entity",
    "Tree",
    "build_tree",
]

MAX_DEPTH = 1500
MAX_PARTS = 25_000
MAX_HEADER_LINES = 20_000  # per entity, continuation lines included
_FEW_BOUNDARIES = 8
PREVIEW_BYTES = 64 * 1024

EMBEDDED_MESSAGE_TYPES = frozenset(
    {"message/rfc822", "message/global", "message/news", "message/x-rfc822"}
)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

# A field name (printable ASCII but ":"), optional obsolete WSP, then ":".
_FIELD_NAME = re.compile(rb"([!-9;-~]{1,998}+)[ \t]*+:")
_PAD_EOL = re.compile(rb"[ \t]*(?:\r\n|\n|\r|\Z)")
_BLANK_LINE = re.compile(rb"\n\r?\n")


def build_tree(raw: bytes, *, nested_decode_limit: int | None = None) -> Tree:
    """Split ``raw`` into entities. Never raises on any input.

    ``nested_decode_limit``: transfer-encoded embedded messages larger than
    this many (encoded) bytes are left unexpanded (``None``: no limit).
    """
    tree = Tree()
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogateescape")
    elif not isinstance(raw, bytes | bytearray | memoryview):
        raw = b""
    raw = bytes(raw)
    try:
        _Builder(tree, raw, parent=-1, depth=0).run()
        _run_jobs(tree, nested_decode_limit)
    except Exception as exc:  # noqa: BLE001 - keep whatever structure was found
        if not tree.entities:
            e = Entity(raw, 0, -1, 0)
            e.body_end = e.end = len(raw)
            tree.entities.append(e)
        tree.defect(0, f"structure scan failed ({type(exc).__name__}: {exc})")
    for e in tree.entities:
        if e.end is None:
            e.end = len(e.buf)
        if e.body_end is None and e.kind != MULTIPART:
            e.body_end = e.end
    _assign_ids(tree)
    return tree


def _run_jobs(tree: Tree, limit: int | None) -> None:
    done = 0
    while done < len(tree.jobs):
        idx = tree.jobs[done]
        done += 1
        e = tree.entities[idx]
        size = e.payload_size()
        if limit is not None and size > limit:
            head = decode_prefix(e.payload_head(PREVIEW_BYTES * 2), e.cte, PREVIEW_BYTES)
            preview = Entity(head, 0, idx, e.depth + 1)
            _Builder(Tree(), head, parent=-1, depth=0)._read_headers(preview, 0, 0)
            e.preview = preview
            continue
        data, note = decode_payload(e.payload(), e.cte)
        if note:
            tree.defect(idx, note)
        _Builder(tree, data, parent=idx, depth=e.depth + 1).run()


def _assign_ids(tree: Tree) -> None:
    ents = tree.entities
    order: list[int] = []
    stack: list[tuple[int, str, int]] = [(0, "0", 0)]
    while stack:
        idx, pid, scope = stack.pop()
        e = ents[idx]
        e.part_id = pid
        if e.parent < 0 or ents[e.parent].kind == MESSAGE:
            scope = idx
        e.scope = scope
        order.append(idx)
        kids = e.children
        if not kids:
            continue
        if e.kind == MESSAGE:
            stack.append((kids[0], pid + ".0", scope))
            continue
        if pid == "0":
            prefix = ""
        elif pid.endswith(".0"):
            prefix = pid[:-1]
        else:
            prefix = pid + "."
        for i in range(len(kids) - 1, -1, -1):
            stack.append((kids[i], f"{prefix}{i + 1}", scope))
    tree.order = order


class _Builder:
    """Streaming splitter over one buffer (the message, or a decoded embedded one)."""

    def __init__(self, tree: Tree, buf: bytes, parent: int, depth: int) -> None:
        self.tree = tree
        self.buf = buf
        self.parent = parent
        self.depth = depth
        self.active: dict[bytes, list[int]] = {}
        self._cache: dict[bytes, tuple[int, int]] = {}  # boundary -> (searched from, found at)
        self._maxlen = 0

    # ---- the main loop ----

    def run(self) -> None:
        buf, ents = self.buf, self.tree.entities
        root = self._start_entity(0, self.parent, self.depth, "text/plain")
        if self.parent < 0:
            self._sniff_binary(root)
        path = [root]
        pending: int | None = root
        scan = 0
        while True:
            if pending is not None:
                pidx, pending = pending, None
                e = ents[pidx]
                if e.kind == MULTIPART:
                    self._register(e, pidx)
                    scan = e.body_start
                elif e.kind == MESSAGE and e.cte == IDENTITY:
                    child = self._start_entity(e.body_start, pidx, e.depth + 1, "text/plain")
                    path.append(child)
                    pending = child
                    continue
                else:
                    if e.kind == MESSAGE:
                        self.tree.jobs.append(pidx)
                    scan = e.body_start
            found = self._next_delimiter(scan)
            if found is None:
                break
            s, after, boundary, close = found
            frame = self.active[boundary][0]
            content_end = s
            if content_end > 0 and buf[content_end - 1] == 10:
                content_end -= 1
                if content_end > 0 and buf[content_end - 1] == 13:
                    content_end -= 1
            while path[-1] != frame:
                self._close(path.pop(), content_end)
            f = ents[frame]
            if not f.started:
                if close:
                    self._unregister(f)
                    self._demote_to_leaf(frame, content_end, "StartBoundaryNotFound")
                    scan = after
                    continue
                f.started = True
            if close:
                f.closed = True
                self._unregister(f)
                scan = after
                continue
            if buf.startswith(b"--" + boundary, after) and self._delimiter_at(after, boundary):
                # Consecutive delimiter lines enclose no part (as in Python's parser).
                scan = after
                continue
            if len(ents) >= MAX_PARTS:
                if not self.tree.part_cap_hit:
                    self.tree.part_cap_hit = True
                    self.tree.defect(frame, f"more than {MAX_PARTS} parts; the rest is not split")
                for b in list(self.active):
                    for i in list(self.active[b]):
                        self._unregister(ents[i])
                scan = after
                continue
            digest = f.ctype == "multipart/digest"
            child = self._start_entity(
                after, frame, f.depth + 1, "message/rfc822" if digest else "text/plain"
            )
            f.children.append(child)
            path.append(child)
            pending = child
        end = len(buf)
        while path:
            self._close(path.pop(), end)

    def _close(self, idx: int, content_end: int) -> None:
        e = self.tree.entities[idx]
        end = max(e.body_start, content_end)
        e.end = end
        if e.kind == MULTIPART:
            if e.registered:
                self._unregister(e)
                if not e.started:
                    self._demote_to_leaf(idx, end, "StartBoundaryNotFound")
                else:
                    self.tree.defect(idx, "CloseBoundaryNotFound")
        elif e.body_end is None:
            e.body_end = end

    def _demote_to_leaf(self, idx: int, body_end: int, defect: str) -> None:
        """A multipart whose boundary never appears: its body is shown as text."""
        e = self.tree.entities[idx]
        e.kind = LEAF
        e.body_end = max(e.body_start, body_end)
        self.tree.defect(idx, f"{defect} ({e.ctype} shown as text/plain)")
        e.ctype = "text/plain"

    # ---- boundaries ----

    def _register(self, e: Entity, idx: int) -> None:
        b = e.boundary
        assert b is not None
        self.active.setdefault(b, []).append(idx)
        e.registered = True
        if len(b) > self._maxlen:
            self._maxlen = len(b)

    def _unregister(self, e: Entity) -> None:
        if not e.registered:
            return
        e.registered = False
        b = e.boundary
        lst = self.active.get(b)  # type: ignore[arg-type]
        if lst is None:
            return
        for i, idx in enumerate(lst):
            if self.tree.entities[idx] is e:
                del lst[i]
                break
        if not lst:
            del self.active[b]  # type: ignore[arg-type]
            self._cache.pop(b, None)  # type: ignore[arg-type]

    def _delimiter_at(self, s: int, boundary: bytes) -> tuple[int, bool] | None:
        """If a delimiter line for ``boundary`` starts at ``s``: (end of line, is close)."""
        buf = self.buf
        k = s + 2 + len(boundary)
        if buf.startswith(b"--", k):
            m = _PAD_EOL.match(buf, k + 2)
            if m is not None:
                return m.end(), True
        m = _PAD_EOL.match(buf, k)
        if m is not None:
            return m.end(), False
        return None

    def _next_delimiter(self, pos: int) -> tuple[int, int, bytes, bool] | None:
        if not self.active:
            return None
        if len(self.active) <= _FEW_BOUNDARIES:
            return self._next_few(pos)
        return self._next_many(pos)

    def _next_few(self, pos: int) -> tuple[int, int, bytes, bool] | None:
        buf, cache = self.buf, self._cache
        while True:
            best = -1
            best_b = b""
            for b in self.active:
                hit = cache.get(b)
                if hit is None or hit[0] > pos or (hit[1] >= 0 and hit[1] < pos):
                    if buf.startswith(b"--" + b, pos) and (pos == 0 or buf[pos - 1] in b"\r\n"):
                        at = pos
                    else:
                        i = buf.find(b"\n--" + b, pos)
                        at = i + 1 if i >= 0 else -1
                    hit = (pos, at)
                    cache[b] = hit
                at = hit[1]
                if at >= 0 and (best < 0 or at < best):
                    best, best_b = at, b
            if best < 0:
                return None
            ok = self._delimiter_at(best, best_b)
            if ok is not None:
                del cache[best_b]  # consumed: search again from the next position
                return best, ok[0], best_b, ok[1]
            # "--boundary" followed by something else: not a delimiter; look further.
            i = buf.find(b"\n--" + best_b, best)
            cache[best_b] = (pos, i + 1 if i >= 0 else -1)

    def _next_many(self, pos: int) -> tuple[int, int, bytes, bool] | None:
        buf, active = self.buf, self.active
        window = self._maxlen + 4 + 256
        s = pos if buf.startswith(b"--", pos) else -1
        while True:
            if s < 0:
                i = buf.find(b"\n--", pos)
                if i < 0:
                    return None
                s = i + 1
            e = buf.find(b"\n", s, s + window)
            if e < 0:
                e = len(buf) if len(buf) - s <= window else -1
            if e >= 0:
                token = buf[s + 2 : e].rstrip(b" \t\r")
                if token in active:
                    return s, min(e + 1, len(buf)), token, False
                if token.endswith(b"--") and token[:-2] in active:
                    return s, min(e + 1, len(buf)), token[:-2], True
            pos = s + 1
            s = -1

    # ---- headers ----

    def _is_delimiter_line(self, s: int) -> bool:
        if not self.active:
            return False
        buf = self.buf
        window = self._maxlen + 4 + 256
        e = buf.find(b"\n", s, s + window)
        if e < 0:
            if len(buf) - s > window:
                return False
            e = len(buf)
        token = buf[s + 2 : e].rstrip(b" \t\r")
        return token in self.active or (token.endswith(b"--") and token[:-2] in self.active)

    def _start_entity(self, pos: int, parent: int, depth: int, default_ctype: str) -> int:
        tree = self.tree
        buf = self.buf
        e = Entity(buf, pos, parent, depth)
        idx = len(tree.entities)
        tree.entities.append(e)
        if parent >= 0 and tree.entities[parent].kind == MESSAGE:
            tree.entities[parent].children.append(idx)
        e.body_start = self._read_headers(e, idx, pos)
        self._interpret(e, idx, default_ctype)
        return idx

    def _read_headers(self, e: Entity, idx: int, pos: int) -> int:
        buf, tree = self.buf, self.tree
        end = len(buf)
        fields = e.fields
        field_name = _FIELD_NAME.match
        lineno = 0
        while pos < end:
            nl = buf.find(b"\n", pos)
            if nl < 0:
                line_end = nxt = end
            else:
                line_end, nxt = nl, nl + 1
            le = line_end - 1 if line_end > pos and buf[line_end - 1] == 13 else line_end
            if le == pos:
                return nxt
            c = buf[pos]
            if c == 32 or c == 9:
                if fields:
                    name, lname, a, _b = fields[-1]
                    fields[-1] = (name, lname, a, le)
                elif lineno == 0:
                    tree.defect(idx, "FirstHeaderLineIsContinuation")
            elif c == 45 and self.active and self._is_delimiter_line(pos):
                return pos
            elif lineno == 0 and buf.startswith(b"From ", pos):
                pass  # mbox envelope line, not a header
            else:
                m = field_name(buf, pos, le)
                if m is not None:
                    name = m.group(1).decode("ascii")
                    fields.append((name, name.lower(), m.end(), le))
                elif c == 58:  # ":"
                    tree.defect(idx, "InvalidHeader (empty field name)")
                elif buf.startswith(b"From ", pos):
                    tree.defect(idx, "MisplacedEnvelopeHeader")
                else:
                    tree.defect(idx, "MissingHeaderBodySeparator")
                    return pos
            lineno += 1
            pos = nxt
            if lineno >= MAX_HEADER_LINES:
                tree.defect(idx, f"more than {MAX_HEADER_LINES} header lines; the rest skipped")
                m = _BLANK_LINE.search(buf, pos)
                return m.end() if m else end
        return end

    def _interpret(self, e: Entity, idx: int, default_ctype: str) -> None:
        tree = self.tree
        raw_ct = e.first("content-type")
        ctype = None
        if raw_ct is not None:
            text = unfold(header_bytes_to_str(raw_ct))
            ctype, e.params, note = parse_content_type(text)
            if note:
                tree.defect(idx, note)
        e.ctype = ctype or default_ctype
        raw_cte = e.first("content-transfer-encoding")
        if raw_cte is not None:
            e.cte_label = unfold(header_bytes_to_str(raw_cte)).strip().lower() or None
            e.cte, note = normalize_cte(e.cte_label)
            if note:
                tree.defect(idx, note)
        raw_cd = e.first("content-disposition")
        if raw_cd is not None:
            e.disposition, e.dparams = parse_disposition(unfold(header_bytes_to_str(raw_cd)))
        if e.ctype.startswith("multipart/"):
            boundary = e.params.get("boundary")
            if boundary is not None and raw_ct is not None and not raw_ct.isascii():
                # Match the boundary byte for byte, whatever the header's charset.
                latin = parse_params(unfold(raw_ct.decode("latin-1")).partition(";")[2])
                b = latin.get("boundary", "").rstrip().encode("latin-1", "replace")
            else:
                b = (boundary or "").rstrip().encode("utf-8", "surrogateescape")
            if not b:
                tree.defect(idx, f"NoBoundaryInMultipart ({e.ctype} shown as text/plain)")
                e.ctype = "text/plain"
            elif e.depth >= MAX_DEPTH:
                tree.defect(idx, f"nesting deeper than {MAX_DEPTH} levels; the rest is not split")
            else:
                e.kind = MULTIPART
                e.boundary = b
                e.cte = IDENTITY
        elif e.ctype in EMBEDDED_MESSAGE_TYPES:
            if e.depth >= MAX_DEPTH:
                tree.defect(idx, f"nesting deeper than {MAX_DEPTH} levels; the rest is not split")
            else:
                e.kind = MESSAGE

    def _sniff_binary(self, idx: int) -> None:
        """A file with no headers at all that is binary is not shown as text."""
        e = self.tree.entities[idx]
        if e.fields:
            return
        head = self.buf[:4096]
        if head.startswith(_OLE_MAGIC):
            e.ctype = "application/vnd.ms-outlook"
            self.tree.defect(idx, "not an RFC 5322 message: an Outlook .msg (OLE compound file)")
        elif b"\x00" in head:
            e.ctype = "application/octet-stream"
            self.tree.defect(idx, "no headers and binary data: treated as application/octet-stream")
        else:
            return
        e.kind = LEAF
        e.body_start = 0
