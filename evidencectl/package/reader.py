"""Reader of ``.evp`` packages that treats every byte as hostile.

Limits: member count, member names (no absolute, drive-letter, backslash or ``..`` names, no symlinks),
duplicate names rejected (a second ``manifest.json`` never wins), declared and actual sizes, and the
decompression ratio of compressed members. Bytes are counted as they are inflated, whatever the header says.
"""

from __future__ import annotations

import os
import re
import stat
import struct
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from ..errors import MalformedPackageError
from .canonical import parse_json
from .manifest import MIMETYPE

MAX_MEMBERS = 1_000_000
MAX_METADATA_MEMBER = 256 << 20
"""Largest manifest, token or receipt read into memory."""
MAX_RATIO = 200
"""Largest inflated/compressed ratio of a compressed member above 1 MiB (evidence is stored, not deflated)."""
SMALL_MEMBER = 1 << 20
"""Members up to this size may be read in one go by :meth:`PackageReader.small_stored`."""
_LOCAL_FIELDS = struct.Struct("<6xH18xHH")
"""General-purpose flags, name length and extra length of a ZIP local file header (APPNOTE 4.3.7)."""
_DRIVE = re.compile(r"^[A-Za-z]:")
# Besides BadZipFile, a local header that contradicts the central directory raises these when a member is
# opened: a name that is not UTF-8 though flagged so (UnicodeDecodeError), a feature or flag set only there.
_UNOPENABLE = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def _unsafe_name(name: str) -> str | None:
    if not name or name.startswith("/") or "\\" in name or _DRIVE.match(name):
        return "absolute or non-portable member name"
    if "\x00" in name:
        return "NUL in member name"
    parts = name.split("/")
    if any(p in ("..", ".") for p in parts) or "" in parts[:-1]:
        return "member name escapes the package"
    return None


