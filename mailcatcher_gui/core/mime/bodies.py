"""Which parts of a message are "the" bodies, which are attachments, and their names.

One rule, used by both the ingest-time summary and the full parse so the
attachment count in the list always matches what the viewer shows (the
tests check this on the whole corpus):

- the text body is the first ``text/plain`` leaf and the HTML body the first
  ``text/html`` leaf that is not ``Content-Disposition: attachment``;
  those inside the shallowest ``multipart/alternative`` win over earlier
  ones elsewhere (a mixed message whose first part is a short note);
- parts of an embedded ``message/rfc822`` belong to that message: they are
  neither bodies nor attachments of the outer one, and the embedded message
  is one attachment (``<subject>.eml``). Only when the outer message has no
  body at all does the first embedded message with one provide it (a
  bounce or "forward as attachment" with no text of its own), and then that
  message's other parts are attachments too, so ``cid:`` images resolve;
- every other non-multipart leaf is an attachment: inline ``cid:`` images,
  calendars, TNEF, delivery-status reports, a multipart whose boundary is
  missing, ...

Names: the decoded ``filename``/``name`` parameter, else a generated
``part-<id><ext>`` from the content type.
"""

from __future__ import annotations

import re

from .tree import LEAF, MESSAGE, MULTIPART, Entity, Tree


class Selection:
    __slots__ = ("text", "html", "attachments", "body_scope")

    def __init__(self) -> None:
        self.text: int | None = None
        self.html: int | None = None
        self.attachments: list[int] = []
        self.body_scope = 0


def _choose(tree: Tree, order: list[int]) -> tuple[int | None, int | None]:
    """Bodies among ``order``: the entities of one message (one scope), in document order."""
    ents = tree.entities
    text = html = None
    # Prefer the bodies inside the shallowest multipart/alternative of this message.
    alt_pos = -1
    for pos, i in enumerate(order):
        e = ents[i]
        if (
            e.kind == MULTIPART
            and e.ctype == "multipart/alternative"
            and (alt_pos < 0 or e.depth < ents[order[alt_pos]].depth)
        ):
            alt_pos = pos
    if alt_pos >= 0:
        alt_depth = ents[order[alt_pos]].depth
        for i in order[alt_pos + 1 :]:
            e = ents[i]
            if e.depth <= alt_depth:
                break
            if _is_body_candidate(e):
                if e.ctype == "text/plain" and text is None:
                    text = i
                elif e.ctype == "text/html" and html is None:
                    html = i
    for i in order:
        e = ents[i]
        if _is_body_candidate(e):
            if e.ctype == "text/plain" and text is None:
                text = i
            elif e.ctype == "text/html" and html is None:
                html = i
    return text, html


def _is_body_candidate(e: Entity) -> bool:
    return e.kind == LEAF and e.disposition != "attachment"


def select_bodies(tree: Tree) -> Selection:
    """Pick the text and HTML bodies and the attachments (indexes into ``tree.entities``).

    Bodies: the first text/plain and the first text/html leaf that is not
    ``Content-Disposition: attachment``, preferring those inside the
    shallowest multipart/alternative. Embedded messages do not count, unless
    the message itself has no body at all: then the first embedded message
    (document order) that has one provides it.

    Attachments: every other leaf of the message (and of the embedded
    message that provided the body), and every embedded message as one
    attachment (its own parts stay inside it).
    """
    sel = Selection()
    try:
        by_scope: dict[int, list[int]] = {}
        for i in tree.order:
            by_scope.setdefault(tree.entities[i].scope, []).append(i)
        text, html = _choose(tree, by_scope.get(0, []))
        scope = 0
        if text is None and html is None:
            for i in tree.order:
                e = tree.entities[i]
                if e.kind == MESSAGE and e.children:
                    t, h = _choose(tree, by_scope.get(e.children[0], []))
                    if t is not None or h is not None:
                        text, html, scope = t, h, e.children[0]
                        break
        sel.text, sel.html, sel.body_scope = text, html, scope
        scopes = {0, scope}
        for i in tree.order:
            e = tree.entities[i]
            if e.scope in scopes and e.kind != MULTIPART and i != text and i != html:
                sel.attachments.append(i)
    except Exception:  # noqa: BLE001 - a selection bug must not lose the message
        pass
    return sel


# ---- names ----

_EXTENSIONS = {
    "text/plain": ".txt",
    "text/html": ".html",
    "text/calendar": ".ics",
    "text/csv": ".csv",
    "text/xml": ".xml",
    "text/enriched": ".txt",
    "text/richtext": ".txt",
    "text/rfc822-headers": ".txt",
    "text/x-vcard": ".vcf",
    "text/vcard": ".vcf",
    "message/rfc822": ".eml",
    "message/global": ".eml",
    "message/news": ".eml",
    "message/x-rfc822": ".eml",
    "message/delivery-status": ".txt",
    "message/global-delivery-status": ".txt",
    "message/disposition-notification": ".txt",
    "message/feedback-report": ".txt",
    "message/partial": ".eml",
    "message/external-body": ".txt",
    "application/octet-stream": ".bin",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/json": ".json",
    "application/xml": ".xml",
    "application/ms-tnef": ".dat",
    "application/vnd.ms-tnef": ".dat",
    "application/vnd.ms-outlook": ".msg",
    "application/pgp-signature": ".asc",
    "application/pgp-encrypted": ".asc",
    "application/pkcs7-signature": ".p7s",
    "application/x-pkcs7-signature": ".p7s",
    "application/pkcs7-mime": ".p7m",
    "application/x-pkcs7-mime": ".p7m",
    "application/ics": ".ics",
    "image/jpeg": ".jpg",
    "image/jpg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/svg+xml": ".svg",
    "image/bmp": ".bmp",
    "image/tiff": ".tif",
    "image/x-icon": ".ico",
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "video/mp4": ".mp4",
}
_SAFE_EXT = re.compile(r"[^a-z0-9]+")


def extension_for(ctype: str) -> str:
    ext = _EXTENSIONS.get(ctype)
    if ext:
        return ext
    sub = ctype.partition("/")[2]
    sub = sub.rsplit("+", 1)[-1] if "+" in sub else sub
    if sub.startswith("x-"):
        sub = sub[2:]
    sub = _SAFE_EXT.sub("", sub)[:8]
    return f".{sub}" if sub else ".bin"


def attachment_filename(tree: Tree, idx: int) -> str:
    """The part's own (decoded) filename, or a generated one."""
    e = tree.entities[idx]
    name = e.filename()
    if name:
        return name
    inner = tree.entities[e.children[0]] if e.kind == MESSAGE and e.children else e.preview
    if e.kind == MESSAGE and inner is not None:
        subject = inner.header("subject")
        if subject:
            subject = " ".join(subject.split())[:100]
            return f"{subject}.eml"
    return f"part-{e.part_id}{extension_for(e.ctype)}"
