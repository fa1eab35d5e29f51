"""The one way evidencectl writes a small file atomically: keys, certificates, trust anchors, the chain
registry, reports.

The data goes to a temporary file beside the target, created with its final mode (never world-readable,
even briefly), is fsynced, then renamed over the target (``replace``) or hard-linked to it (a link fails
when the target exists, so an existing file is never replaced, even by a concurrent writer); the directory
entry is fsynced too. A reader sees the old file or the new one, never a part. (Packages are large and
streamed: package/writer.py stages and publishes them the same way.)
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from .errors import BadInputError, OutputExistsError
from .i18n import _


def write_new_file(path: Path, data: bytes, *, mode: int = 0o600, replace: bool = False, what: str = "file") -> None:
    """Write ``data`` to ``path`` atomically with permissions ``mode``.

    Without ``replace``, OutputExistsError (exit 2) when ``path`` exists. BadInputError (exit 4) naming
    ``what`` (``file``, ``the report``…) when the folder cannot take it.
    """
    path = Path(path)
    if not replace and path.exists():
        raise OutputExistsError(_("file exists; refusing to overwrite it"), path=path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except OSError as exc:
        raise BadInputError(
            _("cannot write {what}: {value}").format(what=what, value=exc.strerror or exc), path=path
        ) from exc
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
                raise OutputExistsError(_("file exists; refusing to overwrite it"), path=path) from None
        _fsync_dir(path.parent)
    except OSError as exc:
        raise BadInputError(
            _("cannot write {what}: {value}").format(what=what, value=exc.strerror or exc), path=path
        ) from exc
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
