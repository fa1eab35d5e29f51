"""Atomic, never-overwriting file writes for keys, certificates and trust anchors."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from ..errors import BadInputError, OutputExistsError


def write_new_file(path: Path, data: bytes, *, mode: int = 0o600, replace: bool = False) -> None:
    """Write ``data`` to ``path`` through a temporary file, fsync, then link or rename it into place.

    The temporary file is created with ``mode`` from the start (never world-readable, even briefly).
    Without ``replace`` the final step is a hard link, which fails if ``path`` exists, so an existing
    file is never replaced, even by a concurrent writer: :class:`OutputExistsError` is raised instead.
    """
    path = Path(path)
    if not replace and path.exists():
        raise OutputExistsError("file exists; refusing to overwrite it", path=path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise BadInputError(f"cannot write file: {exc.strerror or exc}", path=path) from exc
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, mode)  # the umask may have narrowed it; make it exact
        if replace:
            os.replace(tmp, path)
        else:
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise OutputExistsError("file exists; refusing to overwrite it", path=path) from None
            except OSError as exc:
                raise BadInputError(f"cannot write file: {exc.strerror or exc}", path=path) from exc
        _fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _fsync_dir(directory: Path) -> None:
    """Make the new directory entry durable (POSIX); ignored where directories cannot be opened."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
