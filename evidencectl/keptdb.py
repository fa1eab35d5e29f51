"""An SQLite connection kept open for the next write: the embedded TSA's serial numbers, the embedded ledger.

Each token and each block used to open its database, write one row and close it again; closing the last
connection of a WAL database checkpoints the WAL into the database file and removes it, two more syncs
every time. On a kept connection a serial number costs 0.3 ms instead of 1.4 ms and a block 1.1 ms instead
of 2.4 ms (benchmarks/README.md, "Deposit tail"); every write is still committed, its WAL synced, before
it is used. The owner closes it when done (a deposit does, in a thread: deposit/background.py), so that the
WAL is checkpointed and a copy of the database file alone holds every write, as before. SQLite forbids
carrying a connection across a fork: a forked child opens its own and never uses, nor closes, the one it
inherited.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Callable

_INHERITED: list[sqlite3.Connection] = []
"""Connections a forked process inherited: kept, never used or closed (closing one is using it)."""


class KeptConnection:
    """One connection per process, made by ``opener`` on first use; :attr:`lock` serialises its users (take
    it around :meth:`get` and every use of what it returns)."""

    def __init__(self, opener: Callable[[], sqlite3.Connection]) -> None:
        self._opener = opener
        self._held: tuple[int, sqlite3.Connection] | None = None
        self.lock = threading.Lock()
        """Held by the one thread using the connection."""

    def get(self) -> sqlite3.Connection:
        """This process's connection, opened now if it has none (``opener``'s errors propagate)."""
        if self._held is None or self._held[0] != os.getpid():
            if self._held is not None:
                _INHERITED.append(self._held[1])
                self._held = None
            self._held = (os.getpid(), self._opener())
        return self._held[1]

    def close(self) -> None:
        """Close this process's connection, if open (the next :meth:`get` opens one again). Closing the last
        connection checkpoints the WAL into the database file, so a copy of the file alone holds every
        write, as when each write closed its connection."""
        with self.lock:
            held, self._held = self._held, None
            if held is not None:
                if held[0] == os.getpid():
                    held[1].close()
                else:
                    _INHERITED.append(held[1])
