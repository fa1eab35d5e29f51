"""Warming up the services while the workers hash: the one place a deposit imports ahead of need.

While worker processes read and hash the first chunks of a deposit of many small files, the deposit
process would otherwise wait; it imports the timestamp and anchor modules, warms up the embedded TSA (a
token built and checked, never issued) and opens the embedded ledger instead. py-spy put 12 % of the
deposit process's samples there (benchmarks/README.md), time now spent while the workers are busy: 56 ms
of CPU time for the embedded TSA (benchmarks/fastpaths.py), and 9-14 ms of the deposit's serial tail for
the ledger (loading its SM2 node key is the SM2 library's first import; benchmarks/README.md, "Deposit
tail"). Nothing depends on it: a service that fails here fails again, with its own error, when it is asked.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterable
from typing import Any

from ..context import Context

LOCAL = "local"
"""The spec of the embedded TSA and of the embedded ledger."""

_EVM_MODULES = ("web3", "eth_account")
"""What an ``evm:`` anchor imports when it first talks to its node (a third of a second)."""


def tsa_key(spec: str) -> str:
    """The key of the TSA of ``spec`` among the services warmed up."""
    return f"tsa:{spec}"


def anchor_key(spec: str) -> str:
    """The key of the anchor of ``spec`` among the services warmed up."""
    return f"anchor:{spec}"


def preload_services(
    ctx: Context, tsas: Iterable[str], warmed: dict[str, Any] | None = None, anchors: Iterable[str] = ()
) -> None:
    """Import what timestamping and anchoring need, warm up the embedded TSA and open the embedded ledger,
    while worker processes hash (errors are left for the services themselves to raise).

    What is opened is put in ``warmed`` (under :func:`tsa_key` and :func:`anchor_key` of its spec), for
    :func:`~evidencectl.deposit.proofs.obtain_proofs` to use: a TSA opened again builds its constant
    attributes again (a token from a fresh one took 32 ms of CPU, 16 ms from the one warmed up, and the
    second open another 4 ms). Only services already made are opened: creating a TSA's or a ledger's keys
    is left to the deposit itself, never done from two threads of control at once.
    """
    for module in ("timestamp.client", "timestamp.authority", "anchor.backends"):
        with contextlib.suppress(Exception):
            importlib.import_module(f"evidencectl.{module}")
    if LOCAL in tsas:
        with contextlib.suppress(Exception):
            from ..timestamp.authority import EmbeddedTSA

            if EmbeddedTSA.exists(ctx):
                tsa = EmbeddedTSA.open(ctx)
                tsa.warm_up()
                if warmed is not None:
                    warmed[tsa_key(LOCAL)] = tsa
    for spec in anchors:
        if spec == LOCAL:
            with contextlib.suppress(Exception):
                from ..anchor.ledger import EmbeddedLedger

                ledger = EmbeddedLedger.open_existing(ctx)
                if ledger is not None and warmed is not None:
                    warmed[anchor_key(LOCAL)] = ledger
        elif spec.startswith("evm:"):
            for module in _EVM_MODULES:
                with contextlib.suppress(Exception):
                    importlib.import_module(module)
