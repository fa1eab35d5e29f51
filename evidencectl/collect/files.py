"""Inputs -> the list of files to deposit: files, folders (recursive, stable order), stdin and path lists."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from ..errors import BadInputError

STDIN = "-"
_SUMLINE = re.compile(r"^([0-9a-fA-F]{64}) [ *](.+)$")


@dataclass(frozen=True)
class InputFile:
    """One file to deposit."""

    location: str | None
    """Where to read it; None for standard input."""
    name: str
    """Its relative name in the deposit (valid Unicode; lossy where the raw name is not UTF-8)."""
    name_raw: bytes | None = None
    """The raw file-name bytes when they are not valid UTF-8 (kept losslessly in the manifest)."""
    expected_sha256: str | None = None
    """A SHA-256 given in a ``sha256sum``-style list, checked after hashing."""

    @cached_property
    def path(self) -> Path | None:
        """``location`` as a Path (made on first use: a deposit of many small files rarely needs it)."""
        return None if self.location is None else Path(self.location)


@dataclass
class Collected:
    """The result of walking the inputs."""

    files: list[InputFile] = field(default_factory=list)
    """Files in deposit order."""
    warnings: list[str] = field(default_factory=list)
    """What was passed over (symlinks not followed, special files)."""


def read_small(path: str | os.PathLike[str], limit: int) -> tuple[bytes, os.stat_result] | None:
    """The whole content and status of a file of at most ``limit`` bytes, with one open and one read;
    None when it is larger (or grew past the limit while being read). OSError as ``os.open`` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if st.st_size > limit:
            return None
        data = os.read(fd, limit + 1)
    finally:
        os.close(fd)
    return None if len(data) > limit else (data, st)


def _name_of(raw: bytes) -> tuple[str, bytes | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), raw


def _walk(root: Path, prefix: bytes, follow: bool, out: Collected) -> int:
    count = 0
    try:
        with os.scandir(root) as it:
            # The directory entry's type (d_type) answers for most entries without a stat call each.
            entries = sorted(((os.fsencode(e.name), e) for e in it), key=lambda pair: pair[0])
    except OSError as exc:
        raise BadInputError(f"cannot read folder: {exc.strerror or exc}", path=root) from exc
    for raw, entry in entries:
        rel = prefix + b"/" + raw
        try:
            if entry.is_symlink():
                if not follow:
                    out.warnings.append(f"{entry.path}: symbolic link not followed (use --follow-symlinks)")
                    continue
                try:
                    is_dir, is_file = entry.is_dir(), entry.is_file()
                    if not (is_dir or is_file):
                        os.stat(entry.path)  # a dangling link raises here
                except OSError:
                    out.warnings.append(f"{entry.path}: broken symbolic link skipped")
                    continue
            else:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
        except OSError as exc:
            raise BadInputError(f"cannot read: {exc.strerror or exc}", path=Path(entry.path)) from exc
        if is_dir:
            count += _walk(Path(entry.path), rel, follow, out)
        elif is_file:
            name, name_raw = _name_of(rel)
            out.files.append(InputFile(entry.path, name, name_raw))
            count += 1
        else:
            out.warnings.append(f"{entry.path}: not a regular file, skipped")
    return count


def _add_path(arg: str, follow: bool, out: Collected, expected: str | None = None) -> None:
    if arg == STDIN:
        out.files.append(InputFile(None, "stdin"))
        return
    path = Path(arg)
    try:
        st = path.stat() if follow or not path.is_symlink() else path.lstat()
    except FileNotFoundError as exc:
        raise BadInputError("no such file or folder", path=path) from exc
    except OSError as exc:
        raise BadInputError(f"cannot read: {exc.strerror or exc}", path=path) from exc
    base = os.fsencode(path.resolve().name if path.name in ("", ".", "..") else path.name)
    if stat.S_ISLNK(st.st_mode):
        raise BadInputError("is a symbolic link; use --follow-symlinks to deposit its target", path=path)
    if stat.S_ISDIR(st.st_mode):
        if _walk(path, base, follow, out) == 0:
            raise BadInputError("folder holds no files to deposit", path=path)
    elif stat.S_ISREG(st.st_mode):
        name, name_raw = _name_of(base)
        out.files.append(InputFile(str(path), name, name_raw, expected))
    else:
        raise BadInputError("not a regular file or folder", path=path)


def read_path_list(list_file: Path) -> list[tuple[str, str | None]]:
    """Paths from ``--from-list``: one path a line, or ``sha256sum`` lines (``<hex>  <path>``)."""
    try:
        data = list_file.read_bytes() if str(list_file) != STDIN else os.read(0, 1 << 30)
    except OSError as exc:
        raise BadInputError(f"cannot read path list: {exc.strerror or exc}", path=list_file) from exc
    out: list[tuple[str, str | None]] = []
    for raw in data.splitlines():
        line = os.fsdecode(raw).rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        m = _SUMLINE.match(line)
        if m:
            out.append((m.group(2), m.group(1).lower()))
        else:
            out.append((line, None))
    if not out:
        raise BadInputError("path list names no files", path=list_file)
    return out


def collect_inputs(paths: list[str], *, from_list: Path | None = None, follow_symlinks: bool = False) -> Collected:
    """Expand the command line's paths (and a path list) into files, checking each exists first."""
    out = Collected()
    for arg in paths:
        _add_path(arg, follow_symlinks, out)
    if from_list is not None:
        for arg, expected in read_path_list(from_list):
            _add_path(arg, follow_symlinks, out, expected)
    if not out.files:
        raise BadInputError("nothing to deposit: give files, folders, '-' or --from-list")
    if sum(1 for f in out.files if f.location is None) > 1:
        raise BadInputError("standard input ('-') can be deposited only once")
    # Two inputs with the same name (a/x.pdf and b/x.pdf given separately) stay apart in the package.
    seen: set[str] = set()
    unique: list[InputFile] = []
    for f in out.files:
        name, n = f.name, 2
        while name in seen:
            stem, dot, ext = f.name.rpartition(".")
            name = f"{stem} ({n}).{ext}" if dot and stem else f"{f.name} ({n})"
            n += 1
        seen.add(name)
        unique.append(f if name == f.name else InputFile(f.location, name, f.name_raw, f.expected_sha256))
    out.files = unique
    return out
