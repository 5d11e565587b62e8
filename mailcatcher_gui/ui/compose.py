"""Compose and send a test message; reply to, forward or re-edit a captured one.

``ComposeWindow`` is a top-level window (several can be open: one per reply)
with the fields a developer needs to exercise a mail-handling application:
From with a display name, To/Cc/Bcc/Reply-To, Subject, a text body, an HTML
body as source with a live preview, attachments (button or drag and drop),
inline images referenced by ``cid:``, and custom headers.

Sending goes through the one backend (``core.sending.send``) on the qasync
loop: ``send_message`` is a coroutine run as a task the window keeps (and
the app tracks, so quitting cancels it), the transcript streams into the
window line by line through the backend's ``on_line`` callback, and Cancel
cancels the task. Bad input (a line break in a header, an address that is
not one) comes back from the backend as an ``input`` failure naming the
field: the field is marked, the error shown, and nothing is sent.

The default destination is this app's own sink at the address it really
listens on, so "compose, send, see it arrive in the list" works out of the
box.

The HTML preview follows the viewer's privacy rules: it renders with the
viewer's own renderer (Chromium without JavaScript and with remote loads
blocked, or the ``QTextBrowser`` fallback that never fetches anything), fed a
``ParsedMessage`` made from the source and the inline images.

``reply_fields`` / ``forward_fields`` / ``edit_as_new_fields`` are plain
functions from an ``OpenedMessage`` to ``ComposeFields``; ``Composer`` owns
the open windows and is what the main window's actions call.
"""

from __future__ import annotations

import asyncio
import email.utils
import hashlib
import html as html_lib
import logging
import mimetypes
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QSize, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QFontDatabase,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ..core.mailbox import Mailbox
from ..core.mime.htmltext import html_to_text
from ..core.models import Attachment, OpenedMessage, ParsedMessage
from ..core.sending import (
    Draft,
    DraftAttachment,
    FailureStage,
    ProfileStore,
    SendReport,
    SendRequest,
    send,
)
from ..core.units import format_size
from .profiles_dialog import (
    SINK_KEY,
    DestinationError,
    Destinations,
    PasswordPrompt,
    ProfilePicker,
    ProfilesDialog,
    SinkEndpoint,
)
from .settings import AppSettings
from .theme import tinted_icon
from .transcript_view import AsyncRunner, Spawn, TranscriptPanel

log = logging.getLogger(__name__)

PREVIEW_NOTE = "— scripts off, remote content never loaded"
DEFAULT_FROM_NAME = "Test Sender"
DEFAULT_FROM_ADDR = "sender@example.com"
MAX_QUOTE_CHARS = 200_000

# ---- the fields of a message being composed (plain data) ------------------------------


@dataclass
class ComposeFields:
    """What the compose window shows; ``draft_from_fields`` turns it into a ``Draft``."""

    from_name: str = ""
    from_addr: str = ""
    to: str = ""
    cc: str = ""
    bcc: str = ""
    reply_to: str = ""
    subject: str = ""
    text: str = ""
    html: str = ""
    attachments: list[DraftAttachment] = field(default_factory=list)
    inline: list[DraftAttachment] = field(default_factory=list)  # each has a content_id
    headers: list[tuple[str, str]] = field(default_factory=list)


_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][\w.+-]*/[A-Za-z0-9][\w.+-]*")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def format_mailbox(name: str, addr: str) -> str:
    """``"Name <addr>"`` (quoted when needed) or ``addr``. Line breaks are kept
    on purpose: the backend refuses them, naming the From field."""
    if not name:
        return addr
    if _SPECIALS.search(name):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{addr}>"


def draft_from_fields(f: ComposeFields) -> Draft:
    """The ``Draft`` the backend builds and validates (nothing is checked here)."""

    def entries(value: str) -> tuple[str, ...]:
        return (value,) if value.strip() else ()

    text: str | None = f.text
    if not f.text and f.html:
        text = None  # HTML only
    return Draft(
        from_=format_mailbox(f.from_name.strip(), f.from_addr.strip()),
        to=entries(f.to),
        cc=entries(f.cc),
        bcc=entries(f.bcc),
        reply_to=entries(f.reply_to),
        subject=f.subject,
        text=text,
        html=f.html or None,
        attachments=tuple(f.attachments),
        inline=tuple(f.inline),
        headers=tuple(f.headers),
    )


# ---- prefilling from a captured message ------------------------------------------------


def one_line(value: str | None) -> str:
    """A header value from a (possibly hostile) captured message, on one line.

    A prefilled field must never trip the injection guard by itself: folded
    or encoded line breaks become single spaces.
    """
    return _LINE_BREAKS.sub(" ", value or "").strip()


def _prefixed(subject: str, prefix: str, pattern: str) -> str:
    subject = one_line(subject)
    if re.match(pattern, subject, re.IGNORECASE):
        return subject
    return f"{prefix} {subject}".rstrip()


def re_subject(subject: str) -> str:
    return _prefixed(subject, "Re:", r"\s*re\s*:")


def fwd_subject(subject: str) -> str:
    return _prefixed(subject, "Fwd:", r"\s*(fwd?|fw)\s*:")


def _addresses(*values: str | None) -> list[tuple[str, str]]:
    return [(n, a) for n, a in email.utils.getaddresses([one_line(v) for v in values if v]) if a]


def _body_text(parsed: ParsedMessage) -> str:
    if parsed.text is not None:
        text = parsed.text
    elif parsed.html is not None:
        text = html_to_text(parsed.html)
    else:
        text = ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_QUOTE_CHARS:
        text = text[:MAX_QUOTE_CHARS] + "\n[… truncated]"
    return text


def _me(opened: OpenedMessage) -> tuple[str, str]:
    """Who "we" are when answering: the original's first recipient."""
    found = _addresses(opened.parsed.header("To"), opened.parsed.header("Cc"))
    if found:
        return found[0]
    if opened.stored.summary.envelope_to:
        return "", opened.stored.summary.envelope_to[0]
    return DEFAULT_FROM_NAME, DEFAULT_FROM_ADDR


