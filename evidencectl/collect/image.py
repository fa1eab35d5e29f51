"""Images and screenshots: format, size, mode, EXIF, PNG text chunks, XMP, orientation.

Pillow is imported lazily and only ever reads headers: pixels are never decoded and nothing is
re-encoded, so a deposited screenshot is described without being touched. PNG files are also walked
chunk by chunk here, because Pillow reads text chunks that follow the image data only by decoding the
pixels, and because a court wants to know that a chunk's CRC is wrong, which Pillow does not report.
"""

from __future__ import annotations

import io
import warnings as pywarnings
from typing import Any

from .analysis import Analysis
from .exif import parse_exif, raw_profile_exif
from .png import walk_png
from .text import clean_str

#: Longest XMP packet kept in the metadata, in characters.
MAX_XMP = 65536
_ORIENTATION = {
    1: "normal",
    2: "mirrored horizontally",
    3: "rotated 180",
    4: "mirrored vertically",
    5: "mirrored horizontally, rotated 270 clockwise",
    6: "rotated 90 clockwise",
    7: "mirrored horizontally, rotated 90 clockwise",
    8: "rotated 270 clockwise",
}


def _xmp(value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return {"xml": clean_str(text[:MAX_XMP]), "length": len(text), "truncated": len(text) > MAX_XMP}


def analyze_image(data: bytes, media_type: str) -> Analysis:
    """The :class:`Analysis` of an image file's bytes, read without decoding its pixels."""
    problems: list[str] = []
    meta: dict[str, Any] = {}
    exif_bytes: bytes | None = None
    xmp: Any = None
    if media_type == "image/png":
        png = walk_png(data)
        problems.extend(png.problems)
        meta.update(png.header)
        if png.texts:
            meta["png_text"] = png.texts
        exif_bytes = png.exif
        xmp = png.xmp
        if exif_bytes is None:
            # ImageMagick writes EXIF as hex text in a "Raw profile type exif" chunk.
            for chunk in png.texts:
                if chunk["keyword"].lower() == "raw profile type exif":
                    exif_bytes = raw_profile_exif(chunk.get("full_text", chunk["text"]))
    info = _pillow_header(data, problems)
    if not info and "png_width" in meta:
        # Pillow refuses a PNG with a damaged chunk before IDAT; IHDR read here still tells the size.
        info = {"format": "PNG", "width": meta["png_width"], "height": meta["png_height"]}
    meta.update({k: v for k, v in info.items() if k not in ("exif", "xmp", "info")})
    if exif_bytes is None and isinstance(info.get("exif"), bytes):
        exif_bytes = info["exif"]
    if xmp is None:
        xmp = info.get("xmp")
    if exif_bytes:
        exif, exif_problems = parse_exif(exif_bytes)
        meta["exif"] = exif
        problems.extend(f"EXIF: {p}" for p in exif_problems)
        orientation = exif.get("Orientation")
        if isinstance(orientation, int):
            meta["orientation"] = {"value": orientation, "meaning": _ORIENTATION.get(orientation, "invalid")}
    if (x := _xmp(xmp)) is not None:
        meta["xmp"] = x
    for chunk in meta.get("png_text", []):
        chunk.pop("full_text", None)
    return Analysis("image", media_type, {"image": meta}, (), tuple(problems))


def _pillow_header(data: bytes, problems: list[str]) -> dict[str, Any]:
    from PIL import Image

    out: dict[str, Any] = {}
    buf = io.BytesIO(data)
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        try:
            # Image.open reads the header only; the pixel data is decoded by load(), never called here.
            # Image.MAX_IMAGE_PIXELS stays in force: a header declaring a decompression bomb is refused.
            with Image.open(buf) as im:
                out = {"format": im.format, "width": im.size[0], "height": im.size[1], "mode": im.mode}
                frames = getattr(im, "n_frames", 1)
                if frames != 1:
                    out["frames"] = int(frames)
                info = im.info
                for key in ("dpi", "comment", "icc_profile"):
                    if key in info:
                        val = info[key]
                        out[key] = f"{len(val)} bytes" if key == "icc_profile" else val
                out["exif"] = info.get("exif")
                out["xmp"] = info.get("xmp") or info.get("XML:com.adobe.xmp")
                if im.format == "JPEG":
                    out.update(_iptc(im, problems))
        except Image.DecompressionBombError as exc:
            problems.append(f"image header declares too many pixels, not read further: {exc}")
        except Exception as exc:  # Pillow raises many types on malformed headers
            # Pillow names the file it read, here a buffer whose address changes with every run: the warning
            # is sealed in the manifest, so it must say the same for the same bytes.
            detail = str(exc).replace(f" {buf!r}", "").replace(repr(buf), "the image")
            problems.append(f"image header not readable: {type(exc).__name__}: {detail}"[:300])
    problems.extend(f"image reader: {w.message}"[:300] for w in caught)
    return out


def _iptc(im: Any, problems: list[str]) -> dict[str, Any]:
    from PIL import IptcImagePlugin

    try:
        iptc = IptcImagePlugin.getiptcinfo(im)
    except Exception as exc:
        problems.append(f"IPTC not readable: {exc}"[:300])
        return {}
    if not iptc:
        return {}
    out: dict[str, Any] = {}
    for (record, dataset), value in sorted(iptc.items()):
        values = value if isinstance(value, list) else [value]
        out[f"{record}:{dataset}"] = [v.decode("utf-8", "replace")[:1000] for v in values if isinstance(v, bytes)]
    return {"iptc": out}
