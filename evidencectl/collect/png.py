"""A PNG chunk walker: IHDR, text chunks (tEXt, zTXt, iTXt), eXIf and XMP, with every CRC checked.

Image data chunks (IDAT) are skipped with a seek, so walking a large screenshot costs a few reads.
Compressed text is inflated with a bound, so a small zTXt chunk cannot expand into gigabytes.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from .media import PNG_MAGIC

#: Largest inflated text chunk kept, in bytes.
MAX_TEXT_BYTES = 1 << 20
#: Characters of a text chunk's value kept in the metadata.
TEXT_EXCERPT = 4096
# Chunks larger than this are not read into memory (their CRC is not checked either).
_MAX_CHUNK_READ = 16 << 20
_COLOR_TYPES = {0: "grayscale", 2: "truecolor", 3: "indexed", 4: "grayscale+alpha", 6: "truecolor+alpha"}


@dataclass
class PngWalk:
    """What :func:`walk_png` found."""

    header: dict[str, Any] = field(default_factory=dict)
    """Width, height, bit depth and colour type from IHDR, plus the list of chunk types seen."""
    texts: list[dict[str, Any]] = field(default_factory=list)
    """One entry per tEXt / zTXt / iTXt chunk: type, keyword, text (bounded), language."""
    exif: bytes | None = None
    """The raw payload of an eXIf chunk, if any."""
    xmp: str | None = None
    """The XMP packet from an iTXt chunk with keyword ``XML:com.adobe.xmp``, if any."""
    problems: list[str] = field(default_factory=list)
    """Bad CRCs, truncation, undecodable text: one line each."""


def _inflate(data: bytes) -> tuple[bytes, bool]:
    d = zlib.decompressobj()
    out = d.decompress(data, MAX_TEXT_BYTES)
    return out, bool(d.unconsumed_tail)


def _text_chunk(ctype: str, data: bytes, offset: int, walk: PngWalk) -> None:
    keyword_raw, sep, rest = data.partition(b"\x00")
    keyword = keyword_raw.decode("latin-1")
    if not sep:
        walk.problems.append(f"PNG chunk {ctype} at offset {offset}: no keyword separator")
        return
    entry: dict[str, Any] = {"type": ctype, "keyword": keyword}
    try:
        if ctype == "tEXt":
            text = rest.decode("latin-1")
        elif ctype == "zTXt":
            raw, cut = _inflate(rest[1:])
            entry["truncated_inflate"] = cut
            text = raw.decode("latin-1")
        else:
            compressed, _method = rest[0], rest[1]
            lang, _, rest2 = rest[2:].partition(b"\x00")
            translated, _, value = rest2.partition(b"\x00")
            entry["language"] = lang.decode("ascii", "replace")
            entry["translated_keyword"] = translated.decode("utf-8", "replace")
            if compressed:
                value, cut = _inflate(value)
                entry["truncated_inflate"] = cut
            text = value.decode("utf-8", "replace")
    except (zlib.error, IndexError) as exc:
        walk.problems.append(f"PNG chunk {ctype} at offset {offset}: text not readable: {exc}")
        return
    if ctype == "iTXt" and keyword == "XML:com.adobe.xmp":
        walk.xmp = text
    entry["length"] = len(text)
    entry["text"] = text[:TEXT_EXCERPT]
    entry["full_text"] = text  # removed by the caller once EXIF profiles have been looked for
    walk.texts.append(entry)


def _read_chunks(fh: BinaryIO, walk: PngWalk) -> None:
    seen: list[str] = []
    offset = len(PNG_MAGIC)
    while True:
        head = fh.read(8)
        if not head:
            walk.problems.append(f"PNG ends at offset {offset} without an IEND chunk")
            break
        if len(head) < 8:
            walk.problems.append(f"PNG truncated in a chunk header at offset {offset}")
            break
        length, ctype_raw = struct.unpack(">I4s", head)
        ctype = ctype_raw.decode("latin-1")
        if not ctype_raw.isalpha():
            walk.problems.append(f"PNG chunk at offset {offset}: invalid type {ctype_raw!r}; stopped reading")
            break
        if not seen or seen[-1] != ctype:
            seen.append(ctype)
        if ctype == "IDAT" or length > _MAX_CHUNK_READ:
            fh.seek(length + 4, 1)
            offset += 12 + length
            continue
        data = fh.read(length)
        crc = fh.read(4)
        if len(data) < length or len(crc) < 4:
            walk.problems.append(f"PNG chunk {ctype} at offset {offset}: truncated")
            break
        if zlib.crc32(ctype_raw + data) != struct.unpack(">I", crc)[0]:
            walk.problems.append(f"PNG chunk {ctype} at offset {offset}: bad CRC")
        elif ctype == "IHDR" and length == 13:
            w, h, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", data)
            walk.header.update(
                {
                    "png_width": w,
                    "png_height": h,
                    "bit_depth": depth,
                    "color_type": _COLOR_TYPES.get(color, str(color)),
                }
            )
            walk.header["interlaced"] = bool(interlace)
        elif ctype in ("tEXt", "zTXt", "iTXt"):
            _text_chunk(ctype, data, offset, walk)
        elif ctype == "eXIf":
            walk.exif = data
        offset += 12 + length
        if ctype == "IEND":
            break
    walk.header["chunks"] = seen


def walk_png(data: bytes) -> PngWalk:
    """Walk the chunks of the PNG file ``data``; never raises for malformed content."""
    walk = PngWalk()
    fh = io.BytesIO(data)
    if fh.read(len(PNG_MAGIC)) != PNG_MAGIC:
        walk.problems.append("not a PNG signature")
        return walk
    _read_chunks(fh, walk)
    return walk
