"""Deterministic, atomic writer of ``.evp`` packages.

Members: ``mimetype`` first, then the originals under ``evidence/`` in item order, then every other member.
Every member is stored uncompressed: the bytes in the ZIP are the bytes that were hashed, so any altered
byte changes what is verified (a deflate stream can absorb a flipped bit without changing its output), and
the package can be checked with nothing more than ``unzip -p``. Dates are fixed, so the
same deposit gives the same bytes. The package is built in a temporary file beside the output and linked
into place only when complete: a crash leaves no file at the output path.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import struct
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from ..errors import BadInputError, OutputExistsError
from ..hashing import Digests, digest_bytes, digest_stream
from .manifest import MIMETYPE

FIXED_DATE = (1980, 1, 1, 0, 0, 0)
_FAST_LIMIT = 1 << 30
"""Members below this size (far from the 4 GiB of ZIP64) may take the one-write path."""


def _info(name: str, compress: bool) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    info.create_system = 3
    info.external_attr = 0o100644 << 16
    return info


_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # APPNOTE 4.3.7, as zipfile packs it
_LOCAL_MAGIC = b"PK\x03\x04"
_DOS_TIME = FIXED_DATE[3] << 11 | FIXED_DATE[4] << 5 | FIXED_DATE[5] // 2
_DOS_DATE = (FIXED_DATE[0] - 1980) << 9 | FIXED_DATE[1] << 5 | FIXED_DATE[2]
_UTF8_NAME = 0x800


def stored_member(name: str, data: bytes | memoryview) -> tuple[bytes, int]:
    """The local header of a small stored member holding ``data`` (what ``ZipInfo.FileHeader`` writes for
    :func:`_info`), and the data's CRC-32. Worker processes build members with this;
    :meth:`PackageWriter.add_prepared` appends them."""
    crc = zlib.crc32(data)
    try:
        raw, flags = name.encode("ascii"), 0
    except UnicodeEncodeError:
        raw, flags = name.encode("utf-8"), _UTF8_NAME
    size = len(data)
    header = _LOCAL_HEADER.pack(
        _LOCAL_MAGIC, 20, 0, flags, zipfile.ZIP_STORED, _DOS_TIME, _DOS_DATE, crc, size, size, len(raw), 0
    )
    return header + raw, crc


class _Flusher:
    """Flushes a large original to disk while it is still being hashed.

    The final fsync is what makes a package durable; for a file of gigabytes it would otherwise wait for
    all the written pages at the end. Starting the write-back every few hundred MiB overlaps it with hashing.
    """

    STEP = 256 << 20

    def __init__(self, fp: Any, step: int = STEP) -> None:
        self._fd = fp.fileno() if fp is not None and hasattr(fp, "fileno") else None
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
        raise OutputExistsError("already exists; use --force to replace it", path=out)
    if not out.parent.is_dir():
        raise BadInputError("the folder for the output does not exist", path=out)


class PackageWriter:
    """Builds one package in a staging file next to its destination."""

    def __init__(self, out: Path, *, staging: Path | None = None, append: bool = False) -> None:
        self.out = out
        self.staging = staging or out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
        try:
            self._zip = zipfile.ZipFile(self.staging, "a" if append else "x", allowZip64=True)
        except OSError as exc:
            raise BadInputError(f"cannot write: {exc.strerror or exc}", path=self.staging) from exc
        self._names = set(self._zip.namelist())
        self._durable = False
        # Many small members: start the write-back every 32 MiB, so that close() does not wait for all of it.
        self._small_flusher = _Flusher(self._zip.fp, 32 << 20)
        if not append:
            self.add_bytes("mimetype", MIMETYPE.encode("ascii"), compress=False)

    def _claim(self, name: str) -> None:
        if name in self._names:
            raise ValueError(f"duplicate package member {name}")
        self._names.add(name)

    def add_bytes(self, name: str, data: bytes, *, compress: bool = False) -> None:
        """Add a member from memory. A stored one below 1 GiB is written in one go, its local header final
        (``ZipFile.writestr`` writes header, data, then seeks back to rewrite the header)."""
        if compress or len(data) >= _FAST_LIMIT:
            self._claim(name)
            self._zip.writestr(_info(name, compress), data)
            return
        header, crc = stored_member(name, data)
        self.add_prepared(name, header + data, len(header), crc)

    def add_prepared(self, name: str, blob: bytes | memoryview, header_len: int, crc: int) -> None:
        """Add a stored member whose local header (from :func:`stored_member`) heads ``blob``."""
        self._claim(name)
        info = _info(name, False)
        info.file_size = info.compress_size = len(blob) - header_len
        info.CRC = crc
        if not self._append(info, blob):
            self._zip.writestr(info, bytes(memoryview(blob)[header_len:]))

    def _append(self, info: zipfile.ZipInfo, blob: bytes | memoryview) -> bool:
        """Append a member (final local header + data) through the ZipFile's own bookkeeping."""
        zf: Any = self._zip
        try:
            with zf._lock:
                if zf._writing or zf.fp is None:
                    return False
                zf._writecheck(info)
                zf._didModify = True
                # zipfile keeps start_dir at the write position between members (a tell() is a syscall).
                info.header_offset = zf.start_dir
                zf.fp.write(blob)
                zf.start_dir += len(blob)
                self._small_flusher.wrote(len(blob))
                zf.filelist.append(info)
                zf.NameToInfo[info.filename] = info
        except AttributeError:  # a zipfile whose internals differ: the public path still works
            return False
        return True

    def add_stream(self, name: str, chunks: Iterable[bytes]) -> None:
        """Add a member written piece by piece (manifest.json of a large deposit never sits in memory whole)."""
        self._claim(name)
        with self._zip.open(_info(name, False), "w", force_zip64=True) as dst:
            for chunk in chunks:
                dst.write(chunk)

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
        with self._zip.open(_info(name, False), "w", force_zip64=True) as dst:
            flusher = _Flusher(self._zip.fp)
            try:
                return digest_stream(source, progress=progress, sink=lambda chunk: flusher.wrote(dst.write(chunk)))
            finally:
                flusher.join()

    def close(self) -> None:
        """Finish the ZIP and flush it to disk (the staging file stays where it is)."""
        self.close_then_sync()()

    def close_then_sync(self) -> Callable[[], None]:
        """Finish the ZIP and start flushing it to disk in a thread; the function returned waits for the
        flush (raising what it raised). The caller can do other work meanwhile (a deposit records its items
        in the registry) as long as it waits before it relies on the file being on disk."""
        self._small_flusher.join()
        self._zip.close()
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
        with contextlib.suppress(Exception):  # the file is being thrown away
            self._zip.close()
        self.staging.unlink(missing_ok=True)


def publish(staging: Path, out: Path, *, force: bool) -> None:
    """Atomically move ``staging`` to ``out``: rename with ``force``, else link (fails if ``out`` exists)."""
    if force:
        os.replace(staging, out)
    else:
        try:
            os.link(staging, out)
        except FileExistsError as exc:
            raise OutputExistsError("already exists; use --force to replace it", path=out) from exc
        except OSError:
            # File systems without hard links: fall back to a checked rename.
            if out.exists():
                raise OutputExistsError("already exists; use --force to replace it", path=out) from None
            os.replace(staging, out)
        else:
            staging.unlink()
    dirfd = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)
