"""What a long operation (deposit, verify, report) tells whoever watches it: a total, the item at hand, the
bytes done. The library only calls these; the CLI draws them (a progress bar on a terminal, else nothing).

A plain ``Callable[[int], None]`` (bytes done) is still accepted everywhere a progress is: the hooks below
are called only on a :class:`Progress`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from typing import Any

ByteCallback = Callable[[int], None]
"""Called with the number of bytes just hashed."""


class Progress:
    """Observer of a long operation; every method does nothing here. Subclasses draw."""

    def __call__(self, n: int) -> None:
        """``n`` more bytes were hashed."""

    def begin(self, total_bytes: int | None, items: int) -> None:
        """The work ahead: ``total_bytes`` to hash (None when unknown, e.g. standard input) in ``items``."""

    def item(self, name: str) -> None:
        """Work on the item called ``name`` starts."""

    def phase(self, label: str) -> None:
        """A step without a byte count starts (timestamping, anchoring, writing the report)."""


def begin(progress: ByteCallback | None, total_bytes: int | None, items: int) -> None:
    """:meth:`Progress.begin` when ``progress`` has it."""
    if isinstance(progress, Progress):
        progress.begin(total_bytes, items)


def item(progress: ByteCallback | None, name: str) -> None:
    """:meth:`Progress.item` when ``progress`` has it."""
    if isinstance(progress, Progress):
        progress.item(name)


def phase(progress: ByteCallback | None, label: str) -> None:
    """:meth:`Progress.phase` when ``progress`` has it."""
    if isinstance(progress, Progress):
        progress.phase(label)


def wants_totals(progress: ByteCallback | None) -> bool:
    """True when someone draws a total, so that sizing the inputs first (a stat each) is worth it."""
    return isinstance(progress, Progress)


def total_size(locations: Iterable[Any]) -> int | None:
    """The summed size of the files at ``locations`` (None for standard input or a file that cannot be
    statted: the total is then unknown, and the bar shows bytes without a percentage)."""
    total = 0
    for loc in locations:
        if loc is None:
            return None
        try:
            total += os.stat(loc).st_size
        except OSError:
            return None
    return total
