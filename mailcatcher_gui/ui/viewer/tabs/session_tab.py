"""The Session tab: what the SMTP conversation said, next to what the headers say.

The envelope is the truth about delivery; the headers are what the sending
application wrote. Showing them side by side makes Bcc recipients (envelope
only) and mismatched senders obvious. The "Rules" section lists the
message's rule log (``core.store.routing``): the rules that fired on it and
what its forwards and webhooks achieved; it grows live (``add_rule_events``)
as deliveries finish after the message was opened.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ....core.mime.addresses import header_addresses
from ....core.mime.recipients import envelope_only_recipients
from ....core.models import OpenedMessage, RuleEvent
from ...theme import Tones, css, follow_palette, tones
from .formatting import format_datetime, one_line


def _header_values(opened: OpenedMessage, name: str) -> list[str]:
    lname = name.lower()
    return [h.value for h in opened.parsed.headers if h.name.lower() == lname]


def _esc(text: str) -> str:
    return html.escape(text, quote=False)


def _row(label: str, value_html: str) -> str:
    return (
        f'<tr><td class="k">{_esc(label)}</td>'
        f'<td class="v">{value_html or "<span class=none>—</span>"}</td></tr>'
    )


# A hostile header can be 100+ KB on one line; rich-text layout of that is
# slow and useless. Long values are cut, long lists summarised.
_MAX_VALUE = 1000
_MAX_ITEMS = 50


def _list(values: list[str] | tuple[str, ...]) -> str:
    shown = [_esc(one_line(v, _MAX_VALUE)) for v in values[:_MAX_ITEMS]]
    if len(values) > _MAX_ITEMS:
        shown.append(f"… and {len(values) - _MAX_ITEMS} more")
    return "<br>".join(shown)


def envelope_only(opened: OpenedMessage) -> list[str]:
    """Envelope recipients no To/Cc names: the Bcc recipients.

    Compared as (name, address) pairs read from the raw headers and the
    ingest summary, never by re-parsing decoded display text: a decoded
    name such as "boss@corp.example, the boss" is a name, not a recipient.
    """
    s = opened.stored.summary
    shown = [*header_addresses(opened.parsed, "To", "Cc"), *s.to_addrs, *s.cc_addrs]
    return envelope_only_recipients(s.envelope_to, shown)


def has_smtp_envelope(opened: OpenedMessage) -> bool:
    """Whether the message came with an envelope (an SMTP session, a local
    send, an import). A file opened from disk or an attached message has none."""
    s = opened.stored.summary
    return opened.stored.source == "smtp" or bool(s.envelope_from or s.envelope_to)


def no_envelope_reason(source: str) -> str:
    """What the Session tab says instead of an envelope it does not have."""
    if source == "file":
        return "Opened from a file: no SMTP envelope"
    if source.startswith("attachment"):
        return "Attached message: no SMTP envelope"
    if source == "remote":
        return "From a remote catcher that does not share its SMTP sessions"
    return f"No SMTP envelope ({source or 'unknown source'})"


_MAX_RULE_LINES = 200  # rule log entries shown (the newest)
_MAX_DETAIL_LINES = 12  # lines of one entry's detail (a forward's transcript)


def rule_rows(events: tuple[RuleEvent, ...] | list[RuleEvent]) -> list[str]:
    """The "Rules" section's rows (none without a rule log)."""
    if not events:
        return []
    rows = ['<tr><th colspan="2">Rules</th></tr>']
    shown = list(events)[-_MAX_RULE_LINES:]
    if len(events) > len(shown):
        rows.append(_row("", f"… {len(events) - len(shown)} earlier line(s) not shown"))
    for event in shown:
        when = event.at.astimezone().strftime("%H:%M:%S") if event.at is not None else ""
        label = f"{when} {event.rule}".strip()
        lines = event.detail.splitlines() or [""]
        cut = len(lines) > _MAX_DETAIL_LINES
        detail = "<br>".join(_esc(one_line(line, _MAX_VALUE)) for line in lines[:_MAX_DETAIL_LINES])
        if cut:
            detail += f"<br>… {len(lines) - _MAX_DETAIL_LINES} more line(s)"
        rows.append(_row(label, f"<b>{_esc(event.action)}</b> {detail}"))
    return rows


