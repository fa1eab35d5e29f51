"""Closing in threads what the end of a deposit no longer uses: the one place a deposit does that.

Once every file is read, the worker processes are idle; once the deposit is recorded, the registry is. Their
close is mostly waiting: for the workers to end (4-5 ms) and for SQLite to checkpoint the registry's WAL
into its database file as its last connection closes (5-6 ms for the 10,000 item rows of a deposit). Done in
threads, that waiting overlaps the proofs, the registry and the freeing of the deposit's structures instead
of adding to the deposit's serial tail (benchmarks/README.md, "Deposit tail"). :func:`deposit
<evidencectl.deposit.pipeline.deposit>` joins every one before it returns, also after an error or Ctrl-C, so
nothing it started outlives it and what it wrote is closed when it returns, as before.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Closing:
    """Closers running in threads, joined by :meth:`join`."""

    def __init__(self) -> None:
        self._running: list[threading.Event] = []
        self._failed: list[BaseException] = []

    def start(self, close: Callable[[], None], name: str) -> None:
        """Run ``close`` in a thread of its own; what it raises is raised again by :meth:`join`."""
        finished = threading.Event()

        def run() -> None:
            try:
                close()
            except BaseException as exc:  # noqa: BLE001 - handed to the thread that joins
                self._failed.append(exc)
            finally:
                finished.set()

        threading.Thread(target=run, name=f"evidencectl-{name}", daemon=True).start()
        self._running.append(finished)

    def join(self) -> None:
        """Wait for every closer, also through Ctrl-C (raised once they are done, so that no worker or
        connection is left half closed), then raise the first error a closer met, if any.

        Each closer's own event is waited for, not its thread: in Python 3.11 a ``Thread.join()`` that a
        Ctrl-C interrupts marks the thread stopped while it still runs (bpo-45274's fix releases the lock
        the running thread holds), and ``is_alive()`` then says False."""
        interrupted: KeyboardInterrupt | None = None
        for finished in self._running:
            while not finished.is_set():
                try:
                    finished.wait()
                except KeyboardInterrupt as exc:
                    interrupted = exc
        self._running.clear()
        if interrupted is not None:
            raise interrupted
        if self._failed:
            raise self._failed.pop(0)
