"""The "Send via" picker, the password prompt, and the dialog that edits relay profiles.

``Destinations`` (``core.sending.destinations``) is the one list of places a
message can go: this app's sink, this app's mailbox, saved profiles and the
ready-made presets. ``ProfilePicker`` shows it, grouped, in compose and
release.

Passwords never live in the profile file. With a usable keyring they are
stored there; without one (a headless box, this project's CI) the user is
asked at each send -- through ``ask_password``, which tests replace.

``ProfilesDialog`` lists, adds (blank or from ``PRESETS``), edits and deletes
profiles, and runs ``test_connection`` with the transcript shown live.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import replace

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ...core.sending import (
    LOCAL_KEY,
    PRESETS,
    SINK_KEY,
    DestinationError,
    Destinations,
    ProfileError,
    ProfileStore,
    RelayProfile,
    Security,
    SendReport,
    SinkEndpoint,
    connect_host,
    resolve_password,
    test_connection,
)
from ..theme import css, themed_style_sheet
from ..viewer.transcript_view import AsyncRunner, Spawn, TranscriptPanel
from .profiles_form import ProfileForm

PasswordPrompt = Callable[[RelayProfile], "str | None"]

__all__ = [
    "LOCAL_KEY",
    "SINK_KEY",
    "DestinationError",
    "Destinations",
    "PasswordPrompt",
    "ProfilePicker",
    "ProfilesDialog",
    "SinkEndpoint",
    "ask_password_dialog",
    "connect_host",
]


def ask_password_dialog(profile: RelayProfile, parent: QWidget | None = None) -> str | None:
    """The default prompt: a modal password field. None when cancelled."""
    dialog = QInputDialog(parent)
    dialog.setWindowTitle(f"Password for {profile.name}")
    dialog.setLabelText(
        f"Password for <b>{profile.username}</b> at {profile.address}<br>"
        "<small>No system keyring is available, so it is used for this send only.</small>"
    )
    dialog.setTextEchoMode(QLineEdit.EchoMode.Password)
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    ok = dialog.exec() == QDialog.DialogCode.Accepted
    value = dialog.textValue()
    dialog.deleteLater()
    return value if ok else None


class ProfilePicker(QComboBox):
    """The "Send via" combo box, filled from ``Destinations``."""

    def __init__(self, destinations: Destinations, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("profilePicker")
        self.destinations = destinations
        # Sized for a typical entry, not the longest preset; the list that pops
        # up is as wide as its entries.
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(30)
        # What the user chose, kept while it is briefly unavailable (the sink
        # restarting on another port) so the choice comes back with it.
        self._preferred = SINK_KEY  # the default: compose -> capture out of the box
        self.activated.connect(lambda _i: self._remember())
        self.reload()

    def _remember(self) -> None:
        self._preferred = self.current_key()

    def reload(self, select: str | None = None) -> None:
        """Rebuild the list, keeping the user's choice when it is (again) available."""
        if select:
            self._preferred = select
        wanted = self._preferred or self.current_key()
        self.blockSignals(True)
        self.clear()
        section = "app"
        for choice in self.destinations.choices():
            if choice.section != section:
                section = choice.section
                self.insertSeparator(self.count())
            self.addItem(choice.label, choice.key)
            index = self.count() - 1
            self.setItemData(index, choice.tip, Qt.ItemDataRole.ToolTipRole)
            if not choice.enabled:
                item = self.model().item(index)  # type: ignore[attr-defined]  # QStandardItemModel
                item.setEnabled(False)
        self.blockSignals(False)
        view = self.view()
        view.setMinimumWidth(view.sizeHintForColumn(0) + 2 * view.frameWidth() + 8)
        index = self.findData(wanted) if wanted else -1
        if index < 0 or not self._enabled(index):
            index = next((i for i in range(self.count()) if self._enabled(i)), -1)
        self.setCurrentIndex(index)

    def keys(self) -> list[str]:
        """The keys listed (separators left out), in order."""
        return [str(self.itemData(i)) for i in range(self.count()) if self.itemData(i)]

    def _enabled(self, index: int) -> bool:
        if not self.itemData(index):
            return False  # a separator
        return bool(self.model().item(index).isEnabled())  # type: ignore[attr-defined]

    def current_key(self) -> str:
        data = self.currentData()
        return str(data) if data else ""

    def select(self, key: str) -> bool:
        index = self.findData(key)
        if index >= 0 and self._enabled(index):
            self.setCurrentIndex(index)
            self._preferred = key
            return True
        return False


# ---- the editor --------------------------------------------------------------------------


