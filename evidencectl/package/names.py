"""Close item names, for a refusal that names what the user probably meant (``extract --item 合同.pdf``
when the item is ``case1/合同.pdf``)."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_names(wanted: str, names: Iterable[str], limit: int = 5) -> list[str]:
    """Up to ``limit`` of ``names`` that ``wanted`` may mean: same last path part first (the folder was
    left out), then names ending with it, then spellings close to it."""
    names = list(names)
    base = wanted.rstrip("/").rsplit("/", 1)[-1].casefold()
    same = [n for n in names if n.rsplit("/", 1)[-1].casefold() == base]
    tail = [n for n in names if n.casefold().endswith(wanted.casefold()) and n not in same]
    close = difflib.get_close_matches(wanted, names, n=limit, cutoff=0.6)
    if len(names) <= 50_000:  # the last parts alone, so that a folder prefix does not dilute the likeness
        by_base: dict[str, list[str]] = {}
        for n in names:
            by_base.setdefault(n.rsplit("/", 1)[-1], []).append(n)
        for b in difflib.get_close_matches(wanted.rsplit("/", 1)[-1], list(by_base), n=limit, cutoff=0.6):
            close.extend(by_base[b])
    out: list[str] = []
    for n in [*same, *tail, *close]:
        if n not in out and n != wanted:
            out.append(n)
    return out[:limit]


def no_such_item(wanted: str, names: Iterable[str]) -> str:
    """The message for an item name that is not in the package, with the close names if there are any."""
    close = close_names(wanted, names)
    if not close:
        return f"no item named {wanted!r} in the package (evidencectl inspect lists them)"
    return f"no item named {wanted!r} in the package; did you mean {', '.join(repr(n) for n in close)}?"
