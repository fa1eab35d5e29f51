"""The local registry (SQLite, WAL): deposits, items, and an append-only hash-chained custody log."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .errors import BadInputError
from .package.canonical import canonical_json

SCHEMA_VERSION = 2
GENESIS = "0" * 64

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
    # No index on items.sha256: nothing here looks items up by digest, and each insert into it landed on a
    # random page, so the cost of recording a deposit's items grew with every deposit already recorded.
    """
    DROP INDEX IF EXISTS items_sha256;
    """,
]


_DEPOSIT_COLUMNS = frozenset(
    {
        "deposit_id",
        "created",
        "case_no",
        "depositor",
        "note",
        "package",
        "staging",
        "status",
        "roots",
        "item_count",
        "pending",
    }
)


def _columns(values: dict[str, Any]) -> list[str]:
    # Column names go into SQL text; only the table's own names may.
    unknown = set(values) - _DEPOSIT_COLUMNS
    if unknown:
        raise ValueError(f"unknown deposit columns {sorted(unknown)}")
    return list(values)


def now_iso() -> str:
    """Current UTC time, ISO 8601 with seconds and a Z."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def custody_hash(entry: dict[str, Any]) -> str:
    """SM3 over the canonical JSON of a custody entry (every field but ``hash``)."""
    body = {k: entry[k] for k in ("seq", "time", "deposit_id", "event", "detail", "prev_hash")}
    return hashlib.new("sm3", canonical_json(body)).hexdigest()


@dataclass(frozen=True)
class CustodyAudit:
    """Result of re-checking the custody log's hash chain."""

    ok: bool
    """True when every entry's hash and link are intact."""
    entries: int
    """Number of entries checked."""
    first_break: int | None
    """Sequence number of the first broken entry, if any."""
    reason: str
    """Why the chain breaks there (empty when ok)."""


ItemRow = tuple[str, int, str, str, int, str, str]
"""An item's registry row: (deposit_id, item_id, name, kind, size, sm3, sha256)."""


