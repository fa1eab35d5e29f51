"""Reader of ``.evp`` packages that treats every byte as hostile and reads the ZIP one way only.

The ZIP itself (end records, central directory, local headers, the strict profile of docs/format.md §2) is
read by :class:`~evidencectl.package.zipdirectory.StrictZip`; this module adds what makes it a package:
safe, unique, non-colliding member names in the layout, ``mimetype`` first, a manifest, and the reading of
members. Any violation is a MalformedPackageError (exit 4) in one line naming the member and what is wrong.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, cast

from .canonical import parse_json
from .manifest import MIMETYPE
from .membernames import NameSpace, fold, outside_layout, unsafe_name
from .zipdirectory import MAX_MEMBERS, Member, StrictZip

__all__ = ["MAX_MEMBERS", "MAX_METADATA_MEMBER", "SMALL_MEMBER", "Member", "PackageReader"]

MAX_METADATA_MEMBER = 256 << 20
"""Largest manifest, token or receipt read into memory."""
SMALL_MEMBER = 1 << 20
"""Members up to this size may be read in one go by :meth:`PackageReader.small_stored`."""
_BAD_NAME = re.compile(r"\x00\x00|\x00/|\\|\x00[A-Za-z]:|//|/\x00|[\x00/]\.\.?(?=[\x00/])")
"""Anything :func:`~evidencectl.package.names.unsafe_name` refuses, in names joined by NUL (which no
good name holds), found in one search."""


class PackageReader(StrictZip):
    """An opened package, checked against the strict ZIP profile and the package layout."""

    def __init__(self, path: Path) -> None:
        self.folder_clash: str | None = None
        """A name that is a file and also a folder (version-1 mail parts); refused from version 2 on."""
        super().__init__(path)

    def _check(self) -> None:
        self._check_names([m.name for m in self.members])
        self._check_layout()

    def _check_names(self, names: list[str]) -> None:
        """Names: safe, unique, in the layout, no two one file on Windows or macOS. Checked on all the names
        joined into one string at C speed; only a package that fails is looked at name by name."""
        joined = "\x00" + "\x00".join(names) + "\x00"
        if _BAD_NAME.search(joined) or joined.count("\x00") != len(names) + 1:
            for name in names:
                problem = unsafe_name(name)
                if problem:
                    raise self._fail(f"{problem}: {name!r}")
        if len(self.infos) != len(names):
            seen: set[str] = set()
            for name in names:
                if name in seen:
                    raise self._fail(f"duplicate member {name!r}")
                seen.add(name)
        for name in names:
            if not name.startswith("evidence/") and outside_layout(name):
                raise self._fail(f"member {name!r} has no place in the package layout (docs/format.md)")
        keys = joined.lower().split("\x00")[1:-1] if joined.isascii() else [fold(n) for n in names]
        files = set(keys)
        folders: set[str] = set()
        for parent in {k.rpartition("/")[0] for k in keys}:
            while parent and parent not in folders:
                folders.add(parent)
                parent = parent.rpartition("/")[0]
        if len(files) == len(keys) and files.isdisjoint(folders):
            return
        space = NameSpace()
        for name in names:
            clash = space.clash(name, folders=False)
            if clash:
                raise self._fail(f"colliding member names: {clash}")
            if self.folder_clash is None:
                self.folder_clash = space.clash(name)
            space.add(name)

    def _check_layout(self) -> None:
        if not self.members or self.members[0].name != "mimetype":
            raise self._fail("first member is not 'mimetype': not an evidencectl package")
        if self.read("mimetype", limit=256) != MIMETYPE.encode():
            raise self._fail("mimetype member does not name an evidencectl package")
        if "manifest.json" not in self.infos:
            raise self._fail("no manifest.json")

    def check_version(self, version: object) -> None:
        """Refuse what only a version-1 package may hold, in a package of a later ``version``: a name that is
        both a file and a folder, a local header in the old writer's form."""
        if version == 1:
            return
        if self.folder_clash:
            raise self._fail(f"colliding member names: {self.folder_clash}")
        if self.legacy:
            raise self._fail(f"member {self.legacy!r}: a ZIP64 field in its local header that its size does not need")

    def names(self) -> list[str]:
        """Member names in archive order."""
        return list(self.infos)

    def _member(self, name: str) -> Member:
        member = self.infos.get(name)
        if member is None:
            raise self._fail(f"member {name!r} is missing")
        return member

    @contextmanager
    def open_member(self, name: str) -> Iterator[IO[bytes]]:
        """A stream of a member's bytes. The CRC check is left to the caller (see ``crc_ok``): an altered
        original must surface as a digest mismatch, not as an unreadable archive."""
        member = self._member(name)
        stream = _MemberStream(self._fd, member.data_offset, member.size)
        try:
            yield cast(IO[bytes], stream)
        except OSError as exc:
            raise self._fail(f"member {name!r} cannot be read: {exc}") from exc

    def read(self, name: str, *, limit: int = MAX_METADATA_MEMBER) -> bytes:
        """A whole member, refusing members larger than ``limit``."""
        member = self._member(name)
        if member.size > limit:
            raise self._fail(f"member {name!r} is {member.size} bytes, more than the limit of {limit}")
        data = os.pread(self._fd, member.size, member.data_offset)
        if len(data) != member.size:
            raise self._fail(f"member {name!r} is cut short")
        return data

    def read_json(self, name: str) -> Any:
        """A member parsed as strict JSON (UTF-8, no duplicate keys, bounded depth)."""
        data = self.read(name)
        try:
            # The manifest's records are hashed as canonical JSON: what it cannot hold is refused by name here.
            return parse_json(data, canonical=name == "manifest.json")
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise self._fail(f"{name} is not valid JSON: {exc}") from exc

    def small_stored(self, name: str) -> bytes | None:
        """A small member's bytes, served from the read-ahead window (a package of 200,000 files read each
        with its own system call spent most of its verification there); None for a member above
        :data:`SMALL_MEMBER` (read it with :meth:`open_member`)."""
        member = self.infos.get(name)
        if member is None or member.size > SMALL_MEMBER:
            return None
        data = bytes(self._window(member.data_offset, member.size))
        return data if len(data) == member.size else None

    def crc_ok(self, name: str, crc: int) -> bool:
        """True when ``crc`` (computed over the bytes read) matches the ZIP's record."""
        return crc == self.infos[name].crc

    def __enter__(self) -> PackageReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _MemberStream(io.RawIOBase):
    """A member's bytes, read with ``preadv`` straight into the caller's buffer (the file offset is never
    moved, so forked verifier workers can share the descriptor)."""

    def __init__(self, fd: int, start: int, size: int) -> None:
        super().__init__()
        self._fd, self._pos, self._end = fd, start, start + size

    def readable(self) -> bool:
        return True

    def readinto(self, buf: Any) -> int:
        view = memoryview(buf).cast("B")
        want = min(len(view), self._end - self._pos)
        if want <= 0:
            return 0
        got = os.preadv(self._fd, [view[:want]], self._pos)
        if got == 0:
            raise OSError("the package ends inside the member")
        self._pos += got
        return got
