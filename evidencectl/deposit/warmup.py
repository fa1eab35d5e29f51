"""Warming up the services while the workers hash: the one place a deposit imports ahead of need.

While worker processes read and hash the first chunks of a deposit of many small files, the deposit
process would otherwise wait; it imports the timestamp and anchor modules and warms up the embedded TSA (a
token built and checked, never issued) instead. py-spy put 12 % of the deposit process's samples there
(benchmarks/README.md), time now spent while the workers are busy: 56 ms of CPU time for the embedded TSA
(benchmarks/fastpaths.py). Nothing depends on it: a service that
fails here fails again, with its own error, when it is asked.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from ..context import Context


def preload_services(ctx: Context, tsas: Iterable[str], warmed: dict[str, Any] | None = None) -> None:
    """Import what timestamping and anchoring need, and warm up the embedded TSA, while worker processes
    hash (errors are left for the services themselves to raise). The TSA warmed up is put in ``warmed``
    under its spec, for :func:`~evidencectl.deposit.proofs.obtain_proofs` to use: a TSA opened again
    builds its constant attributes again (a token from a fresh one took 32 ms of CPU, 16 ms from the one
    warmed up, and the second open another 4 ms)."""
    import importlib

    for module in ("timestamp.client", "timestamp.authority", "anchor.backends"):
        with contextlib.suppress(Exception):
            importlib.import_module(f"evidencectl.{module}")
    if "local" in tsas:
        from ..timestamp.authority import EmbeddedTSA

        # Only a TSA already made: creating one is left to the deposit itself, never done from two threads.
        with contextlib.suppress(Exception):
            if EmbeddedTSA.exists(ctx):
                tsa = EmbeddedTSA.open(ctx)
                tsa.warm_up()
                if warmed is not None:
                    warmed["local"] = tsa
