"""The cyclic garbage collector paused for the length of a verification: the one place that does it.

The parsed manifest of a large package is millions of small objects (dicts, strings, ints), none in a cycle,
and every full collection triggered while they are being made walks all of them again. Reference counting
still frees everything at once when the verification ends, so nothing is kept longer; only cycles made
meanwhile wait for the next collection. Measured (CPU time of one process, workers off,
benchmarks/fastpaths.py): verify of 100,000 items 6.34 s with the collector running, 5.41 s paused (15 %; none
to measure at 20,000 items). tests/test_gcpause.py checks that a verification with the collector running gives
the same report.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_collector() -> Iterator[None]:
    """Pause the cyclic garbage collector meanwhile (restored as it was, also when the body raises)."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
