"""CSS colours -> WCAG 2 contrast ratio.

Only what an inline style or an HTML attribute can say without a cascade:
``#rgb``, ``#rgba``, ``#rrggbb``, ``#rrggbbaa``, ``rgb()``/``rgba()`` with
numbers or percentages, and the CSS named colours mail actually uses. A
colour with transparency, ``transparent``, ``inherit``, ``currentColor``,
variables or anything else is "unknown" and never judged.

Contrast ratio (WCAG 2.x, 1.4.3): (L1 + 0.05) / (L2 + 0.05) with L the
relative luminance of the lighter and darker colour.
"""

from __future__ import annotations

import re

__all__ = ["contrast_ratio", "parse_color"]

RGB = tuple[int, int, int]

_NAMED: dict[str, RGB] = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "orange": (255, 165, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "lightgray": (211, 211, 211),
    "lightgrey": (211, 211, 211),
    "darkgray": (169, 169, 169),
    "darkgrey": (169, 169, 169),
    "gainsboro": (220, 220, 220),
    "whitesmoke": (245, 245, 245),
    "navy": (0, 0, 128),
    "maroon": (128, 0, 0),
    "purple": (128, 0, 128),
    "teal": (0, 128, 128),
    "olive": (128, 128, 0),
    "lime": (0, 255, 0),
    "aqua": (0, 255, 255),
    "cyan": (0, 255, 255),
    "fuchsia": (255, 0, 255),
    "magenta": (255, 0, 255),
    "pink": (255, 192, 203),
    "beige": (245, 245, 220),
    "ivory": (255, 255, 240),
    "lightyellow": (255, 255, 224),
    "darkblue": (0, 0, 139),
    "darkred": (139, 0, 0),
    "darkgreen": (0, 100, 0),
    "lightblue": (173, 216, 230),
    "lightgreen": (144, 238, 144),
    "gold": (255, 215, 0),
}
_HEX = re.compile(r"#([0-9a-fA-F]{3,8})")
_FUNC = re.compile(r"rgba?\(\s*([^)]*)\)", re.I)


def parse_color(value: str | None) -> RGB | None:
    """An opaque colour, or None when unknown or (partly) transparent."""
    if not value:
        return None
    v = value.strip().lower().removesuffix("!important").strip()
    if v in _NAMED:
        return _NAMED[v]
    m = _HEX.fullmatch(v)
    if m is None and v.isalnum() and len(v) in (3, 6):
        m = _HEX.fullmatch("#" + v)  # bgcolor="ffffff", as old HTML writes it
    if m is not None:
        h = m.group(1)
        if len(h) in (3, 4):
            if len(h) == 4 and h[3] != "f":
                return None
            return (int(h[0] * 2, 16), int(h[1] * 2, 16), int(h[2] * 2, 16))
        if len(h) in (6, 8):
            if len(h) == 8 and h[6:] != "ff":
                return None
            return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))
        return None
    m = _FUNC.fullmatch(v)
    if m is None:
        return None
    parts = [p for p in re.split(r"[\s,/]+", m.group(1).strip()) if p]
    if len(parts) not in (3, 4):
        return None
    try:
        if len(parts) == 4:
            alpha = float(parts[3][:-1]) / 100 if parts[3].endswith("%") else float(parts[3])
            if alpha < 1:
                return None
        rgb = [
            round(float(p[:-1]) * 2.55) if p.endswith("%") else round(float(p)) for p in parts[:3]
        ]
    except ValueError:
        return None
    r, g, b = (max(0, min(255, c)) for c in rgb)
    return (r, g, b)


def _luminance(rgb: RGB) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: RGB, b: RGB) -> float:
    la, lb = _luminance(a), _luminance(b)
    hi, lo = max(la, lb), min(la, lb)
    return (hi + 0.05) / (lo + 0.05)
