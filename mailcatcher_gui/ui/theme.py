"""Light/dark appearance: Fusion everywhere, the palette follows the system.

Fusion looks the same on every platform and honours the palette fully, so
one stylesheet (``resources/style.qss``, palette-relative colours) fits both
schemes. The system scheme comes from ``QStyleHints.colorScheme``; where the
platform reports none (a bare X server) the light palette is used. The user
can force either in Settings.

This module is the one place colours come from. Everything the palette has
no role for (captions, warnings, the privacy bar, transcript lines) is a
``Tones`` value derived from the palette, and widgets that paint such a
colour re-derive it whenever the palette changes (``follow_palette``), so
switching the theme while the app runs repaints every pane at once.

Qt pins a widget's palette when a style sheet polishes it, and a later
``QApplication.setPalette`` does not reach such widgets (nor re-evaluates
``palette(...)`` in the sheet). ``apply_theme`` therefore re-applies every
style sheet after setting the palette; that is what makes a live switch
work for the main window, compose windows and dialogs alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QMetaObject, QObject, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication, QWidget

RESOURCES = Path(__file__).resolve().parent.parent / "resources"


def app_icon() -> QIcon:
    return QIcon(str(RESOURCES / "mailcatcher-gui.svg"))


def tinted_icon(name: str, palette: QPalette | None = None) -> QIcon:
    """``resources/icons/<name>.svg`` drawn in the palette's text colour.

    The icons use ``currentColor``; rendering them per palette keeps them
    legible in both themes (and greyed out when disabled).
    """
    svg = (RESOURCES / "icons" / f"{name}.svg").read_text(encoding="utf-8")
    pal = palette or QApplication.palette()
    icon = QIcon()
    for mode, role_group in (
        (QIcon.Mode.Normal, QPalette.ColorGroup.Active),
        (QIcon.Mode.Disabled, QPalette.ColorGroup.Disabled),
    ):
        color = pal.color(role_group, QPalette.ColorRole.ButtonText)
        if mode is QIcon.Mode.Disabled:
            color = _mix(color, pal.color(QPalette.ColorRole.Window), 0.6)
        tinted = svg.replace("currentColor", color.name())  # SVG wants #rrggbb
        renderer = QSvgRenderer(QByteArray(tinted.encode("utf-8")))
        for size in (16, 20, 24, 32, 48):
            pixmap = QPixmap(size, size)
            pixmap.fill(Qt.GlobalColor.transparent)
            painter = QPainter(pixmap)
            try:
                painter.setRenderHint(QPainter.RenderHint.Antialiasing)
                renderer.render(painter, QRectF(0, 0, size, size))
            finally:
                painter.end()
            icon.addPixmap(pixmap, mode)
    return icon


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    """``a`` moved a fraction ``t`` towards ``b``."""
    return QColor(
        round(a.red() + (b.red() - a.red()) * t),
        round(a.green() + (b.green() - a.green()) * t),
        round(a.blue() + (b.blue() - a.blue()) * t),
    )


def stylesheet(tone: Tones | None = None) -> str:
    """``resources/style.qss`` with its tone placeholders filled (see ``fill_tones``)."""
    sheet = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    return fill_tones(sheet, tone if tone is not None else tones())


#: ``@name`` in a style sheet stands for ``Tones.name`` (``@secondary``, ``@danger``...)
_TONE_TOKEN = re.compile(r"@([a-z_]+)\b")


def fill_tones(sheet: str, tone: Tones) -> str:
    """Replace every ``@secondary``-style placeholder with that tone's ``#rrggbb``.

    QSS can only name palette roles, and the palette has no readable caption
    colour (``palette(mid)`` is ~1.5:1 on the light window); sheets name the
    ``Tones`` instead, and ``themed_style_sheet`` refills them on every
    theme change. An unknown name is an error, not a silent black.
    """

    def colour(match: re.Match[str]) -> str:
        value = getattr(tone, match.group(1), None)
        if not isinstance(value, QColor):
            raise KeyError(f"style sheet names an unknown tone: @{match.group(1)}")
        return value.name()

    return _TONE_TOKEN.sub(colour, sheet)


# ---- measuring colours ------------------------------------------------------------------


def relative_luminance(color: QColor) -> float:
    """WCAG 2 relative luminance of an opaque colour (0 black .. 1 white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return (
        0.2126 * channel(color.red())
        + 0.7152 * channel(color.green())
        + 0.0722 * channel(color.blue())
    )


def contrast_ratio(a: QColor, b: QColor) -> float:
    """WCAG 2 contrast ratio (1..21); 4.5 is the floor for body text."""
    la, lb = relative_luminance(a), relative_luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether ``palette`` (default: the application's) is a dark scheme."""
    pal = palette if palette is not None else QApplication.palette()
    return pal.color(QPalette.ColorRole.Window).lightness() < 128


# ---- colours beyond the palette's roles ----------------------------------------------------

#: (light theme, dark theme) colours of transcript lines per kind; each reads
#: at 4.5:1 or better on the scheme's Base colour.
TRANSCRIPT_COLOURS: dict[str, tuple[str, str]] = {
    "client": ("#1f5fbf", "#79a8ff"),
    "server": ("#1a7f37", "#56d364"),
    "info": ("#5f6873", "#9ba3ad"),
    "error": ("#cf222e", "#ff7b72"),
    "time": ("#6a727c", "#8b949e"),
}


@dataclass(frozen=True)
class Tones:
    """The colours the app paints that the palette has no role for.

    Derived from a palette (``tones``); nothing else in the UI writes a
    colour literal, so both schemes stay readable together.
    """

    dark: bool
    #: captions, field names, secondary columns
    secondary: QColor
    #: errors and the Bcc warning
    danger: QColor
    #: parser defects and other cautions in running text
    warning: QColor
    #: the informational bar (simplified HTML view)
    notice_bg: QColor
    notice_fg: QColor
    notice_border: QColor
    #: the privacy bar (remote content blocked)
    caution_bg: QColor
    caution_fg: QColor
    caution_border: QColor
    #: behind a narrow (phone/tablet) HTML preview
    canvas: QColor
    #: a check that passed (the Checks tab's green dot)
    success: QColor
    #: worth knowing, nothing to fix (the Checks tab's blue dot)
    info: QColor

    def transcript(self, kind: str) -> QColor:
        return QColor(TRANSCRIPT_COLOURS[kind][1 if self.dark else 0])


def tag_chip_colours(palette: QPalette, selected: bool = False) -> tuple[QColor, QColor]:
    """(background, text) of a tag chip in the message list: a tint of the
    highlight colour under the normal text, or of the highlighted text on a
    selected row, so the chip reads in both schemes and on the selection."""
    if selected:
        return (
            _mix(
                palette.color(QPalette.ColorRole.Highlight),
                palette.color(QPalette.ColorRole.HighlightedText),
                0.25,
            ),
            palette.color(QPalette.ColorRole.HighlightedText),
        )
    return (
        _mix(
            palette.color(QPalette.ColorRole.Base),
            palette.color(QPalette.ColorRole.Highlight),
            0.2,
        ),
        palette.color(QPalette.ColorRole.Text),
    )


#: how far captions move from the text colour towards the window colour;
#: 0.4 keeps 4.5:1 also on the slightly darker group boxes and dialogs
#: (0.45 gave 4.44:1 on Fusion's light group box)
SECONDARY_AMOUNT = 0.4


def secondary_text(palette: QPalette, amount: float = SECONDARY_AMOUNT) -> QColor:
    """Window text moved ``amount`` towards the window colour: reads as a
    caption in both schemes and still meets 4.5:1 (QSS ``palette(mid)`` is
    too faint)."""
    return _mix(
        palette.color(QPalette.ColorRole.WindowText),
        palette.color(QPalette.ColorRole.Window),
        amount,
    )


def tones(palette: QPalette | None = None) -> Tones:
    """The ``Tones`` for ``palette`` (default: the application's)."""
    pal = palette if palette is not None else QApplication.palette()
    dark = is_dark(pal)
    text = pal.color(QPalette.ColorRole.WindowText)
    if dark:
        return Tones(
            dark=True,
            secondary=secondary_text(pal),
            danger=QColor("#ff8a80"),
            warning=QColor("#f0b35a"),
            notice_bg=QColor("#1d2a40"),
            notice_fg=text,
            notice_border=QColor("#33496e"),
            caution_bg=QColor("#3a3114"),
            caution_fg=QColor("#f3d67a"),
            caution_border=QColor("#6b5a1e"),
            canvas=QColor("#0f1012"),
            success=QColor(TRANSCRIPT_COLOURS["server"][1]),
            info=QColor(TRANSCRIPT_COLOURS["client"][1]),
        )
    return Tones(
        dark=False,
        secondary=secondary_text(pal),
        danger=QColor("#b3261e"),
        warning=QColor("#8a4f00"),
        notice_bg=QColor("#e8f0fe"),
        notice_fg=text,
        notice_border=QColor("#c6d5f5"),
        caution_bg=QColor("#fff4ce"),
        caution_fg=QColor("#5c4b00"),
        caution_border=QColor("#e8d9a0"),
        canvas=QColor("#d9dce1"),
        success=QColor(TRANSCRIPT_COLOURS["server"][0]),
        info=QColor(TRANSCRIPT_COLOURS["client"][0]),
    )


# ---- palettes --------------------------------------------------------------------------------


def wants_dark(theme: str, scheme: Qt.ColorScheme | None = None) -> bool:
    """``theme`` is "light", "dark" or "system"; ``scheme`` overrides what the
    platform reports (the value ``colorSchemeChanged`` just delivered)."""
    if theme == "dark":
        return True
    if theme == "light":
        return False
    if scheme is None:
        scheme = QGuiApplication.styleHints().colorScheme()
    return scheme == Qt.ColorScheme.Dark


def dark_palette() -> QPalette:
    p = QPalette()
    window = QColor(0x20, 0x22, 0x26)
    base = QColor(0x17, 0x18, 0x1B)
    text = QColor(0xE6, 0xE6, 0xE6)
    muted = QColor(0x8A, 0x8F, 0x98)
    highlight = QColor(0x3D, 0x7B, 0xFF)
    roles = {
        QPalette.ColorRole.Window: window,
        QPalette.ColorRole.WindowText: text,
        QPalette.ColorRole.Base: base,
        QPalette.ColorRole.AlternateBase: QColor(0x1D, 0x1F, 0x23),
        QPalette.ColorRole.ToolTipBase: window,
        QPalette.ColorRole.ToolTipText: text,
        QPalette.ColorRole.PlaceholderText: muted,
        QPalette.ColorRole.Text: text,
        QPalette.ColorRole.Button: QColor(0x2A, 0x2D, 0x32),
        QPalette.ColorRole.ButtonText: text,
        QPalette.ColorRole.BrightText: QColor("#ff6b6b"),
        QPalette.ColorRole.Light: QColor(0x3A, 0x3D, 0x43),
        QPalette.ColorRole.Midlight: QColor(0x30, 0x33, 0x38),
        QPalette.ColorRole.Mid: QColor(0x4A, 0x4E, 0x55),
        QPalette.ColorRole.Dark: QColor(0x10, 0x11, 0x13),
        QPalette.ColorRole.Shadow: QColor(0, 0, 0),
        QPalette.ColorRole.Highlight: highlight,
        QPalette.ColorRole.HighlightedText: QColor("white"),
        QPalette.ColorRole.Link: QColor(0x6C, 0xA0, 0xFF),
        QPalette.ColorRole.LinkVisited: QColor(0xB0, 0x8C, 0xFF),
        QPalette.ColorRole.Accent: highlight,
    }
    for role, color in roles.items():
        p.setColor(role, color)
    for role in (
        QPalette.ColorRole.Text,
        QPalette.ColorRole.WindowText,
        QPalette.ColorRole.ButtonText,
    ):
        p.setColor(QPalette.ColorGroup.Disabled, role, muted)
    return p


def light_palette() -> QPalette:
    p = QApplication.style().standardPalette()
    p.setColor(QPalette.ColorRole.Highlight, QColor(0x2C, 0x6B, 0xED))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("white"))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor(0xF6, 0xF7, 0xF9))
    p.setColor(QPalette.ColorRole.Mid, QColor(0xC9, 0xCD, 0xD3))
    # Fusion's placeholder is half-transparent black (3.9:1 on white); the
    # list's secondary columns use it, so make it an opaque readable grey.
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(0x68, 0x6D, 0x75))
    return p


