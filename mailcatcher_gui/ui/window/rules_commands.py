"""The main window's rules commands: Rules… (the editor), the "Faults on/off"
toggle, and "Messages Touched by Rule" in the list's context menu.

The window owns no core state: the composition root hands in the running
``RuleSet`` and the rules file's path (``attach``; again after every sink
restart) and hears about a save (``saved``). Until then the commands are
disabled (a window over a remote catcher has no local rules).

"Faults off" is ``RuleSet.suspend``: every SMTP-stage rule stops at once
(the rules stay, with their counters) while after-capture actions go on; the
toggle's state is kept across sink restarts by re-applying it in ``attach``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMenuBar, QToolBar, QWidget

from ...core.mailbox_protocol import MailboxProtocol
from ...core.models import StoredMessage
from ...core.rules import RuleSet
from ..theme import tinted_icon
from .rules_editor import RulesEditor
from .rules_model import rule_query

__all__ = ["RulesCommands"]


class RulesCommands(QObject):
    """See the module docstring."""

    #: a query to search in the window (``rule:NAME``)
    searchRequested = Signal(str)
    #: the editor saved the rules to this file (the app keeps loading it)
    saved = Signal(object)

    def __init__(
        self,
        window: QWidget,
        mailbox: MailboxProtocol,
        selected_id: Callable[[], int | None],
    ) -> None:
        super().__init__(window)
        self._window = window
        self._mailbox = mailbox
        self._selected_id = selected_id
        self.rules: RuleSet | None = None
        self.path: Path | None = None
        self.editor: RulesEditor | None = None
        self.act_rules = QAction("&Rules…", window)
        self.act_rules.setShortcut("Ctrl+Shift+U")
        self.act_rules.setToolTip("Edit the fault-injection rules (Ctrl+Shift+U)")
        self.act_rules.triggered.connect(self.open_editor)
        self.act_faults = QAction("Faults on", window)
        self.act_faults.setObjectName("faultsToggle")
        self.act_faults.setCheckable(True)
        self.act_faults.setChecked(True)
        self.act_faults.toggled.connect(self.set_faults)
        for action in (self.act_rules, self.act_faults):
            action.setEnabled(False)
            window.addAction(action)
        self._show_faults()

    def install(self, menubar: QMenuBar, toolbar: QToolBar, before: QAction) -> None:
        """A Rules menu before the last menu (Help) and the toggle before ``before``."""
        menu = QMenu("R&ules", menubar)
        menu.addAction(self.act_rules)
        menu.addAction(self.act_faults)
        menus = menubar.actions()
        if menus:
            menubar.insertMenu(menus[-1], menu)
        else:
            menubar.addMenu(menu)
        toolbar.insertAction(before, self.act_faults)

    # ---- told by the app ---------------------------------------------------------------

    def attach(self, rules: RuleSet | None, path: Path | None) -> None:
        """The running rules and their file (None: no local sink)."""
        self.rules = rules
        self.path = path
        on = rules is not None and path is not None
        self.act_rules.setEnabled(on)
        self.act_faults.setEnabled(rules is not None)
        if rules is not None:
            rules.suspend(not self.act_faults.isChecked())
        if self.editor is not None and rules is not None and path is not None:
            self.editor.rules, self.editor.path = rules, path
            if not self.editor.dirty:
                self.editor.reload()

    # ---- faults on/off -----------------------------------------------------------------

    @property
    def faults_on(self) -> bool:
        return self.act_faults.isChecked()

    def set_faults(self, on: bool) -> None:
        if self.act_faults.isChecked() != on:
            self.act_faults.setChecked(on)  # comes back here through toggled
            return
        if self.rules is not None:
            self.rules.suspend(not on)
        self._show_faults()
        if self.editor is not None:
            self.editor._set_dirty(self.editor.dirty)  # the header says whether faults run

    def _show_faults(self) -> None:
        on = self.act_faults.isChecked()
        self.act_faults.setText("Faults on" if on else "Faults off")
        self.act_faults.setIcon(tinted_icon("faults" if on else "faults-off"))
        self.act_faults.setToolTip(
            "Rules answer, delay and drop as written; click to suspend every SMTP rule at once"
            if on
            else "Every SMTP rule is suspended (tagging and other after-capture actions go on); "
            "click to turn faults back on"
        )

    # ---- the editor --------------------------------------------------------------------

    def open_editor(self) -> RulesEditor | None:
        if self.rules is None or self.path is None:
            return None
        if self.editor is None:
            editor = RulesEditor(self.rules, self.path, self.selected_message, self._window)
            editor.setWindowFlag(Qt.WindowType.Window, True)
            editor.searchRequested.connect(self.searchRequested.emit)
            editor.saved.connect(lambda: self.saved.emit(editor.path))
            self.editor = editor
        elif not self.editor.dirty:
            self.editor.reload()
        self.editor.show()
        self.editor.raise_()
        self.editor.activateWindow()
        return self.editor

    def selected_message(self) -> StoredMessage | None:
        message_id = self._selected_id()
        if message_id is None:
            return None
        try:
            return self._mailbox.get_stored(message_id)
        except Exception:  # noqa: BLE001 - deleted meanwhile, or a remote that failed
            return None

    # ---- the context menu --------------------------------------------------------------

    def touched_menu(self, parent: QMenu, message_id: int | None) -> QMenu | None:
        """ "Messages Touched by Rule ▸": the rules in the message's rule log (else
        every rule), each searching ``rule:NAME``; None when there is none."""
        names: list[str] = []
        if message_id is not None:
            try:
                names = [e.rule for e in self._mailbox.rule_log(message_id)]
            except Exception:  # noqa: BLE001 - the menu must open anyway
                names = []
        if not names and self.rules is not None:
            names = [s.rule.name for s in self.rules.status()]
        names = list(dict.fromkeys(n for n in names if n))
        if not names:
            return None
        menu = QMenu("Messages Touched by Rule", parent)
        for name in names:
            query = rule_query(name)
            action = menu.addAction(name)
            action.setToolTip(f"Search: {query}")
            action.triggered.connect(lambda _=False, q=query: self.searchRequested.emit(q))
        return menu
