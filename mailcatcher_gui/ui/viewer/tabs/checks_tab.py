"""The Checks tab: one row per check family, expandable to its findings.

A family row shows a coloured dot for its verdict (the theme's tones: green
passed, blue for information, amber for warnings, red for errors, grey for
checks not run) and its one-line summary. Its children are the findings:
what was found, where (an element, a CSS property, a header, a URL) and the
line of the raw message. Selecting a finding shows its explanation and what
to do about it below; clicking its line (or activating the row: a
double-click or Enter, or the "Go to line" link) asks the viewer to show
that line in the Source tab.

The tab only displays: running the checks is ``ui.viewer.checks_jobs``'
job, and the buttons ("Check links", "Check spam score") emit signals.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QPoint, QRectF, Qt, QUrl, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ....core.checks.model import FAMILIES, ChecksReport, FamilyResult, Finding, Severity
from ...theme import Tones, css, follow_palette, tones

COLUMNS = ("Check", "Where", "Line")
_CHECK, _WHERE, _LINE = 0, 1, 2
_FINDING_ROLE = Qt.ItemDataRole.UserRole
#: findings listed per family; the rest are counted in one last row (a
#: hostile 2 MB message can yield thousands, and the tree is built on the GUI thread)
MAX_FINDINGS_SHOWN = 200

_VERDICT_WORDS = {
    Severity.OK: "passed",
    Severity.INFO: "information",
    Severity.WARNING: "warning",
    Severity.ERROR: "error",
    Severity.SKIPPED: "not run",
}


def severity_colour(severity: Severity, t: Tones) -> QColor:
    """The theme tone a verdict is painted in."""
    return {
        Severity.OK: t.success,
        Severity.INFO: t.info,
        Severity.WARNING: t.warning,
        Severity.ERROR: t.danger,
        Severity.SKIPPED: t.secondary,
    }[severity]


def dot_icon(colour: QColor, size: int = 12) -> QIcon:
    """A filled circle: the verdict's dot."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    try:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    finally:
        painter.end()
    return QIcon(pixmap)


def worst_verdict(report: ChecksReport) -> Severity | None:
    """The worst verdict of the families that ran (None: none ran)."""
    ran = [f.verdict for f in report.families if f.verdict is not Severity.SKIPPED]
    return max(ran, key=lambda s: s.rank) if ran else None


def finding_html(finding: Finding, t: Tones) -> str:
    """The detail pane's text for one finding (escaped: findings quote the message)."""

    def esc(text: str) -> str:
        return html.escape(text, quote=False)

    colour = css(severity_colour(finding.severity, t))
    parts = [
        f'<p><b style="color: {colour}">{esc(_VERDICT_WORDS[finding.severity].capitalize())}:'
        f"</b> <b>{esc(finding.title)}</b></p>"
    ]
    facts = []
    if finding.where:
        facts.append(f"<b>Where:</b> <code>{esc(finding.where)}</code>")
    if finding.line is not None:
        facts.append(f'<b>Line:</b> <a href="line:{finding.line}">Go to line {finding.line}</a>')
    if facts:
        parts.append("<p>" + " &nbsp; ".join(facts) + "</p>")
    if finding.detail:
        parts.append(f"<p>{esc(finding.detail)}</p>")
    if finding.advice:
        parts.append(f"<p><b>What to do:</b> {esc(finding.advice)}</p>")
    return "".join(parts)


def family_line(result: FamilyResult) -> str:
    """A family's row: its label and its one-line summary."""
    return f"{result.label} — {result.summary}" if result.summary else result.label


def family_html(result: FamilyResult, t: Tones) -> str:
    colour = css(severity_colour(result.verdict, t))
    esc = html.escape
    counts: dict[Severity, int] = {}
    for f in result.findings:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    plural = (Severity.WARNING, Severity.ERROR)
    listed = ", ".join(
        f"{n} {_VERDICT_WORDS[s]}{'s' if n != 1 and s in plural else ''}"
        for s, n in sorted(counts.items(), key=lambda kv: -kv[0].rank)
    )
    return f'<p><b style="color: {colour}">{esc(result.label)}</b> — {esc(result.summary)}</p>' + (
        f"<p>{esc(listed)}</p>" if listed else ""
    )


def _children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    kids = (item.child(i) for i in range(item.childCount()))
    return [kid for kid in kids if kid is not None]


