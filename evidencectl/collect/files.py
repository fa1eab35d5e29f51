"""Inputs -> the list of files to deposit: files, folders (recursive, stable order), stdin and path lists."""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import BinaryIO, NamedTuple

from ..errors import BadInputError, UsageError
from ..i18n import _

STDIN = "-"
try:
    PATH_MAX = os.pathconf("/", "PC_PATH_MAX")
except (OSError, ValueError, AttributeError):  # no pathconf (Windows): its classic limit
    PATH_MAX = 260
"""Longest path (in bytes, with its terminating NUL) the system opens: a longer one is passed over with a
warning, so that one file buried too deep does not stop the deposit of all the others."""
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
    walked: Callable[[list[InputFile]], None] | None = field(default=None, repr=False, compare=False)
    """Called with the files found so far each time a folder has been walked (the deposit hands the first
    chunks to its workers meanwhile)."""


def read_small(path: str | os.PathLike[str], limit: int) -> tuple[bytes, os.stat_result] | None:
    """The whole content and status of a file of at most ``limit`` bytes, with one open and one read;
    None when it is larger (or grew past the limit while being read). OSError as ``os.open`` raises it."""
    got = read_whole(path, limit, limit)
    return None if got is None else (got.data, got.stat)


class Whole(NamedTuple):
    """A file read whole, to be hashed, stored and analysed from these very bytes."""

    data: bytes
    """Its bytes."""
    stat: os.stat_result
    """Its status when it was opened."""
    changed: str | None
    """Why it is flagged as changed while it was read (size, mtime or ctime moved), or None."""


def changed_while_read(before: os.stat_result, after: os.stat_result) -> str | None:
    """A one-line flag when a file's size, modification or change time differ after reading it from what
    they were before: the bytes deposited may then mix two versions of the file."""
    moved = [
        f"{what} {getattr(before, attr)} -> {getattr(after, attr)}"
        for what, attr in (("size", "st_size"), ("mtime_ns", "st_mtime_ns"), ("ctime_ns", "st_ctime_ns"))
        if getattr(before, attr) != getattr(after, attr)
    ]
    if not moved:
        return None
    return f"changed while it was read ({', '.join(moved)}); the deposited bytes may mix two versions"


