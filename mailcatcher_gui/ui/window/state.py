"""Saving and restoring the window's geometry, layout and list columns.

Window state (not preferences): it lives in the same INI file under
``window/`` and belongs to the window, which saves it on shutdown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .settings import AppSettings

if TYPE_CHECKING:
    from .main_window import MainWindow


def save_window_state(window: MainWindow, s: AppSettings) -> None:
    s.set_state("geometry", window.saveGeometry())
    s.set_state("state", window.saveState())
    main, content = window.panes.save_state()
    s.set_state("main_splitter", main)
    s.set_state("content_splitter", content)
    s.set_state("list_header", window.message_list.table.horizontalHeader().saveState())
    s.set_value("window/layout", "below" if window.panes.below else "side")
    s.set_value(
        "window/sidebar", "1" if window.actions_by_name["show_sidebar"].isChecked() else "0"
    )
    s.sync()


def restore_window_state(window: MainWindow, s: AppSettings) -> None:
    actions = window.actions_by_name
    window.set_view_below(s.value("window/layout", "side") == "below")
    actions["show_sidebar"].setChecked(s.value("window/sidebar", "1") != "0")
    geometry = s.state("geometry")
    if geometry is not None:
        window.restoreGeometry(geometry)
    state = s.state("state")
    if state is not None:
        window.restoreState(state)
    window.panes.restore_state(s.state("main_splitter"), s.state("content_splitter"))
    header = s.state("list_header")
    if header is not None:
        window.message_list.restore_header(header)
