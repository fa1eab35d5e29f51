"""A bounded pool of PostgreSQL connections per process, shared by every registry object of one URL.

A server process opens a registry per worker thread, one per deposit in progress and one for the resume
loop; each kept a connection of its own, so one process could hold ~45 and four of them more than
PostgreSQL's default ``max_connections = 100``. Here a registry borrows a connection for one query or one
write transaction and gives it back: a process never holds more than ``size`` connections, however many
threads it runs. A borrower that finds them all busy waits up to ``timeout`` seconds, then gets a
:class:`~evidencectl.errors.ServiceError` (503 at the API), never an unbounded queue.

No third-party pool (psycopg_pool): this one is ~80 lines, and what it must do on failure (drop every idle
connection once one is found dead, since a restarted server killed them all) is this registry's own rule.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import psycopg
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from ..errors import ServiceError
from ..i18n import _

DEFAULT_SIZE = 8
"""Connections per process unless ``[registry] pool`` says otherwise. Registry work is short (a token
check, a row, a custody append take milliseconds) while the service's threads spend their time verifying
and hashing on two or four CPUs: eight at once keep those CPUs busy without queueing, and four server
processes stay at 32 of PostgreSQL's default 100."""
DEFAULT_TIMEOUT = 10.0
"""Seconds a borrower waits for a free connection (``[registry] pool_timeout``) before a ServiceError."""

Connection = psycopg.Connection[dict[str, Any]]


class Pool:
    """At most ``size`` open connections to ``url``; idle ones are kept for the next borrower."""

    def __init__(self, url: str, where: str, size: int, timeout: float) -> None:
        self.url, self.where, self.size, self.timeout = url, where, size, timeout
        self._idle: list[Connection] = []
        self._out = 0  # borrowed, or being opened
        self._cond = threading.Condition()

    def get(self) -> Connection:
        """A connection for this thread's use until :meth:`put`; waits while all ``size`` are out."""
        deadline = time.monotonic() + self.timeout
        with self._cond:
            while not self._idle and self._out >= self.size:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ServiceError(
                        _(
                            "all {size} connections to the PostgreSQL registry at {where} stayed busy for "
                            "{timeout:g} s ([registry] pool)"
                        ).format(size=self.size, where=self.where, timeout=self.timeout)
                    )
                self._cond.wait(left)
            self._out += 1
            if self._idle:
                return self._idle.pop()  # the most recently used: the least likely to have timed out
        try:
            return psycopg.connect(self.url, autocommit=True, row_factory=dict_row, connect_timeout=10)
        except psycopg.Error as exc:
            self._returned()
            raise ServiceError(
                _("cannot reach the PostgreSQL registry at {where}: {one_line}").format(
                    where=self.where, one_line=" ".join(str(exc).split()) or type(exc).__name__
                )
            ) from exc

    def put(self, conn: Connection) -> None:
        """Give back a borrowed connection; one that broke or is inside a transaction is closed instead."""
        usable = not (conn.closed or conn.broken) and conn.info.transaction_status == TransactionStatus.IDLE
        if not usable:
            conn.close()
        with self._cond:
            self._out -= 1
            if usable:
                self._idle.append(conn)
            self._cond.notify()

    def _returned(self) -> None:
        with self._cond:
            self._out -= 1
            self._cond.notify()

    def drop_idle(self) -> None:
        """Close every idle connection: one was found dead, so the server restarted or the network broke."""
        with self._cond:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def in_use(self) -> int:
        """Connections open now, borrowed or idle (for tests and logs)."""
        with self._cond:
            return self._out + len(self._idle)


_POOLS: dict[tuple[int, str], Pool] = {}
_POOLS_LOCK = threading.Lock()


def pool_for(url: str, where: str, size: int = DEFAULT_SIZE, timeout: float = DEFAULT_TIMEOUT) -> Pool:
    """This process's pool for ``url`` (made on first use with ``size`` and ``timeout``).

    Keyed by process id too: a forked child must not share its parent's sockets.
    """
    key = (os.getpid(), url)
    with _POOLS_LOCK:
        pool = _POOLS.get(key)
        if pool is None:
            pool = _POOLS[key] = Pool(url, where, size, timeout)
        return pool