def _date_text(opened: OpenedMessage) -> str:
    value = one_line(opened.parsed.header("Date"))
    if value:
        return value
    return email.utils.format_datetime(opened.stored.summary.received_at)


def _sender_text(opened: OpenedMessage) -> str:
    return (
        one_line(opened.parsed.header("From"))
        or opened.stored.summary.from_
        or opened.stored.summary.envelope_from
        or "(unknown sender)"
    )


def _safe_content_type(value: str) -> str | None:
    return value if value and _CONTENT_TYPE.fullmatch(value) else None


def _split_attachments(
    parsed: ParsedMessage, html: str | None
) -> tuple[list[DraftAttachment], list[DraftAttachment]]:
    """Original parts as (attachments, inline images the HTML refers to by cid:)."""
    attachments: list[DraftAttachment] = []
    inline: list[DraftAttachment] = []
    lowered = (html or "").lower()
    for att in parsed.attachments:
        name = one_line(att.filename) or f"part-{att.index + 1}"
        ctype = _safe_content_type(att.content_type)
        cid = one_line(att.content_id) if att.content_id else ""
        if cid and html is not None and f"cid:{cid.lower()}" in lowered:
            inline.append(DraftAttachment(name, att.data, ctype, cid))
        else:
            attachments.append(DraftAttachment(name, att.data, ctype))
    return attachments, inline


def quote(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n"))


def reply_fields(opened: OpenedMessage, *, reply_all: bool = False) -> ComposeFields:
    """Reply: Re: subject, quoted text, In-Reply-To/References, to the sender."""
    p = opened.parsed
    me_name, me_addr = _me(opened)
    target = _addresses(p.header("Reply-To")) or _addresses(p.header("From"))
    if not target and opened.stored.summary.envelope_from:
        target = [("", opened.stored.summary.envelope_from)]
    to = ", ".join(format_mailbox(n, a) for n, a in target)
    cc = ""
    if reply_all:
        skip = {me_addr.lower(), *(a.lower() for _, a in target)}
        others = []
        for n, a in _addresses(p.header("To"), p.header("Cc")):
            if a.lower() not in skip:
                skip.add(a.lower())
                others.append(format_mailbox(n, a))
        cc = ", ".join(others)
    headers: list[tuple[str, str]] = []
    message_id = one_line(p.header("Message-ID"))
    if message_id:
        references = one_line(p.header("References")).split()
        references = [r for r in references if r != message_id][-19:] + [message_id]
        headers = [("In-Reply-To", message_id), ("References", " ".join(references))]
    body = _body_text(p)
    text = f"\n\nOn {_date_text(opened)}, {_sender_text(opened)} wrote:\n{quote(body)}\n"
    return ComposeFields(
        from_name=me_name,
        from_addr=me_addr,
        to=to,
        cc=cc,
        subject=re_subject(p.header("Subject") or opened.stored.summary.subject),
        text=text,
        headers=headers,
    )


_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


def forward_fields(opened: OpenedMessage) -> ComposeFields:
    """Forward: Fwd: subject, the original inline with a header block, its attachments."""
    p = opened.parsed
    me_name, me_addr = _me(opened)
    subject = one_line(p.header("Subject") or opened.stored.summary.subject)
    facts = [
        ("From", _sender_text(opened)),
        ("Date", _date_text(opened)),
        ("Subject", subject),
        ("To", one_line(p.header("To"))),
        ("Cc", one_line(p.header("Cc"))),
    ]
    facts = [(k, v) for k, v in facts if v]
    intro = "---------- Forwarded message ---------"
    text = "\n\n" + intro + "\n" + "".join(f"{k}: {v}\n" for k, v in facts) + "\n" + _body_text(p)
    html = ""
    if p.html is not None:
        block = (
            '<div style="font-family:sans-serif;color:#555;margin:0 0 12px 0">'
            + html_lib.escape(intro)
            + "<br>"
            + "<br>".join(f"<b>{html_lib.escape(k)}:</b> {html_lib.escape(v)}" for k, v in facts)
            + "</div>"
        )
        body_tag = _BODY_TAG.search(p.html)
        if body_tag:
            html = p.html[: body_tag.end()] + block + p.html[body_tag.end() :]
        else:
            html = block + p.html
    attachments, inline = _split_attachments(p, html or None)
    return ComposeFields(
        from_name=me_name,
        from_addr=me_addr,
        subject=fwd_subject(subject),
        text=text,
        html=html,
        attachments=attachments,
        inline=inline,
    )


# Headers the builder writes itself, or that only make sense on the original hop.
_NOT_COPIED = {
    "from",
    "to",
    "cc",
    "bcc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "received",
    "return-path",
    "delivered-to",
    "dkim-signature",
    "domainkey-signature",
    "authentication-results",
    "received-spf",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
    "x-original-to",
}


def edit_as_new_fields(opened: OpenedMessage) -> ComposeFields:
    """The captured message back in the editor, to change and send again."""
    p = opened.parsed
    found = _addresses(p.header("From"))
    from_name, from_addr = found[0] if found else ("", opened.stored.summary.envelope_from)
    html = p.html or ""
    attachments, inline = _split_attachments(p, p.html)
    headers = [
        (h.name, one_line(h.value))
        for h in p.headers
        if h.name.lower() not in _NOT_COPIED and not h.name.lower().startswith("content-")
    ]
    return ComposeFields(
        from_name=from_name,
        from_addr=from_addr,
        to=one_line(p.header("To")),
        cc=one_line(p.header("Cc")),
        reply_to=one_line(p.header("Reply-To")),
        subject=one_line(p.header("Subject") or opened.stored.summary.subject),
        text=(p.text or "").replace("\r\n", "\n"),
        html=html,
        attachments=attachments,
        inline=inline,
        headers=headers,
    )


# ---- icons --------------------------------------------------------------------------------

# ---- small widgets -------------------------------------------------------------------------


def _local_files(mime: QMimeData) -> list[Path]:
    if not mime.hasUrls():
        return []
    urls = mime.urls()
    if not urls or not all(u.isLocalFile() for u in urls):
        return []
    return [Path(u.toLocalFile()) for u in urls]


class BodyEdit(QPlainTextEdit):
    """A body editor where dropped *files* become attachments (text drops stay text)."""

    filesDropped = Signal(list)

    def canInsertFromMimeData(self, source: QMimeData) -> bool:  # noqa: N802 (Qt API)
        return bool(_local_files(source)) or super().canInsertFromMimeData(source)

    def insertFromMimeData(self, source: QMimeData) -> None:  # noqa: N802 (Qt API)
        files = _local_files(source)
        if files:
            self.filesDropped.emit(files)
            return
        super().insertFromMimeData(source)


def make_preview(parent: QWidget, *, web_engine: bool) -> QWidget:
    """The viewer's HTML renderer: Chromium (no JS, remote blocked) or the fallback."""
    if web_engine:
        try:
            from .web.html_view import WebMessageView
        except ImportError as exc:  # QtWebEngine missing on this system
            log.warning("compose preview uses the simplified renderer: %s", exc)
        else:
            return WebMessageView(parent, allow_remote_default=False)
    from .message_tabs.fallback_html import FallbackHtmlView

    return FallbackHtmlView(parent, allow_remote_default=False)


def preview_message(html: str, inline: Sequence[DraftAttachment]) -> ParsedMessage:
    """A ``ParsedMessage`` holding just the HTML and its inline images."""
    attachments = []
    for i, part in enumerate(inline):
        ctype = (
            part.content_type
            or mimetypes.guess_type(part.filename)[0]
            or "application/octet-stream"
        )
        attachments.append(
            Attachment(
                index=i,
                filename=part.filename,
                content_type=ctype,
                size=len(part.data),
                sha256=hashlib.sha256(part.data).hexdigest(),
                content_id=(part.content_id or "").strip("<>"),
                inline=True,
                part_id=str(i + 2),
                data=part.data,
            )
        )
    return ParsedMessage(
        headers=(), text=None, html=html, attachments=tuple(attachments), parts=(), defects=()
    )


def human_size(n: int) -> str:
    """The app's one size format (``core.units.format_size``)."""
    return format_size(n)


def cid_for(filename: str, taken: set[str]) -> str:
    """A Content-ID from a file name: no spaces or brackets, unique in this message."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-.") or "image"
    cid, n = base, 2
    while cid.lower() in taken:
        stem, dot, ext = base.rpartition(".")
        cid = f"{stem}-{n}.{ext}" if dot else f"{base}-{n}"
        n += 1
    return cid


_STYLE = """
#composeWindow QLineEdit[invalid="true"], #composeWindow QPlainTextEdit[invalid="true"],
#composeWindow QTableWidget[invalid="true"], #composeWindow QTreeWidget[invalid="true"] {
    border: 1px solid #e5484d; }
#composeError {
    color: #e5484d; background: rgba(229, 72, 77, 0.10);
    border: 1px solid rgba(229, 72, 77, 0.45); border-radius: 6px;
    padding: 6px 10px; font-weight: 600; }