def session_html(
    opened: OpenedMessage,
    colours: Tones | None = None,
    rule_log: tuple[RuleEvent, ...] | None = None,
) -> str:
    """The facts table as Qt rich text (escaped: every value is untrusted),
    coloured for ``colours`` (default: the current theme)."""
    t = colours if colours is not None else tones()
    stored = opened.stored
    s = stored.summary
    to_hdr = _header_values(opened, "To")
    cc_hdr = _header_values(opened, "Cc")
    from_hdr = _header_values(opened, "From")
    session = has_smtp_envelope(opened)
    bcc = envelope_only(opened) if session else []

    rows = ['<tr><th colspan="2">Envelope</th></tr>']
    if session:
        rows += [
            _row(
                "MAIL FROM", _esc(s.envelope_from) if s.envelope_from else "&lt;&gt; (null sender)"
            ),
            _row("RCPT TO", _list(s.envelope_to)),
        ]
    else:
        # A file or an attached message never went through SMTP: "<> (null
        # sender)" would claim a bounce that never happened.
        rows.append(
            f'<tr><td class="v" colspan="2"><span class="none">'
            f"{_esc(no_envelope_reason(stored.source))}</span></td></tr>"
        )
    if bcc:
        rows.append(
            _row(
                "Bcc (envelope only)",
                '<span class="bcc">' + _list(bcc) + "</span>",
            )
        )
    rows += [
        '<tr><th colspan="2">Headers</th></tr>',
        _row("From", _list(from_hdr or ([s.from_] if s.from_ else []))),
        _row("To", _list(to_hdr or list(s.to))),
        _row("Cc", _list(cc_hdr or list(s.cc))),
        '<tr><th colspan="2">Connection</th></tr>',
    ]
    if session:
        rows += [
            _row("Received", _esc(format_datetime(s.received_at))),
            _row("Peer", _esc(stored.peer)),
            _row("HELO", _esc(stored.helo)),
        ]
        if stored.tls is not None:
            tls = stored.tls
            bits = f", {tls.bits} bits" if tls.bits else ""
            mode = "implicit TLS (SMTPS)" if tls.implicit else "STARTTLS"
            rows.append(_row("TLS", _esc(f"{tls.version} · {tls.cipher}{bits} · {mode}")))
        else:
            rows.append(_row("TLS", "none (plain text)"))
        rows.append(_row("AUTH user", _esc(stored.auth_user or "")))
    rows.append(_row("Source", _esc(stored.source)))
    rows += rule_rows(stored.rule_log if rule_log is None else rule_log)
    style = (
        "<style>table { border-collapse: collapse; } "
        "th { text-align: left; padding: 10px 0 4px 0; font-size: large; } "
        f"td.k {{ color: {css(t.secondary)}; padding: 2px 16px 2px 0; white-space: nowrap; }} "
        f"td.v {{ padding: 2px 0; }} .bcc {{ color: {css(t.danger)}; font-weight: bold; }} "
        f".none {{ color: {css(t.secondary)}; }}</style>"
    )
    return style + "<table>" + "".join(rows) + "</table>"


class SessionTab(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.facts = QLabel(self)
        self.facts.setObjectName("sessionFacts")
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.facts.setWordWrap(True)
        self.facts.setContentsMargins(12, 4, 12, 8)

        self.transcript = QPlainTextEdit(self)
        self.transcript.setReadOnly(True)
        self.transcript.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.transcript.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.transcript.setPlaceholderText("No SMTP transcript (imported or local message).")

        transcript_box = QWidget(self)
        box = QVBoxLayout(transcript_box)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        title = QLabel("SMTP transcript", transcript_box)
        title.setContentsMargins(12, 6, 0, 0)
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        box.addWidget(title)
        box.addWidget(self.transcript, 1)

        # Addresses do not wrap: in a narrow pane the table scrolls on its
        # own instead of setting the whole viewer's minimum width.
        facts_area = QScrollArea(self)
        facts_area.setObjectName("sessionFactsArea")
        facts_area.setFrameShape(QFrame.Shape.NoFrame)
        facts_area.setWidgetResizable(True)
        facts_area.setWidget(self.facts)
        self.facts_area = facts_area

        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(facts_area)
        splitter.addWidget(transcript_box)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        self.bcc: list[str] = []
        self._opened: OpenedMessage | None = None
        self.rule_log: tuple[RuleEvent, ...] = ()
        # The table's colours are baked into its rich text: re-render it
        # when the theme changes.
        follow_palette(self.facts, lambda _w: self._render())

    def _render(self) -> None:
        opened = self._opened
        html_text = session_html(opened, rule_log=self.rule_log) if opened is not None else ""
        if self.facts.text() != html_text:
            self.facts.setText(html_text)

    def show_opened(self, opened: OpenedMessage) -> None:
        self.bcc = envelope_only(opened) if has_smtp_envelope(opened) else []
        self._opened = opened
        self.rule_log = opened.stored.rule_log
        self._render()
        self.transcript.setPlainText("\n".join(opened.stored.transcript))

    def add_rule_events(self, message_id: int, events: tuple[RuleEvent, ...]) -> None:
        """New rule log lines (``RuleLogAdded``): shown if they are the open message's."""
        if self._opened is None or self._opened.stored.id != message_id or not events:
            return
        self.rule_log = (*self.rule_log, *events)
        self._render()

    def clear(self) -> None:
        self.bcc = []
        self.rule_log = ()
        self._opened = None
        self.facts.clear()
        self.transcript.clear()
