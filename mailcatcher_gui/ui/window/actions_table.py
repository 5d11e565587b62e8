"""The main window's actions as one declarative table, plus menus and toolbar.

Every command the window offers is one ``ActionSpec`` row: its text, its
shortcuts, the window method it calls and *when it is enabled*. Menus, the
toolbar and the list's context menu are lists of action names. Adding a
command is one row; reviewing the shortcuts is reading one table (a key bound
twice to one action is what made Ctrl+Q ambiguous, see ``key_sequences``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import QMenu, QMenuBar, QSizePolicy, QToolBar, QWidget

from ..theme import tinted_icon

Key = QKeySequence.StandardKey | str


class When(Enum):
    """When an action is enabled (see ``ActionState``)."""

    ALWAYS = "always"
    SELECTION = "selection"  # some rows selected, or a message on screen
    OPEN = "open"  # a stored message on screen
    ONE_MESSAGE = "one"  # compose plugged in and one message to act on
    RELEASE = "release"  # compose plugged in and a selection
    COMPOSE = "compose"  # compose plugged in
    MESSAGES = "messages"  # the mailbox is not empty


@dataclass(frozen=True)
class ActionState:
    """What the enabled-when rules look at."""

    has_selection: bool = False
    has_open: bool = False
    has_current: bool = False
    composing: bool = False
    total: int = 0

    def allows(self, when: When) -> bool:
        if when is When.SELECTION:
            return self.has_selection
        if when is When.OPEN:
            return self.has_open
        if when is When.ONE_MESSAGE:
            return self.composing and (self.has_open or self.has_current)
        if when is When.RELEASE:
            return self.composing and self.has_selection
        if when is When.COMPOSE:
            return self.composing
        if when is When.MESSAGES:
            return self.total > 0
        return True


@dataclass(frozen=True)
class ActionSpec:
    """One command of the window."""

    name: str  # the window attribute is ``act_<name>``
    text: str
    slot: str  # a method of the window, or of one of its parts ("files.import…")
    args: tuple[Any, ...] = ()
    keys: tuple[Key, ...] = ()
    #: single-key shortcuts that only work while the message list has focus
    list_keys: tuple[str | QKeySequence.StandardKey, ...] = ()
    icon: str | None = None
    icon_text: str = ""
    tip: str = ""
    when: When = When.ALWAYS
    checkable: bool = False
    role: QAction.MenuRole | None = None


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec(
        "open_file",
        "&Open .eml File…",
        "open_file_interactive",
        keys=(QKeySequence.StandardKey.Open,),
        tip="Show a message file without storing it",
    ),
    ActionSpec(
        "import",
        "&Import Files…",
        "files.import_files_interactive",
        keys=("Ctrl+I",),
        icon="import",
        icon_text="Import",
        tip="Store messages from .eml files or mbox files",
    ),
    ActionSpec(
        "import_folder",
        "Import &Folder…",
        "files.import_folder_interactive",
        keys=("Ctrl+Shift+I",),
        tip="Store the messages of a Maildir or of a folder of .eml files",
    ),
    ActionSpec(
        "save_eml",
        "&Save Message As…",
        "save_eml_interactive",
        keys=(QKeySequence.StandardKey.Save,),
        tip="Save the open message as an .eml file (exact bytes)",
        when=When.OPEN,
    ),
    ActionSpec(
        "export_mbox",
        "Export Selection as &mbox…",
        "export_interactive",
        args=("mbox",),
        keys=("Ctrl+E",),
        icon="export",
        icon_text="Export",
        tip="Write the selected messages to one mbox file",
        when=When.SELECTION,
    ),
    ActionSpec(
        "export_folder",
        "Export Selection to &Folder…",
        "export_interactive",
        args=("folder",),
        keys=("Ctrl+Shift+E",),
        tip="Write the selected messages as .eml files into a folder",
        when=When.SELECTION,
    ),
    ActionSpec(
        "compose",
        "&New Message…",
        "compose_commands.new",
        keys=(QKeySequence.StandardKey.New,),
        icon="compose",
        icon_text="Compose",
        tip="Compose and send a test message (Ctrl+N)",
        when=When.COMPOSE,
    ),
    ActionSpec(
        "reply",
        "&Reply",
        "compose_from_current",
        args=("reply",),
        keys=("Ctrl+R",),
        icon="reply",
        icon_text="Reply",
        tip="Reply to the message (Ctrl+R)",
        when=When.ONE_MESSAGE,
    ),
    ActionSpec(
        "reply_all",
        "Reply to &All",
        "compose_from_current",
        args=("reply_all",),
        keys=("Ctrl+Shift+R",),
        tip="Reply to the sender and every recipient (Ctrl+Shift+R)",
        when=When.ONE_MESSAGE,
    ),
    ActionSpec(
        "forward",
        "&Forward",
        "compose_from_current",
        args=("forward",),
        keys=("Ctrl+L",),
        icon="forward",
        icon_text="Forward",
        tip="Forward the message with its attachments (Ctrl+L)",
        when=When.ONE_MESSAGE,
    ),
    ActionSpec(
        "edit_as_new",
        "Edit as &New…",
        "compose_from_current",
        args=("edit_as_new",),
        tip="Open the message in the editor to change and send it again",
        when=When.ONE_MESSAGE,
    ),
    ActionSpec(
        "release",
        "Re&lease To…",
        "release_selected",
        tip="Send the selected messages unchanged to a relay or other recipients",
        when=When.RELEASE,
    ),
    ActionSpec(
        "settings",
        "Se&ttings…",
        "open_settings",
        keys=(QKeySequence.StandardKey.Preferences, "Ctrl+,"),
        icon="settings",
        icon_text="Settings",
    ),
    ActionSpec(
        "quit",
        "&Quit",
        "request_quit",
        keys=(QKeySequence.StandardKey.Quit, "Ctrl+Q"),
        role=QAction.MenuRole.QuitRole,
    ),
    ActionSpec(
        "copy_sender",
        "Copy &Sender",
        "messages.copy_sender",
        keys=("Ctrl+Shift+C",),
        when=When.OPEN,
    ),
    ActionSpec(
        "copy_subject",
        "Copy Su&bject",
        "messages.copy_subject",
        keys=("Ctrl+Alt+C",),
        when=When.OPEN,
    ),
    ActionSpec("find", "&Find…", "focus_search", keys=(QKeySequence.StandardKey.Find, "/")),
    ActionSpec(
        "mark_read",
        "Mark as &Read",
        "messages.mark_selected",
        args=(True,),
        list_keys=("Shift+I",),
        icon="mark-read",
        icon_text="Read",
        tip="Mark as read (Shift+I)",
        when=When.SELECTION,
    ),
    ActionSpec(
        "mark_unread",
        "Mark as &Unread",
        "messages.mark_selected",
        args=(False,),
        list_keys=("Shift+U",),
        icon="mark-unread",
        icon_text="Unread",
        tip="Mark as unread (Shift+U)",
        when=When.SELECTION,
    ),
    ActionSpec(
        "add_tag",
        "Add &Tag…",
        "tags.add_tag_interactive",
        list_keys=("T",),
        tip="Tag the selected messages (T)",
        when=When.SELECTION,
    ),
    ActionSpec(
        "delete",
        "&Delete",
        "messages.delete_selected",
        list_keys=(QKeySequence.StandardKey.Delete,),
        icon="delete",
        icon_text="Delete",
        tip="Delete the selected messages (Del)",
        when=When.SELECTION,
    ),
    ActionSpec(
        "clear",
        "Delete &All Messages…",
        "messages.clear_all_interactive",
        keys=("Ctrl+Shift+Del",),
        icon="clear",
        icon_text="Clear",
        tip="Delete every stored message",
        when=When.MESSAGES,
    ),
    ActionSpec("refresh", "&Refresh", "refresh", keys=(QKeySequence.StandardKey.Refresh,)),
    ActionSpec(
        "show_sidebar",
        "Show &Sidebar",
        "set_sidebar_visible",
        keys=("Ctrl+Shift+B",),
        checkable=True,
    ),
    ActionSpec(
        "view_below",
        "Message &Below the List",
        "set_view_below",
        keys=("Ctrl+Shift+L",),
        checkable=True,
    ),
    ActionSpec("search_help", "Search &Syntax", "help.search_syntax"),
    ActionSpec("about", "&About mailcatcher-gui", "help.about", role=QAction.MenuRole.AboutRole),
)

SPECS: dict[str, ActionSpec] = {spec.name: spec for spec in ACTIONS}

#: menu title -> action names (None = separator)
MENUS: tuple[tuple[str, tuple[str | None, ...]], ...] = (
    (
        "&File",
        (
            "open_file",
            "import",
            "import_folder",
            None,
            "save_eml",
            "export_mbox",
            "export_folder",
            None,
            "compose",
            None,
            "settings",
            None,
            "quit",
        ),
    ),
    ("&Edit", ("copy_sender", "copy_subject", None, "find")),
    (
        "&Message",
        (
            "compose",
            None,
            "reply",
            "reply_all",
            "forward",
            "edit_as_new",
            "release",
            None,
            "mark_read",
            "mark_unread",
            "add_tag",
            None,
            "delete",
            "clear",
        ),
    ),
    ("&View", ("show_sidebar", "view_below", None, "refresh")),
    ("&Help", ("search_help", "about")),
)

TOOLBAR_LEFT: tuple[str | None, ...] = (
    "compose",
    "reply",
    "forward",
    None,
    "delete",
    "mark_read",
    "mark_unread",
    None,
    "import",
    "export_mbox",
    None,
    "clear",
)
TOOLBAR_RIGHT: tuple[str | None, ...] = (None, "settings")

CONTEXT_COMPOSE: tuple[str | None, ...] = (
    "reply",
    "reply_all",
    "forward",
    "edit_as_new",
    "release",
    None,
)
CONTEXT: tuple[str | None, ...] = (
    "mark_read",
    "mark_unread",
    None,
    "copy_sender",
    "copy_subject",
    None,
    "save_eml",
    "export_mbox",
    "export_folder",
    None,
    "delete",
)


class _ListPane(Protocol):
    def shortcut_for(self, action: QAction, keys: QKeySequence | str) -> None: ...


def key_sequences(keys: Iterable[Key]) -> list[QKeySequence]:
    """The non-empty, distinct key sequences of ``keys``.

    A standard key may be empty on a platform or equal to an extra key given
    for it (``StandardKey.Quit`` *is* Ctrl+Q on Linux): binding the same
    sequence twice to one action makes Qt call it ambiguous and do nothing.
    """
    seen: set[str] = set()
    out: list[QKeySequence] = []
    for key in keys:
        if isinstance(key, QKeySequence.StandardKey):
            candidates = QKeySequence.keyBindings(key)
        else:
            candidates = [QKeySequence(key)]
        for seq in candidates:
            text = seq.toString(QKeySequence.SequenceFormat.PortableText)
            if text and text not in seen:
                seen.add(text)
                out.append(seq)
    return out


def build_actions(
    owner: QWidget, target: object, list_pane: _ListPane, specs: Sequence[ActionSpec] = ACTIONS
) -> dict[str, QAction]:
    """One ``QAction`` per spec, parented to ``owner``, calling ``target``'s slots."""
    actions: dict[str, QAction] = {}
    for spec in specs:
        action = QAction(spec.text, owner)
        slot = _resolve(target, spec.slot)
        if spec.checkable:
            action.setCheckable(True)
            action.toggled.connect(lambda on, s=slot: s(on))
        else:
            action.triggered.connect(lambda _checked=False, s=slot, a=spec.args: s(*a))
        shortcuts = key_sequences(spec.keys)
        if shortcuts:
            action.setShortcuts(shortcuts)
        if spec.icon:
            action.setIcon(tinted_icon(spec.icon))
        if spec.icon_text:
            action.setIconText(spec.icon_text)
        if spec.tip:
            action.setToolTip(spec.tip)
            action.setStatusTip(spec.tip)
        if spec.role is not None:
            action.setMenuRole(spec.role)
        owner.addAction(action)
        for key in spec.list_keys:
            # Single-key shortcuts only while the list has focus (not while typing a search).
            list_pane.shortcut_for(action, QKeySequence(key))
        actions[spec.name] = action
    return actions