class PackageReader:
    """An opened, structurally checked package."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._zip = zipfile.ZipFile(path, "r")
        except FileNotFoundError as exc:
            raise MalformedPackageError("no such file", path=path) from exc
        except IsADirectoryError as exc:
            raise MalformedPackageError("is a directory, not a package", path=path) from exc
        except (*_UNOPENABLE, struct.error) as exc:  # NotImplementedError: "zip file version 25.5"
            raise MalformedPackageError(f"not a readable evidence package (ZIP): {exc}", path=path) from exc
        self._ahead: tuple[int, bytes] = (0, b"")
        try:
            self._check_structure()
        except MalformedPackageError:
            self._zip.close()
            raise

    def _fail(self, message: str) -> MalformedPackageError:
        return MalformedPackageError(message, path=self.path)

    def _check_structure(self) -> None:
        infos = self._zip.infolist()
        if len(infos) > MAX_MEMBERS:
            raise self._fail(f"{len(infos)} members exceed the limit of {MAX_MEMBERS}")
        seen: set[str] = set()
        for info in infos:
            name = info.filename
            problem = _unsafe_name(name)
            if problem:
                raise self._fail(f"{problem}: {name!r}")
            if name in seen:
                raise self._fail(f"duplicate member {name!r}")
            seen.add(name)
            mode = info.external_attr >> 16
            if info.create_system == 3 and stat.S_ISLNK(mode):
                raise self._fail(f"symbolic link member {name!r}")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._fail(f"member {name!r} uses an unsupported compression method")
            if info.flag_bits & 0x1:
                raise self._fail(f"member {name!r} is encrypted")
            if (
                info.compress_type == zipfile.ZIP_DEFLATED
                and info.file_size > (1 << 20)
                and info.file_size > MAX_RATIO * max(info.compress_size, 1)
            ):
                raise self._fail(
                    f"member {name!r} inflates {info.file_size // max(info.compress_size, 1)}x (decompression bomb)"
                )
        self.infos = {i.filename: i for i in infos}
        if not infos or infos[0].filename != "mimetype":
            raise self._fail("first member is not 'mimetype': not an evidencectl package")
        if self.read("mimetype", limit=256).strip() != MIMETYPE.encode():
            raise self._fail("mimetype member does not name an evidencectl package")
        if "manifest.json" not in self.infos:
            raise self._fail("no manifest.json")

    def names(self) -> list[str]:
        """Member names in archive order."""
        return list(self.infos)

    @contextmanager
    def open_member(self, name: str) -> Iterator[IO[bytes]]:
        """A stream of a member's bytes. The ZIP CRC check is left to the caller (see ``crc_ok``):
        a altered original must surface as a digest mismatch, not as an unreadable archive."""
        info = self.infos.get(name)
        if info is None:
            raise self._fail(f"member {name!r} is missing")
        try:
            opened = self._zip.open(info)
        except _UNOPENABLE as exc:
            raise self._fail(f"member {name!r} cannot be read: {exc}") from exc
        try:
            with opened as raw:
                raw._expected_crc = None  # type: ignore[attr-defined]
                yield cast(IO[bytes], _Bounded(raw, info.file_size, name, self))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            raise self._fail(f"member {name!r} cannot be read: {exc}") from exc

    def read(self, name: str, *, limit: int = MAX_METADATA_MEMBER) -> bytes:
        """A whole member, refusing members larger than ``limit``."""
        info = self.infos.get(name)
        if info is None:
            raise self._fail(f"member {name!r} is missing")
        if info.file_size > limit:
            raise self._fail(f"member {name!r} is {info.file_size} bytes, more than the limit of {limit}")
        with self.open_member(name) as f:
            return f.read()

    def read_json(self, name: str) -> Any:
        """A member parsed as strict JSON (UTF-8, no duplicate keys, bounded depth)."""
        data = self.read(name)
        try:
            # The manifest's records are hashed as canonical JSON: what it cannot hold is refused by name here.
            return parse_json(data, canonical=name == "manifest.json")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise self._fail(f"{name} is not valid JSON: {exc}") from exc

    def small_stored(self, name: str) -> bytes | None:
        """A small stored member's bytes read with one ``pread`` (a package of 200,000 files opened each
        through ``ZipFile.open`` spent most of its verification there); None for any member that is not
        plainly small and stored, or whose local header disagrees with the directory (``open_member`` then
        reads it, and reports what is wrong)."""
        info = self.infos.get(name)
        if (
            info is None
            or info.compress_type != zipfile.ZIP_STORED
            or info.flag_bits & 0x61  # encrypted, patched or strongly encrypted
            or info.file_size != info.compress_size
            or info.file_size > SMALL_MEMBER
        ):
            return None
        want = 30 + len(name.encode("utf-8")) + 64 + info.file_size
        try:
            buf = self._window(info.header_offset, want)
            if len(buf) < 30 or bytes(buf[:4]) != b"PK\x03\x04":
                return None
            flags, name_len, extra_len = _LOCAL_FIELDS.unpack_from(buf, 0)
            start = 30 + name_len + extra_len
            if start + info.file_size > len(buf):
                buf = self._window(info.header_offset, start + info.file_size)
            raw = bytes(buf[30 : 30 + name_len])
            local = raw.decode("utf-8") if flags & 0x800 else raw.decode("cp437")
        except (OSError, UnicodeDecodeError, struct.error):
            return None
        data = bytes(buf[start : start + info.file_size])
        if local != info.orig_filename or len(data) != info.file_size:
            return None
        return data

    def _window(self, offset: int, size: int) -> memoryview:
        """``size`` bytes (fewer at the end of the file) from ``offset``, served from a 4 MiB read-ahead
        window: members read in package order then cost one ``pread`` per window, not one each."""
        start, data = self._ahead
        if not (start <= offset and offset + size <= start + len(data)):
            fd = self._zip.fp.fileno()  # type: ignore[union-attr]
            data = os.pread(fd, max(size, 4 << 20), offset)
            start = offset
            self._ahead = (start, data)
        return memoryview(data)[offset - start : offset - start + size]

    def crc_ok(self, name: str, crc: int) -> bool:
        """True when ``crc`` (computed over the bytes read) matches the ZIP's record."""
        return crc == self.infos[name].CRC

    def close(self) -> None:
        """Close the archive."""
        self._zip.close()

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Bounded:
    """Counts inflated bytes and refuses more than the declared size (a lying header is malformed)."""

    def __init__(self, raw: IO[bytes], declared: int, name: str, reader: PackageReader) -> None:
        self._raw, self._left, self._name, self._reader = raw, declared, name, reader

    def read(self, n: int = -1) -> bytes:
        data = self._raw.read(n if n >= 0 else self._left + 1)
        self._left -= len(data)
        if self._left < 0:
            raise self._reader._fail(f"member {self._name!r} holds more bytes than its header declares")
        return data

    def readinto(self, buf: memoryview | bytearray) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)
