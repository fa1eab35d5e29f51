"""The central directory and local headers of a ZIP in the strict ``.evp`` profile, read as hostile bytes.

The ZIP is parsed here, not by :mod:`zipfile`, and held to the strict profile of docs/format.md §2: the end
record is the file's last 22 bytes (no comment, nothing after it), the central directory lies right before
it (after the ZIP64 end records when a value needs them), and the members, stored, follow each other from
offset 0 with no gap in central-directory order up to the central directory. Every local header must be
the exact bytes its central record implies (name, flags, method, CRC, sizes, extra field); the only extra
field is ZIP64, and only where a value needs it. So there is nothing a streaming reader (bsdtar, 7z on a
prepended archive) or a reader of the central directory (unzip) could see that this reader does not, and no
field that one tool reads one way and another the other way. Any violation is a MalformedPackageError
(exit 4) in one line naming the member and what is wrong.

:class:`StrictZip` knows ZIP only; :class:`~evidencectl.package.reader.PackageReader` adds the member names
and the package layout on top.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import MalformedPackageError
from ..i18n import _
from . import zipformat as zf

MAX_MEMBERS = 1_000_000
_WINDOW = 4 << 20
_FLAG_NAMES = {0x1: "is encrypted", 0x40: "is encrypted", 0x8: "uses a data descriptor"}
_NAMING_EXTRAS = {0x7075: "an Info-ZIP Unicode Path", 0x6375: "an Info-ZIP Unicode Comment"}


@dataclass(slots=True)
class Member:
    """One member of a package as its (checked) headers place it."""

    name: str
    """The member name (UTF-8)."""
    offset: int
    """Where its local header starts."""
    data_offset: int
    """Where its bytes start."""
    size: int
    """How many bytes it holds (stored: the same in the archive and extracted)."""
    crc: int
    """The CRC-32 its headers record."""

    @property
    def file_size(self) -> int:
        """The member's size, under the name :class:`zipfile.ZipInfo` gives it."""
        return self.size


