"""The HTML tab: the rendered message, the privacy bar and width presets.

The renderer is Chromium (``ui.web.html_view.WebMessageView``) when
QtWebEngine can be imported, else a ``QTextBrowser`` fallback with a visible
note. ``ui.web`` is imported lazily here, inside ``try``, so the rest of the
app keeps working on a system without QtWebEngine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ....core.models import ParsedMessage
from ...theme import Tones, css, themed_style_sheet, tones
from .dialogs import ViewerDialogs
from .fallback_html import FallbackHtmlView
from .renderer import HtmlRenderer

if TYPE_CHECKING:  # imported lazily at run time (QtWebEngine may be missing)
    from ...web.html_view import WebMessageView

log = logging.getLogger(__name__)

# (label, width in CSS px or None for "as wide as the window")
WIDTH_PRESETS: dict[str, int | None] = {"phone": 375, "tablet": 768, "full": None}
_PRESET_LABELS = {"phone": "Phone", "tablet": "Tablet", "full": "Full"}


def _make_renderer(
    parent: QWidget, *, allow_remote_default: bool, web_engine: bool
) -> tuple[WebMessageView | FallbackHtmlView, str]:
    """Chromium if possible; returns (renderer, reason it is not Chromium)."""
    if web_engine:
        try:
            from ...web.html_view import WebMessageView
        except ImportError as exc:  # QtWebEngine missing or broken on this system
            log.warning("HTML view falls back to plain rich text: %s", exc)
            reason = f"QtWebEngine is not available ({exc})."
        else:
            return WebMessageView(parent, allow_remote_default=allow_remote_default), ""
    else:
        reason = "The Chromium viewer is turned off."
    return FallbackHtmlView(parent, allow_remote_default=allow_remote_default), reason


def _remote_bar_style(t: Tones) -> str:
    return (
        f"#remoteBar {{ background: {css(t.caution_bg)};"
        f" border-bottom: 1px solid {css(t.caution_border)}; }}"
        f"#remoteBar QLabel {{ color: {css(t.caution_fg)}; }}"
    )


def _fallback_note_style(t: Tones) -> str:
    return (
        f"#fallbackNote {{ background: {css(t.notice_bg)};"
        f" border-bottom: 1px solid {css(t.notice_border)}; }}"
        f"#fallbackNote QLabel {{ color: {css(t.notice_fg)}; }}"
    )


class _Bar(QFrame):
    """A thin coloured strip with an icon-ish lead, a text and optional buttons."""

    def __init__(self, object_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(object_name)
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.layout_ = QHBoxLayout(self)
        self.layout_.setContentsMargins(10, 5, 6, 5)
        self.layout_.addWidget(self.label, 1)


class HtmlTab(QWidget):
    """Owns the renderer and the controls around it."""

    #: the user confirmed opening this URL (after it was handed to the system)
    link_opened = Signal(QUrl)

    def __init__(
        self,
        dialogs: ViewerDialogs,
        parent: QWidget | None = None,
        *,
        allow_remote_default: bool = False,
        web_engine: bool = True,
    ) -> None:
        super().__init__(parent)
        self.dialogs = dialogs
        self._has_message = False
        self._hovered = ""

        # -- toolbar: width presets ------------------------------------------
        toolbar = QHBoxLayout()
        toolbar.setContentsMargins(8, 4, 8, 4)
        toolbar.setSpacing(2)
        toolbar.addWidget(QLabel("Width:"))
        self.preset_buttons: dict[str, QToolButton] = {}
        self._preset_group = QButtonGroup(self)
        self._preset_group.setExclusive(True)
        for key in WIDTH_PRESETS:
            button = QToolButton(self)
            width = WIDTH_PRESETS[key]
            button.setText(_PRESET_LABELS[key] + (f" {width}px" if width else ""))
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setToolTip(
                f"Render at {width} px, like a {key} screen" if width else "Use the full width"
            )
            button.clicked.connect(lambda _=False, k=key: self.set_width_preset(k))
            self._preset_group.addButton(button)
            self.preset_buttons[key] = button
            toolbar.addWidget(button)
        toolbar.addStretch(1)
        self.preset_buttons["full"].setChecked(True)
        self._preset = "full"

        # -- privacy bar ------------------------------------------------------
        self.remote_bar = _Bar("remoteBar", self)
        themed_style_sheet(self.remote_bar, _remote_bar_style)
        self.load_remote_button = QPushButton("Load remote content", self.remote_bar)
        self.load_remote_button.setToolTip(
            "Fetch the images, styles and fonts this message references on other "
            "servers (the sender may learn that you opened it)"
        )
        self.load_remote_button.clicked.connect(self.load_remote_content)
        self.remote_bar.layout_.addWidget(self.load_remote_button)
        self.remote_bar.hide()

        # -- fallback note ----------------------------------------------------
        made, reason = _make_renderer(
            self, allow_remote_default=allow_remote_default, web_engine=web_engine
        )
        #: the renderer's interface (checked: both implementations conform)
        self.renderer: HtmlRenderer = made
        #: the same object as the widget in the layout
        self.renderer_widget: QWidget = made
        self.fallback_note = _Bar("fallbackNote", self)
        themed_style_sheet(self.fallback_note, _fallback_note_style)
        self.fallback_note.label.setText(
            f"Simplified HTML view: {reason} Layout may differ from a real mail "
            "client, and remote content cannot be loaded."
        )
        self.fallback_note.setVisible(not self.renderer.uses_chromium)

        # -- the page, centred on a grey canvas for the narrow presets ---------
        self.canvas = QFrame(self)
        self.canvas.setObjectName("htmlCanvas")
        themed_style_sheet(self.canvas, self._canvas_style)
        canvas_layout = QHBoxLayout(self.canvas)
        canvas_layout.setContentsMargins(0, 0, 0, 0)
        canvas_layout.setSpacing(0)
        canvas_layout.addWidget(self.renderer_widget, 1)
        self.renderer_widget.setSizePolicy(
            QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding
        )
        self._canvas_layout = canvas_layout

        # -- hovered link: a browser-style overlay in the bottom-left corner ----
        self.link_label = QLabel(self.canvas)
        self.link_label.setObjectName("hoveredLink")
        self.link_label.setTextFormat(Qt.TextFormat.PlainText)
        self.link_label.setStyleSheet(
            "#hoveredLink { background: palette(window); color: palette(window-text);"
            " border: 1px solid palette(mid); border-radius: 3px; padding: 2px 6px; }"
        )
        self.link_label.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(toolbar)
        layout.addWidget(self.fallback_note)
        layout.addWidget(self.remote_bar)
        layout.addWidget(self.canvas, 1)

        self.renderer.blocked_changed.connect(self._update_remote_bar)
        self.renderer.link_activated.connect(self.open_link)
        self.renderer.link_hovered.connect(self._on_hover)

    # ---- content --------------------------------------------------------------

    def show_parsed(self, parsed: ParsedMessage) -> None:
        self._has_message = True
        self._on_hover("")
        self.renderer.show_parsed(parsed)
        self._update_remote_bar()

    def clear(self) -> None:
        self._has_message = False
        self._on_hover("")
        self.renderer.clear()
        self._update_remote_bar()

    def set_allow_remote_default(self, allow: bool) -> None:
        self.renderer.set_allow_remote_default(allow)
        self._update_remote_bar()

    def load_remote_content(self) -> None:
        """The bar's button: allow remote loads for this message only."""
        self.renderer.allow_remote_for_current()
        self._update_remote_bar()

    def shutdown(self) -> None:
        self.renderer.shutdown()

    # ---- width presets -------------------------------------------------------

    def _canvas_style(self, t: Tones) -> str:
        """A grey canvas around a narrow preset, none at full width."""
        if WIDTH_PRESETS[getattr(self, "_preset", "full")] is None:
            return ""
        return f"#htmlCanvas {{ background: {css(t.canvas)}; }}"

    @property
    def width_preset(self) -> str:
        return self._preset

    def set_width_preset(self, key: str) -> None:
        width = WIDTH_PRESETS[key]
        self._preset = key
        self.preset_buttons[key].setChecked(True)
        self.canvas.setStyleSheet(self._canvas_style(tones()))
        if width is None:
            self.renderer_widget.setMinimumWidth(0)
            self.renderer_widget.setMaximumWidth(16777215)
        else:
            self.renderer_widget.setFixedWidth(width)
        self._canvas_layout.setAlignment(
            self.renderer_widget, Qt.AlignmentFlag.AlignHCenter if width else Qt.AlignmentFlag(0)
        )

    # ---- links ------------------------------------------------------------------

    def open_link(self, url: QUrl) -> None:
        """A clicked link: show where it goes, open it elsewhere if confirmed."""
        text = url.toString()
        if self.dialogs.confirm_open_link(self, text):
            self.dialogs.open_url(QUrl(url))
            self.link_opened.emit(QUrl(url))

    @property
    def hovered_link(self) -> str:
        """The URL under the pointer ("" if none), as shown in the overlay."""
        return self._hovered

    def _on_hover(self, url: str) -> None:
        self._hovered = url
        if not url:
            self.link_label.hide()
            return
        room = max(80, self.canvas.width() - 24)
        metrics = self.link_label.fontMetrics()
        self.link_label.setText(metrics.elidedText(url, Qt.TextElideMode.ElideMiddle, room))
        self.link_label.adjustSize()
        self.link_label.move(4, self.canvas.height() - self.link_label.height() - 4)
        self.link_label.raise_()
        self.link_label.show()

    # ---- privacy bar --------------------------------------------------------------

    def _update_remote_bar(self) -> None:
        blocked = self.renderer.blocked()
        if not self._has_message or not blocked.total:
            self.remote_bar.hide()
            return
        hosts = blocked.host_list()
        self.remote_bar.label.setText(blocked.describe() + " to protect your privacy.")
        self.remote_bar.label.setToolTip("\n".join(hosts))
        self.load_remote_button.setVisible(self.renderer.uses_chromium)
        self.remote_bar.show()