def open_regular(path: str | os.PathLike[str]) -> int:
    """A read-only descriptor of the regular file at ``path``. A file listed as regular can be replaced by a
    FIFO or a device before it is read (a link retargeted, a file renamed over): opened without blocking and
    refused, so that the deposit neither waits for ever on a FIFO nor reads ``/dev/zero`` until the disk is
    full. OSError otherwise, as ``os.open`` raises it."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | getattr(os, "O_NONBLOCK", 0))
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        os.close(fd)
        raise
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise OSError(errno.EINVAL, "not a regular file (replaced since the inputs were listed)")
    return fd


def read_whole(path: str | os.PathLike[str], small: int, parse_limit: int) -> Whole | None:
    """Read a file whole when it has at most ``small`` bytes, or at most ``parse_limit`` bytes and a media type
    that is parsed (mail, images, Outlook): these are hashed, stored and analysed from one set of bytes. None
    for any other file (it is streamed) or when it grew past the limit while being read. The status is taken
    before and after the read, and a difference is flagged. OSError as ``os.open`` raises it."""
    fd = open_regular(path)
    try:
        st = os.fstat(fd)
        if st.st_size > max(small, parse_limit):
            return None
        limit = small
        if st.st_size > small:
            from .analyze import PARSED
            from .media import SNIFF_SIZE, sniff

            head = os.pread(fd, SNIFF_SIZE, 0)
            if sniff(head) not in PARSED:
                return None
            limit = parse_limit
        chunks = []
        total = 0
        while total <= limit:  # a regular file gives everything in one read; a file still growing may not
            chunk = os.read(fd, limit + 1 - total)
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        after = os.fstat(fd)
    finally:
        os.close(fd)
    if total > limit:
        return None
    return Whole(chunks[0] if len(chunks) == 1 else b"".join(chunks), st, changed_while_read(st, after))


def _name_of(raw: bytes) -> tuple[str, bytes | None]:
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError:
        return raw.decode("utf-8", "replace"), raw


def _too_long(path: str | Path, out: Collected) -> bool:
    """True (and a warning) when ``path`` is longer than the system opens."""
    size = len(os.fsencode(path))
    if size < PATH_MAX:
        return False
    out.warnings.append(
        _("{fsdecode}…: path of {size} bytes is longer than this system opens ({value}); passed over").format(
            fsdecode=os.fsdecode(os.fsencode(path)[:80]), size=size, value=PATH_MAX - 1
        )
    )
    return True


def _identity(path: str | Path) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_dev, st.st_ino


def _walk(
    root: Path, prefix: bytes, follow: bool, out: Collected, above: frozenset[tuple[int, int]] = frozenset()
) -> int:
    """Add the files under ``root``; ``above`` holds the (device, inode) of every folder on the way down
    when links are followed, so that a link back to one of them (``loop/self -> .``) is not walked again."""
    count = 0
    try:
        with os.scandir(root) as it:
            # The directory entry's type (d_type) answers for most entries without a stat call each.
            entries = sorted(((os.fsencode(e.name), e) for e in it), key=lambda pair: pair[0])
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            _too_long(root, out)
            return 0
        raise BadInputError(_("cannot read folder: {value}").format(value=exc.strerror or exc), path=root) from exc
    if follow:
        above = above | {_identity(root)}
    for raw, entry in entries:
        rel = prefix + b"/" + raw
        if _too_long(entry.path, out):
            continue
        try:
            if entry.is_symlink():
                if not follow:
                    out.warnings.append(
                        _("{path}: symbolic link not followed (use --follow-symlinks)").format(path=entry.path)
                    )
                    continue
                try:
                    is_dir, is_file = entry.is_dir(), entry.is_file()
                    if not (is_dir or is_file):
                        os.stat(entry.path)  # a dangling link raises here
                except OSError:
                    out.warnings.append(_("{path}: broken symbolic link skipped").format(path=entry.path))
                    continue
            else:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file(follow_symlinks=False)
        except OSError as exc:
            raise BadInputError(
                _("cannot read: {value}").format(value=exc.strerror or exc), path=Path(entry.path)
            ) from exc
        if is_dir and follow:
            try:
                seen = _identity(entry.path) in above
            except OSError as exc:
                raise BadInputError(
                    _("cannot read: {value}").format(value=exc.strerror or exc), path=Path(entry.path)
                ) from exc
            if seen:
                out.warnings.append(
                    _("{path}: symbolic link loop (leads back to a folder above it); not followed").format(
                        path=entry.path
                    )
                )
                continue
        if is_dir:
            count += _walk(Path(entry.path), rel, follow, out, above)
        elif is_file:
            name, name_raw = _name_of(rel)
            out.files.append(InputFile(entry.path, name, name_raw))
            count += 1
        else:
            out.warnings.append(_("{path}: not a regular file, skipped").format(path=entry.path))
    if out.walked is not None:
        out.walked(out.files)
    return count


def _add_path(arg: str, follow: bool, out: Collected, expected: str | None = None) -> None:
    if arg == STDIN:
        out.files.append(InputFile(None, "stdin"))
        return
    path = Path(arg)
    try:
        st = path.stat() if follow or not path.is_symlink() else path.lstat()
    except FileNotFoundError as exc:
        raise BadInputError(_("no such file or folder"), path=path) from exc
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG and _too_long(arg, out):
            return
        raise BadInputError(_("cannot read: {value}").format(value=exc.strerror or exc), path=path) from exc
    base = os.fsencode(path.resolve().name if path.name in ("", ".", "..") else path.name)
    if stat.S_ISLNK(st.st_mode):
        raise BadInputError(_("is a symbolic link; use --follow-symlinks to deposit its target"), path=path)
    if stat.S_ISDIR(st.st_mode):
        if _walk(path, base, follow, out) == 0:
            raise BadInputError(_("folder holds no files to deposit"), path=path)
    elif stat.S_ISREG(st.st_mode):
        name, name_raw = _name_of(base)
        out.files.append(InputFile(str(path), name, name_raw, expected))
    else:
        raise BadInputError(_("not a regular file or folder"), path=path)


def read_path_list(list_file: Path) -> list[tuple[str, str | None]]:
    """Paths from ``--from-list``: one path a line, or ``sha256sum`` lines (``<hex>  <path>``)."""
    try:
        data = list_file.read_bytes() if str(list_file) != STDIN else os.read(0, 1 << 30)
    except OSError as exc:
        raise BadInputError(
            _("cannot read path list: {value}").format(value=exc.strerror or exc), path=list_file
        ) from exc
    out: list[tuple[str, str | None]] = []
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if b"\x00" in raw:
            raise BadInputError(
                _("line {lineno} holds a NUL byte, which no path can contain").format(lineno=lineno), path=list_file
            )
        line = os.fsdecode(raw).rstrip("\r")
        if not line.strip() or line.startswith("#"):
            continue
        m = _SUMLINE.match(line)
        if m:
            out.append((m.group(2), m.group(1).lower()))
        else:
            out.append((line, None))
    if not out:
        raise BadInputError(_("path list names no files"), path=list_file)
    return out


def collect_inputs(
    paths: list[str],
    *,
    from_list: Path | None = None,
    follow_symlinks: bool = False,
    walked: Callable[[list[InputFile]], None] | None = None,
) -> Collected:
    """Expand the command line's paths (and a path list) into files, checking each exists first; ``walked``
    hears the files found so far after each folder (see :attr:`Collected.walked`)."""
    out = Collected(walked=walked)
    for arg in paths:
        _add_path(arg, follow_symlinks, out)
    if from_list is not None:
        for arg, expected in read_path_list(from_list):
            _add_path(arg, follow_symlinks, out, expected)
    if not out.files:
        raise BadInputError(_("nothing to deposit: give files, folders, '-' or --from-list"))
    if sum(1 for f in out.files if f.location is None) > 1:
        raise BadInputError(_("standard input ('-') can be deposited only once"))
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


class BoundedStream:
    """A binary stream that refuses to give more than ``limit`` bytes: standard input has no size to check
    beforehand, and ``deposit - < /dev/zero`` must end."""

    def __init__(self, stream: BinaryIO, limit: int) -> None:
        self.stream = stream
        self.limit = limit
        self.total = 0

    def readinto(self, view: memoryview) -> int:
        """Fill ``view`` like the underlying stream, raising :class:`BadInputError` past the limit."""
        # Ask for one byte more than what is left, so that a stream of exactly ``limit`` bytes is accepted.
        room = self.limit - self.total + 1
        n = self.stream.readinto(view[:room] if room < len(view) else view)  # type: ignore[attr-defined]
        self.total += n or 0
        if self.total > self.limit:
            raise BadInputError(
                _("more than {limit} bytes (--max-size); nothing was deposited").format(limit=self.limit),
                path="standard input",
            )
        return int(n or 0)

    def read(self, size: int = -1) -> bytes:
        """Read up to ``size`` bytes (all, when negative), with the same limit."""
        buf = bytearray(self.limit + 1 if size < 0 else size)
        n = self.readinto(memoryview(buf))
        return bytes(buf[:n])


def bounded_stdin(stream: BinaryIO, limit: int) -> BinaryIO:
    """Standard input bounded by ``--max-size`` (a stream that offers ``readinto`` and ``read``)."""
    return BoundedStream(stream, limit)  # type: ignore[return-value]


def check_statement_text(**fields: str | None) -> None:
    """Refuse a case number, depositor or note that is not valid Unicode text (a command-line argument
    in a non-UTF-8 encoding arrives with lone surrogates), naming the option and the first bad byte."""
    for name, value in fields.items():
        if value is None:
            continue
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            bad = value[exc.start]
            what = (
                f"byte {ord(bad) - 0xDC00:#04x}" if "\udc80" <= bad <= "\udcff" else f"lone surrogate U+{ord(bad):04X}"
            )
            raise UsageError(
                _("--{name} is not valid UTF-8 text ({what} at position {start})").format(
                    name=name, what=what, start=exc.start
                )
            ) from None


_SIZE = re.compile(r"^\s*([0-9]+)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """Bytes from ``4G``, ``4GiB``, ``500M``, ``65536``: binary multiples (K = 1024); UsageError otherwise."""
    m = _SIZE.match(text)
    if m is None:
        raise UsageError(_("--max-size {text!r} is not a size such as 4G, 500M or 65536").format(text=text))
    return int(m.group(1)) << (10 * "kmgt".find(m.group(2).lower()) + 10 if m.group(2) else 0)
