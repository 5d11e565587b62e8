"""Light/dark appearance: Fusion everywhere, the palette follows the system.

Fusion looks the same on every platform and honours the palette fully, so
one stylesheet (``resources/style.qss``, palette-relative colours) fits both
schemes. The system scheme comes from ``QStyleHints.colorScheme``; where the
platform reports none (a bare X server) the light palette is used. The user
can force either in Settings.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

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


def stylesheet() -> str:
    return (RESOURCES / "style.qss").read_text(encoding="utf-8")


def wants_dark(theme: str) -> bool:
    if theme == "dark":
        return True
    if theme == "light":
        return False
    return QGuiApplication.styleHints().colorScheme() == Qt.ColorScheme.Dark


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
    return p


def apply_theme(app: QApplication, theme: str = "system") -> None:
    """Fusion + the light or dark palette for ``theme`` ("system"/"light"/"dark")."""
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")
    app.setPalette(dark_palette() if wants_dark(theme) else light_palette())
