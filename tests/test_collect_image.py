"""Screenshots and photos: header metadata, EXIF, PNG text chunks, XMP; damaged files never crash."""

from __future__ import annotations

import hashlib
import struct
import zlib
from pathlib import Path

import pytest
import rfc8785

from evidencectl.collect.analyze import analyze
from evidencectl.errors import BadInputError

ASSETS = Path(__file__).parent / "assets" / "images"


def image_meta(name: str) -> dict:
    a = analyze(ASSETS / name)
    assert a.kind == "image"
    return a.metadata["image"]  # type: ignore[no-any-return]


def test_screenshot_png_text_chunks_exif_and_xmp() -> None:
    a = analyze(ASSETS / "screenshot_text_exif_xmp.png")
    assert (a.media_type, a.warnings) == ("image/png", ())
    m = a.metadata["image"]
    assert (m["format"], m["width"], m["height"], m["mode"]) == ("PNG", 64, 40, "RGB")
    chunks = {(t["type"], t["keyword"]): t for t in m["png_text"]}
    assert chunks[("tEXt", "Software")]["text"] == "evidencectl test screenshot"
    assert chunks[("zTXt", "Description")]["text"] == "plain latin text"
    title = chunks[("iTXt", "Title")]
    assert (title["text"], title["language"], title["translated_keyword"]) == ("微信聊天记录", "zh-CN", "标题")
    assert chunks[("iTXt", "Comment")]["text"].startswith("聊天记录截图")
    assert "截图工具 2.1" in m["xmp"]["xml"] and m["xmp"]["truncated"] is False
    exif = m["exif"]
    assert (exif["Make"], exif["Model"], exif["DateTimeOriginal"]) == ("Huawei", "P60 Pro", "2024:03:05 14:22:31")
    assert exif["GPS"]["GPSLatitude"] == ["39/1", "54/1", "273/10"]
    assert exif["GPS"]["GPSLatitudeRef"] == "N"
    assert m["orientation"] == {"value": 6, "meaning": "rotated 90 clockwise"}


def test_jpeg_exif_gps_and_xmp() -> None:
    m = image_meta("photo_exif_gps_xmp.jpg")
    assert (m["format"], m["width"], m["height"]) == ("JPEG", 32, 24)
    assert m["exif"]["GPS"]["GPSLongitude"] == ["116/1", "23/1", "59/2"]
    assert m["exif"]["Software"] == "HarmonyOS 4.0 Screenshot"
    assert "xmpmeta" in m["xmp"]["xml"]


def test_pillow_exif_png_and_imagemagick_raw_profile() -> None:
    assert image_meta("pillow_exif.png")["orientation"]["value"] == 1
    assert "eXIf" in image_meta("pillow_exif.png")["chunks"]
    magick = image_meta("pillow_exif_imagemagick.png")
    assert magick["exif"] == {"Orientation": 1}
    assert any(t["keyword"] == "Raw profile type exif" for t in magick["png_text"])


def test_itxt_comment_and_iptc() -> None:
    itxt = image_meta("pillow_itxt_chunks.png")
    assert itxt["png_text"] == [
        {
            "type": "iTXt",
            "keyword": "Comment",
            "language": "",
            "translated_keyword": "",
            "length": 17,
            "text": "Created with GIMP",
        }
    ]
    iptc = image_meta("pillow_iptc.jpg")
    assert iptc["iptc"]["2:90"] == ["Budapest"]
    assert (iptc["exif"]["Make"], iptc["exif"]["Model"]) == ("Nokia", "N70-1")


def test_future_and_malformed_dates_are_recorded_not_fatal() -> None:
    a = analyze(ASSETS / "pillow_exif_gps.jpg")
    assert a.metadata["image"]["exif"]["DateTimeOriginal"] == "2099:09:29 10:10:10"
    assert any("GPSDateStamp" in w and "1999:99:99" in w for w in a.warnings)


def test_png_with_corrupt_chunk_warns_with_offset_and_strict_raises() -> None:
    a = analyze(ASSETS / "bad_png_corrupt_chunk.png")
    assert a.kind == "image"
    assert "PNG chunk iTXt at offset 73: bad CRC" in a.warnings
    assert (a.metadata["image"]["width"], a.metadata["image"]["height"]) == (2400, 2000)
    with pytest.raises(BadInputError) as err:
        analyze(ASSETS / "bad_png_corrupt_chunk.png", strict=True)
    assert "bad CRC" in str(err.value) and err.value.path


def test_truncated_png_warns() -> None:
    a = analyze(ASSETS / "bad_png_truncated.png")
    assert any("without an IEND" in w for w in a.warnings)


def test_jpeg_exif_pointing_outside_the_file_warns_and_strict_raises() -> None:
    a = analyze(ASSETS / "bad_jpeg_exif_outside.jpg")
    assert a.kind == "image" and a.metadata["image"]["width"] == 16
    assert a.warnings and any("EXIF" in w for w in a.warnings)
    assert "Make" not in a.metadata["image"].get("exif", {})
    with pytest.raises(BadInputError):
        analyze(ASSETS / "bad_jpeg_exif_outside.jpg", strict=True)


def test_pixels_are_never_decoded(monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import ImageFile

    def no_load(self: object) -> None:
        raise AssertionError("pixel data decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_load)
    for path in sorted(ASSETS.glob("*.png")) + sorted(ASSETS.glob("*.jpg")):
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        analyze(path)
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def test_decompression_bomb_header_is_refused_without_exception(tmp_path: Path) -> None:
    ihdr = struct.pack(">IIBBBBB", 200_000, 200_000, 8, 2, 0, 0, 0)
    path = tmp_path / "bomb.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"") + _chunk(b"IEND", b""))
    a = analyze(path)
    assert a.metadata["image"]["png_width"] == 200_000
    assert any("too many pixels" in w for w in a.warnings)


def test_zTXt_inflation_is_bounded(tmp_path: Path) -> None:
    bomb = zlib.compress(b"A" * (8 << 20), 9)
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00\x00")
    path = tmp_path / "ztxt.png"
    body = _chunk(b"IHDR", ihdr) + _chunk(b"zTXt", b"big\x00\x00" + bomb) + _chunk(b"IDAT", idat)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + body + _chunk(b"IEND", b""))
    (text,) = analyze(path).metadata["image"]["png_text"]
    assert text["truncated_inflate"] is True and text["length"] == 1 << 20 and len(text["text"]) == 4096


def test_every_image_metadata_is_canonical_json() -> None:
    for path in sorted(ASSETS.iterdir()):
        if path.suffix in (".png", ".jpg"):
            rfc8785.dumps(analyze(path).metadata)
