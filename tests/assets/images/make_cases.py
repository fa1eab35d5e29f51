"""Generate the synthetic and damaged image test cases in this folder.

Run from the repository root: ``python tests/assets/images/make_cases.py`` (needs Pillow). The pillow_*
files are copied from Pillow's test images (MIT-CMU), not made here.
"""

from __future__ import annotations

import io
import struct

from pathlib import Path

from PIL import Image, PngImagePlugin

HERE = Path(__file__).resolve().parent
XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="截图工具 2.1"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def exif_block() -> bytes:
    """EXIF with DateTimeOriginal, Make, Model, Software, orientation 6 and GPS rationals."""
    exif = Image.Exif()
    exif[271] = "Huawei"
    exif[272] = "P60 Pro"
    exif[305] = "HarmonyOS 4.0 Screenshot"
    exif[274] = 6
    exif.get_ifd(0x8769)[36867] = "2024:03:05 14:22:31"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.3)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 29.5)
    gps[29] = "2024:03:05"
    return exif.tobytes()


def screenshot_png() -> None:
    """A screenshot-like PNG: tEXt, zTXt and iTXt chunks (one XMP), an eXIf chunk, text after IDAT."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Software", "evidencectl test screenshot")
    info.add_text("Comment", "聊天记录截图 " * 20, zip=True)  # zTXt is Latin-1 only: becomes iTXt compressed
    info.add_text("Description", "plain latin text", zip=True)
    info.add_itxt("Title", "微信聊天记录", lang="zh-CN", tkey="标题")
    info.add_itxt("XML:com.adobe.xmp", XMP)
    Image.new("RGB", (64, 40), (200, 220, 240)).save(HERE / "screenshot_text_exif_xmp.png", pnginfo=info, exif=exif_block())


def gps_jpeg() -> None:
    """A JPEG with EXIF (orientation, GPS rationals) and an XMP packet."""
    Image.new("RGB", (32, 24), (10, 20, 30)).save(
        HERE / "photo_exif_gps_xmp.jpg", exif=exif_block(), xmp=XMP.encode(), quality=80
    )


def corrupt_png_chunk() -> None:
    """pillow_itxt_chunks.png with one byte of its iTXt text changed and the CRC left as it was."""
    data = bytearray((HERE / "pillow_itxt_chunks.png").read_bytes())
    pos = data.index(b"Created with GIMP")
    data[pos] ^= 0x20
    (HERE / "bad_png_corrupt_chunk.png").write_bytes(bytes(data))


def jpeg_exif_outside() -> None:
    """A JPEG whose EXIF IFD0 points its Exif and GPS sub-IFDs (and the Make value) far past the file's end."""
    ifd0 = [
        (271, 2, 40, 0x7FFFFF00),  # Make: ASCII, 40 bytes, at an offset outside the block
        (0x8769, 4, 1, 0x00FFFFF0),  # Exif IFD pointer outside
        (0x8825, 4, 1, 0x0FFFFFF0),  # GPS IFD pointer outside
    ]
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", len(ifd0))
    for tag, typ, count, value in ifd0:
        tiff += struct.pack(">HHII", tag, typ, count, value)
    tiff += struct.pack(">I", 0)
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (1, 2, 3)).save(buf, "JPEG", exif=b"Exif\x00\x00" + tiff)
    (HERE / "bad_jpeg_exif_outside.jpg").write_bytes(buf.getvalue())


def truncated_png() -> None:
    """A PNG cut in the middle of its IDAT chunk (a partial download)."""
    data = (HERE / "screenshot_text_exif_xmp.png").read_bytes()
    cut = data.index(b"IDAT") + 20
    (HERE / "bad_png_truncated.png").write_bytes(data[:cut])


if __name__ == "__main__":
    screenshot_png()
    gps_jpeg()
    corrupt_png_chunk()
    jpeg_exif_outside()
    truncated_png()

    print("\n".join(sorted(p.name for p in HERE.iterdir())))
