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
        self._threads: list[threading.Thread] = []
        self._failed: list[BaseException] = []

    def start(self, close: Callable[[], None], name: str) -> None:
        """Run ``close`` in a thread of its own; what it raises is raised again by :meth:`join`."""

        def run() -> None:
            try:
                close()
            except BaseException as exc:  # noqa: BLE001 - handed to the thread that joins
                self._failed.append(exc)

        thread = threading.Thread(target=run, name=f"evidencectl-{name}", daemon=True)
        thread.start()
        self._threads.append(thread)

    def join(self) -> None:
        """Wait for every closer, also through Ctrl-C (raised once they are done, so that no worker or
        connection is left half closed), then raise the first error a closer met, if any."""
        interrupted: KeyboardInterrupt | None = None
        for thread in self._threads:
            while thread.is_alive():
                try:
                    thread.join()
                except KeyboardInterrupt as exc:
                    interrupted = exc
        self._threads.clear()
        if interrupted is not None:
            raise interrupted
        if self._failed:
            raise self._failed.pop(0)
