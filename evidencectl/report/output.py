"""Writing a report: checked early, written atomically, never half a file at the output path."""

from __future__ import annotations

import os
from pathlib import Path

from ..atomic import write_new_file
from ..errors import BadInputError
from ..i18n import _

HTML_SUFFIXES = (".html", ".htm")


def wants_html(out: Path) -> bool:
    """True when the output name asks for HTML (``.html`` or ``.htm``), else the report is a PDF."""
    return out.suffix.lower() in HTML_SUFFIXES


def check_writable(out: Path) -> None:
    """Fail before any work when ``out`` cannot be written (missing folder, a directory, no permission)."""
    if out.is_dir():
        raise BadInputError(_("output path is a directory"), path=out)
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise BadInputError(_("cannot write the report: the output folder does not exist"), path=out)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise BadInputError(_("cannot write the report: the output folder is not writable"), path=out)
    if out.exists() and not os.access(out, os.W_OK):
        raise BadInputError(_("cannot write the report: the output file is not writable"), path=out)


def write_atomic(out: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``out``, fsync it, then rename it over ``out``."""
    check_writable(out)
    parent = out.parent if str(out.parent) else Path(".")
    write_new_file(parent / out.name, data, mode=0o644, replace=True, what="the report")
