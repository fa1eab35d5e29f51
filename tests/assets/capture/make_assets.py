"""Regenerate the binary test assets of the capture tests: ``pixel.png`` (a 4x4 red PNG, written with zlib
so that its bytes are reproducible). The HTML, CSS and script files are written by hand."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """An 8-bit RGB PNG of one colour."""
    row = b"\x00" + bytes(rgb) * width
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(row * height, 9))
        + _chunk(b"IEND", b"")
    )


if __name__ == "__main__":
    (Path(__file__).parent / "pixel.png").write_bytes(png(4, 4, (200, 30, 30)))
