"""Captions and notes read at 4.5:1 in both themes, live (issue 10 item 3 follow-up).

The sidebar's "MAILBOX" title, the Settings hint, the compose window's
preview note and hints, and the relay-profile dialog's keyring note and
empty-list hint used ``palette(mid)`` or a fixed grey (#6e7781): about 1.5:1
on the light window and 3.6:1 on the dark one. They now take their colour
from ``theme.tones`` and follow a live theme switch. Measured on the pixels
actually painted, as ``test_viewer_theme`` does.
"""

from __future__ import annotations

import pytest
from keyring.backends import fail
from PySide6.QtWidgets import QLabel, QWidget

from mailcatcher_gui.core.sending import ProfileStore
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.compose.composer import Composer
from mailcatcher_gui.ui.compose.profiles_dialog import ProfilesDialog
from mailcatcher_gui.ui.theme import apply_theme, stylesheet, tones
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.settings import AppSettings
from tests.test_viewer_theme import assert_readable, settle

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


@pytest.fixture
def restore_theme(qapp):
    palette, style = qapp.palette(), qapp.style().name()
    yield
    qapp.setStyle(style)
    qapp.setPalette(palette)


def label(parent: QWidget, name: str) -> QLabel:
    found = parent.findChild(QLabel, name)
    assert found is not None, name
    return found


def test_the_stylesheet_takes_its_colours_from_the_tones(qapp, restore_theme):
    for theme in ("light", "dark"):
        apply_theme(qapp, theme)
        sheet = stylesheet(tones())
        assert "palette(mid);" not in sheet.split("#sidebarTitle")[1].split("}")[0]
        assert "@" not in sheet  # every placeholder was filled
        assert tones().secondary.name() in sheet


def test_captions_and_notes_are_readable_in_both_themes_and_after_a_switch(
    qtbot, qapp, mailbox, tmp_path, restore_theme
):
    apply_theme(qapp, "light")
    settings = AppSettings.at(tmp_path / "config" / "settings.ini")
    bridge = MailboxBridge(mailbox)
    window = build_main_window(mailbox, bridge, settings, view=MessageView(web_engine=False))
    qtbot.addWidget(window)
    profiles = ProfileStore(tmp_path / "config", keyring_backend=fail.Keyring())
    composer = Composer(mailbox, profiles, settings=settings, web_engine=False, parent=window)
    dialog = ProfilesDialog(profiles, parent=window)
    qtbot.addWidget(dialog)
    try:
        window.resize(1280, 800)
        window.show()
        qtbot.waitExposed(window)
        settings_dialog = window.open_settings()
        compose = composer.new()
        compose.resize(1000, 700)
        dialog.show()
        qtbot.waitExposed(dialog)
        for dark in (False, True, False):
            apply_theme(qapp, "dark" if dark else "light")
            settle(qtbot, qapp)
            assert_readable("sidebar title", window, label(window, "sidebarTitle"), dark)
            hint = label(settings_dialog, "hint")
            settings_dialog.show()
            qtbot.waitExposed(settings_dialog)
            assert_readable("settings hint", settings_dialog, hint, dark)
            compose.show()
            qtbot.waitExposed(compose)
            seen = set()
            for tab in range(compose.tabs.count()):  # the notes sit on different tabs
                compose.tabs.setCurrentIndex(tab)
                settle(qtbot, qapp)
                for name in ("previewNote", "hint"):
                    for caption in compose.findChildren(QLabel, name):
                        if caption.isVisible() and caption.text():
                            seen.add(name)
                            assert_readable(
                                f"compose {name} {caption.text()!r}", compose, caption, dark
                            )
            assert seen == {"previewNote", "hint"}
            assert_readable("keyring note", dialog, label(dialog, "keyringNote"), dark)
            assert_readable("empty-profiles hint", dialog, label(dialog, "emptyHint"), dark)
    finally:
        composer.shutdown()
        window.shutdown()
        bridge.close()
