"""The byte layout of the strict ``.evp`` ZIP profile (docs/format.md §2), shared by writer and reader.

One profile, so that every ZIP tool reads the same bytes as the verifier: stored members only, no extra
field but ZIP64 and that only where a value needs it, no comment, no data descriptor, members contiguous
from offset 0 in central-directory order, the end records right after the central directory. The writer
builds its headers with these functions, and the reader rebuilds the local header each central record
implies and compares the bytes: one comparison covers every field.
"""

from __future__ import annotations

import struct

LOCAL_SIG = b"PK\x03\x04"
CENTRAL_SIG = b"PK\x01\x02"
END_SIG = b"PK\x05\x06"
ZIP64_END_SIG = b"PK\x06\x06"
ZIP64_LOCATOR_SIG = b"PK\x06\x07"

LOCAL = struct.Struct("<4sHHHHHIIIHH")
"""Local file header (APPNOTE 4.3.7): signature, version needed, flags, method, time, date, CRC-32,
compressed size, uncompressed size, name length, extra length. 30 bytes."""
CENTRAL = struct.Struct("<4sHHHHHHIIIHHHHHII")
"""Central directory header (APPNOTE 4.3.12). 46 bytes."""
END = struct.Struct("<4sHHHHIIH")
"""End of central directory record (APPNOTE 4.3.16). 22 bytes."""
ZIP64_END = struct.Struct("<4sQHHIIQQQQ")
"""ZIP64 end of central directory record (APPNOTE 4.3.14), without extensible data. 56 bytes."""
ZIP64_LOCATOR = struct.Struct("<4sIQI")
"""ZIP64 end of central directory locator (APPNOTE 4.3.15). 20 bytes."""

ZIP64_FROM = 1 << 31
"""A size or offset this large or larger goes into a ZIP64 field and its 32-bit field holds 0xFFFFFFFF;
a smaller one never does. 2 GiB, not 4: Python's zipfile and readers that take the fields as signed agree."""
COUNT_FROM = 0xFFFF
"""A member count this large or larger is written to the ZIP64 end record only (0xFFFF in the 32-bit one)."""
U16, U32 = 0xFFFF, 0xFFFFFFFF

FIXED_TIME = 0
"""DOS time 00:00:00 of every member."""
FIXED_DATE = (1980 - 1980) << 9 | 1 << 5 | 1
"""DOS date 1980-01-01 of every member."""
UTF8_FLAG = 0x800
"""General-purpose flag bit 11: the name is UTF-8. Set exactly when the name is not ASCII."""
MADE_BY_UNIX = 3 << 8
EXTERNAL_FILE = 0o100644 << 16
"""External attributes of every member: a regular Unix file, rw-r--r--."""


def encode_name(name: str) -> tuple[bytes, int]:
    """The name's bytes and general-purpose flags (UTF-8 flag exactly when the name is not ASCII)."""
    raw = name.encode("utf-8")
    return raw, (0 if len(raw) == len(name) else UTF8_FLAG)


def version_needed(zip64: bool) -> int:
    """2.0, or 4.5 for an entry with a ZIP64 field."""
    return 45 if zip64 else 20


def local_extra(size: int) -> bytes:
    """The local header's extra field: ZIP64 (uncompressed and compressed size) when the size needs it."""
    return struct.pack("<HHQQ", 1, 16, size, size) if size >= ZIP64_FROM else b""


def central_extra(size: int, offset: int) -> bytes:
    """The central record's extra field: ZIP64 with the values that need it, in APPNOTE order."""
    values = ([size, size] if size >= ZIP64_FROM else []) + ([offset] if offset >= ZIP64_FROM else [])
    return struct.pack(f"<HH{len(values)}Q", 1, 8 * len(values), *values) if values else b""


def local_header(name: str, size: int, crc: int, offset: int) -> bytes:
    """The complete local header of a stored member (name and extra included)."""
    raw, flags = encode_name(name)
    extra = local_extra(size)
    small = U32 if size >= ZIP64_FROM else size
    version = version_needed(size >= ZIP64_FROM or offset >= ZIP64_FROM)
    fixed = LOCAL.pack(LOCAL_SIG, version, flags, 0, FIXED_TIME, FIXED_DATE, crc, small, small, len(raw), len(extra))
    return fixed + raw + extra


def central_record(name: str, size: int, crc: int, offset: int) -> bytes:
    """The central directory record of a stored member written by :func:`local_header`."""
    raw, flags = encode_name(name)
    extra = central_extra(size, offset)
    small = U32 if size >= ZIP64_FROM else size
    version = version_needed(size >= ZIP64_FROM or offset >= ZIP64_FROM)
    fixed = CENTRAL.pack(
        CENTRAL_SIG,
        MADE_BY_UNIX | version,
        version,
        flags,
        0,
        FIXED_TIME,
        FIXED_DATE,
        crc,
        small,
        small,
        len(raw),
        len(extra),
        0,
        0,
        0,
        EXTERNAL_FILE,
        U32 if offset >= ZIP64_FROM else offset,
    )
    return fixed + raw + extra


def end_records(count: int, cd_offset: int, cd_size: int) -> bytes:
    """The end records after a central directory of ``count`` entries at ``cd_offset``: the ZIP64 end record
    and locator when a value needs them, then the end of central directory record (no comment)."""
    zip64 = count >= COUNT_FROM or cd_offset >= ZIP64_FROM or cd_size >= ZIP64_FROM
    out = b""
    if zip64:
        at = cd_offset + cd_size
        out = ZIP64_END.pack(ZIP64_END_SIG, 44, MADE_BY_UNIX | 45, 45, 0, 0, count, count, cd_size, cd_offset)
        out += ZIP64_LOCATOR.pack(ZIP64_LOCATOR_SIG, 0, at, 1)
    n = U16 if count >= COUNT_FROM else count
    size = U32 if cd_size >= ZIP64_FROM else cd_size
    offset = U32 if cd_offset >= ZIP64_FROM else cd_offset
    return out + END.pack(END_SIG, 0, 0, n, n, size, offset, 0)