#composeFields QLabel { color: palette(window-text); }
#composeToolBar { spacing: 6px; padding: 4px 8px; border: none; }
#composeToolBar QToolButton { padding: 4px 8px; border-radius: 5px; }
#sendButton { font-weight: 700; }
#previewNote { color: #6e7781; padding: 2px 4px; }
#previewNote[blocked="true"] { color: #9a6700; }
"""

# The backend's field names -> the widgets to mark.
_FIELD_TAB = {"headers": "headers", "attachments": "attachments", "inline": "attachments"}


class ComposeWindow(QMainWindow):
    """One message being written; see the module docstring."""

    #: a send finished (the ``SendReport``)
    sent = Signal(object)
    #: the window closed (the composer forgets it)
    closed = Signal()
    #: the user clicked "Show in list" for the captured copy (its mailbox id)
    openMessage = Signal(int)

    def __init__(
        self,
        destinations: Destinations,
        *,
        spawn: Spawn | None = None,
        settings: AppSettings | None = None,
        web_engine: bool = True,
        open_profiles: Callable[[QWidget], object] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setObjectName("composeWindow")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setStyleSheet(_STYLE)
        self.setAcceptDrops(True)
        self.destinations = destinations
        self.settings = settings
        self._open_profiles = open_profiles
        self.runner = AsyncRunner(spawn, self)
        self.runner.busyChanged.connect(self._busy_changed)
        self.last_report: SendReport | None = None
        self.cancelled = False
        self._attachments: list[DraftAttachment] = []
        self._inline: list[DraftAttachment] = []
        self._invalid: list[QWidget] = []
        self._shut_down = False

        self._build_toolbar()
        self._build_fields()
        self._build_tabs(web_engine)

        self.error = QLabel(self)
        self.error.setObjectName("composeError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()

        editor = QWidget(self)
        editor_layout = QVBoxLayout(editor)
        editor_layout.setContentsMargins(10, 8, 10, 4)
        editor_layout.setSpacing(8)
        editor_layout.addWidget(self.error)
        editor_layout.addWidget(self.fields_box)
        editor_layout.addWidget(self.tabs, 1)

        self.transcript = TranscriptPanel(
            self,
            title="SMTP transcript",
            placeholder="Send shows the SMTP conversation here, line by line.",
        )
        self.transcript.summary.label.linkActivated.connect(self._summary_link)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.setObjectName("composeSplitter")
        self.splitter.addWidget(editor)
        self.splitter.addWidget(self.transcript)
        self.splitter.setChildrenCollapsible(False)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.transcript.hide()
        self.setCentralWidget(self.splitter)
        self.statusBar().setSizeGripEnabled(True)

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(250)
        self._preview_timer.timeout.connect(self.update_preview)
        self.html_edit.textChanged.connect(self._preview_timer.start)
        self.subject.textChanged.connect(self._update_title)

        self.resize(980, 860)
        self.load(ComposeFields(from_name=DEFAULT_FROM_NAME, from_addr=DEFAULT_FROM_ADDR))

    # ---- construction ---------------------------------------------------------------

    def _build_toolbar(self) -> None:
        tb = QToolBar("Compose", self)
        tb.setObjectName("composeToolBar")
        tb.setMovable(False)
        tb.setFloatable(False)
        tb.setIconSize(QSize(18, 18))
        tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.act_send = QAction(tinted_icon("send"), "Send", self)
        self.act_send.setShortcuts([QKeySequence("Ctrl+Return"), QKeySequence("Ctrl+Enter")])
        self.act_send.setToolTip("Send the message (Ctrl+Enter)")
        self.act_send.triggered.connect(lambda _c=False: self.start_send())
        self.act_cancel = QAction(tinted_icon("stop"), "Cancel", self)
        self.act_cancel.setToolTip("Stop the send in progress and close the connection")
        self.act_cancel.setEnabled(False)
        self.act_cancel.triggered.connect(lambda _c=False: self.cancel_send())
        self.act_attach = QAction(tinted_icon("attach"), "Attach…", self)
        self.act_attach.setShortcut(QKeySequence("Ctrl+Shift+A"))
        self.act_attach.setToolTip("Attach files (or drop them on this window)")
        self.act_attach.triggered.connect(lambda _c=False: self.attach_interactive())
        close = QAction("Close", self)
        close.setShortcut(QKeySequence.StandardKey.Close)
        close.triggered.connect(lambda _c=False: self.close())
        self.addAction(close)

        tb.addAction(self.act_send)
        send_button = tb.widgetForAction(self.act_send)
        send_button.setObjectName("sendButton")
        tb.addAction(self.act_cancel)
        tb.addSeparator()
        via = QLabel("Send via ", tb)
        tb.addWidget(via)
        self.picker = ProfilePicker(self.destinations, tb)
        self.picker.setToolTip("Where the message goes")
        tb.addWidget(self.picker)
        self.profiles_button = QPushButton("Profiles…", tb)
        self.profiles_button.setToolTip("Add or edit SMTP relay profiles")
        self.profiles_button.clicked.connect(self.edit_profiles)
        tb.addWidget(self.profiles_button)
        spacer = QWidget(tb)
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        tb.addWidget(spacer)
        tb.addAction(self.act_attach)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, tb)
        self.toolbar = tb

    def _build_fields(self) -> None:
        box = QWidget(self)
        box.setObjectName("composeFields")
        grid = QGridLayout(box)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(6)

        def edit(placeholder: str, tip: str = "") -> QLineEdit:
            e = QLineEdit(box)
            e.setPlaceholderText(placeholder)
            if tip:
                e.setToolTip(tip)
            e.textEdited.connect(lambda _t, w=e: self._clear_invalid(w))
            return e

        self.from_name = edit("Display name")
        self.from_addr = edit("sender@example.com")
        self.to = edit("recipient@example.com, Name <other@example.com>")
        self.cc = edit("")
        self.bcc = edit("", "Envelope-only recipients: never written to the headers")
        self.reply_to = edit("")
        self.subject = edit("Subject")
        from_row = QHBoxLayout()
        from_row.setSpacing(6)
        from_row.addWidget(self.from_name, 2)
        from_row.addWidget(self.from_addr, 3)
        rows: list[tuple[str, object]] = [
            ("From:", from_row),
            ("To:", self.to),
            ("Cc:", self.cc),
            ("Bcc:", self.bcc),
            ("Reply-To:", self.reply_to),
            ("Subject:", self.subject),
        ]
        for row, (label, widget) in enumerate(rows):
            lab = QLabel(label, box)
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            grid.addWidget(lab, row, 0)
            if isinstance(widget, QHBoxLayout):
                grid.addLayout(widget, row, 1)
            else:
                grid.addWidget(widget, row, 1)  # type: ignore[arg-type]
        grid.setColumnStretch(1, 1)
        self.fields_box = box
        self._field_widgets: dict[str, list[QWidget]] = {
            "from": [self.from_name, self.from_addr],
            "envelope_from": [self.from_addr],
            "to": [self.to],
            "cc": [self.cc],
            "bcc": [self.bcc],
            "reply_to": [self.reply_to],
            "subject": [self.subject],
        }
        # Files dropped on a one-line field are attachments, not text.
        for e in (
            self.from_name,
            self.from_addr,
            self.to,
            self.cc,
            self.bcc,
            self.reply_to,
            self.subject,
        ):
            e.installEventFilter(self)

    def _build_tabs(self, web_engine: bool) -> None:
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.tabs = QTabWidget(self)
        self.tabs.setDocumentMode(True)

        self.text_edit = BodyEdit(self)
        self.text_edit.setObjectName("textBody")
        self.text_edit.setPlaceholderText("Plain-text body (leave empty for an HTML-only message)")
        self.text_edit.filesDropped.connect(self.add_files)

        # HTML: source | preview
        self.html_edit = BodyEdit(self)
        self.html_edit.setObjectName("htmlSource")
        self.html_edit.setFont(mono)
        self.html_edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.html_edit.setPlaceholderText(
            "<p>HTML body.</p>\n\nInline images: Insert Image…, or drop an image here; "
            'refer to them as <img src="cid:name">.'
        )
        self.html_edit.filesDropped.connect(self.insert_images)
        self.preview = make_preview(self, web_engine=web_engine)
        self.preview.setObjectName("htmlPreview")
        self.insert_image_button = QPushButton("Insert Image…", self)
        self.insert_image_button.setToolTip("Attach an image inline and refer to it by cid:")
        self.insert_image_button.clicked.connect(self.insert_image_interactive)
        note = QLabel(PREVIEW_NOTE, self)
        note.setObjectName("previewNote")
        note.setToolTip(
            "Rendered like the message viewer: JavaScript is off and nothing is fetched "
            "from the network; inline images come from the parts you attached inline."
        )
        self.preview_note = note
        blocked = getattr(self.preview, "blocked_changed", None)
        if blocked is not None:
            blocked.connect(self._blocked_changed)
        source_box = QWidget(self)
        sl = QVBoxLayout(source_box)
        sl.setContentsMargins(0, 4, 0, 0)
        sl.setSpacing(4)
        head = QHBoxLayout()
        head.addWidget(QLabel("<b>Source</b>", self))
        head.addStretch(1)
        head.addWidget(self.insert_image_button)
        head_box = QWidget(self)
        head_box.setLayout(head)
        head.setContentsMargins(0, 0, 0, 0)
        head_box.setFixedHeight(30)
        sl.addWidget(head_box)
        sl.addWidget(self.html_edit, 1)
        preview_box = QWidget(self)
        pl = QVBoxLayout(preview_box)
        pl.setContentsMargins(0, 4, 0, 0)
        pl.setSpacing(4)
        ph = QHBoxLayout()
        ph.setContentsMargins(0, 0, 0, 0)
        ph.addWidget(QLabel("<b>Preview</b>", self))
        ph.addWidget(note, 1)
        ph_box = QWidget(self)
        ph_box.setLayout(ph)
        ph_box.setFixedHeight(30)
        pl.addWidget(ph_box)
        pl.addWidget(self.preview, 1)
        self.html_split = QSplitter(Qt.Orientation.Horizontal, self)
        self.html_split.addWidget(source_box)
        self.html_split.addWidget(preview_box)
        self.html_split.setChildrenCollapsible(False)
        self.html_split.setSizes([500, 500])

        # Attachments
        self.attachment_list = QTreeWidget(self)
        self.attachment_list.setObjectName("attachmentList")
        self.attachment_list.setHeaderLabels(["File", "Type", "Size", "Inline as (Content-ID)"])
        self.attachment_list.setRootIsDecorated(False)
        self.attachment_list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.attachment_list.setAcceptDrops(True)
        self.attachment_list.installEventFilter(self)
        self.attachment_list.viewport().installEventFilter(self)
        header = self.attachment_list.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for col in (1, 2, 3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        add = QPushButton("Add Files…", self)
        add.clicked.connect(self.attach_interactive)
        self.remove_attachment_button = QPushButton("Remove", self)
        self.remove_attachment_button.clicked.connect(self.remove_selected_attachments)
        self.inline_button = QPushButton("Inline ↔ Attachment", self)
        self.inline_button.setToolTip(
            'Send the selected files as inline parts (for <img src="cid:…">) or as attachments'
        )
        self.inline_button.clicked.connect(self.toggle_inline_selected)
        hint = QLabel("Drop files anywhere on this window to attach them.", self)
        hint.setObjectName("hint")
        ab = QHBoxLayout()
        ab.addWidget(add)
        ab.addWidget(self.remove_attachment_button)
        ab.addWidget(self.inline_button)
        ab.addStretch(1)
        ab.addWidget(hint)
        att_box = QWidget(self)
        al = QVBoxLayout(att_box)
        al.setContentsMargins(0, 6, 0, 0)
        al.addWidget(self.attachment_list, 1)
        al.addLayout(ab)

        # Custom headers
        self.header_table = QTableWidget(0, 2, self)
        self.header_table.setObjectName("customHeaders")
        self.header_table.setHorizontalHeaderLabels(["Name", "Value"])
        self.header_table.horizontalHeader().setSectionResizeMode(
            0, QHeaderView.ResizeMode.Interactive
        )
        self.header_table.horizontalHeader().setStretchLastSection(True)
        self.header_table.setColumnWidth(0, 200)
        self.header_table.verticalHeader().hide()
        self.header_table.itemChanged.connect(lambda _i: self._header_rows_changed())
        add_header = QPushButton("Add Header", self)
        add_header.clicked.connect(lambda: self.add_header_row("X-", ""))
        remove_header = QPushButton("Remove", self)
        remove_header.clicked.connect(self.remove_selected_headers)
        hh = QHBoxLayout()
        hh.addWidget(add_header)
        hh.addWidget(remove_header)
        hh.addStretch(1)
        header_hint = QLabel("Date and Message-ID are added unless you set them here.", self)
        header_hint.setObjectName("hint")
        hh.addWidget(header_hint)
        hdr_box = QWidget(self)
        hl = QVBoxLayout(hdr_box)
        hl.setContentsMargins(0, 6, 0, 0)
        hl.addWidget(self.header_table, 1)
        hl.addLayout(hh)

        self.tabs.addTab(self.text_edit, "Text")
        self.tabs.addTab(self.html_split, "HTML")
        self.tabs.addTab(att_box, "Attachments")
        self.tabs.addTab(hdr_box, "Headers")
        self._tab_index = {"text": 0, "html": 1, "attachments": 2, "headers": 3}
        self._field_widgets_extra = {
            "headers": [self.header_table],
            "attachments": [self.attachment_list],
            "inline": [self.attachment_list],
        }

    # ---- fields in and out --------------------------------------------------------------

    def load(self, f: ComposeFields) -> None:
        """Show ``f`` (replacing everything in the window)."""
        self.from_name.setText(f.from_name)
        self.from_addr.setText(f.from_addr)
        self.to.setText(f.to)
        self.cc.setText(f.cc)
        self.bcc.setText(f.bcc)
        self.reply_to.setText(f.reply_to)
        self.subject.setText(f.subject)
        self.text_edit.setPlainText(f.text)
        self.html_edit.setPlainText(f.html)
        self._attachments = list(f.attachments)
        self._inline = list(f.inline)
        self._refresh_attachments()
        self.header_table.blockSignals(True)
        self.header_table.setRowCount(0)
        self.header_table.blockSignals(False)
        for name, value in f.headers:
            self.add_header_row(name, value)
        self._header_rows_changed()
        self._clear_all_invalid()
        self.tabs.setCurrentIndex(self._tab_index["html" if f.html and not f.text else "text"])
        self.text_edit.moveCursor(self.text_edit.textCursor().MoveOperation.Start)
        self._update_title()
        self.update_preview()

    def fields(self) -> ComposeFields:
        return ComposeFields(
            from_name=self.from_name.text(),
            from_addr=self.from_addr.text(),
            to=self.to.text(),
            cc=self.cc.text(),
            bcc=self.bcc.text(),
            reply_to=self.reply_to.text(),
            subject=self.subject.text(),
            text=self.text_edit.toPlainText(),
            html=self.html_edit.toPlainText(),
            attachments=list(self._attachments),
            inline=list(self._inline),
            headers=self.custom_headers(),
        )

    def draft(self) -> Draft:
        return draft_from_fields(self.fields())

    def _update_title(self) -> None:
        subject = one_line(self.subject.text())
        self.setWindowTitle(f"{subject or 'New Message'} — Compose")

    # ---- custom headers -----------------------------------------------------------------

    def add_header_row(self, name: str, value: str) -> int:
        row = self.header_table.rowCount()
        self.header_table.blockSignals(True)
        self.header_table.insertRow(row)
        self.header_table.setItem(row, 0, QTableWidgetItem(name))
        self.header_table.setItem(row, 1, QTableWidgetItem(value))
        self.header_table.blockSignals(False)
        self._header_rows_changed()
        if name == "X-":
            self.tabs.setCurrentIndex(self._tab_index["headers"])
            self.header_table.setCurrentCell(row, 0)
            self.header_table.editItem(self.header_table.item(row, 0))
        return row

    def remove_selected_headers(self) -> None:
        rows = sorted({i.row() for i in self.header_table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.header_table.removeRow(row)
        self._header_rows_changed()

    def custom_headers(self) -> list[tuple[str, str]]:
        result = []
        for row in range(self.header_table.rowCount()):
            name_item = self.header_table.item(row, 0)
            value_item = self.header_table.item(row, 1)
            name = name_item.text().strip() if name_item else ""
            value = value_item.text() if value_item else ""
            if name in ("", "X-") and not value.strip():
                continue  # an untouched new row
            result.append((name, value))
        return result

    def _header_rows_changed(self) -> None:
        n = len(self.custom_headers())
        self.tabs.setTabText(self._tab_index["headers"], f"Headers ({n})" if n else "Headers")
        self._clear_invalid(self.header_table)

    # ---- attachments ----------------------------------------------------------------------

    @property
    def attachments(self) -> list[DraftAttachment]:
        return list(self._attachments)

    @property
    def inline_parts(self) -> list[DraftAttachment]:
        return list(self._inline)

    def _taken_cids(self) -> set[str]:
        return {(a.content_id or "").lower() for a in self._inline}

    def add_files(self, paths: Sequence[str | Path], *, inline: bool = False) -> list[str]:
        """Attach files (or add them as inline parts); returns the Content-IDs if inline."""
        cids: list[str] = []
        problems: list[str] = []
        for path in paths:
            p = Path(path)
            if p.is_dir():
                problems.append(f"{p.name}: folders cannot be attached")
                continue
            try:
                if inline:
                    cid = cid_for(p.name, self._taken_cids())
                    self._inline.append(DraftAttachment.from_path(p, content_id=cid))
                    cids.append(cid)
                else:
                    self._attachments.append(DraftAttachment.from_path(p))
            except OSError as exc:
                problems.append(f"{p.name}: {exc.strerror or exc}")
        self._refresh_attachments()
        if problems:
            self.show_error("Could not attach " + "; ".join(problems))
        elif paths:
            what = "inline image" if inline else "attachment"
            n = len(paths)
            self.statusBar().showMessage(f"Added {n} {what}{'s' if n != 1 else ''}", 4000)
        if inline:
            self.update_preview()
        return cids

    def attach_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, "Attach Files")
        if files:
            self.add_files(files)

    def insert_images(self, paths: Sequence[str | Path]) -> None:
        """Add images as inline parts and put ``<img src="cid:…">`` at the cursor."""
        cids = self.add_files(paths, inline=True)
        if cids:
            tags = "\n".join(f'<img src="cid:{cid}" alt="{html_lib.escape(cid)}">' for cid in cids)
            self.html_edit.insertPlainText(tags)
            self.tabs.setCurrentIndex(self._tab_index["html"])

    def insert_image_interactive(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self,
            "Insert Inline Image",
            "",
            "Images (*.png *.jpg *.jpeg *.gif *.svg *.webp);;All files (*)",
        )
        if files:
            self.insert_images(files)

    def _selected_attachment_rows(self) -> list[tuple[str, int]]:
        rows = []
        for item in self.attachment_list.selectedItems():
            kind, index = item.data(0, Qt.ItemDataRole.UserRole)
            rows.append((kind, index))
        return rows

    def remove_selected_attachments(self) -> None:
        rows = self._selected_attachment_rows()
        for kind, index in sorted(rows, key=lambda r: -r[1]):
            (self._inline if kind == "inline" else self._attachments).pop(index)
        self._refresh_attachments()
        self.update_preview()

    def toggle_inline_selected(self) -> None:
        rows = self._selected_attachment_rows()
        moved_in, moved_out = [], []
        for kind, index in rows:
            if kind == "inline":
                moved_out.append(self._inline[index])
            else:
                moved_in.append(self._attachments[index])
        self._inline = [a for a in self._inline if not any(a is m for m in moved_out)]
        self._attachments = [a for a in self._attachments if not any(a is m for m in moved_in)]
        for a in moved_out:
            self._attachments.append(replace(a, content_id=None))
        for a in moved_in:
            self._inline.append(replace(a, content_id=cid_for(a.filename, self._taken_cids())))
        self._refresh_attachments()
        self.update_preview()

    def _refresh_attachments(self) -> None:
        self.attachment_list.clear()
        for kind, items in (("attachment", self._attachments), ("inline", self._inline)):
            for index, a in enumerate(items):
                ctype = (
                    a.content_type
                    or mimetypes.guess_type(a.filename)[0]
                    or "application/octet-stream"
                )
                cid = f"cid:{a.content_id}" if kind == "inline" else "—"
                item = QTreeWidgetItem([a.filename, ctype, human_size(len(a.data)), cid])
                item.setData(0, Qt.ItemDataRole.UserRole, (kind, index))
                item.setToolTip(0, a.filename)
                self.attachment_list.addTopLevelItem(item)
        n = len(self._attachments) + len(self._inline)
        self.tabs.setTabText(
            self._tab_index["attachments"], f"Attachments ({n})" if n else "Attachments"
        )
        self._clear_invalid(self.attachment_list)

    # ---- drag and drop ---------------------------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 (Qt API)
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:  # noqa: N802 (Qt API)
        if _local_files(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 (Qt API)
        files = _local_files(event.mimeData())
        if files:
            event.acceptProposedAction()
            self.add_files(files)
            self.tabs.setCurrentIndex(self._tab_index["attachments"])
        else:
            event.ignore()

    def eventFilter(self, watched: QObject, event) -> bool:  # noqa: N802 (Qt API)
        kind = event.type()
        if kind in (event.Type.DragEnter, event.Type.DragMove, event.Type.Drop):
            files = _local_files(event.mimeData())
            if files:
                event.acceptProposedAction()
                if kind == event.Type.Drop:
                    self.add_files(files)
                    self.tabs.setCurrentIndex(self._tab_index["attachments"])
                return True
        return super().eventFilter(watched, event)

    # ---- preview ---------------------------------------------------------------------------

    def update_preview(self) -> None:
        if self._shut_down:
            return
        self._preview_timer.stop()
        html = self.html_edit.toPlainText()
        if html.strip():
            self.preview.show_parsed(preview_message(html, self._inline))
        else:
            self.preview.show_parsed(
                preview_message(
                    '<p style="color:#888;font-family:sans-serif">No HTML body: the message is '
                    "sent as plain text.</p>",
                    (),
                )
            )

    def _blocked_changed(self) -> None:
        blocked = self.preview.blocked()
        text = PREVIEW_NOTE
        if blocked.total:
            text = f"— scripts off · {blocked.describe()} (never loaded)"
        self.preview_note.setText(text)
        self.preview_note.setProperty("blocked", bool(blocked.total))
        self.preview_note.style().unpolish(self.preview_note)
        self.preview_note.style().polish(self.preview_note)

    # ---- errors -------------------------------------------------------------------------------

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    def mark_invalid(self, field_name: str | None) -> list[QWidget]:
        """Mark the widgets for a backend field name; returns them."""
        if not field_name:
            return []
        widgets = self._field_widgets.get(field_name) or self._field_widgets_extra.get(
            field_name, []
        )
        for w in widgets:
            w.setProperty("invalid", True)
            w.style().unpolish(w)
            w.style().polish(w)
            self._invalid.append(w)
        tab = _FIELD_TAB.get(field_name)
        if tab is not None:
            self.tabs.setCurrentIndex(self._tab_index[tab])
        if widgets:
            widgets[0].setFocus(Qt.FocusReason.OtherFocusReason)
        return widgets

    def invalid_widgets(self) -> list[QWidget]:
        return [w for w in self._invalid if w.property("invalid")]

    def _clear_invalid(self, widget: QWidget) -> None:
        if widget.property("invalid"):
            widget.setProperty("invalid", False)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _clear_all_invalid(self) -> None:
        for w in self._invalid:
            self._clear_invalid(w)
        self._invalid.clear()
        self.show_error(None)

    # ---- sending --------------------------------------------------------------------------------

    def start_send(self) -> asyncio.Task | None:
        """Build the request and start ``send_message`` as a task (None if not started)."""
        if self.runner.busy:
            return None
        self._clear_all_invalid()
        self.cancelled = False
        key = self.picker.current_key()
        try:
            transport = self.destinations.transport_for(key)
        except DestinationError as exc:
            self.show_error(f"Not sent: {exc}")
            self.mark_invalid("password")
            return None
        request = SendRequest(self.draft(), transport)
        self._show_transcript()
        self.transcript.begin(f"Sending via {self.picker.currentText()}")
        self.statusBar().showMessage("Sending…")
        return self.runner.run(self.send_message(request))

    async def send_message(self, request: SendRequest) -> SendReport:
        """Send through the backend, streaming the transcript; the window stays live."""
        try:
            report = await send(request, on_line=self.transcript.on_line)
        except asyncio.CancelledError:
            self.cancelled = True
            if not self._shut_down:
                self.transcript.summary.show_cancelled()
                self.statusBar().showMessage("Sending cancelled", 8000)
            raise
        self.last_report = report
        if self._shut_down:
            return report
        self.transcript.summary.show_reports([report])
        captured = self.captured_id(report)
        if captured is not None:
            self.transcript.summary.append_html(
                f'<a href="message:{captured}">Show message #{captured} in the list</a>'
            )
        failure = report.failure
        if failure is None:
            where = f"queued as {report.queue_id}" if report.queue_id else "accepted"
            self.statusBar().showMessage(f"Sent — {where}", 10000)
            self._remember_sender()
        elif failure.stage is FailureStage.INPUT:
            self.show_error(f"Nothing was sent: {failure.message}")
            self.mark_invalid(failure.field)
            self.statusBar().showMessage("Not sent: fix the marked field", 10000)
        else:
            self.statusBar().showMessage(f"Failed at {failure.stage.value.upper()}", 10000)
        self.sent.emit(report)
        return report

    def captured_id(self, report: SendReport) -> int | None:
        """This app's mailbox id of what was just sent (sink or local), if any."""
        if not report.ok:
            return None
        if report.stored_id is not None:
            return report.stored_id
        key = self.picker.current_key()
        if key == SINK_KEY and report.queue_id and report.queue_id.isdigit():
            return int(report.queue_id)
        return None

    def _summary_link(self, link: str) -> None:
        kind, _, value = link.partition(":")
        if kind == "message" and value.isdigit():
            self.openMessage.emit(int(value))

    def cancel_send(self) -> bool:
        return self.runner.cancel()

    def _busy_changed(self, busy: bool) -> None:
        self.act_send.setEnabled(not busy)
        self.act_cancel.setEnabled(busy)
        self.picker.setEnabled(not busy)
        self.profiles_button.setEnabled(not busy)

    def _show_transcript(self) -> None:
        if not self.transcript.isVisible():
            self.transcript.show()
            total = max(self.splitter.height(), 600)
            self.splitter.setSizes([total * 3 // 5, total * 2 // 5])

    def _remember_sender(self) -> None:
        if self.settings is None:
            return
        self.settings.set_value("compose/from_name", self.from_name.text())
        self.settings.set_value("compose/from_addr", self.from_addr.text())
        self.settings.set_value("compose/to", self.to.text())
        self.settings.set_value("compose/destination", self.picker.current_key())

    # ---- profiles ------------------------------------------------------------------------------

    def edit_profiles(self) -> None:
        """Open the profile editor; the picker reloads when it closes."""
        if self._open_profiles is not None:
            self._open_profiles(self)

    # ---- closing -------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop a send, release the preview (Chromium). Safe to call twice."""
        if self._shut_down:
            return
        self._shut_down = True
        self._preview_timer.stop()
        self.runner.cancel()
        stop = getattr(self.preview, "shutdown", None)
        if callable(stop):
            stop()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        self.shutdown()
        self.closed.emit()
        super().closeEvent(event)


# ---- the composer: what the main window talks to -----------------------------------------------


class Composer(QObject):
    """Opens compose windows, the release dialog and the profile editor.

    The main window calls ``new`` / ``reply`` / ``forward`` / ``edit_as_new``
    / ``release``; ``shutdown`` closes everything before the app exits.
    """

    #: "Show in list" was clicked for a message that arrived in this app (its id)
    openMessage = Signal(int)

    def __init__(
        self,
        mailbox: Mailbox,
        profiles: ProfileStore,
        *,
        sink: Callable[[], SinkEndpoint | None] = lambda: None,
        spawn: Spawn | None = None,
        settings: AppSettings | None = None,
        web_engine: bool = True,
        ask_password: PasswordPrompt | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.mailbox = mailbox
        self.profiles = profiles
        self.settings = settings
        self.spawn = spawn
        self.web_engine = web_engine
        self._parent = parent
        self.destinations = Destinations(profiles, mailbox, sink, ask_password=ask_password)
        self.windows: list[ComposeWindow] = []
        self.dialogs: list[QWidget] = []

    def _window(self, fields: ComposeFields | None = None) -> ComposeWindow:
        window = ComposeWindow(
            self.destinations,
            spawn=self.spawn,
            settings=self.settings,
            web_engine=self.web_engine,
            open_profiles=self.open_profiles,
            parent=self._parent,
        )
        if self.settings is not None:
            key = self.settings.value("compose/destination", "")
            if key:
                window.picker.select(key)
        if fields is not None:
            window.load(fields)
        self.windows.append(window)
        window.closed.connect(lambda w=window: self._forget(w))
        window.openMessage.connect(self.openMessage)
        window.show()
        window.raise_()
        window.activateWindow()
        return window

    def _forget(self, window: ComposeWindow) -> None:
        if window in self.windows:
            self.windows.remove(window)

    def _defaults(self) -> ComposeFields:
        s = self.settings
        if s is None:
            return ComposeFields(from_name=DEFAULT_FROM_NAME, from_addr=DEFAULT_FROM_ADDR)
        return ComposeFields(
            from_name=s.value("compose/from_name", DEFAULT_FROM_NAME),
            from_addr=s.value("compose/from_addr", DEFAULT_FROM_ADDR),
            to=s.value("compose/to", ""),
        )

    def new(self) -> ComposeWindow:
        window = self._window(self._defaults())
        (window.to if not window.to.text() else window.subject).setFocus()
        return window

    def reply(self, message_id: int, *, reply_all: bool = False) -> ComposeWindow:
        window = self._window(reply_fields(self.mailbox.get(message_id), reply_all=reply_all))
        window.text_edit.setFocus()
        return window

    def forward(self, message_id: int) -> ComposeWindow:
        window = self._window(forward_fields(self.mailbox.get(message_id)))
        window.to.setFocus()
        return window

    def edit_as_new(self, message_id: int) -> ComposeWindow:
        return self._window(edit_as_new_fields(self.mailbox.get(message_id)))

    def release(self, message_ids: Sequence[int]) -> QWidget:
        from .release import ReleaseDialog

        dialog = ReleaseDialog(
            self.mailbox,
            list(message_ids),
            self.destinations,
            spawn=self.spawn,
            open_profiles=self.open_profiles,
            parent=self._parent,
        )
        self.dialogs.append(dialog)
        dialog.finished.connect(lambda _r, d=dialog: self._forget_dialog(d))
        dialog.openMessage.connect(self.openMessage)
        dialog.show()
        dialog.raise_()
        return dialog

    def _forget_dialog(self, dialog: QWidget) -> None:
        if dialog in self.dialogs:
            self.dialogs.remove(dialog)

    def refresh_destinations(self) -> None:
        """Relabel every "Send via" list (the sink moved, profiles changed)."""
        for window in self.windows:
            window.picker.reload()
        for dialog in self.dialogs:
            picker = getattr(dialog, "picker", None)
            if isinstance(picker, ProfilePicker):
                picker.reload()

    def open_profiles(self, parent: QWidget | None = None) -> ProfilesDialog:
        """The profile editor, window-modal over ``parent`` (no nested event loop:
        a running send keeps streaming while it is open)."""
        dialog = ProfilesDialog(
            self.profiles,
            ask_password=self.destinations.ask_password,
            spawn=self.spawn,
            parent=parent or self._parent,
        )
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        self.dialogs.append(dialog)

        def done(_result: int, d: ProfilesDialog = dialog) -> None:
            self._forget_dialog(d)
            self.refresh_destinations()

        dialog.finished.connect(done)
        dialog.open()
        return dialog

    def shutdown(self) -> None:
        """Close every compose window and dialog (stopping sends); call before exit."""
        for window in list(self.windows):
            window.shutdown()
            window.close()
        self.windows.clear()
        for dialog in list(self.dialogs):
            shutdown = getattr(dialog, "shutdown", None)
            if callable(shutdown):
                shutdown()
            dialog.close()
        self.dialogs.clear()
