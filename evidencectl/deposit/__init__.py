"""The deposit pipeline (DESIGN §1), one module a stage, read top to bottom:

1. :mod:`.options` — what a deposit is asked (statement, sources, services parts) and its result;
2. :mod:`.statement` — the deposit number and statement (leaf 0);
3. :mod:`.items` — the item spool: records numbered, spooled and folded into the trees;
4. :mod:`.reading` — every input read, hashed, stored and analysed into the spool (with evidencectl.intake's
   worker processes for many small files);
5. :mod:`.seal` — the roots and manifest.json (signed or not);
6. :mod:`.proofs` — timestamps and anchors over the roots;
7. :mod:`.publish` — published and recorded complete, or recorded pending;
8. :mod:`.resuming` — pending deposits finished later.

:mod:`.pipeline` runs them in order. This module is the entry: :func:`deposit` and :func:`resume` load the
stages when first called, so that importing evidencectl (as every command does) costs no deposit machinery.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from ..context import Context
from .options import (
    AnalyzeSettings,
    DepositOptions,
    DepositResult,
    ServiceOptions,
    SourceOptions,
    StatementOptions,
)
from .state import ResumeState, ServiceFailure


def deposit(
    opts: DepositOptions,
    base: Context | Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> DepositResult:
    """Deposit ``opts.inputs`` into a new package at ``opts.out`` and return what was produced.

    ``base`` is the data directory (a :class:`~evidencectl.context.Context` or its path; None: the default
    one). ``progress`` is called with the number of bytes read as the inputs are hashed. The paths in
    ``opts`` (``inputs``, ``out``, ``from_list``, ``dkim_keys``) may be ``str`` or any ``os.PathLike``.

    A deposit whose TSA quorum or anchors cannot be had is returned ``pending``: the work done is kept in
    its ``staging`` file and the registry, ``pending`` lists the failed services, and :func:`resume`
    finishes it. Raises UsageError (exit 2) for bad options or an existing output, BadInputError (exit 4)
    for an input that cannot be read or an output that cannot be written.
    """
    from ..pathargs import deposit_paths
    from .pipeline import deposit as run

    return run(deposit_paths(opts), Context.of(base), progress)


def resume(base: Context | Path | None = None, deposit_id: str | None = None) -> list[DepositResult]:
    """Ask the failed services of the pending deposits (all, or ``deposit_id``) again; publish those that
    complete. Returns one result a deposit (``pending`` for those whose services are still down); raises
    UsageError (exit 2) for an unknown ``deposit_id``, ServiceError (exit 5) for a deposit that cannot be
    finished at all (its staging file gone or unreadable)."""
    from .resuming import resume as run

    return run(Context.of(base), deposit_id)


def label_for(spec: str, used: set[str], kind: str = "tsa") -> str:
    """A short file-name-safe label for a TSA or anchor spec (``local``, ``tsa.example.com``…); see
    :func:`.proofs.label_for`."""
    from .proofs import label_for as make

    return make(spec, used, kind)


__all__ = [
    "AnalyzeSettings",
    "DepositOptions",
    "DepositResult",
    "ResumeState",
    "ServiceFailure",
    "ServiceOptions",
    "SourceOptions",
    "StatementOptions",
    "deposit",
    "label_for",
    "resume",
]