class Registry:
    """The registry database in the data directory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA busy_timeout=30000")
            # Up to 64 MiB of page cache (allocated only as used): inserting the items of a large deposit
            # touches pages all over the sha256 index, and with the default 2 MiB every insert re-read one.
            conn.execute("PRAGMA cache_size=-65536")
            # Plain sqlite3, not sqlite-utils: importing sqlite-utils (and the numpy it pulls in when
            # installed) cost a third of a second on every deposit for three simple statements.
            self.conn = conn
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise BadInputError(f"registry database is unusable: {exc}", path=path) from exc

    @classmethod
    def open(cls, base: Path) -> Registry:
        """Open (creating on first use) ``registry.sqlite`` under ``base``."""
        return cls(base / "registry.sqlite")

    def _migrate(self) -> None:
        conn = self.conn
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(_MIGRATIONS, start=1):
            if version < number:
                conn.executescript(f"BEGIN IMMEDIATE; {script}; PRAGMA user_version={number}; COMMIT;")

    def _append_custody(self, deposit_id: str | None, event: str, detail: dict[str, Any]) -> None:
        conn = self.conn
        last = conn.execute("SELECT seq, hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
        entry = {
            "seq": seq,
            "time": now_iso(),
            "deposit_id": deposit_id,
            "event": event,
            "detail": detail,
            "prev_hash": prev,
        }
        entry["hash"] = custody_hash(entry)
        conn.execute(
            "INSERT INTO custody (seq, time, deposit_id, event, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
            (
                seq,
                entry["time"],
                deposit_id,
                event,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
                prev,
                entry["hash"],
            ),
        )

    def _upsert(self, row: dict[str, Any], items: Iterable[ItemRow]) -> None:
        cols = _columns(row)
        self.conn.execute(
            f"INSERT INTO deposits ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT(deposit_id) DO UPDATE SET "
            + ", ".join(f"{c}=excluded.{c}" for c in cols if c != "deposit_id"),
            [row[c] for c in cols],
        )
        self.conn.executemany(
            "INSERT OR REPLACE INTO items (deposit_id, item_id, name, kind, size, sm3, sha256) VALUES (?,?,?,?,?,?,?)",
            items,
        )

    def record_deposit(self, row: dict[str, Any], items: Iterable[ItemRow], event: str, detail: dict[str, Any]) -> None:
        """Insert or update a deposit, its items (if any are given) and a custody event in one transaction."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._upsert(row, items)
            self._append_custody(row["deposit_id"], event, detail)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def stage_deposit(
        self, row: dict[str, Any], items: Iterable[ItemRow], before_commit: Callable[[], None] | None = None
    ) -> None:
        """Record a deposit about to be published, without a custody event (the event follows publication).

        If the process dies between publishing the package and logging it, ``deposit --resume`` finds
        this row and completes the record instead of leaving a package the registry does not know.
        ``before_commit`` runs after the rows are written and before they are committed (a deposit waits
        there for its staging file to reach the disk).
        """
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._upsert(row, items)
            if before_commit is not None:
                before_commit()
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def update_deposit(self, deposit_id: str, changes: dict[str, Any], event: str, detail: dict[str, Any]) -> None:
        """Change a deposit row and log why, atomically."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            if changes:
                cols = _columns(changes)
                conn.execute(
                    f"UPDATE deposits SET {', '.join(f'{c}=?' for c in cols)} WHERE deposit_id = ?",
                    [*(changes[c] for c in cols), deposit_id],
                )
            self._append_custody(deposit_id, event, detail)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def log_event(self, deposit_id: str | None, event: str, detail: dict[str, Any]) -> None:
        """Append one custody event (e.g. a verification)."""
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            self._append_custody(deposit_id, event, detail)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        cur = self.conn.execute(sql, params)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur]

    def deposit(self, deposit_id: str) -> dict[str, Any] | None:
        """One deposit row, or None."""
        rows = list(self._query("SELECT * FROM deposits WHERE deposit_id = ?", [deposit_id]))
        return rows[0] if rows else None

    def deposits(self, status: str | None = None) -> list[dict[str, Any]]:
        """Deposits, newest first, optionally only those with ``status``."""
        if status:
            return list(self._query("SELECT * FROM deposits WHERE status = ? ORDER BY created DESC", [status]))
        return list(self._query("SELECT * FROM deposits ORDER BY created DESC"))

    def custody(self, deposit_id: str | None = None) -> list[dict[str, Any]]:
        """Custody entries in order, optionally for one deposit."""
        if deposit_id:
            rows = self._query("SELECT * FROM custody WHERE deposit_id = ? ORDER BY seq", [deposit_id])
        else:
            rows = self._query("SELECT * FROM custody ORDER BY seq")
        out = []
        for r in rows:
            r = dict(r)
            r["detail"] = json.loads(r["detail"])
            out.append(r)
        return out

    def custody_head(self) -> tuple[int, str] | None:
        """Sequence number and hash of the newest custody entry (None for an empty log)."""
        row = self.conn.execute("SELECT seq, hash FROM custody ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def verify_custody(self) -> CustodyAudit:
        """Re-check every custody entry's hash and its link to the previous one."""
        prev = GENESIS
        entries = self.custody()
        for expected_seq, entry in enumerate(entries, start=1):
            if entry["seq"] != expected_seq:
                return CustodyAudit(False, len(entries), entry["seq"], f"entry {expected_seq} is missing")
            if entry["prev_hash"] != prev:
                return CustodyAudit(False, len(entries), entry["seq"], "does not link to the previous entry")
            if custody_hash(entry) != entry["hash"]:
                return CustodyAudit(False, len(entries), entry["seq"], "content does not match its hash")
            prev = entry["hash"]
        return CustodyAudit(True, len(entries), None, "")

    def close(self) -> None:
        """Close the database."""
        self.conn.close()
