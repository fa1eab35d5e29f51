"""The registry's one interface: deposits, items, the hash-chained custody log, users and their tokens.

A backend (``sqlite.py``, ``postgres.py``) supplies a connection, a write transaction and a lock on the
custody log's head; everything that decides what a row or a custody entry holds is written here, once,
so that both backends store the same bytes and a log moved from one to the other verifies the same.
The SQL is the dialect both understand, with ``?`` placeholders (the PostgreSQL backend rewrites them).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..context import Context
from ..errors import UsageError
from ..i18n import _
from ..package.canonical import canonical_json
from .accounts import Accounts, now_iso
from .users import acting

SCHEMA_VERSION = 5
"""1: deposits, items, custody; 2: no digest index (SQLite); 3: users, tokens, custody.actor;
4: deposits.owner, users.sign_key, claims and rate_hits (shared by server processes);
5: users.user_id and deposits.owner_id (a deposit belongs to a user, not to whoever has the name now)."""
GENESIS = "0" * 64
REMOVED_OWNER = "removed"
"""``deposits.owner_id`` of a deposit made, before version 5, by a user since removed: no user has this id
(user ids are 32 hexadecimal digits), so only an auditor or admin sees the deposit."""
OWNERS_OF_BEFORE = (
    "UPDATE deposits SET owner_id = COALESCE((SELECT u.user_id FROM users u WHERE u.name = deposits.owner "
    f"AND u.created <= deposits.created), '{REMOVED_OWNER}') WHERE owner IS NOT NULL"
)
"""Migration 5's SQL (both dialects): a deposit of before belongs to the user of its owner's name if that
user existed when it was made; the same name added later is another user."""

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
        "owner",
        "owner_id",
    }
)
_ITEM_FIELDS = ("deposit_id", "item_id", "name", "kind", "size", "sm3", "sha256")


def _columns(values: dict[str, Any]) -> list[str]:
    # Column names go into SQL text; only the table's own names may.
    unknown = set(values) - _DEPOSIT_COLUMNS
    if unknown:
        raise ValueError(f"unknown deposit columns {sorted(unknown)}")
    return list(values)


def custody_hash(entry: dict[str, Any]) -> str:
    """SM3 over the canonical JSON of a custody entry (every field but ``hash``).

    ``actor`` (who made the change) joined the log with users; it is hashed only when there is one, so
    every entry written before keeps the hash it was given.
    """
    body = {k: entry[k] for k in ("seq", "time", "deposit_id", "event", "detail", "prev_hash")}
    if entry.get("actor") is not None:
        body["actor"] = entry["actor"]
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


OPENER: list[Callable[[Context], Registry]] = []
"""The factory :meth:`Registry.open` calls: evidencectl.registry's ``open_registry``, registered by that package
(always imported before this module), so that the interface imports no backend and no backend circle forms."""


class Registry(Accounts):
    """Deposits, their items, the custody log and the service's users, in one database."""

    @classmethod
    def open(cls, context: Context | Path) -> Registry:
        """The registry configured for the data directory ``context`` (a :class:`~evidencectl.context.Context`
        or its path; ``[registry] url``, SQLite by default)."""
        return OPENER[0](Context.of(context))

    # -- deposits and items ------------------------------------------------------------------------------

    def _append_custody(self, deposit_id: str | None, event: str, detail: dict[str, Any], actor: str | None) -> None:
        if actor is None:
            actor = acting()[0]  # the service's user, set around a request's work (users.acting_as)
        self._lock_custody()
        head = self.custody_head()
        seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
        entry = {
            "seq": seq,
            "time": now_iso(),
            "deposit_id": deposit_id,
            "event": event,
            "detail": detail,
            "prev_hash": prev,
            "actor": actor,
        }
        self._execute(
            "INSERT INTO custody (seq, time, deposit_id, event, detail, prev_hash, hash, actor) "
            "VALUES (?,?,?,?,?,?,?,?)",
            (
                seq,
                entry["time"],
                deposit_id,
                event,
                json.dumps(detail, ensure_ascii=False, sort_keys=True),
                prev,
                custody_hash(entry),
                actor,
            ),
        )

    def _upsert(self, row: dict[str, Any], items: Iterable[ItemRow]) -> None:
        _, owner, owner_id = acting()
        if owner_id is not None and "owner_id" not in row:
            # A deposit made for a service user is theirs: by user id (who may see it) and name (who it was).
            row = {**row, "owner": owner, "owner_id": owner_id}
        cols = _columns(row)
        self._execute(
            f"INSERT INTO deposits ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))}) "
            "ON CONFLICT(deposit_id) DO UPDATE SET "
            + ", ".join(f"{c}=excluded.{c}" for c in cols if c != "deposit_id"),
            [row[c] for c in cols],
        )
        self._insert_rows(
            f"INSERT INTO items ({', '.join(_ITEM_FIELDS)})",
            len(_ITEM_FIELDS),
            " ON CONFLICT(deposit_id, item_id) DO UPDATE SET "
            + ", ".join(f"{c}=excluded.{c}" for c in _ITEM_FIELDS[2:]),
            items,
        )

    def _insert_rows(self, head: str, width: int, tail: str, rows: Iterable[Sequence[Any]]) -> None:
        """``head VALUES (?, …) tail`` for each of ``rows`` (``width`` values each); a backend may send
        several rows in one statement."""
        self._executemany(f"{head} VALUES ({','.join('?' * width)}){tail}", rows)

    def record_deposit(
        self,
        row: dict[str, Any],
        items: Iterable[ItemRow],
        event: str,
        detail: dict[str, Any],
        *,
        actor: str | None = None,
    ) -> None:
        """Insert or update a deposit, its items (if any are given) and a custody event in one transaction."""
        with self._write():
            self._upsert(row, items)
            self._append_custody(row["deposit_id"], event, detail, actor)

    def stage_deposit(
        self, row: dict[str, Any], items: Iterable[ItemRow], before_commit: Callable[[], None] | None = None
    ) -> None:
        """Record a deposit about to be published, without a custody event (the event follows publication).

        If the process dies between publishing the package and logging it, ``deposit --resume`` finds
        this row and completes the record instead of leaving a package the registry does not know.
        ``before_commit`` runs after the rows are written and before they are committed (a deposit waits
        there for its staging file to reach the disk).
        """
        with self._write():
            self._upsert(row, items)
            if before_commit is not None:
                before_commit()

    def update_deposit(
        self, deposit_id: str, changes: dict[str, Any], event: str, detail: dict[str, Any], *, actor: str | None = None
    ) -> None:
        """Change a deposit row and log why, atomically."""
        with self._write():
            if changes:
                cols = _columns(changes)
                self._execute(
                    f"UPDATE deposits SET {', '.join(f'{c}=?' for c in cols)} WHERE deposit_id = ?",
                    [*(changes[c] for c in cols), deposit_id],
                )
            self._append_custody(deposit_id, event, detail, actor)

    def log_event(
        self, deposit_id: str | None, event: str, detail: dict[str, Any], *, actor: str | None = None
    ) -> None:
        """Append one custody event (e.g. a verification)."""
        with self._write():
            self._append_custody(deposit_id, event, detail, actor)

    def deposit(self, deposit_id: str) -> dict[str, Any] | None:
        """One deposit row, or None."""
        rows = self._query("SELECT * FROM deposits WHERE deposit_id = ?", [deposit_id])
        return rows[0] if rows else None

    def deposits(self, status: str | None = None) -> list[dict[str, Any]]:
        """Deposits, newest first, optionally only those with ``status``."""
        if status:
            return self._query("SELECT * FROM deposits WHERE status = ? ORDER BY created DESC", [status])
        return self._query("SELECT * FROM deposits ORDER BY created DESC")

    def items(self, deposit_id: str) -> list[dict[str, Any]]:
        """A deposit's items in item order."""
        return self._query(
            f"SELECT {', '.join(_ITEM_FIELDS)} FROM items WHERE deposit_id = ? ORDER BY item_id", [deposit_id]
        )

    def lookup(self, algorithm: str, digest: str, owner_id: str | None = None) -> list[dict[str, Any]]:
        """Every item whose ``sha256`` or ``sm3`` digest is ``digest``, with its deposit's case and status;
        only those of deposits made by the service user of id ``owner_id`` when one is given."""
        column = {"sha256": "sha256", "sm3": "sm3"}.get(algorithm)
        value = digest.strip().lower()
        if column is None:
            raise UsageError(_("unknown digest algorithm {algorithm!r}: sha256 or sm3").format(algorithm=algorithm))
        if len(value) != 64 or any(c not in "0123456789abcdef" for c in value):
            raise UsageError(_("a {algorithm} digest is 64 hexadecimal characters").format(algorithm=algorithm))
        mine = " AND d.owner_id = ?" if owner_id is not None else ""
        return self._query(
            f"SELECT {', '.join('i.' + f for f in _ITEM_FIELDS)}, d.case_no, d.status, d.created "
            f"FROM items i JOIN deposits d ON d.deposit_id = i.deposit_id WHERE i.{column} = ?{mine} "
            "ORDER BY d.created, i.deposit_id, i.item_id",
            [value] if owner_id is None else [value, owner_id],
        )

    # -- the custody log ---------------------------------------------------------------------------------

    def custody(self, deposit_id: str | None = None) -> list[dict[str, Any]]:
        """Custody entries in order, optionally for one deposit."""
        if deposit_id:
            rows = self._query("SELECT * FROM custody WHERE deposit_id = ? ORDER BY seq", [deposit_id])
        else:
            rows = self._query("SELECT * FROM custody ORDER BY seq")
        for r in rows:
            r["detail"] = json.loads(r["detail"])
        return rows

    def custody_head(self) -> tuple[int, str] | None:
        """Sequence number and hash of the newest custody entry (None for an empty log)."""
        rows = self._query("SELECT seq, hash FROM custody ORDER BY seq DESC LIMIT 1")
        return (int(rows[0]["seq"]), str(rows[0]["hash"])) if rows else None

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