class ChecksTab(QWidget):
    """See the module docstring."""

    #: show this 1-based line of the raw message (in the Source tab)
    jumpToLine = Signal(int)
    #: the user asked for a networked family: "links" or "spam"
    checkRequested = Signal(str)
    #: the dot of the report's worst verdict (a QIcon; empty: no report), for the tab bar
    verdictChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._report: ChecksReport | None = None
        self._running: set[str] = set()
        self._elapsed_s: float | None = None

        self.status = QLabel(self)
        self.status.setObjectName("checksStatus")
        self.status.setWordWrap(True)
        self.links_button = QPushButton("Check links", self)
        self.links_button.setToolTip(
            "Request every link and image of this message (HEAD, then GET) and report failures"
        )
        self.links_button.clicked.connect(lambda: self.checkRequested.emit("links"))
        self.spam_button = QPushButton("Check spam score", self)
        self.spam_button.setToolTip("Ask SpamAssassin (spamd, see Settings) to score this message")
        self.spam_button.clicked.connect(lambda: self.checkRequested.emit("spam"))

        self.tree = QTreeWidget(self)
        self.tree.setObjectName("checksTree")
        self.tree.setColumnCount(len(COLUMNS))
        self.tree.setHeaderLabels(list(COLUMNS))
        self.tree.setUniformRowHeights(True)
        self.tree.setIndentation(16)
        self.tree.setRootIsDecorated(True)
        header = self.tree.header()
        header.setStretchLastSection(False)
        # What was found and where share the width; the line number fits.
        header.setSectionResizeMode(_CHECK, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_WHERE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(_LINE, QHeaderView.ResizeMode.ResizeToContents)
        self.tree.currentItemChanged.connect(lambda *_: self._show_detail())
        self.tree.itemClicked.connect(self._clicked)
        # Double-click, or Enter on the keyboard
        self.tree.itemActivated.connect(lambda item, _col: self._jump(item))

        self.detail = QTextBrowser(self)
        self.detail.setObjectName("checksDetail")
        self.detail.setOpenLinks(False)
        self.detail.setOpenExternalLinks(False)
        self.detail.anchorClicked.connect(self._anchor)
        self.detail.setPlaceholderText("Select a finding to see what it means and what to do.")

        bar = QHBoxLayout()
        bar.setContentsMargins(8, 4, 8, 4)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.links_button)
        bar.addWidget(self.spam_button)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.tree)
        splitter.addWidget(self.detail)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)
        # Dots and the detail text carry theme colours: repaint on a switch.
        follow_palette(self.tree, lambda _w: self._repaint_colours())
        self.clear()

    # ---- what the viewer tells it -----------------------------------------------------

    @property
    def report(self) -> ChecksReport | None:
        return self._report

    def show_pending(self) -> None:
        """A message is open and its checks are running."""
        self._report = None
        self.tree.clear()
        self.detail.clear()
        self.verdictChanged.emit(QIcon())
        self.set_running({"local"})

    def show_report(self, report: ChecksReport, running: set[str], elapsed_s: float | None) -> None:
        """Show ``report`` (keeping the selection and what was expanded)."""
        selected = self._selected_key()
        expanded = {top.data(_CHECK, _FINDING_ROLE) for top in self._families() if top.isExpanded()}
        self._report = report
        self._fill(report, expanded)
        self._select(selected)
        self._elapsed_s = elapsed_s
        self.set_running(running)

    def show_error(self, family: str, message: str) -> None:
        what = "The checks" if family == "local" else FAMILIES.get(family, family)
        self._running.discard(family)
        self._update_buttons()
        self.status.setText(f"{what} failed: {message}")

    def set_running(self, running: set[str]) -> None:
        self._running = set(running)
        self._update_buttons()
        self._update_status()

    def clear(self) -> None:
        self._report = None
        self._running = set()
        self._elapsed_s = None
        self.tree.clear()
        self.detail.clear()
        self.status.setText("No message")
        self.verdictChanged.emit(QIcon())
        self._update_buttons()

    # ---- what the user does --------------------------------------------------------

    def family_item(self, family: str) -> QTreeWidgetItem | None:
        for item in self._families():
            if item.data(_CHECK, _FINDING_ROLE) == family:
                return item
        return None

    def finding_items(self) -> list[QTreeWidgetItem]:
        """Every finding row, in order."""
        return [
            child
            for top in self._families()
            for child in _children(top)
            if isinstance(child.data(_CHECK, _FINDING_ROLE), Finding)
        ]

    def _families(self) -> list[QTreeWidgetItem]:
        tree = self.tree
        items = (tree.topLevelItem(i) for i in range(tree.topLevelItemCount()))
        return [item for item in items if item is not None]

    def line_cell_center(self, item: QTreeWidgetItem) -> QPoint:
        """Where a click on ``item``'s Line cell lands (viewport coordinates)."""
        self.tree.scrollToItem(item)
        x = self.tree.header().sectionViewportPosition(_LINE) + self.tree.columnWidth(_LINE) // 2
        return QPoint(x, self.tree.visualItemRect(item).center().y())

    def _clicked(self, item: QTreeWidgetItem, column: int) -> None:
        if column == _LINE:
            self._jump(item)

    def _jump(self, item: QTreeWidgetItem) -> None:
        finding = item.data(_CHECK, _FINDING_ROLE)
        if isinstance(finding, Finding) and finding.line is not None:
            self.jumpToLine.emit(finding.line)

    def _anchor(self, url: QUrl) -> None:
        text = url.toString()
        if text.startswith("line:") and text[5:].isdigit():
            self.jumpToLine.emit(int(text[5:]))

    # ---- building ----------------------------------------------------------------------

    def _fill(self, report: ChecksReport, expanded: set[object]) -> None:
        t = tones()
        self.tree.setUpdatesEnabled(False)
        try:
            self.tree.clear()
            for result in report.families:
                # One line across the columns: the summary needs the room.
                top = QTreeWidgetItem(self.tree, [family_line(result), "", ""])
                top.setFirstColumnSpanned(True)
                top.setData(_CHECK, _FINDING_ROLE, result.family)
                top.setIcon(_CHECK, dot_icon(severity_colour(result.verdict, t)))
                top.setToolTip(
                    _CHECK,
                    f"{result.label} ({_VERDICT_WORDS[result.verdict]}): {result.summary}",
                )
                font = top.font(_CHECK)
                font.setBold(True)
                top.setFont(_CHECK, font)
                for finding in result.findings[:MAX_FINDINGS_SHOWN]:
                    self._add_finding(top, finding, t)
                hidden = len(result.findings) - MAX_FINDINGS_SHOWN
                if hidden > 0:
                    more = QTreeWidgetItem(top, [f"… and {hidden:,} more findings", "", ""])
                    more.setDisabled(True)
                top.setExpanded(result.family in expanded)
        finally:
            self.tree.setUpdatesEnabled(True)
        verdict = worst_verdict(report)
        self.verdictChanged.emit(
            QIcon() if verdict is None else dot_icon(severity_colour(verdict, t))
        )

    def _add_finding(self, parent: QTreeWidgetItem, finding: Finding, t: Tones) -> None:
        line = "" if finding.line is None else str(finding.line)
        item = QTreeWidgetItem(parent, [finding.title, finding.where, line])
        item.setData(_CHECK, _FINDING_ROLE, finding)
        item.setIcon(_CHECK, dot_icon(severity_colour(finding.severity, t), 10))
        tip = finding.title + (f"\n\nWhat to do: {finding.advice}" if finding.advice else "")
        item.setToolTip(_CHECK, tip)
        item.setToolTip(_WHERE, finding.where)
        if finding.line is not None:
            item.setToolTip(_LINE, f"Show line {finding.line} in the Source tab")
            item.setTextAlignment(
                _LINE, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
            )
            font = item.font(_LINE)
            font.setUnderline(True)
            item.setFont(_LINE, font)
            item.setForeground(_LINE, self.palette().link())

    def _selected_key(self) -> tuple[str, str, str, int | None] | str | None:
        item = self.tree.currentItem()
        if item is None:
            return None
        data = item.data(_CHECK, _FINDING_ROLE)
        if isinstance(data, Finding):
            return (data.family, data.code, data.where, data.line)
        return data if isinstance(data, str) else None

    def _select(self, key: tuple[str, str, str, int | None] | str | None) -> None:
        if key is None:
            self.detail.clear()
            return
        for top in self._families():
            if top.data(_CHECK, _FINDING_ROLE) == key:
                self.tree.setCurrentItem(top)
                return
            for child in _children(top):
                f = child.data(_CHECK, _FINDING_ROLE)
                if isinstance(f, Finding) and (f.family, f.code, f.where, f.line) == key:
                    self.tree.setCurrentItem(child)
                    return
        self.detail.clear()

    def _show_detail(self) -> None:
        item = self.tree.currentItem()
        data = None if item is None else item.data(_CHECK, _FINDING_ROLE)
        t = tones()
        if isinstance(data, Finding):
            self.detail.setHtml(finding_html(data, t))
        elif isinstance(data, str) and self._report is not None:
            result = self._report.family(data)
            self.detail.setHtml(family_html(result, t) if result is not None else "")
        else:
            self.detail.clear()

    def _repaint_colours(self) -> None:
        if self._report is None:
            return
        selected = self._selected_key()
        expanded = {top.data(_CHECK, _FINDING_ROLE) for top in self._families() if top.isExpanded()}
        self._fill(self._report, expanded)
        self._select(selected)

    def _update_buttons(self) -> None:
        has = self._report is not None or bool(self._running)
        self.links_button.setEnabled(has and "links" not in self._running)
        self.spam_button.setEnabled(has and "spam" not in self._running)
        self.links_button.setText("Checking links…" if "links" in self._running else "Check links")
        self.spam_button.setText(
            "Checking spam score…" if "spam" in self._running else "Check spam score"
        )

    def _update_status(self) -> None:
        report = self._report
        if "local" in self._running:
            self.status.setText("Running the checks…")
            return
        if report is None:
            self.status.setText("No message")
            return
        problems = sum(
            1
            for f in report.families
            for x in f.findings
            if x.severity.rank >= Severity.WARNING.rank
        )
        text = f"{problems} problem{'s' if problems != 1 else ''} found"
        if self._elapsed_s is not None:
            text += f" in {self._elapsed_s * 1000:.0f} ms"
        waiting = [FAMILIES[f].lower() for f in ("links", "spam") if f in self._running]
        if waiting:
            text += " · checking " + " and ".join(waiting) + "…"
        self.status.setText(text)
