"""A screenshot cut down to a thumbnail for a report, without ever decoding an oversized image.

A package is hostile input: a PNG of a few kilobytes can declare 100,000 × 100,000 pixels and take
tens of gigabytes once decoded. Pillow reads only the header when an image is opened, so the declared
size is checked there, before a single pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

MAX_SOURCE_BYTES = 64 << 20
"""Largest screenshot file read for a thumbnail."""
MAX_SOURCE_PIXELS = 40_000_000
"""Largest declared width × height decoded (a 1280 px wide page 31,000 px tall; ~160 MB as RGBA)."""
BOX = (720, 1080)
"""Largest thumbnail, width × height in pixels (4.2 × 6.3 inches at 173 dpi, where small print stays legible)."""
MAX_ASPECT = 1.5
"""Tallest height/width kept whole; a taller full-page screenshot is shown from its top."""


@dataclass(frozen=True)
class Thumbnail:
    """A reduced copy of a screenshot, as PNG bytes."""

    png: bytes
    """The thumbnail, an RGB PNG."""
    width: int
    """Thumbnail width in pixels."""
    height: int
    """Thumbnail height in pixels."""
    source_width: int
    """Width of the screenshot in the package."""
    source_height: int
    """Height of the screenshot in the package."""
    shown_height: int
    """Rows of the screenshot the thumbnail shows (less than ``source_height`` when only the top is shown)."""

    @property
    def cropped(self) -> bool:
        """True when the thumbnail shows only the top of a tall page."""
        return self.shown_height < self.source_height


def make_thumbnail(data: bytes, *, box: tuple[int, int] = BOX, max_pixels: int = MAX_SOURCE_PIXELS) -> Thumbnail:
    """A thumbnail of the image ``data`` that fits ``box``; raises ValueError (one line) when the image is
    unreadable or declares more than ``max_pixels`` pixels."""
    from PIL import Image, UnidentifiedImageError

    if len(data) > MAX_SOURCE_BYTES:
        raise ValueError(f"the image is {len(data)} bytes, more than the limit of {MAX_SOURCE_BYTES}")
    try:
        # Opening parses the header only. Pillow's own bomb check warns (or raises) there for huge sizes;
        # the bound below is tighter, so its warning would only be noise on the user's terminal.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if width <= 0 or height <= 0 or width * height > max_pixels:
                raise ValueError(f"the image declares {width}×{height} pixels, more than {max_pixels} are decoded")
            if image.format not in ("PNG", "JPEG", "WEBP"):
                raise ValueError(f"the image is {image.format}, not PNG, JPEG or WebP")
            # A full-page screenshot may be many screens tall; scaled whole it would be an unreadable
            # strip, so its top (what a visitor first saw) is shown and the caption says so.
            shown = min(height, int(width * MAX_ASPECT))
            page = image.crop((0, 0, width, shown)) if shown < height else image
            page = page.convert("RGB")
            page.thumbnail(box, Image.Resampling.LANCZOS)
            out = io.BytesIO()
            page.save(out, format="PNG", optimize=True)
            return Thumbnail(out.getvalue(), page.width, page.height, width, height, shown)
    except Image.DecompressionBombError as exc:
        raise ValueError(f"the image declares more than {max_pixels} pixels: {exc}") from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise ValueError(f"the image cannot be read: {exc}") from exc
