"""Which caniemail feature (slug) an HTML element, attribute or CSS construct is.

Hand-written tables, checked against the shipped data by the tests (every
slug named here exists in ``data/caniemail.json``). Written as lookups so
the scanners pay one dictionary access per element, attribute, property,
value token or selector token: no per-feature pass over the document.

What is deliberately not detected: ``bimi`` (a DNS/header matter, not the
HTML), ``css-selector-*`` inside ``@keyframes`` (those are percentages),
and properties caniemail does not test (``color``, ``font-family``, …):
they are supported everywhere that supports CSS at all.
"""

from __future__ import annotations

__all__ = [
    "ATTRIBUTE_SLUGS",
    "AT_RULE_SLUGS",
    "ELEMENT_SLUGS",
    "FUNCTION_SLUGS",
    "IMAGE_EXTENSIONS",
    "IMAGE_TYPES",
    "KEYWORD_SLUGS",
    "MEDIA_FEATURE_SLUGS",
    "PSEUDO_SLUGS",
    "UNIT_SLUGS",
    "property_slugs",
    "set_known_slugs",
]

ELEMENT_SLUGS: dict[str, str] = {
    **{
        t: f"html-{t}"
        for t in [
            "abbr",
            "acronym",
            "address",
            "audio",
            "base",
            "bdi",
            "blockquote",
            "code",
            "del",
            "dfn",
            "dialog",
            "div",
            "form",
            "hr",
            "img",
            "link",
            "marquee",
            "meter",
            "object",
            "p",
            "picture",
            "pre",
            "progress",
            "rp",
            "rt",
            "ruby",
            "select",
            "small",
            "span",
            "strike",
            "strong",
            "style",
            "svg",
            "table",
            "textarea",
            "video",
            "wbr",
        ]
    },
    **{f"h{i}": "html-h1-h6" for i in range(1, 7)},
    **{t: "html-lists" for t in ("ul", "ol", "dl")},
    "embed": "html-object",
    "map": "html-image-maps",
    "script": "html-script",  # not in caniemail: Mailpit's own test, unsupported everywhere
    **{
        t: "html-semantics"
        for t in [
            "article",
            "aside",
            "details",
            "figcaption",
            "figure",
            "footer",
            "header",
            "main",
            "mark",
            "nav",
            "section",
            "summary",
            "time",
        ]
    },
}

# input[type=X] / button[type=X]
INPUT_TYPE_SLUGS = {
    "checkbox": "html-input-checkbox",
    "hidden": "html-input-hidden",
    "radio": "html-input-radio",
    "reset": "html-input-reset",
    "submit": "html-input-submit",
    "text": "html-input-text",
}
BUTTON_TYPE_SLUGS = {"reset": "html-button-reset", "submit": "html-button-submit"}

ATTRIBUTE_SLUGS: dict[str, str] = {
    "align": "html-align",
    "aria-describedby": "html-aria-describedby",
    "aria-hidden": "html-aria-hidden",
    "aria-label": "html-aria-label",
    "aria-labelledby": "html-aria-labelledby",
    "aria-live": "html-aria-live",
    "background": "html-background",
    "cellpadding": "html-cellpadding",
    "cellspacing": "html-cellspacing",
    "dir": "html-dir",
    "height": "html-height",
    "hidden": "html-hidden",
    "lang": "html-lang",
    "loading": "html-loading-attribute",
    "popover": "html-popover",
    "required": "html-required",
    "role": "html-role",
    "srcset": "html-srcset",
    "sizes": "html-srcset",
    "target": "html-target",
    "valign": "html-valign",
    "width": "html-width",
    "usemap": "html-image-maps",
    "inert": "css-inert-attribute",
}

