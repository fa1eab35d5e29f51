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
import mmap
import multiprocessing
import os
import signal
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from multiprocessing.pool import Pool
from typing import Any

MAX_WORKERS = 4
_PR_SET_PDEATHSIG = 1
STOP_GRACE = 30.0
"""How long :func:`stop_pool` waits for the workers to hand back what they hold before it kills them."""

_STOP: mmap.mmap | None = None
"""In a worker: its pool's stop flag (one byte shared with the parent; 1 once the parent stops the pool)."""


def worker_count() -> int:
    """How many worker processes this machine gives a deposit or verify (0: do everything in this process).

    Linux only: workers are forked, and only there do they die with a killed parent (PR_SET_PDEATHSIG)."""
    if not sys.platform.startswith("linux") or not hasattr(os, "fork"):
        return 0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 0 if cpus < 2 else min(cpus, MAX_WORKERS)


def init_worker(parent: int, preload: Sequence[str] = (), stop: mmap.mmap | None = None) -> None:
    """A worker ignores Ctrl-C (its parent handles it and stops the workers) and dies with its parent; it
    imports ``preload`` while the parent is still busy (a deposit walking its folders)."""
    global _STOP
    _STOP = stop
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


class _Pool(Pool):
    """``multiprocessing.pool.Pool`` whose worker-handler thread does not wake for every result.

    That thread waits on the result pipe as well as on the workers (so that it can replace a worker retired
    after ``maxtasksperchild`` tasks): while an answer sits in the pipe, before the result thread has read
    it, the handler wakes, walks the workers, builds a new selector and waits again, over and over, taking
    the GIL each time. In a deposit of 10,000 small files that thread used 40 to 100 ms of CPU time, beside
    150 to 300 ms for the deposit process's own work on the answers (benchmarks/README.md, "Runs of
    prepared files"). evidencectl's pools never retire a worker, so a result is nothing for the handler to
    do: it still wakes for a worker that exits (the workers' sentinels, which the pool adds) and for
    ``close``/``terminate`` and an emptied cache (the change notifier). tests/test_workers_stop.py checks
    that it no longer wakes per answer and that the pool still stops as before."""

    def _get_sentinels(self) -> list[Any]:
        return [self._change_notifier._reader]  # type: ignore[attr-defined]


def fork_pool(count: int, preload: Sequence[str] = ()) -> Any:
    """A pool of ``count`` forked workers set up by :func:`init_worker`; the caller stops it with
    :func:`stop_pool`."""
    ctx = multiprocessing.get_context("fork")
    stop = mmap.mmap(-1, 1)  # anonymous, so shared with the forked workers
    with warnings.catch_warnings(), _default_sigterm():
        # Python 3.12+ warns about forking a process with threads (a progress bar's refresh thread): the
        # workers touch none of that thread's state.
        warnings.simplefilter("ignore", DeprecationWarning)
        pool = _Pool(count, initializer=init_worker, initargs=(os.getpid(), tuple(preload), stop), context=ctx)
    pool.evidencectl_stop = stop  # type: ignore[attr-defined]  # stop_pool finds the flag here
    return pool


def stopping() -> bool:
    """In a worker: True once its parent stops the pool (a task then returns at once, its answer unread)."""
    return _STOP is not None and _STOP[0] == 1


def stop_pool(pool: Any, grace: float = STOP_GRACE) -> None:
    """Stop ``pool``'s workers and join them.

    ``Pool.terminate()`` kills the workers as they are. One killed while it writes an answer dies holding the
    lock of the answer queue, and the pool's task thread then waits for that lock for ever: a deposit
    interrupted by Ctrl-C hung in ``Workers.close`` (seen once in ~20 runs of
    tests/test_intake.py::test_ctrl_c_stops_the_workers_and_leaves_nothing on a loaded machine). So the
    workers are first told to stop (every task still queued returns at once, see :func:`stopping`) and
    their answers are let through until none is outstanding; only then are the now idle workers terminated,
    as after a run whose every answer was taken. After ``grace`` seconds they are terminated anyway."""
    stop = getattr(pool, "evidencectl_stop", None)
    if stop is not None:
        stop[0] = 1
    outstanding = getattr(pool, "_cache", None)  # the answers not yet delivered, by job
    deadline = time.monotonic() + grace
    while outstanding and time.monotonic() < deadline:
        time.sleep(0.005)
    pool.terminate()
    pool.join()
    if stop is not None:
        stop.close()
