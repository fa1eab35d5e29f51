"""Writing a report: checked early, written atomically, never half a file at the output path."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..errors import BadInputError

HTML_SUFFIXES = (".html", ".htm")


def wants_html(out: Path) -> bool:
    """True when the output name asks for HTML (``.html`` or ``.htm``), else the report is a PDF."""
    return out.suffix.lower() in HTML_SUFFIXES


def check_writable(out: Path) -> None:
    """Fail before any work when ``out`` cannot be written (missing folder, a directory, no permission)."""
    if out.is_dir():
        raise BadInputError("output path is a directory", path=out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError("cannot write the report: the output folder does not exist", path=out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInputError("cannot write the report: the output folder is not writable", path=out)
    if out.exists() and not os.access(out, os.W_OK):
        raise BadInputError("cannot write the report: the output file is not writable", path=out)


def write_atomic(out: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``out``, fsync it, then rename it over ``out``."""
    check_writable(out)
    parent = out.parent if str(out.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise BadInputError(f"cannot write the report: {exc.strerror or exc}", path=out) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
