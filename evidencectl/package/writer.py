"""Deterministic, atomic writer of ``.evp`` packages in the strict ZIP profile (docs/format.md §2).

Members: ``mimetype`` first, then the originals under ``evidence/`` in item order, then every other member.
Every member is stored uncompressed: the bytes in the ZIP are the bytes that were hashed, so any altered
byte changes what is verified (a deflate stream can absorb a flipped bit without changing its output), and
the package can be checked with nothing more than ``unzip -p``. Headers come from
:mod:`~evidencectl.package.zipformat` (not :mod:`zipfile`, which writes a ZIP64 field into the local
header of every streamed member whether its size needs it or not): no extra field but a needed ZIP64 one, no
comment, no data descriptor, no folder entries, fixed dates, so the same deposit gives the same bytes. The
package is built in a temporary file beside the output and linked into place only when complete: a crash
leaves no file at the output path.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import struct
import threading
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BadInputError, OutputExistsError
from ..hashing import Digests, digest_bytes, digest_stream
from ..i18n import _
from . import zipformat as zf
from .manifest import MIMETYPE
from .membernames import unsafe_name

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
"""The date of every member (DOS date and time in :mod:`~evidencectl.package.zipformat`)."""

_PLAIN_NAME = re.compile(r"(?![A-Za-z]:)(?:[^/\\\x00.][^/\\\x00]*/)*[^/\\\x00.][^/\\\x00]*")
"""Names :func:`~evidencectl.package.membernames.unsafe_name` always passes: components that neither start
with a dot nor hold a slash, backslash or NUL (so none is empty, ``.`` or ``..``), and no drive letter. A
name it does not match is judged by ``unsafe_name`` (tests/test_zip_writer.py holds the two together)."""


_PLAIN_HEAD = zf.CENTRAL_SIG + struct.pack(
    "<HHHHHH", zf.MADE_BY_UNIX | zf.version_needed(False), zf.version_needed(False), 0, 0, zf.FIXED_TIME, zf.FIXED_DATE
)
"""The fixed start of the central record of a member with an ASCII name, below the ZIP64 limits."""
_PLAIN_TAIL = struct.Struct("<IIIHHHHHII")
"""The rest of that record before the name: CRC, sizes, name length, and zeros but the attributes and offset."""


def central_directory(entries: Iterable[tuple[str, int, int, int]]) -> bytes:
    """The central records of ``entries`` (name, offset, size, CRC), as
    :func:`~evidencectl.package.zipformat.central_record` makes them: a member with an ASCII name below the
    ZIP64 limits (every small original) from one fixed head and one packed tail, a 10,000-member directory
    in about half the time, at the end of a deposit (tests/test_small_files.py holds the two together)."""
    parts: list[bytes] = []
    head, pack, limit, external = _PLAIN_HEAD, _PLAIN_TAIL.pack, zf.ZIP64_FROM, zf.EXTERNAL_FILE
    for name, offset, size, crc in entries:
        if size < limit and offset < limit and name.isascii():
            raw = name.encode("ascii")
            parts += (head, pack(crc, size, size, len(raw), 0, 0, 0, 0, external, offset), raw)
        else:
            parts.append(zf.central_record(name, size, crc, offset))
    return b"".join(parts)


class _Flusher:
    """Flushes a large original to disk while it is still being hashed.

    The final fsync is what makes a package durable; for a file of gigabytes it would otherwise wait for
    all the written pages at the end. Starting the write-back every few hundred MiB overlaps it with hashing.
    """

    STEP = 256 << 20

    def __init__(self, fd: int | None, step: int = STEP) -> None:
        self._fd = fd
        self._step = step
        self._pending = 0
        self._thread: threading.Thread | None = None

    def wrote(self, n: int | None) -> None:
        self._pending += n or 0
        if self._fd is None or self._pending < self._step or (self._thread and self._thread.is_alive()):
            return
        self._pending = 0
        self._thread = threading.Thread(target=self._sync, daemon=True)
        self._thread.start()

    def _sync(self) -> None:
        with contextlib.suppress(OSError):
            os.fdatasync(self._fd)  # type: ignore[arg-type]

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()


def check_output(out: Path, force: bool) -> None:
    """Refuse an existing output unless ``force``; refuse an output in a missing folder."""
    if out.exists() and not force:
        raise OutputExistsError(_("already exists; use --force to replace it"), path=out)
    if not out.parent.is_dir():
        raise BadInputError(_("the folder for the output does not exist"), path=out)


class PackageWriter:
    """Builds one package in a staging file next to its destination."""

    def __init__(self, out: Path, *, staging: Path | None = None, append: bool = False) -> None:
        self.out = out
        self.staging = staging or out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
        self._entries: list[tuple[str, int, int, int]] = []
        """(name, local header offset, size, CRC-32) of every member written here, in order."""
        self._kept: tuple[int, bytes] = (0, b"")
        """How many members a resumed staging file held, and their central records as they were."""
        self._names: set[str] = set()
        end = 0
        self._writing = self.staging
        if append:
            # A staging file to finish (deposit --resume). It stays intact until the new one is complete:
            # the new members go into a copy of its members, which replaces it when closed, so a kill at
            # any moment leaves either the old staging file or the finished one.
            from .reader import PackageReader

            with PackageReader(self.staging) as reader:
                self._names = set(reader.names())
                self._kept = (len(reader.members), reader.directory)
                end = reader.members[-1].data_offset + reader.members[-1].size
            self._writing = self.staging.with_name(self.staging.name + ".resume")
            self._writing.unlink(missing_ok=True)  # left by a resume that was killed
        try:
            self._fp: Any = open(self._writing, "x+b", buffering=1 << 20)  # noqa: SIM115
            if append:
                with open(self.staging, "rb") as old:
                    _copy(old.fileno(), self._fp.fileno(), end)
                self._fp.seek(end)
        except OSError as exc:
            if append:
                self._writing.unlink(missing_ok=True)
            raise BadInputError(
                _("cannot write: {value}").format(value=exc.strerror or exc), path=self._writing
            ) from exc
        self._pos = end
        self._closed = False
        self._durable = False
        # Many small members: start the write-back every 32 MiB, so that close() does not wait for all of it.
        self._small_flusher = _Flusher(self._fp.fileno(), 32 << 20)
        if not append:
            self.add_bytes("mimetype", MIMETYPE.encode("ascii"))

    def _claim(self, name: str) -> None:
        if name in self._names:
            raise ValueError(f"duplicate package member {name}")
        if _PLAIN_NAME.fullmatch(name) is None:  # the common name at C speed; anything else is judged in full
            problem = unsafe_name(name)
            if problem:
                raise ValueError(f"{problem}: {name!r}")
        self._names.add(name)

    def add_bytes(self, name: str, data: bytes | memoryview) -> None:
        """Add a member from memory, header and data in one write."""
        self._claim(name)
        crc = zlib.crc32(data)
        self._write_member(name, zf.local_header(name, len(data), crc, self._pos), data, crc)

    def add_prepared(self, name: str, blob: bytes | memoryview, header_len: int, crc: int) -> None:
        """Add a stored member whose local header (from :func:`~evidencectl.package.prepared.stored_member`,
        made in a worker) heads ``blob``."""
        self._claim(name)
        if self._pos >= zf.ZIP64_FROM:  # the worker wrote the header for an offset below 2 GiB
            data = memoryview(blob)[header_len:]
            self._write_member(name, zf.local_header(name, len(data), crc, self._pos), data, crc)
            return
        # Header and bytes are one blob: one write, as _write_member would make two.
        self._fp.write(blob)
        self._entries.append((name, self._pos, len(blob) - header_len, crc))
        self._pos += len(blob)
        self._small_flusher.wrote(len(blob))

    def add_run(
        self,
        names: tuple[str, ...],
        blob: memoryview,
        offsets: tuple[int, ...],
        header_lens: tuple[int, ...],
        sizes: tuple[int, ...],
        crcs: tuple[int, ...],
    ) -> None:
        """:meth:`add_prepared` of each member of a run (evidencectl/preparedfiles.py): ``blob`` holds their
        local headers and bytes one after another, member ``i``'s header at ``offsets[i]``. One write and set
        operations when every name is new and plain and the run ends below the ZIP64 limit; else one by one."""
        pos, known = self._pos, self._names
        if (
            pos + len(blob) >= zf.ZIP64_FROM
            or len(set(names)) != len(names)
            or not known.isdisjoint(names)
            or not all(map(_PLAIN_NAME.fullmatch, names))
        ):
            for i, name in enumerate(names):
                start = offsets[i]
                self.add_prepared(name, blob[start : start + header_lens[i] + sizes[i]], header_lens[i], crcs[i])
            return
        known.update(names)
        self._fp.write(blob)
        self._entries.extend(zip(names, [pos + o for o in offsets], sizes, crcs, strict=True))
        self._pos = pos + len(blob)
        self._small_flusher.wrote(len(blob))

    def _write_member(self, name: str, header: bytes, data: bytes | memoryview, crc: int) -> None:
        self._fp.write(header)
        self._fp.write(data)
        self._entries.append((name, self._pos, len(data), crc))
        self._pos += len(header) + len(data)
        self._small_flusher.wrote(len(header) + len(data))

    def add_stream(self, name: str, chunks: Iterable[bytes]) -> None:
        """Add a member written piece by piece (manifest.json of a large deposit never sits in memory whole)."""
        self._claim(name)
        crc, size = 0, 0
        start = self._start_streamed(name, 0)
        for chunk in chunks:
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
            self._fp.write(chunk)
        self._end_streamed(name, start, 0, size, crc)

    def add_original(
        self,
        name: str,
        source: BinaryIO | None,
        *,
        data: bytes | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> Digests:
        """Copy an original into the package while hashing it: one read of its bytes for both."""
        if data is not None:
            self.add_bytes(name, data)
            if progress is not None:
                progress(len(data))
            return digest_bytes(data)
        self._claim(name)
        assert source is not None
        expected = 0
        with contextlib.suppress(OSError, AttributeError, ValueError):
            st = os.fstat(source.fileno())
            if stat.S_ISREG(st.st_mode):
                expected = st.st_size - source.tell()
        start = self._start_streamed(name, expected)
        flusher = _Flusher(self._fp.fileno())
        crc = 0

        def sink(chunk: memoryview) -> None:
            nonlocal crc
            crc = zlib.crc32(chunk, crc)
            self._fp.write(chunk)
            flusher.wrote(len(chunk))

        try:
            digests = digest_stream(source, progress=progress, sink=sink)
        finally:
            flusher.join()
        self._end_streamed(name, start, expected, digests.size, crc)
        return digests

    def _start_streamed(self, name: str, expected: int) -> int:
        """Write a provisional local header for a member of about ``expected`` bytes; its offset."""
        start = self._pos
        self._fp.write(zf.local_header(name, expected, 0, start))
        return start

    def _end_streamed(self, name: str, start: int, expected: int, size: int, crc: int) -> None:
        """Write the final local header of a streamed member. When the size crossed the ZIP64 threshold
        after all (stdin, a file that grew while read), the header's length changes: the data is moved."""
        old = len(zf.local_header(name, expected, 0, start))
        header = zf.local_header(name, size, crc, start)
        self._fp.flush()
        fd = self._fp.fileno()
        if len(header) != old:
            _move(fd, start + old, start + len(header), size)
        os.pwrite(fd, header, start)
        self._fp.seek(start + len(header) + size)
        self._entries.append((name, start, size, crc))
        self._pos = start + len(header) + size

    def _finish(self) -> None:
        if self._closed:
            return
        self._closed = True
        kept, old = self._kept
        directory = old + central_directory(self._entries)
        self._fp.write(directory)
        self._fp.write(zf.end_records(kept + len(self._entries), self._pos, len(directory)))
        self._fp.close()
        if self._writing != self.staging:
            fd = os.open(self._writing, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(self._writing, self.staging)

    def close(self) -> None:
        """Finish the ZIP and flush it to disk (the staging file stays where it is)."""
        self.close_then_sync()()

    def close_then_sync(self) -> Callable[[], None]:
        """Finish the ZIP and start flushing it to disk in a thread; the function returned waits for the
        flush (raising what it raised). The caller can do other work meanwhile (a deposit records its items
        in the registry) as long as it waits before it relies on the file being on disk."""
        self._small_flusher.join()
        self._finish()
        if self._durable:
            return lambda: None
        failed: list[BaseException] = []

        def sync() -> None:
            try:
                fd = os.open(self.staging, os.O_RDONLY)
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                failed.append(exc)

        thread = threading.Thread(target=sync, daemon=True)
        thread.start()

        def wait() -> None:
            thread.join()
            if failed:
                raise failed[0]
            self._durable = True

        return wait

    def commit(self, *, force: bool) -> Path:
        """Close, fsync and move the staging file to the output path, never overwriting without ``force``."""
        self.close()
        publish(self.staging, self.out, force=force)
        return self.out

    def abort(self) -> None:
        """Discard the staging file."""
        self._closed = True
        with contextlib.suppress(Exception):  # the file is being thrown away
            self._fp.close()
        self._writing.unlink(missing_ok=True)
        self.staging.unlink(missing_ok=True)


def _copy(src: int, dst: int, length: int) -> None:
    """Copy the first ``length`` bytes of file ``src`` to file ``dst`` (in the kernel where it can)."""
    done = 0
    while done < length:
        try:
            n = os.copy_file_range(src, dst, length - done, done, done)
        except OSError:
            n = os.pwrite(dst, os.pread(src, min(16 << 20, length - done), done), done)
        if n == 0:
            raise OSError("the staging file is shorter than its members")
        done += n


def _move(fd: int, src: int, dst: int, length: int) -> None:
    """Move ``length`` bytes of the file from ``src`` to ``dst`` (ranges may overlap)."""
    step = 16 << 20
    spans = range(0, length, step)
    for at in reversed(spans) if dst > src else spans:
        n = min(step, length - at)
        os.pwrite(fd, os.pread(fd, n, src + at), dst + at)


def publish(staging: Path, out: Path, *, force: bool) -> None:
    """Atomically move ``staging`` to ``out``: rename with ``force``, else link (fails if ``out`` exists)."""
    if force:
        os.replace(staging, out)
    else:
        try:
            os.link(staging, out)
        except FileExistsError as exc:
            raise OutputExistsError(_("already exists; use --force to replace it"), path=out) from exc
        except OSError:
            # File systems without hard links: fall back to a checked rename.
            if out.exists():
                raise OutputExistsError(_("already exists; use --force to replace it"), path=out) from None
            os.replace(staging, out)
        else:
            staging.unlink()
    dirfd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
