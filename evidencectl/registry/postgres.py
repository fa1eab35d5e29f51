"""The team registry: PostgreSQL through psycopg 3, for several server processes or machines.

Every custody append takes a transaction-scoped advisory lock before it reads the log's head, so writers
in any number of processes append one after another and the chain never forks; the lock is released by
COMMIT or ROLLBACK, also when a process dies. Deposits and items are written before the lock is taken,
so a large deposit's items do not hold up other writers.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict
from psycopg.pq import TransactionStatus

from ..errors import BadInputError, ServiceError
from ..i18n import _
from .interface import OWNERS_OF_BEFORE, SCHEMA_VERSION, Registry
from .pgpool import DEFAULT_SIZE, DEFAULT_TIMEOUT, Connection, pool_for

# Keys of pg_advisory_xact_lock: arbitrary 64-bit constants, the same in every evidencectl process.
_CUSTODY_LOCK = 0x65766463_75737431  # "evdcust1"
_MIGRATE_LOCK = 0x65766463_6D696731  # "evdcmig1"

# The same numbering as the SQLite backend's user_version, so that "version 3" means one schema.
_MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE deposits (
            deposit_id TEXT PRIMARY KEY, created TEXT NOT NULL, case_no TEXT, depositor TEXT, note TEXT,
            package TEXT, staging TEXT, status TEXT NOT NULL, roots TEXT, item_count BIGINT NOT NULL,
            pending TEXT)""",
        """CREATE TABLE items (
            deposit_id TEXT NOT NULL, item_id BIGINT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL,
            size BIGINT NOT NULL, sm3 TEXT NOT NULL, sha256 TEXT NOT NULL, PRIMARY KEY (deposit_id, item_id))""",
        # detail is TEXT, not JSONB: JSONB reorders keys and the stored text is what an auditor re-hashes.
        """CREATE TABLE custody (
            seq BIGINT PRIMARY KEY, time TEXT NOT NULL, deposit_id TEXT, event TEXT NOT NULL,
            detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    ],
    # The service looks deposits up by digest (GET /api/v1/lookup); a server's database can afford the
    # index that the embedded registry dropped for the depositor's own deposit speed.
    [
        "CREATE INDEX items_sha256 ON items(sha256)",
        "CREATE INDEX items_sm3 ON items(sm3)",
        "CREATE INDEX custody_deposit ON custody(deposit_id)",
    ],
    [
        "ALTER TABLE custody ADD COLUMN actor TEXT",
        "CREATE TABLE users (name TEXT PRIMARY KEY, role TEXT NOT NULL, created TEXT NOT NULL)",
        """CREATE TABLE tokens (
            token_id TEXT PRIMARY KEY, user_name TEXT NOT NULL REFERENCES users(name), token_hash TEXT NOT NULL,
            created TEXT NOT NULL)""",
        "CREATE INDEX tokens_user ON tokens(user_name)",
    ],
    [
        "ALTER TABLE deposits ADD COLUMN owner TEXT",
        "CREATE INDEX deposits_owner ON deposits(owner)",
        "ALTER TABLE users ADD COLUMN sign_key TEXT",
        "CREATE TABLE claims (deposit_id TEXT PRIMARY KEY, holder TEXT NOT NULL, expires DOUBLE PRECISION NOT NULL)",
        """CREATE TABLE rate_hits (
            bucket TEXT NOT NULL, minute BIGINT NOT NULL, hits BIGINT NOT NULL, PRIMARY KEY (bucket, minute))""",
    ],
    [
        "ALTER TABLE users ADD COLUMN user_id TEXT",
        "UPDATE users SET user_id = replace(gen_random_uuid()::text, '-', '') WHERE user_id IS NULL",
        "CREATE UNIQUE INDEX users_user_id ON users(user_id)",
        "ALTER TABLE deposits ADD COLUMN owner_id TEXT",
        "CREATE INDEX deposits_owner_id ON deposits(owner_id)",
        OWNERS_OF_BEFORE,
    ],
]
assert len(_MIGRATIONS) == SCHEMA_VERSION


def describe(url: str) -> str:
    """``host:port/dbname`` of a connection URL, without user or password (for messages and logs)."""
    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        return "(unparsable URL)"
    return f"{info.get('host', 'localhost')}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgresRegistry(Registry):
    """The registry in a PostgreSQL database, on connections borrowed from this process's bounded pool."""

    def __init__(
        self, url: str, *, upto: int = SCHEMA_VERSION, pool: int = DEFAULT_SIZE, pool_timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        """Connect to ``url`` (``postgresql://…``) and migrate the schema to version ``upto``.

        Every registry of one URL in a process shares one pool of at most ``pool`` connections (the first
        one opened sets its size); ``upto`` below the current version exists for tests of migrations.
        """
        self.url = url
        self.where = describe(url)
        self._held: Connection | None = None  # the connection of the write transaction in progress
        try:
            conninfo_to_dict(url)
        except psycopg.ProgrammingError as exc:
            raise BadInputError(_("[registry] url is not a PostgreSQL connection URL: {exc}").format(exc=exc)) from exc
        self.pool = pool_for(url, self.where, pool, pool_timeout)
        self._migrate(upto)

    def _connection(self) -> Connection:
        # Statements other than reads run inside a write transaction, on the connection it holds.
        if self._held is None:
            raise AssertionError("a PostgreSQL registry statement outside a write transaction")
        return self._held

    def _migrate(self, upto: int) -> None:
        with self._write():
            conn = self._connection()
            # Several server processes may start together: one migrates, the others wait and find it done.
            conn.execute("SELECT pg_advisory_xact_lock(%s)", [_MIGRATE_LOCK])
            conn.execute("CREATE TABLE IF NOT EXISTS registry_schema (version INTEGER NOT NULL)")
            row = conn.execute("SELECT version FROM registry_schema").fetchone()
            version = int(row["version"]) if row else 0
            if row is None:
                conn.execute("INSERT INTO registry_schema (version) VALUES (0)")
            for number, statements in enumerate(_MIGRATIONS[:upto], start=1):
                if version < number:
                    for statement in statements:
                        conn.execute(statement)  # type: ignore[call-overload]  # constant text, no parameters
                    conn.execute("UPDATE registry_schema SET version = %s", [number])

    def schema_version(self) -> int:
        """The version recorded in ``registry_schema``."""
        rows = self._query("SELECT version FROM registry_schema")
        return int(rows[0]["version"]) if rows else 0

    def _failed(self, exc: BaseException) -> ServiceError:
        return ServiceError(
            _("the PostgreSQL registry at {where} failed: {one_line}").format(where=self.where, one_line=_one_line(exc))
        )

    def _dead(self, conn: Connection) -> None:
        # A connection found dead: the server restarted or the network broke, so the idle ones are dead too.
        self.pool.put(conn)
        self.pool.drop_idle()

    @contextmanager
    def _write(self) -> Iterator[None]:
        # A connection that died while idle (PostgreSQL restarted) fails on BEGIN, before anything was
        # done: that one is replaced and the transaction begun again. Once it has begun, a failure is the
        # caller's (a service error), since a COMMIT cut off cannot tell whether it happened; the
        # transaction is never continued on another connection.
        if self._held is not None:
            raise AssertionError("nested write transactions on one PostgreSQL registry")
        for attempt in (1, 2):
            conn = self.pool.get()
            try:
                conn.execute("BEGIN")
                break
            except psycopg.OperationalError as exc:
                broken = conn.broken
                self._dead(conn)
                if attempt == 2 or not broken:
                    raise self._failed(exc) from exc
        self._held = conn
        try:
            yield
            conn.execute("COMMIT")
        except psycopg.OperationalError as exc:
            raise self._failed(exc) from exc
        except BaseException:
            if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
            raise
        finally:
            self._held = None
            if conn.broken:
                self._dead(conn)
            else:
                self.pool.put(conn)

    def _lock_custody(self) -> None:
        self._connection().execute("SELECT pg_advisory_xact_lock(%s)", [_CUSTODY_LOCK])

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._connection().execute(_dialect(sql), params)

    def _executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self._connection().cursor() as cur:
            cur.executemany(_dialect(sql), rows)

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        if self._held is not None:  # inside a write transaction: on its connection, never asked again
            try:
                return self._held.execute(_dialect(sql), params).fetchall()
            except psycopg.OperationalError as exc:
                raise self._failed(exc) from exc
        for attempt in (1, 2):
            conn = self.pool.get()
            try:
                rows = conn.execute(_dialect(sql), params).fetchall()
            except psycopg.OperationalError as exc:
                # A read on a connection that died idle is simply asked again, on a new one.
                broken = conn.broken
                self._dead(conn)
                if attempt == 2 or not broken:
                    raise self._failed(exc) from exc
                continue
            except BaseException:
                self.pool.put(conn)
                raise
            self.pool.put(conn)
            return rows
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Nothing to close: connections go back to the process's pool after each query or transaction."""


def _dialect(sql: str) -> Any:
    # The shared SQL uses sqlite's ``?``; none of it holds a literal ``?`` or ``%``.
    return sql.replace("?", "%s")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
