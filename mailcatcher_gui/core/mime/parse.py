"""The full parse of a raw message, done when a message is opened.

Built on ``mimetree`` (structure) and ``mimeselect`` (bodies/attachments)
rather than on ``email.message_from_bytes`` + ``policy.default``: that API
raises on real mail the corpus contains (``LookupError`` for unknown
charsets, ``AttributeError`` on address groups, ``ValueError`` on some From
headers, ``KeyError: 'multipart/mixed'`` inside ``get_content()``), recurses
once per nesting level, and re-serialises instead of showing the bytes that
arrived. Here every payload is decoded by hand (transfer encoding, then
charset with fallbacks), every repair is recorded as a human-readable
defect (``"1.2: StartBoundaryNotFound"``), and :func:`parse_message` never
raises: even an internal bug degrades to "the raw bytes as text" plus a
defect saying so.

``part_headers`` and ``part_payload`` give the viewer access to any part
by its id, e.g. the headers of an embedded message shown in the tree.
"""

from __future__ import annotations

import hashlib

from ..models import Attachment, Header, ParsedMessage, Part
from .bodies import attachment_filename, select_bodies
from .charset import decode_text, meta_charset
from .decode import decode_payload
from .tree import MULTIPART, Entity, Tree, build_tree
from .words import decode_value


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse ``raw`` completely. Never raises, whatever the input."""
    try:
        return _parse(raw)
    except Exception as exc:  # noqa: BLE001 - last resort: show the bytes
        return _fallback(raw, exc)


def _fallback(raw: object, exc: BaseException) -> ParsedMessage:
    data = raw if isinstance(raw, bytes) else b""
    text = data.decode("utf-8", "replace")
    return ParsedMessage(
        headers=(),
        text=text,
        html=None,
        attachments=(),
        parts=(Part("0", 0, "text/plain", None, None, len(data)),),
        defects=(f"0: parser failed ({type(exc).__name__}: {exc}); raw bytes shown as text",),
    )


def headers_of(e: Entity) -> tuple[Header, ...]:
    out = []
    for i, (name, _lname, _a, _b) in enumerate(e.fields):
        raw = e.raw_value(i)
        out.append(Header(name, decode_value(raw), raw.decode("utf-8", "surrogateescape")))
    return tuple(out)


def _body_text(tree: Tree, e: Entity, data: bytes, defects: list[str], html: bool) -> str:
    charset = e.charset
    if charset is None and html:
        charset = meta_charset(data)
    text, note = decode_text(data, charset)
    if note:
        defects.append(f"{e.part_id}: {note}")
    return text


def _parse(raw: bytes) -> ParsedMessage:
    tree = build_tree(raw)
    sel = select_bodies(tree)
    defects = tree.defects()
    ents = tree.entities

    keep = {*sel.attachments, sel.text, sel.html}
    decoded: dict[int, bytes] = {}
    sizes: dict[int, int] = {}
    for idx, e in tree.iter_order():
        if e.kind == MULTIPART:
            continue
        data, note = decode_payload(e.payload(), e.cte)
        if note:
            defects.append(f"{e.part_id}: {note}")
        sizes[idx] = len(data)
        if idx in keep:
            decoded[idx] = data

    text = html = None
    if sel.text is not None:
        text = _body_text(tree, ents[sel.text], decoded[sel.text], defects, html=False)
    if sel.html is not None:
        html = _body_text(tree, ents[sel.html], decoded[sel.html], defects, html=True)

    attachments = []
    names: dict[int, str] = {}
    for n, idx in enumerate(sel.attachments):
        e = ents[idx]
        data = decoded[idx]
        name = attachment_filename(tree, idx)
        names[idx] = name
        cid = e.content_id
        attachments.append(
            Attachment(
                index=n,
                filename=name,
                content_type=e.ctype,
                size=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
                content_id=cid,
                inline=e.disposition == "inline" or (e.disposition is None and cid is not None),
                part_id=e.part_id,
                data=data,
            )
        )

    parts = []
    for idx, e in tree.iter_order():
        parts.append(
            Part(
                part_id=e.part_id,
                depth=e.depth,
                content_type=e.ctype,
                charset=e.charset,
                transfer_encoding=e.cte_label,
                size=sizes.get(idx, 0),
                filename=names.get(idx) or e.filename(),
                content_id=e.content_id,
                disposition=e.disposition,
            )
        )

    return ParsedMessage(
        headers=headers_of(tree.root),
        text=text,
        html=html,
        attachments=tuple(attachments),
        parts=tuple(parts),
        defects=tuple(defects),
    )


def part_headers(raw: bytes, part_id: str) -> tuple[Header, ...] | None:
    """The headers of part ``part_id`` (``None`` if there is no such part). Never raises."""
    try:
        e = build_tree(raw).find(part_id)
        return None if e is None else headers_of(e)
    except Exception:  # noqa: BLE001
        return None


def part_payload(raw: bytes, part_id: str) -> bytes | None:
    """The decoded bytes of part ``part_id`` (b"" for a multipart). Never raises."""
    try:
        e = build_tree(raw).find(part_id)
        if e is None:
            return None
        if e.kind == MULTIPART:
            return b""
        return decode_payload(e.payload(), e.cte)[0]
    except Exception:  # noqa: BLE001
        return None
