"""Stage: which of the collected files are deposited.

Two kinds are passed over, each with a warning: the deposit's own output and staging files (``deposit case1
-o case1/inside.evp --force`` must not deposit the package it replaces, nor another deposit's staging file
for the same output), and a file named twice (``deposit a.txt ./a.txt``, or a file and its folder), which is
deposited once, under the first name. Both checks cost nothing for the common case of one folder that does
not hold the output.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

from ..collect.files import InputFile
from ..errors import BadInputError
from .options import SourceOptions


def _under(folder: str, root: str) -> bool:
    return folder == root or folder.startswith(root.rstrip(os.sep) + os.sep)


def _may_hold_output(sources: SourceOptions, out_dir: str) -> bool:
    """Whether a walk of ``sources`` can reach a file in ``out_dir`` (a list can name anything)."""
    if sources.from_list is not None or sources.follow_symlinks:
        return True
    return any(arg != "-" and _under(out_dir, os.path.realpath(arg)) for arg in sources.inputs)


def _is_own(f: InputFile, out_dir: str, out_name: str) -> bool:
    """``f`` is the output or a staging file of it (``.NAME.XXXXXXXX.partial``)."""
    if f.location is None:
        return False
    base = os.path.basename(f.location)
    if base != out_name and not (base.startswith(f".{out_name}.") and base.endswith(".partial")):
        return False
    return os.path.realpath(os.path.dirname(os.path.abspath(f.location))) == out_dir


def _identities(paths: list[Path]) -> set[tuple[int, int]]:
    out = set()
    for path in paths:
        try:
            st = os.stat(path)
        except OSError:
            continue
        out.add((st.st_dev, st.st_ino))
    return out


def _identity(f: InputFile) -> tuple[int, int] | None:
    if f.location is None:
        return None
    try:
        st = os.stat(f.location)
    except OSError:
        return None
    return st.st_dev, st.st_ino


def select_inputs(files: list[InputFile], sources: SourceOptions, out: Path, warnings: list[str]) -> list[InputFile]:
    """``files`` without the deposit's own output and staging files, and without files named twice."""
    out_dir = os.path.realpath(os.path.dirname(os.path.abspath(out)))
    if _may_hold_output(sources, out_dir):
        # The package being replaced (--force) and staging files of the same output, by identity too: a
        # link (``case/copy -> out.evp`` with --follow-symlinks) or a hard link has another name.
        ids = _identities([out, *Path(out_dir).glob(f".{glob.escape(out.name)}.*.partial")])
        own = [f for f in files if _is_own(f, out_dir, out.name) or (ids and _identity(f) in ids)]
        if own:
            warnings.extend(f"{f.location}: passed over: the package being written (or its staging file)" for f in own)
            files = [f for f in files if f not in own]
            if not files:
                raise BadInputError("nothing to deposit but the package being written", path=out)
    if len(sources.inputs) + (sources.from_list is not None) < 2 and not sources.follow_symlinks:
        return files  # one folder or file walked without links: no file can come twice
    seen: dict[tuple[int, int], str] = {}
    kept: list[InputFile] = []
    for f in files:
        if f.location is not None:
            try:
                st = os.stat(f.location)
            except OSError:
                kept.append(f)  # reading it will report why
                continue
            first = seen.setdefault((st.st_dev, st.st_ino), f.name)
            if first != f.name:
                warnings.append(f"{f.location}: the same file as {first}, deposited once under that name")
                continue
        kept.append(f)
    return kept
