"""The embedded registry: one SQLite file (WAL) in the data directory, the default for one user or machine.

Through the standard ``sqlite3`` module, not sqlite-utils: importing sqlite-utils (and the numpy it pulls
in when installed) cost a third of a second on every deposit for a handful of simple statements.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import BadInputError
from ..i18n import _
from .interface import OWNERS_OF_BEFORE, SCHEMA_VERSION, Registry

# Numbered from 1 as ``PRAGMA user_version``; a registry at version N runs N+1… on open. Never edit one
# that has shipped: a data directory written by it must keep working.
_MIGRATIONS: list[str] = [
    """
    CREATE TABLE IF NOT EXISTS deposits (
        deposit_id TEXT PRIMARY KEY, created TEXT NOT NULL, case_no TEXT, depositor TEXT, note TEXT,
        package TEXT, staging TEXT, status TEXT NOT NULL, roots TEXT, item_count INTEGER NOT NULL,
        pending TEXT);
    CREATE TABLE IF NOT EXISTS items (
        deposit_id TEXT NOT NULL, item_id INTEGER NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
        size INTEGER NOT NULL, sm3 TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (deposit_id, item_id));
    CREATE INDEX IF NOT EXISTS items_sha256 ON items(sha256);
    CREATE TABLE IF NOT EXISTS custody (
        seq INTEGER PRIMARY KEY, time TEXT NOT NULL, deposit_id TEXT, event TEXT NOT NULL,
        detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
    """,
    # No index on items.sha256: each insert into it landed on a random page, so the cost of recording a
    # deposit's items grew with every deposit already recorded. A lookup by digest scans the items table.
    """
    DROP INDEX IF EXISTS items_sha256;
    """,
    # Users and tokens for the service; who made each change (NULL before, and for the depositor's own CLI).
    """
    ALTER TABLE custody ADD COLUMN actor TEXT;
    CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, created TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS tokens (
        token_id TEXT PRIMARY KEY, user_name TEXT NOT NULL, token_hash TEXT NOT NULL, created TEXT NOT NULL);
    CREATE INDEX IF NOT EXISTS tokens_user ON tokens(user_name);
    """,
    # Which service user made a deposit; a user's own signing key; what server processes share: who is
    # resuming a pending deposit (claims) and how often an address asked (rate_hits).
    """
    ALTER TABLE deposits ADD COLUMN owner TEXT;
    ALTER TABLE users ADD COLUMN sign_key TEXT;
    CREATE TABLE IF NOT EXISTS claims (deposit_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires REAL NOT NULL);
    CREATE TABLE IF NOT EXISTS rate_hits (
        bucket TEXT NOT NULL, minute INTEGER NOT NULL, hits INTEGER NOT NULL, PRIMARY KEY (bucket, minute));
    """,
    # A deposit belongs to a user id, not to a name that can be given to someone else later. Each user of
    # before gets a random id; a deposit of before is its owner's if a user of that name existed when it
    # was made, else it was a removed user's (an id no user has: an auditor or admin still sees it).
    f"""
    ALTER TABLE users ADD COLUMN user_id TEXT;
    UPDATE users SET user_id = lower(hex(randomblob(16))) WHERE user_id IS NULL;
    CREATE UNIQUE INDEX IF NOT EXISTS users_user_id ON users(user_id);
    ALTER TABLE deposits ADD COLUMN owner_id TEXT;
    {OWNERS_OF_BEFORE};
    """,
]
assert len(_MIGRATIONS) == SCHEMA_VERSION

ROWS_A_STATEMENT = 128
"""How many rows :meth:`SQLiteRegistry._insert_rows` sends in one INSERT."""


class SQLiteRegistry(Registry):
    """The registry in one SQLite file."""

    def __init__(self, path: Path, *, upto: int = SCHEMA_VERSION) -> None:
        """Open (creating on first use) the database at ``path`` and migrate it to version ``upto``.

        ``upto`` below the current version exists for tests of migrations.
        """
        self.path = path
        try:
            # The data directory of a library caller may not exist yet (the command line's is made by
            # Context.default()): the registry, its first writer, makes it.
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise BadInputError(
                _("cannot create the data directory: {value}").format(value=exc.strerror or exc), path=path.parent
            ) from exc
        try:
            # Closed from another thread at the end of a deposit (deposit/background.py), never used from two
            # at once.
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Up to 64 MiB of page cache (allocated only as used): with the default 2 MiB, inserting the
            # items of a large deposit re-read a page for nearly every row.
            conn.execute("PRAGMA cache_size=-65536")
            self.conn = conn
            self._migrate(upto)
        except sqlite3.DatabaseError as exc:
            raise BadInputError(_("registry database is unusable: {exc}").format(exc=exc), path=path) from exc

    @classmethod
    def open(cls, context: Context | Path) -> SQLiteRegistry:
        """Open (creating on first use) ``registry.sqlite`` in the data directory ``context`` (a
        :class:`~evidencectl.context.Context` or its path)."""
        return cls(Context.of(context).registry_path)

    def _migrate(self, upto: int) -> None:
        conn = self.conn
        for number, script in enumerate(_MIGRATIONS[:upto], start=1):
            if self.schema_version() >= number:
                continue
            # Statement by statement inside one IMMEDIATE transaction (executescript would commit first),
            # and the version read again under the lock: two processes opening an old registry at once
            # run each migration once.
            conn.execute("BEGIN IMMEDIATE")
            try:
                if self.schema_version() < number:
                    for statement in filter(None, (s.strip() for s in script.split(";"))):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version={number}")
                conn.execute("COMMIT")
            except BaseException:
                _rollback(conn)
                raise

    def schema_version(self) -> int:
        """``PRAGMA user_version``."""
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    @contextmanager
    def _write(self) -> Iterator[None]:
        # IMMEDIATE takes the write lock at once: the custody head read next cannot go stale.
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
            self.conn.execute("COMMIT")
        except BaseException:
            _rollback(self.conn)
            raise

    def _lock_custody(self) -> None:
        pass  # BEGIN IMMEDIATE already excludes every other writer

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self.conn.execute(sql, params)

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.conn.executemany(sql, rows)

    def _insert_rows(self, head: str, width: int, tail: str, rows: Iterable[Sequence[Any]]) -> None:
        # ROWS_A_STATEMENT rows a statement: per row, executemany() stepped and reset a statement and bound
        # its values from Python one row at a time; 10,000 item rows took 18 ms that way, 12 ms in
        # statements of 128 rows (benchmarks/README.md, "Deposit tail"). 128 x 7 values stay below 999,
        # the most variables a statement takes in SQLite before 3.32.
        one = f"({','.join('?' * width)})"
        many = f"{head} VALUES {','.join([one] * ROWS_A_STATEMENT)}{tail}"
        pending = iter(rows)
        while chunk := list(itertools.islice(pending, ROWS_A_STATEMENT)):
            if any(len(row) != width for row in chunk):  # one row short would shift every value after it
                raise ValueError(f"a row of other than {width} values for {head}")
            if len(chunk) == ROWS_A_STATEMENT:
                self.conn.execute(many, list(itertools.chain.from_iterable(chunk)))
            else:
                self.conn.executemany(f"{head} VALUES {one}{tail}", chunk)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def close(self) -> None:
        """Close the database."""
        self.conn.close()


def _rollback(conn: sqlite3.Connection) -> None:
    # Only if the transaction is still open: a Ctrl-C that lands just after COMMIT must stay a Ctrl-C, not
    # become "cannot rollback - no transaction is active".
    if conn.in_transaction:
        conn.execute("ROLLBACK")
