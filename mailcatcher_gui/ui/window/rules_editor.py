"""The Rules editor: the live rules, in order, each as its rules-file block.

Left, the rules in evaluation order: drag one to reorder it (or Alt+Up /
Alt+Down), its check box turns it on or off, Add and Remove. Right, the
selected rule's ``[[rule]]`` TOML block (the rules file's schema, see the
README), checked as you type with the very errors and line numbers
``rules check`` prints, shown under the text. "Test Against Selected
Message" runs ``core.rules.explain_rule`` on the message selected in the
main window and lists each condition with what the message has and whether
it matches. "Show Messages Touched" searches ``rule:NAME`` in the main
window.

While there is no unsaved edit, the editor follows the running rules: a
change of the file (its watcher reloads it), of the HTTP API or of a test's
Python call shows up within a second.

Save (Ctrl+S) writes the rules file (``core.rules.save_rules_file``: the
file the sink watches, or ``rules.toml`` in the config folder) and replaces
the running ``RuleSet`` at once; nothing is applied before Save, and
nothing at all when a rule has an error (the error names the rule). Closing
with unsaved changes asks first.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtGui import (
    QCloseEvent,
    QFontDatabase,
    QHideEvent,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.models import StoredMessage
from ...core.rules import RuleError, RuleSet, explain_rule
from .rules_model import RuleDraft, drafts_from, new_rule_text, rule_query, rules_from, save_drafts

__all__ = ["RulesEditor", "describe_explanation"]

_KeyRole = Qt.ItemDataRole.UserRole + 1
_keys = itertools.count(1)

SelectedMessage = Callable[[], StoredMessage | None]


def describe_explanation(rule_name: str, stored: StoredMessage, draft: RuleDraft) -> str:
    """The test result as text: a summary line, then one line per condition."""
    rule, problems = draft.parse()
    if rule is None:
        return "Fix the rule first: " + "; ".join(problems)
    try:
        result = explain_rule(rule, stored)
    except RuleError as exc:
        return f"Cannot test: {exc}"
    lines = [f"Message #{stored.summary.id}: {result.summary()}."]
    if not result.checks:
        lines.append("The rule has no conditions: it matches every message at its stage.")
    for check in result.checks:
        mark = {True: "✔", False: "✘", None: "?"}[check.matched]
        line = f"{mark} {check.name} = {check.wanted!r}"
        if check.value:
            line += f" — the message has: {check.value}"
        if check.note:
            line += f" ({check.note})"
        lines.append(line)
    return "\n".join(lines)


class RulesEditor(QDialog):
    """See the module docstring."""

    #: the user asked to see the messages a rule touched: the query to search
    searchRequested = Signal(str)
    #: the rules were saved and applied
    saved = Signal()

    def __init__(
        self,
        rules: RuleSet,
        path: Path,
        selected_message: SelectedMessage,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("rulesEditor")
        self.rules = rules
        self.path = path
        self._selected_message = selected_message
        self._drafts: dict[int, RuleDraft] = {}
        self.dirty = False
        self.unsaved_box: QMessageBox | None = None  # the Save/Discard/Cancel question, if open
        self._shown: list[object] = []  # the running rules the list was built from
        self._follow = QTimer(self)
        self._follow.setInterval(1000)
        self._follow.timeout.connect(self.follow_running)

        self.rule_list = QListWidget(self)
        self.rule_list.setObjectName("ruleList")
        self.rule_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.rule_list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.rule_list.setToolTip("Rules run in this order: drag to reorder (or Alt+Up/Down)")
        self.add_button = QPushButton("Add")
        self.remove_button = QPushButton("Remove")
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.rule_list, 1)
        left_layout.addLayout(buttons)

        self.source = QPlainTextEdit(self)
        self.source.setObjectName("ruleSource")
        self.source.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.source.setPlaceholderText("Add a rule, or select one to edit it.")
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.hide()
        self.test_button = QPushButton("Test Against Selected Message")
        self.touched_button = QPushButton("Show Messages Touched")
        self.touched_button.setToolTip("Search the messages this rule acted on (rule:NAME)")
        tests = QHBoxLayout()
        tests.addWidget(self.test_button)
        tests.addWidget(self.touched_button)
        tests.addStretch(1)
        self.test_result = QPlainTextEdit(self)
        self.test_result.setObjectName("ruleTestResult")
        self.test_result.setReadOnly(True)
        self.test_result.setMaximumHeight(150)
        self.test_result.setPlaceholderText(
            "Select a message in the main window, then test the rule against it."
        )
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.source, 1)
        right_layout.addWidget(self.error)
        right_layout.addLayout(tests)
        right_layout.addWidget(self.test_result)

        splitter = QSplitter(self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([300, 560])

        self.where = QLabel(self)
        self.where.setObjectName("hint")
        self.where.setWordWrap(True)
        self.box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Close, self
        )
        self.save_button = self.box.button(QDialogButtonBox.StandardButton.Save)
        self.box.accepted.connect(self.save)
        self.box.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.where)
        layout.addWidget(splitter, 1)
        layout.addWidget(self.box)
        self.resize(920, 600)

        self.add_button.clicked.connect(self.add_rule)
        self.remove_button.clicked.connect(self.remove_rule)
        self.test_button.clicked.connect(self.test_selected)
        self.touched_button.clicked.connect(self.show_touched)
        self.rule_list.currentRowChanged.connect(self._current_changed)
        self.rule_list.itemChanged.connect(self._item_changed)
        self.rule_list.model().rowsMoved.connect(lambda *_: self._set_dirty())
        self.source.textChanged.connect(self._text_changed)
        for keys, step in (("Alt+Up", -1), ("Alt+Down", 1)):
            QShortcut(QKeySequence(keys), self.rule_list, lambda s=step: self.move_current(s))
        QShortcut(QKeySequence.StandardKey.Save, self, self.save)
        self.reload()

    # ---- the list ----------------------------------------------------------------

    def _running(self) -> list[object]:
        return [(s.rule, s.error) for s in self.rules.status()]

    def follow_running(self) -> bool:
        """Show the running rules if they changed and nothing is being edited."""
        if self.dirty or self._running() == self._shown:
            return False
        row = self.rule_list.currentRow()
        self.reload()
        if 0 <= row < self.rule_list.count():
            self.rule_list.setCurrentRow(row)
        return True

    def showEvent(self, event: QShowEvent) -> None:  # noqa: N802 (Qt API)
        self._follow.start()
        super().showEvent(event)

    def hideEvent(self, event: QHideEvent) -> None:  # noqa: N802 (Qt API)
        self._follow.stop()
        super().hideEvent(event)

    def reload(self) -> None:
        """Show the running rules again (drops unsaved edits)."""
        self._shown = self._running()
        with QSignalBlocker(self.rule_list):
            self.rule_list.clear()
            self._drafts.clear()
            for draft in drafts_from(self.rules):
                self._append(draft)
        self.rule_list.setCurrentRow(0 if self.rule_list.count() else -1)
        self._current_changed(self.rule_list.currentRow())
        self._set_dirty(False)

    def _append(self, draft: RuleDraft) -> QListWidgetItem:
        key = next(_keys)
        self._drafts[key] = draft
        item = QListWidgetItem()
        item.setData(_KeyRole, key)
        item.setFlags(
            Qt.ItemFlag.ItemIsEnabled
            | Qt.ItemFlag.ItemIsSelectable
            | Qt.ItemFlag.ItemIsUserCheckable
            | Qt.ItemFlag.ItemIsDragEnabled
        )
        item.setCheckState(Qt.CheckState.Checked if draft.enabled else Qt.CheckState.Unchecked)
        self.rule_list.addItem(item)
        self._refresh_item(item)
        return item

    def drafts(self) -> list[RuleDraft]:
        """The drafts in list order (the order the rules will run in)."""
        return [self._draft(self.rule_list.item(i)) for i in range(self.rule_list.count())]

    def _draft(self, item: QListWidgetItem) -> RuleDraft:
        return self._drafts[int(item.data(_KeyRole))]

    def current_draft(self) -> RuleDraft | None:
        item = self.rule_list.currentItem()
        return self._draft(item) if item is not None else None

    def _refresh_item(self, item: QListWidgetItem) -> None:
        draft = self._draft(item)
        with QSignalBlocker(self.rule_list):
            item.setText(draft.label())
            _rule, problems = draft.parse()
            tip = "\n".join(problems) or (
                f"Disabled while running: {draft.runtime_error}" if draft.runtime_error else ""
            )
            item.setToolTip(tip)

    def add_rule(self) -> None:
        item = self._append(RuleDraft(new_rule_text(self.drafts())))
        self.rule_list.setCurrentItem(item)
        self._set_dirty()
        self.source.setFocus()

    def remove_rule(self) -> None:
        row = self.rule_list.currentRow()
        if row < 0:
            return
        item = self.rule_list.takeItem(row)
        if item is not None:
            self._drafts.pop(int(item.data(_KeyRole)), None)
        self._set_dirty()
        self._current_changed(self.rule_list.currentRow())

    def move_current(self, step: int) -> None:
        row = self.rule_list.currentRow()
        target = row + step
        if row < 0 or not 0 <= target < self.rule_list.count():
            return
        with QSignalBlocker(self.rule_list):
            item = self.rule_list.takeItem(row)
            self.rule_list.insertItem(target, item)
        self.rule_list.setCurrentRow(target)
        self._set_dirty()

    def _item_changed(self, item: QListWidgetItem) -> None:
        draft = self._draft(item)
        enabled = item.checkState() == Qt.CheckState.Checked
        if draft.enabled != enabled:
            draft.enabled = enabled
            self._set_dirty()
            self._refresh_item(item)

    # ---- the text ----------------------------------------------------------------

    def _current_changed(self, _row: int) -> None:
        draft = self.current_draft()
        with QSignalBlocker(self.source):
            self.source.setPlainText(draft.text if draft is not None else "")
        self.source.setReadOnly(draft is None or draft.fixed is not None)
        for button in (self.remove_button, self.test_button, self.touched_button):
            button.setEnabled(draft is not None)
        self.test_result.clear()
        self._show_problems(draft)

    def _text_changed(self) -> None:
        item = self.rule_list.currentItem()
        if item is None:
            return
        draft = self._draft(item)
        draft.text = self.source.toPlainText()
        self._refresh_item(item)
        self._show_problems(draft)
        self._set_dirty()

    def _show_problems(self, draft: RuleDraft | None) -> None:
        problems = draft.parse()[1] if draft is not None else []
        if draft is not None and not problems and draft.runtime_error:
            problems = [f"The running sink disabled this rule: {draft.runtime_error}"]
        self.show_error("\n".join(problems) or None)

    def show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    # ---- test, touched -------------------------------------------------------------

    def test_selected(self) -> str:
        """Test the current rule against the main window's selected message."""
        draft = self.current_draft()
        stored = self._selected_message()
        if draft is None:
            text = "Select a rule first."
        elif stored is None:
            text = "Select a message in the main window first."
        else:
            text = describe_explanation(draft.name, stored, draft)
        self.test_result.setPlainText(text)
        return text

    def show_touched(self) -> None:
        draft = self.current_draft()
        if draft is not None:
            self.searchRequested.emit(rule_query(draft.name))

    # ---- saving ----------------------------------------------------------------------

    def _set_dirty(self, dirty: bool = True) -> None:
        self.dirty = dirty
        self.save_button.setEnabled(dirty)
        state = "" if not self.rules.suspended else " Faults are OFF: SMTP rules do not run."
        self.where.setText(f"Rules file: {self.path}.{state}")
        self.setWindowTitle("Rules" + (" *" if dirty else ""))

    def save(self) -> bool:
        """Write the file and apply the rules; False (with the error shown) if not."""
        drafts = self.drafts()
        _rules, problems = rules_from(drafts)
        if problems:
            index, message = problems[0]
            self.rule_list.setCurrentRow(index)
            self.show_error(f"Not saved: rule {index + 1}: {message}")
            return False
        try:
            save_drafts(drafts, self.rules, self.path)
        except (RuleError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.show_error(f"Not saved: {reason}")
            return False
        for draft in drafts:
            draft.runtime_error = None
        self._shown = self._running()
        self.show_error(None)
        self._set_dirty(False)
        self.saved.emit()
        return True

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt API)
        """Unsaved changes: ask Save / Discard / Cancel without a nested event loop
        (the sink runs on this loop); the answer closes the editor or not."""
        if not self.dirty:
            super().closeEvent(event)
            return
        event.ignore()
        if self.unsaved_box is not None:
            self.unsaved_box.raise_()
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Unsaved rules",
            "Save the changed rules before closing?",
            QMessageBox.StandardButton.Save
            | QMessageBox.StandardButton.Discard
            | QMessageBox.StandardButton.Cancel,
            self,
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.finished.connect(lambda _r: self._unsaved_answer(box.clickedButton(), box))
        self.unsaved_box = box
        box.open()

    def _unsaved_answer(self, button: object, box: QMessageBox) -> None:
        self.unsaved_box = None
        answer = box.standardButton(button) if isinstance(button, QAbstractButton) else None
        if answer == QMessageBox.StandardButton.Save and not self.save():
            return
        if answer == QMessageBox.StandardButton.Discard:
            self.reload()
        if answer in (QMessageBox.StandardButton.Save, QMessageBox.StandardButton.Discard):
            self.close()
