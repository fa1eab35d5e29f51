"""Benchmark inputs, written once per session into the session's temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

_BLOCK = 16 << 20


def big_file(path: Path, size: int) -> Path:
    """A file of ``size`` random bytes (random, so that no layer can compress or deduplicate it)."""
    if path.exists() and path.stat().st_size == size:
        return path
    block = os.urandom(min(size, _BLOCK))
    with open(path, "wb") as f:
        written = 0
        while written < size:
            # Vary each block so that no two blocks are alike, without paying for urandom on every byte.
            piece = block[: size - written]
            f.write(written.to_bytes(8, "little") + piece[8:] if len(piece) > 8 else piece)
            written += len(piece)
    settle()
    return path


def settle() -> None:
    """Write the new inputs back to disk now: otherwise the kernel does it during the next measurements
    (200,000 new files took about a second of both CPUs, in the middle of whichever run came next)."""
    os.sync()


def many_files(folder: Path, count: int, size: int) -> Path:
    """``count`` files of ``size`` random bytes in ``folder``, 1,000 to a sub-folder (as document trees are)."""
    if folder.exists():
        return folder
    folder.mkdir(parents=True)
    pool = os.urandom(size + count)
    for i in range(count):
        sub = folder / f"d{i // 1000:04d}"
        if i % 1000 == 0:
            sub.mkdir()
        fd = os.open(sub / f"f{i:07d}.bin", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, pool[i : i + size])
        finally:
            os.close(fd)
    settle()
    return folder


def nul_list(folder: Path, out: Path) -> Path:
    """The NUL-separated list of files under ``folder`` in sorted order, for ``xargs -0``."""
    paths = sorted(str(p) for p in folder.rglob("*") if p.is_file())
    out.write_bytes(b"".join(os.fsencode(p) + b"\0" for p in paths))
    return out