class ProfilesDialog(QDialog):
    """List / add / edit / delete relay profiles; test a connection live."""

    def __init__(
        self,
        store: ProfileStore,
        *,
        ask_password: PasswordPrompt | None = None,
        spawn: Spawn | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("profilesDialog")
        self.setWindowTitle("Relay Profiles")
        self.store = store
        self.ask_password: PasswordPrompt = ask_password or (lambda p: ask_password_dialog(p, self))
        self.runner = AsyncRunner(spawn, self)
        self.runner.busyChanged.connect(self._busy_changed)
        self.last_report: SendReport | None = None
        self._current: str | None = None  # name of the saved profile being edited
        self._dirty = False

        try:
            keyring_ok = store.keyring_available()
        except Exception:  # noqa: BLE001 - a broken keyring install must not block editing
            keyring_ok = False
        self.keyring_available = keyring_ok

        # left: the list
        self.list = QListWidget(self)
        self.list.setObjectName("profileList")
        self.list.currentItemChanged.connect(self._selected)
        self.add_button = QPushButton("New", self)
        self.add_button.clicked.connect(lambda: self.new_profile())
        self.preset_button = QPushButton("From Preset", self)
        presets = QMenu(self.preset_button)
        for key, preset in PRESETS.items():
            action = presets.addAction(f"{preset.name}  ({preset.address})")
            action.triggered.connect(lambda _c=False, k=key: self.new_profile(PRESETS[k]))
        self.preset_button.setMenu(presets)
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(self.delete_current)
        left_buttons = QHBoxLayout()
        left_buttons.addWidget(self.add_button)
        left_buttons.addWidget(self.preset_button)
        left_buttons.addWidget(self.delete_button)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(self.list, 1)
        self.empty_hint = QLabel("No saved profiles yet: New, or From Preset.", self)
        self.empty_hint.setObjectName("emptyHint")
        self.empty_hint.setWordWrap(True)
        left_layout.addWidget(self.empty_hint)
        left_layout.addLayout(left_buttons)

        # right: the form
        self.form = ProfileForm(keyring_ok, self)
        self.form.changed.connect(self._mark_dirty)
        self.error = QLabel(self)
        self.error.setObjectName("formError")
        self.error.setWordWrap(True)
        self.error.hide()
        self.keyring_note = QLabel(self)
        self.keyring_note.setObjectName("keyringNote")
        themed_style_sheet(
            self, lambda t: f"#keyringNote, #emptyHint {{ color: {css(t.secondary)}; }}"
        )
        self.keyring_note.setWordWrap(True)
        self.keyring_note.setText(
            "Passwords are kept in the system keyring."
            if keyring_ok
            else "No system keyring is available: passwords are never stored; you are asked "
            "for one when sending (or set the environment variable named above)."
        )
        self.save_button = QPushButton("Save", self)
        self.save_button.clicked.connect(self.save_current)
        self.test_button = QPushButton("Test Connection", self)
        self.test_button.setToolTip("Connect, TLS, EHLO and AUTH, then QUIT: sends no message")
        self.test_button.clicked.connect(self.start_test)
        self.cancel_test = QPushButton("Stop", self)
        self.cancel_test.setEnabled(False)
        self.cancel_test.clicked.connect(self.runner.cancel)
        right_buttons = QHBoxLayout()
        right_buttons.addWidget(self.test_button)
        right_buttons.addWidget(self.cancel_test)
        right_buttons.addStretch(1)
        right_buttons.addWidget(self.save_button)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        right_layout.addWidget(self.form)
        right_layout.addWidget(self.keyring_note)
        right_layout.addWidget(self.error)
        right_layout.addLayout(right_buttons)
        right_layout.addStretch(1)

        top = QSplitter(Qt.Orientation.Horizontal, self)
        top.addWidget(left)
        scroll = QScrollArea(self)
        scroll.setObjectName("profileFormScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(right)
        top.addWidget(scroll)
        top.setStretchFactor(0, 1)
        top.setStretchFactor(1, 2)
        top.setChildrenCollapsible(False)

        self.transcript = TranscriptPanel(
            self,
            title="Connection test",
            placeholder="Test Connection shows the SMTP conversation here: connect, TLS, "
            "EHLO, AUTH, QUIT. No message is sent.",
        )
        transcript_layout = self.transcript.layout()
        if transcript_layout is not None:
            transcript_layout.setContentsMargins(0, 0, 0, 0)
        # The transcript is what a connection test is for: it gets a readable
        # height (at least ~10 lines) and the splitter lets the user give it
        # more; the form scrolls when squeezed instead of pushing it out.
        lines = self.transcript.view.fontMetrics().lineSpacing()
        self.transcript.view.setMinimumHeight(10 * lines + 12)
        outer = QSplitter(Qt.Orientation.Vertical, self)
        outer.setObjectName("profilesSplitter")
        outer.addWidget(top)
        outer.addWidget(self.transcript)
        outer.setStretchFactor(0, 0)
        outer.setStretchFactor(1, 1)
        outer.setChildrenCollapsible(False)
        self.splitter = outer

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(outer, 1)
        layout.addWidget(buttons)
        self.resize(900, 900)
        form_height = right.sizeHint().height()
        outer.setSizes([form_height, max(900 - form_height, 20 * lines)])

        self.reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_profile()

    # ---- list -------------------------------------------------------------------------

    def reload(self, select: str | None = None) -> None:
        self.list.blockSignals(True)
        self.list.clear()
        try:
            profiles = self.store.list()
        except ProfileError as exc:
            profiles = []
            self._show_error(str(exc))
        for profile in profiles:
            item = QListWidgetItem(f"{profile.name}\n{profile.address} · {profile.security.value}")
            item.setData(Qt.ItemDataRole.UserRole, profile.name)
            self.list.addItem(item)
        self.list.blockSignals(False)
        if select is not None:
            for row in range(self.list.count()):
                if self.list.item(row).data(Qt.ItemDataRole.UserRole) == select:
                    self.list.blockSignals(True)
                    self.list.setCurrentRow(row)
                    self.list.blockSignals(False)
        self.delete_button.setEnabled(self.list.count() > 0)
        self.empty_hint.setVisible(self.list.count() == 0)

    def names(self) -> list[str]:
        return [
            self.list.item(row).data(Qt.ItemDataRole.UserRole) for row in range(self.list.count())
        ]

    def _selected(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None = None
    ) -> None:
        if current is None:
            return
        name = current.data(Qt.ItemDataRole.UserRole)
        try:
            profile = self.store.get(name)
        except (KeyError, ProfileError) as exc:
            self._show_error(str(exc))
            return
        self._current = name
        self.form.set_profile(profile)
        self._set_dirty(False)
        self._show_error(None)

    def new_profile(self, preset: RelayProfile | None = None) -> None:
        """Start a new, unsaved profile (blank, or a copy of ``preset``)."""
        base = preset or RelayProfile(
            name="New relay", host="smtp.example.com", port=587, security=Security.STARTTLS
        )
        name = base.name
        existing = set(self.names())
        n = 2
        while name in existing:
            name = f"{base.name} {n}"
            n += 1
        self.list.blockSignals(True)
        self.list.clearSelection()
        self.list.setCurrentRow(-1)
        self.list.blockSignals(False)
        self._current = None
        self.form.set_profile(replace(base, name=name))
        self._set_dirty(True)
        self._show_error(None)
        self.form.name.setFocus()
        self.form.name.selectAll()

    @property
    def dirty(self) -> bool:
        """Unsaved edits in the form."""
        return self._dirty

    def _mark_dirty(self) -> None:
        self._set_dirty(True)

    def _set_dirty(self, dirty: bool) -> None:
        self._dirty = dirty
        self.save_button.setEnabled(dirty)
        self.save_button.setDefault(dirty)

    def _show_error(self, message: str | None) -> None:
        self.error.setText(message or "")
        self.error.setVisible(bool(message))

    # ---- save / delete ------------------------------------------------------------------

    def save_current(self) -> bool:
        try:
            profile = self.form.profile()
        except (ProfileError, ValueError) as exc:
            self._show_error(str(exc))
            return False
        names = self.names()
        if profile.name in names and profile.name != self._current:
            self._show_error(f"a profile named {profile.name!r} already exists")
            return False
        if self._current is not None and self._current != profile.name:
            # Renamed: drop the old entry (and its keyring password).
            with contextlib.suppress(ProfileError):
                self.store.delete(self._current)
        try:
            self.store.save(profile)
        except (OSError, ProfileError) as exc:
            self._show_error(f"cannot save: {exc}")
            return False
        password = self.form.password.text()
        wants_keyring = bool(password and self.keyring_available and profile.username)
        if wants_keyring and not self.store.set_password(profile, password):
            self._show_error("the keyring refused to store the password")
        self._current = profile.name
        self._set_dirty(False)
        self._show_error(None)
        self.reload(select=profile.name)
        return True

    def delete_current(self) -> None:
        item = self.list.currentItem()
        if item is None:
            return
        name = item.data(Qt.ItemDataRole.UserRole)
        self.store.delete(name)
        self._current = None
        self.reload()
        if self.list.count():
            self.list.setCurrentRow(0)
        else:
            self.new_profile()

    # ---- test connection ---------------------------------------------------------------

    def start_test(self) -> asyncio.Task[SendReport | None] | None:
        """Run ``test_connection`` for the profile as edited (saved or not)."""
        if self.runner.busy:
            return None
        try:
            profile = self.form.profile()
        except (ProfileError, ValueError) as exc:
            self._show_error(str(exc))
            return None
        self._show_error(None)
        password: str | None = None
        if profile.username:
            password = self.form.password.text() or None
            if password is None:
                password = resolve_password(profile, store=self.store, ask=self.ask_password)
            if password is None:
                self.transcript.summary.show_problem(
                    f"no password given for {profile.username!r}; the test was not run"
                )
                return None
        self.transcript.begin(f"Testing {profile.address}")
        return self.runner.run(self.run_test(profile, password))

    async def run_test(self, profile: RelayProfile, password: str | None) -> SendReport | None:
        try:
            report = await test_connection(profile, password, on_line=self.transcript.on_line)
        except asyncio.CancelledError:
            self.transcript.summary.show_cancelled("Connection test")
            raise
        self.last_report = report
        self.transcript.summary.show_test(report)
        return report

    def _busy_changed(self, busy: bool) -> None:
        self.test_button.setEnabled(not busy)
        self.cancel_test.setEnabled(busy)

    def done(self, result: int) -> None:  # noqa: D102 - closing stops a running test
        self.runner.cancel()
        super().done(result)