class StrictZip:
    """An opened ZIP whose every central record and local header is checked against the strict profile."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError as exc:
            raise MalformedPackageError(_("no such file"), path=path) from exc
        except IsADirectoryError as exc:
            raise MalformedPackageError(_("is a directory, not a package"), path=path) from exc
        except OSError as exc:
            raise MalformedPackageError(_("cannot read: {value}").format(value=exc.strerror or exc), path=path) from exc
        self._ahead: tuple[int, bytes] = (0, b"")
        self.members: list[Member] = []
        self.infos: dict[str, Member] = {}
        self.legacy: str | None = None
        """A member whose local header is in the form version 1's writer left (a ZIP64 field not needed)."""
        try:
            if not stat.S_ISREG(os.fstat(self._fd).st_mode):
                raise self._fail("is not a regular file")
            self._read_archive()
            self._check()
        except (OSError, struct.error) as exc:
            self.close()
            raise MalformedPackageError(
                _("not a readable evidence package (ZIP): {exc}").format(exc=exc), path=path
            ) from exc
        except BaseException:
            self.close()
            raise

    def _check(self) -> None:
        """What a subclass checks once the directory is read (the file is closed if it raises)."""

    def close(self) -> None:
        """Close the archive."""
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def _fail(self, message: str) -> MalformedPackageError:
        return MalformedPackageError(message, path=self.path)

    def _not_zip(self, why: str) -> MalformedPackageError:
        return self._fail(f"not a readable evidence package (ZIP): {why}")

    def _read_archive(self) -> None:
        size = os.fstat(self._fd).st_size
        if size < zf.END.size:
            raise self._not_zip("too short")
        tail = os.pread(self._fd, min(size, 0xFFFF + zf.END.size), size - min(size, 0xFFFF + zf.END.size))
        end_at = size - zf.END.size
        if tail[-zf.END.size : -zf.END.size + 4] != zf.END_SIG:
            found = tail.rfind(zf.END_SIG)
            if found < 0:
                raise self._not_zip("no end of central directory record")
            comment = struct.unpack_from("<H", tail, found + 20)[0]
            after = len(tail) - found - zf.END.size
            if comment and comment == after:
                raise self._fail(f"the archive carries a comment of {comment} bytes (a package has none)")
            raise self._fail(f"{after} bytes follow the end of central directory record")
        _, disk, cd_disk, n_disk, n, cd_size, cd_offset, comment = zf.END.unpack_from(tail, len(tail) - zf.END.size)
        if comment:
            raise self._fail("the end record declares an archive comment (a package has none)")
        if disk or cd_disk or n_disk != n:
            raise self._fail("the archive spans several disks (multi-disk archives are refused)")
        cd_end = end_at
        locator_at = end_at - zf.ZIP64_LOCATOR.size
        has_locator = locator_at >= 0 and os.pread(self._fd, 4, locator_at) == zf.ZIP64_LOCATOR_SIG
        if has_locator:
            n, cd_size, cd_offset, cd_end = self._zip64_end(locator_at, n, cd_size, cd_offset)
        elif n == zf.U16 or cd_size == zf.U32 or cd_offset == zf.U32:
            raise self._not_zip("the end record points to a ZIP64 end record that is not there")
        if n > MAX_MEMBERS:
            raise self._fail(f"{n} members exceed the limit of {MAX_MEMBERS}")
        if cd_offset + cd_size != cd_end:
            gap = cd_end - cd_offset - cd_size
            if gap > 0 and os.pread(self._fd, 4, cd_end - cd_size) == zf.CENTRAL_SIG:
                # Offsets counted from a later start: another archive (or anything) sits before this one.
                raise self._fail(f"{gap} bytes precede the archive that the end record describes")
            if gap > 0:
                raise self._fail(f"{gap} bytes lie between the central directory and the end records")
            raise self._not_zip("the central directory runs past the end records")
        directory = os.pread(self._fd, cd_size, cd_offset)
        if len(directory) != cd_size:
            raise self._not_zip("the central directory is cut short")
        self._read_directory(directory, n, cd_offset)
        self.directory = directory
        """The central directory's bytes (a resumed deposit writes them again, unchanged)."""

    def _zip64_end(self, locator_at: int, n: int, cd_size: int, cd_offset: int) -> tuple[int, int, int, int]:
        """The member count, central directory size and offset from the ZIP64 end records, checked against
        the 32-bit fields; and where the central directory must end (at the ZIP64 end record)."""
        _, disk, record_at, disks = zf.ZIP64_LOCATOR.unpack(os.pread(self._fd, zf.ZIP64_LOCATOR.size, locator_at))
        if disk or disks != 1:
            raise self._fail("the archive spans several disks (multi-disk archives are refused)")
        if record_at != locator_at - zf.ZIP64_END.size:
            raise self._fail("the ZIP64 end record is not right before its locator")
        raw = os.pread(self._fd, zf.ZIP64_END.size, record_at)
        sig, length, _, _, disk, cd_disk, n_disk, n64, size64, offset64 = zf.ZIP64_END.unpack(raw)
        if sig != zf.ZIP64_END_SIG or length != zf.ZIP64_END.size - 12:
            raise self._not_zip("the ZIP64 end record is damaged or carries extensible data")
        if disk or cd_disk or n_disk != n64:
            raise self._fail("the archive spans several disks (multi-disk archives are refused)")
        if not (n64 >= zf.COUNT_FROM or size64 >= zf.ZIP64_FROM or offset64 >= zf.ZIP64_FROM):
            raise self._fail("a ZIP64 end record where no value needs one")
        for small, big, marker in ((n, n64, zf.U16), (cd_size, size64, zf.U32), (cd_offset, offset64, zf.U32)):
            if small not in (big, marker):
                raise self._fail("the ZIP64 end record disagrees with the end record")
        return n64, size64, offset64, record_at

    def _read_directory(self, directory: bytes, count: int, cd_offset: int) -> None:
        """Every central record, each with its local header, then every name. A record in the form the
        writer makes (no extra field, no comment, a regular file, below the ZIP64 limits: nearly all of them)
        takes the short path; any other goes through the checks that name what is wrong."""
        unpack, central, pos, at = zf.CENTRAL.unpack_from, zf.CENTRAL.size, 0, 0
        members, limit, plain_ext = self.members, zf.ZIP64_FROM, zf.EXTERNAL_FILE
        sig, no_extra = zf.LOCAL_SIG, b"\x00\x00"
        for __ in range(count):
            (
                signature, made_by, version, flags, method, _, _, crc, csize, usize, nlen, elen, clen, disk, _,
                ext, offset,
            ) = unpack(directory, pos)  # fmt: skip
            if signature != zf.CENTRAL_SIG:
                raise self._not_zip(f"central directory entry {len(members) + 1} is damaged")
            name_at = pos + central
            raw = directory[name_at : name_at + nlen]
            header = directory[pos + 6 : pos + 30]  # version needed … name length, as in the local header
            pos = name_at + nlen + elen + clen
            if pos > len(directory):
                raise self._not_zip("the central directory is cut short")
            try:
                name = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise self._fail(f"member name {raw!r} is not UTF-8") from None
            if not flags and not name.isascii():
                raise self._fail(f"member {name!r}: a non-ASCII name without the UTF-8 flag (tools decode it apart)")
            if not (
                version == 20 and not method and not elen and not clen and not disk and ext == plain_ext
                and not flags & ~zf.UTF8_FLAG and usize == csize and usize < limit and offset < limit
            ):  # fmt: skip
                extra = directory[name_at + nlen : name_at + nlen + elen]
                self._entry_fields(name, version, flags, method, clen, made_by, ext, *_declared(extra, usize, csize))
                usize, csize, offset = self._sizes(name, extra, usize, csize, offset, disk)
                if csize != usize:
                    raise self._fail(f"member {name!r} is stored but its two sizes differ")
            if offset != at:
                if offset > at:
                    raise self._fail(f"{offset - at} bytes lie before member {name!r} that no central record lists")
                raise self._fail(f"member {name!r} overlaps the member before it (members out of order)")
            if usize < limit:
                expected = sig + header + no_extra + raw
            else:
                extra = zf.local_extra(usize)
                expected = sig + header + struct.pack("<H", len(extra)) + raw + extra
            length = len(expected)
            start, window = self._ahead
            if not (start <= offset and offset + length <= start + len(window)):
                window, start = os.pread(self._fd, _WINDOW, offset), offset
                self._ahead = (start, window)
            if window[offset - start : offset - start + length] != expected:
                length = len(self._legacy_local(name, raw, header, usize, offset, expected))
            at = offset + length + usize
            members.append(Member(name, offset, offset + length, usize, crc))
        if pos != len(directory):
            raise self._not_zip("the central directory holds more than its entries")
        if at != cd_offset:
            where = "after the last member" if members else "before the central directory"
            raise self._fail(f"{cd_offset - at} bytes lie {where} that no central record lists")
        self.infos = {m.name: m for m in members}

    def _name(self, raw: bytes, flags: int) -> str:
        try:
            name = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail(f"member name {raw!r} is not UTF-8") from None
        if not flags & zf.UTF8_FLAG and not name.isascii():
            raise self._fail(f"member {name!r}: a non-ASCII name without the UTF-8 flag (tools decode it apart)")
        return name

    def _sizes(self, name: str, extra: bytes, usize: int, csize: int, offset: int, disk: int) -> tuple[int, int, int]:
        """The sizes and offset, from the ZIP64 field where their 32-bit field says so; every other extra
        field is refused (0x7075 renames a member for Info-ZIP's unzip and for 7z, not for others)."""
        if disk:
            raise self._fail(f"member {name!r} starts on another disk (multi-disk archives are refused)")
        pos, zip64 = 0, None
        while pos < len(extra):
            if pos + 4 > len(extra):
                raise self._fail(f"member {name!r} has a damaged extra field")
            tag, length = struct.unpack_from("<HH", extra, pos)
            body = extra[pos + 4 : pos + 4 + length]
            if len(body) != length:
                raise self._fail(f"member {name!r} has a damaged extra field")
            if tag != 1:
                kind = _NAMING_EXTRAS.get(tag, "an")
                raise self._fail(f"member {name!r} carries {kind} extra field (0x{tag:04x}); a package has none")
            if zip64 is not None:
                raise self._fail(f"member {name!r} carries two ZIP64 extra fields")
            zip64 = body
            pos += 4 + length
        want = [v for v in (usize, csize, offset) if v == zf.U32]
        if zip64 is None and want:
            raise self._fail(f"member {name!r}: a 32-bit field says ZIP64 but there is no ZIP64 field")
        if zip64 is None:
            values: list[int] = []
        elif len(zip64) != 8 * len(want):
            raise self._fail(f"member {name!r}: the ZIP64 field disagrees with the 32-bit fields")
        else:
            values = list(struct.unpack(f"<{len(want)}Q", zip64))
        if any(v < zf.ZIP64_FROM for v in values):
            raise self._fail(f"member {name!r}: a ZIP64 field where the value does not need one")
        out = []
        for v in (usize, csize, offset):
            if v == zf.U32:
                v = values.pop(0)
            elif v >= zf.ZIP64_FROM:
                raise self._fail(f"member {name!r}: a value of 2 GiB or more outside a ZIP64 field")
            out.append(v)
        return out[0], out[1], out[2]

    def _entry_fields(
        self,
        name: str,
        version: int,
        flags: int,
        method: int,
        clen: int,
        made_by: int,
        ext: int,
        usize: int,
        csize: int,
    ) -> None:
        if version > 45:
            raise self._fail(f"member {name!r} needs ZIP version {version // 10}.{version % 10}")
        for bit, what in _FLAG_NAMES.items():
            if flags & bit:
                raise self._fail(f"member {name!r} {what}")
        if flags & ~zf.UTF8_FLAG:
            raise self._fail(f"member {name!r} sets general-purpose flags 0x{flags:04x}")
        if method:
            # Refused from the headers, never inflated; the 32-bit sizes are enough to name a bomb.
            bomb = " (a decompression bomb)" if usize > max(1 << 20, 200 * csize) else ""
            raise self._fail(f"member {name!r} is compressed (method {method}){bomb}; every member is stored")
        if clen:
            raise self._fail(f"member {name!r} carries a comment (a package has none)")
        mode = ext >> 16
        if made_by >> 8 == 3 and stat.S_ISLNK(mode):
            raise self._fail(f"symbolic link member {name!r}")
        if (made_by >> 8 == 3 and stat.S_ISDIR(mode)) or ext & 0x10:
            raise self._fail(f"directory entry {name!r}")

    def _legacy_local(self, name: str, raw: bytes, header: bytes, size: int, offset: int, expected: bytes) -> bytes:
        """The local header in one of the forms version 1's writer (Python's zipfile) left, which every
        reader reads as the central record says: a ZIP64 size field in a streamed member's local header
        (32-bit sizes 0xFFFFFFFF, the ZIP64 sizes equal to the central ones), or version 2.0 needed where the
        central record says 4.5 for a ZIP64 offset. Anything else: what differs, named."""
        forms = []
        if size < zf.ZIP64_FROM:
            extra = struct.pack("<HHQQ", 1, 16, size, size)
            forms.append(zf.LOCAL_SIG + header[:14] + b"\xff" * 8 + struct.pack("<HH", len(raw), 20) + raw + extra)
        forms.append(expected[:4] + struct.pack("<H", 20) + expected[6:])
        for form in forms:
            if self._window(offset, len(form)) == form:
                self.legacy = self.legacy or name
                return form
        local = bytes(self._window(offset, zf.LOCAL.size))
        if len(local) < zf.LOCAL.size or local[:4] != zf.LOCAL_SIG:
            raise self._fail(f"no local header where the central directory puts member {name!r}")
        have = zf.LOCAL.unpack(local)
        want = zf.LOCAL.unpack(expected[: zf.LOCAL.size])
        labels = ("", "version", "flags", "method", "time", "date", "CRC", "size", "size", "name", "extra field")
        what = next(labels[i] for i in range(1, 11) if have[i] != want[i]) if have != want else "name"
        if what == "extra field" or what == "name":
            body = bytes(self._window(offset + zf.LOCAL.size, have[9] + have[10]))
            what = "name" if body[: have[9]] != raw else "extra field"
        raise self._fail(f"member {name!r}: its local header disagrees with the central directory ({what})")

    def _window(self, offset: int, size: int) -> memoryview:
        """``size`` bytes (fewer at the end of the file) from ``offset``, served from a 4 MiB read-ahead
        window: members read in package order then cost one ``pread`` per window, not one each."""
        start, data = self._ahead
        if not (start <= offset and offset + size <= start + len(data)):
            data = os.pread(self._fd, max(size, _WINDOW), offset)
            start = offset
            self._ahead = (start, data)
        return memoryview(data)[offset - start : offset - start + size]


def _declared(extra: bytes, usize: int, csize: int) -> tuple[int, int]:
    """The sizes a record declares, its ZIP64 field read leniently (only to word a refusal)."""
    at = extra.find(b"\x01\x00")
    if at < 0 or len(extra) < at + 4:
        return usize, csize
    values = list(struct.unpack_from(f"<{min(len(extra) - at - 4, extra[at + 2]) // 8}Q", extra, at + 4))
    if usize == zf.U32 and values:
        usize = values.pop(0)
    if csize == zf.U32 and values:
        csize = values.pop(0)
    return usize, csize