IMAGE_EXTENSIONS: dict[str, str] = {
    "apng": "image-apng",
    "avif": "image-avif",
    "bmp": "image-bmp",
    "gif": "image-gif",
    "hdr": "image-hdr",
    "heif": "image-heif",
    "heic": "image-heif",
    "ico": "image-ico",
    "jpg": "image-jpg",
    "jpeg": "image-jpg",
    "mp4": "image-mp4",
    "png": "image-png",
    "svg": "image-svg",
    "tif": "image-tiff",
    "tiff": "image-tiff",
    "webp": "image-webp",
}
IMAGE_TYPES: dict[str, str] = {
    "image/apng": "image-apng",
    "image/avif": "image-avif",
    "image/bmp": "image-bmp",
    "image/gif": "image-gif",
    "image/heif": "image-heif",
    "image/heic": "image-heif",
    "image/x-icon": "image-ico",
    "image/vnd.microsoft.icon": "image-ico",
    "image/jpeg": "image-jpg",
    "image/jpg": "image-jpg",
    "image/pjpeg": "image-jpg",
    "video/mp4": "image-mp4",
    "image/png": "image-png",
    "image/svg+xml": "image-svg",
    "image/tiff": "image-tiff",
    "image/webp": "image-webp",
}

# Property names that are not simply "css-" + name.
_PROPERTY_ALIASES: dict[str, str] = {
    "block-size": "css-block-inline-size",
    "column-gap": "css-gap",
    "row-gap": "css-gap",
    "grid-gap": "css-gap",
    "left": "css-left-right-top-bottom",
    "right": "css-left-right-top-bottom",
    "top": "css-left-right-top-bottom",
    "bottom": "css-left-right-top-bottom",
    "border-inline": "css-border-inline-block",
    "border-block": "css-border-inline-block",
    "margin-inline": "css-margin-inline-block",
    "margin-block": "css-margin-inline-block",
    "margin-block-start": "css-margin-block-start-end",
    "margin-block-end": "css-margin-block-start-end",
    "margin-inline-start": "css-margin-inline-start-end",
    "margin-inline-end": "css-margin-inline-start-end",
    "padding-inline": "css-padding-inline-block",
    "padding-block": "css-padding-inline-block",
    "padding-block-start": "css-padding-block-start-end",
    "padding-block-end": "css-padding-block-start-end",
    "padding-inline-start": "css-padding-inline-start-end",
    "padding-inline-end": "css-padding-inline-start-end",
    "overflow-x": "css-overflow",
    "overflow-y": "css-overflow",
    "overflow-block": "css-overflow",
    "overflow-inline": "css-overflow",
    "flex-flow": "css-flex-direction",
    "webkit-box-orient": "css-flex-direction",
}
# Prefix families: any property starting with the key (after the name itself).
_PROPERTY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("border-start-", "css-border-radius-logical"),
    ("border-end-", "css-border-radius-logical"),
    ("border-inline-start-", "css-border-inline-block-longhand"),
    ("border-inline-end-", "css-border-inline-block-longhand"),
    ("border-block-start-", "css-border-inline-block-longhand"),
    ("border-block-end-", "css-border-inline-block-longhand"),
    ("border-inline-", "css-border-inline-block-individual"),
    ("border-block-", "css-border-inline-block-individual"),
    ("border-radius", "css-border-radius"),
    ("border-image", "css-border-image"),
    ("border-", "css-border"),
    ("margin-", "css-margin"),
    ("padding-", "css-padding"),
    ("column-", "css-column-layout-properties"),
    ("columns", "css-column-layout-properties"),
    ("grid-template", "css-grid-template"),
    ("inset-", "css-inset"),
    ("animation", "css-animation"),
    ("transition", "css-transition"),
    ("scroll-snap", "css-scroll-snap"),
    ("list-style-", "css-list-style"),
    ("text-decoration-", "css-text-decoration"),
    ("outline-", "css-outline"),
    ("mask", "css-mask-image"),
)

# Values of "display" / "flex-direction" / "flex-wrap" with their own test.
VALUE_SLUGS: dict[tuple[str, str], str] = {
    ("display", "flex"): "css-display-flex",
    ("display", "inline-flex"): "css-display-flex",
    ("display", "grid"): "css-display-grid",
    ("display", "inline-grid"): "css-display-grid",
    ("display", "none"): "css-display-none",
}

FUNCTION_SLUGS: dict[str, str] = {
    "rgb": "css-rgb",
    "rgba": "css-rgba",
    "calc": "css-unit-calc",
    "clamp": "css-function-clamp",
    "min": "css-function-min",
    "max": "css-function-max",
    "light-dark": "css-function-light-dark",
    "linear-gradient": "css-linear-gradient",
    "repeating-linear-gradient": "css-linear-gradient",
    "radial-gradient": "css-radial-gradient",
    "repeating-radial-gradient": "css-radial-gradient",
    "conic-gradient": "css-conic-gradient",
    "repeating-conic-gradient": "css-conic-gradient",
    "lch": "css-modern-color",
    "oklch": "css-modern-color",
    "lab": "css-modern-color",
    "oklab": "css-modern-color",
    "var": "css-variables",
}

