"""``verify --online`` for embedded-ledger receipts: is the block the receipt names still in the ledger?

The receipt carries its block, signed by the node, so it verifies offline. What only the ledger itself can
say is whether that block is still there: a ledger whose blocks were deleted or rewritten after the deposit
no longer vouches for it. The ledger asked is this machine's own (never one a package names).
"""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..checks import CheckResult, Status

if TYPE_CHECKING:
    from ..context import Context


def _stored_hash(db_path: Path, ledger_id: str, height: int) -> tuple[bool, str | None]:
    """(this is the ledger ``ledger_id``, hash of its block ``height`` or None), read-only."""
    with closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)) as db:
        row = db.execute("SELECT value FROM meta WHERE key = 'ledger_id'").fetchone()
        if row is None or str(row[0]) != ledger_id:
            return False, None
        found = db.execute("SELECT block_hash FROM blocks WHERE height = ?", (height,)).fetchone()
    return True, None if found is None else str(found[0])


def check_still_in_ledger(result: CheckResult, receipt: Mapping[str, Any], ctx: Context) -> CheckResult:
    """``result`` of an offline-verified ledger receipt, with what this machine's ledger says online.

    PASSED stays PASSED when the block is still there with the same hash, and becomes FAILED (reason
    ``CHAIN``) when it was removed or rewritten. A receipt of another machine's ledger keeps its offline
    status; the facts say that no ledger of the verifier's own holds it.
    """
    if result.status is not Status.PASSED:
        return result
    facts = dict(result.facts)
    db_path = ctx.ledger_db
    ledger_id, height, block_hash = facts.get("ledger_id"), facts.get("block_height"), facts.get("block_hash")
    try:
        ours, stored = (False, None)
        if db_path.is_file() and isinstance(height, int):
            ours, stored = _stored_hash(db_path, str(ledger_id), height)
    except sqlite3.Error as exc:
        facts["online"] = f"this machine's ledger could not be read: {exc}"
        return dataclasses.replace(result, facts=facts, status=Status.INDETERMINATE, reason="SERVICE")
    if not ours:
        facts["online"] = "ledger not on this machine: checked offline only"
        return dataclasses.replace(result, facts=facts)
    facts["online"] = "this machine's ledger"
    if stored != block_hash:
        what = "is no longer in" if stored is None else "was rewritten in"
        detail = f"block {height} {what} ledger {ledger_id} since the deposit: the ledger no longer vouches for it"
        return dataclasses.replace(result, status=Status.FAILED, detail=detail, facts=facts, reason="CHAIN")
    return dataclasses.replace(
        result, detail=f"{result.detail}; the block is still in this machine's ledger", facts=facts
    )
