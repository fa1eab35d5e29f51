"""Paths as the public library face takes them (docs/library.md): a ``str``, ``bytes`` or any ``os.PathLike``
wherever a path is asked for, made a :class:`~pathlib.Path` once at the entry so that the stages below can
rely on one type (``verify(data=["a.txt"])`` raised AttributeError deep inside the data check)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from .deposit.options import DepositOptions

PathArg: TypeAlias = "str | bytes | os.PathLike[str] | os.PathLike[bytes]"
"""What a public function accepts as a path."""


def as_path(value: PathArg) -> Path:
    """``value`` as a Path (bytes decoded as the file system does); a wrong type is a TypeError naming it."""
    if isinstance(value, Path):
        return value
    try:
        return Path(os.fsdecode(value))
    except TypeError:
        raise TypeError(f"a path was expected (str or os.PathLike), not {type(value).__name__}") from None


def as_paths(values: PathArg | Iterable[PathArg]) -> list[Path]:
    """Each of ``values`` as a Path; one path given alone is one path (not a path per character of a str)."""
    if isinstance(values, str | bytes | os.PathLike):
        return [as_path(values)]
    return [as_path(v) for v in values]


def deposit_paths(opts: DepositOptions) -> DepositOptions:
    """``opts`` with ``out``, ``from_list`` and ``dkim_keys`` as Paths and ``inputs`` as strings (``-`` stays
    standard input); ``opts`` itself is left as the caller built it."""
    given: object = opts.inputs  # typed list[str]; a caller may give Paths, or one path alone
    inputs = [given] if isinstance(given, str | bytes | os.PathLike) else list(given)  # type: ignore[call-overload]
    return replace(
        opts,
        inputs=[i if isinstance(i, str) else os.fsdecode(i) for i in inputs],
        out=as_path(opts.out),
        from_list=None if opts.from_list is None else as_path(opts.from_list),
        dkim_keys=None if opts.dkim_keys is None else as_path(opts.dkim_keys),
    )