KEYWORD_SLUGS: dict[str, str] = {
    "initial": "css-unit-initial",
    "fit-content": "css-intrinsic-size",
    "min-content": "css-intrinsic-size",
    "max-content": "css-intrinsic-size",
    "system-ui": "css-sytem-ui",  # sic: caniemail's slug
    "ui-serif": "css-sytem-ui",
    "ui-sans-serif": "css-sytem-ui",
    "ui-rounded": "css-sytem-ui",
    "ui-monospace": "css-sytem-ui",
}

UNIT_SLUGS: dict[str, str] = {
    u: f"css-unit-{u}"
    for u in ("ch", "cm", "em", "ex", "in", "mm", "pc", "pt", "px", "rem", "vh", "vmax", "vmin")
} | {"vw": "css-unit-vw", "%": "css-unit-percent"}

AT_RULE_SLUGS: dict[str, str] = {
    "media": "css-at-media",
    "font-face": "css-at-font-face",
    "import": "css-at-import",
    "keyframes": "css-at-keyframes",
    "-webkit-keyframes": "css-at-keyframes",
    "supports": "css-at-supports",
}

MEDIA_FEATURE_SLUGS: dict[str, str] = {
    "prefers-color-scheme": "css-at-media-prefers-color-scheme",
    "prefers-reduced-motion": "css-at-media-prefers-reduced-motion",
    "orientation": "css-at-media-orientation",
    "hover": "css-at-media-hover",
    "any-hover": "css-at-media-hover",
    "-webkit-device-pixel-ratio": "css-at-media-device-pixel-ratio",
    "-webkit-min-device-pixel-ratio": "css-at-media-device-pixel-ratio",
    "-webkit-max-device-pixel-ratio": "css-at-media-device-pixel-ratio",
    "min--moz-device-pixel-ratio": "css-at-media-device-pixel-ratio",
}

_PSEUDO_ELEMENTS = frozenset({"after", "before", "first-letter", "first-line"})
PSEUDO_SLUGS: dict[str, str] = {
    **{
        name: f"css-pseudo-class-{name}"
        for name in [
            "active",
            "checked",
            "default",
            "first-child",
            "first-of-type",
            "focus-visible",
            "focus-within",
            "focus",
            "has",
            "hover",
            "lang",
            "last-child",
            "last-of-type",
            "link",
            "not",
            "nth-child",
            "nth-last-child",
            "nth-last-of-type",
            "nth-of-type",
            "only-child",
            "only-of-type",
            "target",
            "visited",
        ]
    },
    **{name: f"css-pseudo-element-{name}" for name in _PSEUDO_ELEMENTS},
    "marker": "css-pseudo-element-marker",
    "placeholder": "css-pseudo-element-placeholder",
}

_KNOWN_PROPERTY_SLUGS: frozenset[str] = frozenset()


def set_known_slugs(slugs: set[str]) -> None:
    """Tell ``property_slugs`` which ``css-<name>`` slugs the data has (done at load).

    Replaced in one assignment, so a check running on another thread never
    sees a half-filled set.
    """
    global _KNOWN_PROPERTY_SLUGS
    _KNOWN_PROPERTY_SLUGS = frozenset(s for s in slugs if s.startswith("css-"))


def property_slugs(name: str) -> tuple[str, ...]:
    """The slugs a CSS property name is tested by (vendor prefixes removed first)."""
    if name.startswith("--"):
        return ("css-variables",)
    bare = name
    for prefix in ("-webkit-", "-moz-", "-ms-", "-o-", "mso-"):
        if bare.startswith(prefix):
            bare = bare[len(prefix) :]
            break
    own = f"css-{bare}"
    if own in _KNOWN_PROPERTY_SLUGS:
        return (own,)
    alias = _PROPERTY_ALIASES.get(bare)
    if alias is not None:
        return (alias,)
    for prefix, slug in _PROPERTY_PREFIXES:
        if bare.startswith(prefix):
            return (slug,)
    return ()
