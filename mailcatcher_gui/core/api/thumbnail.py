"""Attachment thumbnails as Mailpit makes them: a 180x120 JPEG on white.

Mailpit (``server/apiv1/thumbnails.go``) shrinks an image smaller than the
box in either direction to fit inside it, and scales-and-crops (centred) any
larger one to fill it; the result is centred on a white 180x120 canvas (so a
transparent PNG or GIF gets a white, not black, background) and encoded as a
JPEG of quality 70. Anything that is not an image, or that will not decode,
gets a blank white thumbnail instead of an error, as there.

Decoding an image is CPU work; callers run ``make_thumbnail`` in a worker
thread. An image whose header claims more than ``MAX_PIXELS`` (after
JPEG's cheap draft downscale) becomes the blank thumbnail before anything
is decoded: a 20,000 x 20,000 PNG of a few hundred bytes must not cost
1.6 GB of memory.
"""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps

__all__ = ["MAX_PIXELS", "THUMB_HEIGHT", "THUMB_WIDTH", "blank_thumbnail", "make_thumbnail"]

THUMB_WIDTH = 180
THUMB_HEIGHT = 120
_QUALITY = 70
#: The largest image decoded for a thumbnail (about 160 MB as RGBA).
MAX_PIXELS = 40_000_000
_WHITE = (255, 255, 255)


def _encode(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=_QUALITY)
    return out.getvalue()


def blank_thumbnail() -> bytes:
    """The white 180x120 JPEG served for anything that is not a decodable image."""
    return _encode(Image.new("RGB", (THUMB_WIDTH, THUMB_HEIGHT), _WHITE))


def make_thumbnail(data: bytes, content_type: str, *, max_pixels: int = MAX_PIXELS) -> bytes:
    """The thumbnail JPEG for a part's decoded bytes. Never raises."""
    if not content_type.lower().startswith("image/"):
        return blank_thumbnail()
    try:
        with warnings.catch_warnings():
            # A DecompressionBombWarning (a large but allowed image) is not an
            # error here; the hard limit (DecompressionBombError) still is.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return _thumbnail(data, max_pixels)
    except Exception:  # noqa: BLE001 - a broken image gets the blank thumbnail, as in Mailpit
        return blank_thumbnail()


def _thumbnail(data: bytes, max_pixels: int) -> bytes:
    with Image.open(io.BytesIO(data)) as source:
        source.draft("RGB", (THUMB_WIDTH * 2, THUMB_HEIGHT * 2))  # cheap JPEG downscale
        if source.width * source.height > max_pixels:
            return blank_thumbnail()
        image = ImageOps.exif_transpose(source) or source
        image = image.convert("RGBA")
    box = (THUMB_WIDTH, THUMB_HEIGHT)
    if image.width < THUMB_WIDTH or image.height < THUMB_HEIGHT:
        image.thumbnail(box, Image.Resampling.LANCZOS)  # fit inside, never enlarged
    else:
        image = ImageOps.fit(image, box, Image.Resampling.LANCZOS, centering=(0.5, 0.5))
    canvas = Image.new("RGB", box, _WHITE)
    left = (THUMB_WIDTH - image.width) // 2
    top = (THUMB_HEIGHT - image.height) // 2
    canvas.paste(image, (left, top), image)
    return _encode(canvas)
