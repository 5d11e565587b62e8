"""Tags in the window, against a real Mailbox on a tmp store: the list model and its
chips, the bridge, the sidebar's TAGS section, Add Tag…/Remove from the context
menu, and the search field's completions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from gui_helpers import capture, fill_store
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from mailcatcher_gui.core.models import Capture
from mailcatcher_gui.ui.bridge import MailboxBridge
from mailcatcher_gui.ui.theme import tag_chip_colours
from mailcatcher_gui.ui.viewer.message_view import MessageView
from mailcatcher_gui.ui.window.factory import build_main_window
from mailcatcher_gui.ui.window.list_model import Column, MessageListModel, TagsRole
from mailcatcher_gui.ui.window.main_window import MainWindow
from mailcatcher_gui.ui.window.settings import AppSettings
from mailcatcher_gui.ui.window.tag_chips import CHIP_GAP, chip_font, chip_widths

pytestmark = [
    pytest.mark.gui,
    pytest.mark.qt_log_ignore(r"^This plugin does not support propagateSizeHints\(\)$"),
]


def select_rows(window: MainWindow, rows: list[int]) -> None:
    """Select exactly ``rows`` (as a Ctrl+click would add them)."""
    window.message_list.select_row(rows[0])
    selection = window.message_list.table.selectionModel()
    for row in rows[1:]:
        selection.select(
            window.model.index(row, 0),
            selection.SelectionFlag.Select | selection.SelectionFlag.Rows,
        )


def tagged(i: int, tags: str) -> Capture:
    raw = (
        f"From: s{i}@example.com\r\nTo: dev@example.com\r\nX-Tags: {tags}\r\n"
        f"Subject: Tagged {i}\r\n\r\nbody\r\n"
    ).encode()
    return Capture(
        raw=raw,
        envelope_from=f"s{i}@example.com",
        envelope_to=("dev@example.com",),
        received_at=datetime.now(UTC),
    )


@pytest.fixture
def bridge(qapp, mailbox):
    b = MailboxBridge(mailbox)
    yield b
    b.close()


def connect(model: MessageListModel, bridge: MailboxBridge) -> None:
    bridge.messagesAdded.connect(model.on_messages_added)
    bridge.messagesDeleted.connect(model.on_messages_deleted)
    bridge.messagesChanged.connect(model.on_messages_changed)
    bridge.tagsChanged.connect(model.on_tags_changed)


@pytest.fixture
def make_window(qtbot, mailbox, tmp_path):
    made = []

    def make() -> MainWindow:
        bridge = MailboxBridge(mailbox)
        settings = AppSettings.at(tmp_path / "config" / "settings.ini")
        window = build_main_window(mailbox, bridge, settings, view=MessageView(web_engine=False))
        qtbot.addWidget(window)
        made.append((window, bridge))
        window.show()
        qtbot.waitExposed(window)
        return window

    yield make
    for window, bridge in made:
        window.shutdown()
        bridge.close()


# ---- the bridge and the model ----------------------------------------------------------


def test_bridge_forwards_tags_changed(qtbot, mailbox, bridge):
    mid = mailbox.accept_sync(capture(1))
    with qtbot.waitSignal(bridge.tagsChanged) as blocker:
        mailbox.add_tags([mid], ["urgent"])
    assert blocker.args == [((mid, ("urgent",)),)]


def test_model_shows_tags_and_patches_rows_under_the_model_tester(
    qtmodeltester, qtbot, mailbox, bridge
):
    fill_store(mailbox.store, 30)
    first = mailbox.accept_sync(tagged(1, "Signup, news"))
    model = MessageListModel(mailbox, page_size=10)
    connect(model, bridge)
    qtmodeltester.check(model)
    subject = model.index(0, Column.SUBJECT)
    assert model.data(subject, TagsRole) == ("news", "Signup")
    assert model.data(model.index(1, Column.SUBJECT), TagsRole) == ()
    assert model.data(subject, Qt.ItemDataRole.ToolTipRole) == "Tagged 1\nTags: news, Signup"
    assert "tagged news, Signup" in model.data(subject, Qt.ItemDataRole.AccessibleTextRole)
    assert model.data(subject) == "Tagged 1"  # the text itself stays the subject

    changed: list[int] = []
    model.dataChanged.connect(lambda top, _bottom, _roles: changed.append(top.row()))
    second = model.id_at(3)
    mailbox.add_tags([first, second], ["later"])
    qtbot.waitUntil(lambda: model.data(model.index(3, Column.SUBJECT), TagsRole) == ("later",))
    assert model.data(subject, TagsRole) == ("later", "news", "Signup")
    assert sorted(set(changed)) == [0, 3]
    assert model.page_fetches == 1  # patched in place: nothing re-read


def test_a_tag_search_follows_tag_changes(qtbot, mailbox, bridge):
    fill_store(mailbox.store, 5)
    ids = [s.id for s in mailbox.list()]
    model = MessageListModel(mailbox, coalesce_ms=10)
    connect(model, bridge)
    model.set_query("tag:urgent")
    assert model.rowCount() == 0
    mailbox.add_tags(ids[:2], ["urgent"])
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert {model.id_at(0), model.id_at(1)} == set(ids[:2])
    mailbox.remove_tags([ids[0]], ["URGENT"])
    qtbot.waitUntil(lambda: model.rowCount() == 1)
    assert model.id_at(0) == ids[1]
    model.set_query("-is:tagged")
    assert model.rowCount() == 4


# ---- the chips -------------------------------------------------------------------------


def test_chips_fit_into_the_room_given(qapp):
    font = chip_font(QApplication.font())
    everything = chip_widths(("a", "bb", "ccc"), font, 10_000)
    assert len(everything) == 3 and everything[0] < everything[2]
    assert chip_widths(("a", "bb", "ccc"), font, everything[0] + CHIP_GAP) == everything[:1]
    assert chip_widths(("a",), font, 3) == []


def test_a_tagged_row_paints_its_chips_and_an_untagged_row_does_not(qtbot, mailbox, make_window):
    mailbox.accept_sync(capture(1))
    mailbox.accept_sync(tagged(2, "urgent"))
    window = make_window()
    table = window.message_list.table
    table.clearSelection()
    table.setCurrentIndex(QModelIndex())
    image = table.viewport().grab().toImage()
    background, _text = tag_chip_colours(table.palette())

    def chip_pixel(row: int) -> QColor:
        rect = table.visualRect(window.model.index(row, Column.SUBJECT))
        return image.pixelColor(rect.left() + CHIP_GAP + 3, rect.center().y())

    assert window.model.data(window.model.index(0, Column.SUBJECT), TagsRole) == ("urgent",)
    assert chip_pixel(0) == background
    assert chip_pixel(1) != background


# ---- the sidebar -------------------------------------------------------------------------


def test_sidebar_lists_tags_live_and_a_click_searches_the_tag(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 3)
    window = make_window()
    sidebar = window.sidebar
    assert sidebar.tags == {} and sidebar.item_for_tag("urgent") is None
    heading_rows = sidebar.list.count()

    mailbox.accept_sync(tagged(1, "urgent, two words"))
    qtbot.waitUntil(lambda: sidebar.tags == {"two words": 1, "urgent": 1})
    assert sidebar.list.count() == heading_rows + 3  # the TAGS heading and two tags
    item = sidebar.item_for_tag("two words")
    assert item is not None and item.text() == "two words  (1)"

    ids = [s.id for s in mailbox.list()]
    mailbox.add_tags(ids, ["urgent"])  # TagsChanged
    qtbot.waitUntil(lambda: sidebar.tags.get("urgent") == 4)

    sidebar.list.itemClicked.emit(item)
    assert window.search.text() == 'tag:"two words"'
    assert window.model.rowCount() == 1
    assert sidebar.list.currentItem() is sidebar.item_for_tag("two words")

    mailbox.delete([ids[0]])  # the message with "two words"
    qtbot.waitUntil(lambda: sidebar.tags == {"urgent": 3})
    assert sidebar.item_for_tag("two words") is None
    mailbox.delete_tag("urgent")
    qtbot.waitUntil(lambda: sidebar.tags == {})
    assert sidebar.list.count() == heading_rows  # heading gone too


# ---- tagging from the window ---------------------------------------------------------------


def test_add_tag_dialog_offers_existing_tags_and_tags_the_selection(qtbot, mailbox, make_window):
    fill_store(mailbox.store, 4)
    mailbox.accept_sync(tagged(9, "existing"))
    window = make_window()
    assert not window.act_add_tag.isEnabled()  # nothing selected
    select_rows(window, [1, 2])
    rows = window.message_list.selected_ids()
    assert len(rows) == 2 and window.act_add_tag.isEnabled()
    window.act_add_tag.trigger()
    dialog = window.tags.dialog
    assert dialog is not None and dialog.isVisible()
    assert [dialog.combo.itemText(i) for i in range(dialog.combo.count())] == ["existing"]

    dialog.combo.setEditText("!!!")  # cleans to nothing: refused, the dialog stays
    dialog.accept()
    assert dialog.isVisible() and "no usable tag name" in dialog.error.text()
    assert mailbox.tags() == {"existing": 1}

    dialog.combo.setEditText("  release/2.0 ")
    dialog.accept()
    qtbot.waitUntil(lambda: window.tags.dialog is None)
    assert mailbox.tags() == {"existing": 1, "release 2.0": len(rows)}
    assert all(mailbox.summary(i).tags == ("release 2.0",) for i in rows)


def test_context_menu_offers_to_remove_the_tags_of_the_selection(qtbot, mailbox, make_window):
    mailbox.accept_sync(capture(1))
    mailbox.accept_sync(tagged(2, "alpha, beta"))
    mailbox.accept_sync(tagged(3, "gamma"))
    window = make_window()
    newest = mailbox.list()
    select_rows(window, [0, 1])  # "gamma" and "alpha, beta"
    assert set(window.message_list.selected_ids()) == {newest[0].id, newest[1].id}
    menu = window.tags.menu(window)
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["&Add Tag…", "Remove “alpha”", "Remove “beta”", "Remove “gamma”"]
    remove_beta = next(a for a in menu.actions() if a.data() == "beta")
    remove_beta.trigger()
    assert mailbox.summary(newest[1].id).tags == ("alpha",)
    assert mailbox.summary(newest[0].id).tags == ("gamma",)

    select_rows(window, [2])  # untagged: only Add Tag…
    menu = window.tags.menu(window)
    assert [a.text() for a in menu.actions()] == ["&Add Tag…"]


# ---- the search field ----------------------------------------------------------------------


def test_search_completions_offer_operators_and_tags(qtbot, mailbox, make_window):
    mailbox.accept_sync(tagged(1, "urgent, two words"))
    window = make_window()
    field = window.search
    qtbot.waitUntil(lambda: "tag:urgent" in field.completion_words)
    assert 'tag:"two words"' in field.completion_words

    field.setText("from:bob -ta")
    assert field.completions() == ["tag:", 'tag:"two words"', "tag:urgent"]
    field.insert_completion("tag:urgent")
    assert field.text() == "from:bob -tag:urgent"
    assert field.cursorPosition() == len(field.text())

    field.setText("has:i")
    assert field.completions() == ["has:inline"]
    field.setText("h")  # one letter: nothing offered yet
    assert field.completions() == []
    field.setText("!is:t")
    assert field.completions() == ["is:tagged"]


@pytest.mark.qt_log_ignore(r"^This plugin does not support grabbing the keyboard$")
def test_typing_pops_the_completions_up_and_enter_takes_one(qtbot, mailbox, make_window):
    window = make_window()
    field = window.search
    field.setFocus()
    qtbot.keyClicks(field, "larg")
    popup = field.completer_popup.popup()
    qtbot.waitUntil(popup.isVisible)
    assert field.completer_popup.currentCompletion() == "larger:"
    field.insert_completion(field.completer_popup.currentCompletion())
    popup.hide()
    assert field.text() == "larger:"
    qtbot.keyClicks(field, "1K")
    field.flush()
    assert window.model.query == "larger:1K"
    assert "larger:2M" in window.search.toolTip()  # the help names the new operators