def _resolve(target: object, path: str) -> Callable[..., object]:
    obj = target
    for part in path.split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"action slot {path!r} is not callable")
    return obj


def update_enabled(actions: dict[str, QAction], state: ActionState) -> None:
    """Enable each action according to its spec's ``when``."""
    for name, action in actions.items():
        spec = SPECS.get(name)
        if spec is not None and spec.when is not When.ALWAYS:
            action.setEnabled(state.allows(spec.when))


def refresh_icons(actions: dict[str, QAction], palette: QPalette) -> None:
    """Re-tint the icons for ``palette`` (a theme switch)."""
    for name, action in actions.items():
        spec = SPECS.get(name)
        if spec is not None and spec.icon:
            action.setIcon(tinted_icon(spec.icon, palette))


def fill_menu(menu: QMenu, actions: dict[str, QAction], names: Iterable[str | None]) -> None:
    for name in names:
        if name is None:
            menu.addSeparator()
        else:
            menu.addAction(actions[name])


def build_menus(menubar: QMenuBar, actions: dict[str, QAction]) -> None:
    for title, names in MENUS:
        fill_menu(menubar.addMenu(title), actions, names)


def build_toolbar(owner: QWidget, actions: dict[str, QAction], search: QWidget) -> QToolBar:
    """The toolbar: commands on the left, the search field and Settings on the right."""
    tb = QToolBar("Main", owner)
    tb.setObjectName("mainToolBar")
    tb.setMovable(False)
    tb.setFloatable(False)
    tb.setIconSize(QSize(18, 18))
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
    for name in TOOLBAR_LEFT:
        tb.addSeparator() if name is None else tb.addAction(actions[name])
    spacer = QWidget(tb)
    spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
    tb.addWidget(spacer)
    tb.addWidget(search)
    for name in TOOLBAR_RIGHT:
        tb.addSeparator() if name is None else tb.addAction(actions[name])
    return tb


def context_names(composing: bool) -> list[str | None]:
    """The list's context menu (None = separator)."""
    return [*(CONTEXT_COMPOSE if composing else ()), *CONTEXT]
