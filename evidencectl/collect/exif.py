"""EXIF as JSON-safe strings: the tags a court asks about (when, which device, which software, where).

Values are rendered, never interpreted into floats: a GPS latitude stays ``["39/1", "54/1", "2730/100"]``
so the exact recorded rationals survive canonical JSON. Malformed EXIF (offsets pointing outside the
block, impossible dates) is recorded as a problem and whatever could be read is kept.
"""

from __future__ import annotations

import binascii
import warnings as pywarnings
from datetime import datetime
from typing import Any

from .text import to_json

# Tags of IFD0 and of the Exif sub-IFD that describe provenance rather than picture settings.
_BASE_TAGS = {
    270: "ImageDescription",
    271: "Make",
    272: "Model",
    274: "Orientation",
    305: "Software",
    306: "DateTime",
    315: "Artist",
    33432: "Copyright",
}
_EXIF_TAGS = {
    36867: "DateTimeOriginal",
    36868: "DateTimeDigitized",
    36880: "OffsetTime",
    36881: "OffsetTimeOriginal",
    36882: "OffsetTimeDigitized",
    42016: "ImageUniqueID",
    42033: "BodySerialNumber",
    42035: "LensMake",
    42036: "LensModel",
    37510: "UserComment",
}
_EXIF_IFD = 0x8769
_GPS_IFD = 0x8825
_MAX_VALUE = 1000


# Tags whose EXIF type is BYTE: numbers, not text (GPSVersionID 2.2.0.0 is [2, 2, 0, 0], not "\x02\x02").
_BYTE_TAGS = frozenset({"GPSVersionID", "GPSAltitudeRef"})
# UserComment (type UNDEFINED) opens with an 8-byte character code (EXIF 2.3 §4.6.5, table 9).
_COMMENT_CODES = {b"ASCII\0\0\0": "ascii", b"UNICODE\0": "utf-16", b"JIS\0\0\0\0\0": "shift_jis"}
_TEXT_CONTROLS = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D}


def _render_tag(name: str, value: Any) -> Any:
    """A tag's value for the metadata: BYTE tags as numbers, UserComment decoded by its character code, other
    bytes as text only when they are text (else ``hex:``), never as raw control characters."""
    if isinstance(value, bytes | bytearray) and name in _BYTE_TAGS:
        numbers = list(bytes(value))
        return numbers[0] if len(numbers) == 1 else numbers
    if isinstance(value, int) and name in _BYTE_TAGS:
        return value
    if isinstance(value, bytes | bytearray) and name == "UserComment":
        code = _COMMENT_CODES.get(bytes(value[:8]))
        if code is not None:
            try:
                return _render(bytes(value[8:]).decode(code).rstrip("\x00 "))
            except UnicodeDecodeError:
                pass
    if isinstance(value, bytes | bytearray):
        raw = bytes(value).rstrip(b"\x00")
        if any(b in _TEXT_CONTROLS for b in raw):
            return "hex:" + bytes(value)[:_MAX_VALUE].hex()
    return _render(value)


def _render(value: Any) -> Any:
    rendered = to_json(value)
    if isinstance(rendered, str) and len(rendered) > _MAX_VALUE:
        return rendered[:_MAX_VALUE] + "..."
    return rendered


def parse_exif(data: bytes) -> tuple[dict[str, Any], list[str]]:
    """Parse an EXIF block (with or without the ``Exif\\0\\0`` prefix): (tags, problems)."""
    from PIL import ExifTags, Image

    problems: list[str] = []
    out: dict[str, Any] = {}
    with pywarnings.catch_warnings(record=True) as caught:
        pywarnings.simplefilter("always")
        exif = Image.Exif()
        try:
            exif.load(data)
        except Exception as exc:
            problems.append(f"not readable: {type(exc).__name__}: {exc}"[:300])
            return out, problems
        for tag, name in _BASE_TAGS.items():
            if tag in exif:
                out[name] = (
                    exif[tag] if name == "Orientation" and isinstance(exif[tag], int) else _render_tag(name, exif[tag])
                )
        for ifd_tag, names, key in ((_EXIF_IFD, _EXIF_TAGS, None), (_GPS_IFD, ExifTags.GPSTAGS, "GPS")):
            try:
                ifd = exif.get_ifd(ifd_tag)
            except Exception as exc:
                problems.append(f"IFD {ifd_tag:#x} not readable: {type(exc).__name__}: {exc}"[:300])
                continue
            if ifd_tag in exif and not ifd:
                problems.append(f"IFD {ifd_tag:#x} points to offset {exif[ifd_tag]!s} but holds no readable tag")
            target = out.setdefault(key, {}) if key else out
            for tag, value in ifd.items():
                if tag in names:
                    target[names[tag]] = _render_tag(names[tag], value)
        if "GPS" in out and not out["GPS"]:
            del out["GPS"]
    problems.extend(str(w.message)[:300] for w in caught)
    dates = [(n, out.get(n), "%Y:%m:%d %H:%M:%S") for n in ("DateTime", "DateTimeOriginal", "DateTimeDigitized")]
    dates.append(("GPSDateStamp", out.get("GPS", {}).get("GPSDateStamp"), "%Y:%m:%d"))
    for name, value, fmt in dates:
        if isinstance(value, str) and not _valid_date(value, fmt):
            problems.append(f"{name} {value!r} is not a valid EXIF date")
    return out, problems


def _valid_date(value: str, fmt: str) -> bool:
    try:
        datetime.strptime(value.strip("\x00 "), fmt)
    except ValueError:
        return False
    return True


def raw_profile_exif(text: str) -> bytes | None:
    """Decode ImageMagick's ``Raw profile type exif`` text (name, length, then hex) to EXIF bytes."""
    parts = text.strip().split(None, 2)
    if len(parts) < 3 or not parts[1].isdigit():
        return None
    try:
        data = binascii.unhexlify("".join(parts[2].split()))
    except (binascii.Error, ValueError):
        return None
    return data[: int(parts[1])]
