"""Forked worker processes, for deposit (evidencectl/intake.py) and verify (evidencectl/verify/parallel.py).

Both share out per-file work on many small files: a deposit of 10,000 x 4 KiB files took 1.2 s in one
process and 0.61 s with two workers on the 2-CPU benchmark machine (benchmarks/README.md). Workers are
forked (they inherit the opened package, the file list and the compiled validators without pickling them)
and therefore only on Linux, where they also die with their parent (PR_SET_PDEATHSIG) instead of waiting
forever for tasks a killed deposit or verify will never send.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import signal
import sys
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

MAX_WORKERS = 4
_PR_SET_PDEATHSIG = 1


def worker_count() -> int:
    """How many worker processes this machine gives a deposit or verify (0: do everything in this process).

    Linux only: workers are forked, and only there do they die with a killed parent (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cpus < 2 else min(cpus, MAX_WORKERS)


def init_worker(parent: int, preload: Sequence[str] = ()) -> None:
    """A worker ignores Ctrl-C (its parent handles it and stops the workers) and dies with its parent; it
    imports ``preload`` while the parent is still busy (a deposit walking its folders)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the line above took effect
        os._exit(1)
    for module in preload:
        importlib.import_module(module)


@contextlib.contextmanager
def _default_sigterm() -> Iterator[None]:
    """Fork workers with SIGTERM's default action. The command line handles SIGTERM in Python (to remove its
    staging file), and a forked child that inherited that handler and hangs before it has run a line of its
    own (forking a process that has threads can leave a lock held in the child) would ignore terminate()
    and keep its parent waiting for ever."""
    try:
        previous = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # not the main thread: the handler cannot be set here, nor was it set by us
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def fork_pool(count: int, preload: Sequence[str] = ()) -> Any:
    """A pool of ``count`` forked workers set up by :func:`init_worker`; the caller terminates it."""
    ctx = multiprocessing.get_context("fork")
    with warnings.catch_warnings(), _default_sigterm():
        # Python 3.12+ warns about forking a process with threads (a progress bar's refresh thread): the
        # workers touch none of that thread's state.
        warnings.simplefilter("ignore", DeprecationWarning)
        return ctx.Pool(count, initializer=init_worker, initargs=(os.getpid(), tuple(preload)))