def apply_theme(
    app: QApplication, theme: str = "system", scheme: Qt.ColorScheme | None = None
) -> None:
    """Fusion + the light or dark palette for ``theme`` ("system"/"light"/"dark"),
    applied live to every open window (see the module docstring)."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(dark_palette() if wants_dark(theme, scheme) else light_palette())
    _repolish_style_sheets(app)


def _repolish_style_sheets(app: QApplication) -> None:
    """Re-apply every style sheet so it is evaluated against the new palette.

    Widgets under a sheet keep the palette they were polished with; setting
    the same sheet again unpolishes them (their palettes follow the
    application's again) and re-reads ``palette(...)`` references.
    """
    sheet = app.styleSheet()
    if sheet:
        app.setStyleSheet(sheet)
    for widget in app.allWidgets():
        own = widget.styleSheet()
        if own:
            widget.setStyleSheet(own)


def follow_system_scheme(app: QApplication, theme_of: Callable[[], str]) -> QMetaObject.Connection:
    """Re-apply the theme whenever the system switches between light and dark.

    ``theme_of`` returns the user's current choice ("system" follows the
    change; "light"/"dark" stay). Returns the connection (to disconnect).
    """

    def changed(scheme: Qt.ColorScheme) -> None:
        apply_theme(app, theme_of(), scheme)

    return app.styleHints().colorSchemeChanged.connect(changed)


# ---- widgets that paint theme colours --------------------------------------------------------

_PALETTE_EVENTS = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)


class _PaletteFollower(QObject):
    """Calls ``update(widget)`` now and after every palette change of ``widget``.

    An event filter rather than a subclass hook, so plain Qt widgets can
    follow too. ``update`` must be idempotent (it usually is: set a colour
    or a sheet only when it differs), because setting a palette or a sheet
    sends the widget another change event.
    """

    def __init__(self, widget: QWidget, update: Callable[[QWidget], None]) -> None:
        super().__init__(widget)
        self._update = update
        self._busy = False
        widget.installEventFilter(self)
        self._run(widget)

    def _run(self, widget: QWidget) -> None:
        if self._busy:
            return
        self._busy = True
        try:
            self._update(widget)
        finally:
            self._busy = False

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt API)
        if event.type() in _PALETTE_EVENTS and isinstance(watched, QWidget):
            self._run(watched)
        return False


def follow_palette(widget: QWidget, update: Callable[[QWidget], None]) -> None:
    """Run ``update(widget)`` now and again whenever the theme changes."""
    _PaletteFollower(widget, update)


def themed_style_sheet(widget: QWidget, build: Callable[[Tones], str]) -> None:
    """Give ``widget`` the sheet ``build(tones())``, rebuilt on every theme change."""

    def update(w: QWidget) -> None:
        sheet = build(tones())
        if w.styleSheet() != sheet:
            w.setStyleSheet(sheet)

    follow_palette(widget, update)


def mute(widget: QWidget, amount: float = SECONDARY_AMOUNT) -> None:
    """Paint ``widget``'s text in the secondary colour, in every theme."""

    def update(w: QWidget) -> None:
        color = secondary_text(QApplication.palette(), amount)
        current = w.palette()
        if (
            current.color(QPalette.ColorRole.WindowText) == color
            and current.color(QPalette.ColorRole.Text) == color
        ):
            return
        # Only these two roles are set on the widget; the rest keep
        # following the application palette.
        palette = QPalette()
        palette.setResolveMask(0)
        palette.setColor(QPalette.ColorRole.WindowText, color)
        palette.setColor(QPalette.ColorRole.Text, color)
        w.setPalette(palette)

    follow_palette(widget, update)


def css(color: QColor) -> str:
    """``#rrggbb`` for style sheets and Qt rich text."""
    return color.name()
