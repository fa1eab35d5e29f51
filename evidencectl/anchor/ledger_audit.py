"""Audit of the embedded ledger: every stored byte of every block is re-derived and re-checked."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ..crypto.keys import spki_fingerprint, verify_signature
from .blockformat import GENESIS_PREVIOUS, canonical, entries_tree, header_problem, sm3_hex

BlockRow = tuple[int, bytes, str, bytes, list[tuple[int, str, bytes]]]
"""(height, header bytes, block hash, signature, [(position, deposit id, entry bytes)]) as stored."""


@dataclass(frozen=True)
class LedgerAudit:
    """Outcome of :meth:`EmbeddedLedger.verify_chain`."""

    ok: bool
    """True when every block checked out."""
    blocks: int
    """Number of blocks examined."""
    head_hash: str | None
    """SM3 hash of the last intact block (None for an empty ledger or a break at block 0)."""
    first_broken: int | None = None
    """Height of the first block found broken, or None."""
    problem: str | None = None
    """What is wrong with that block, in one sentence."""

    def to_json(self) -> dict[str, Any]:
        """Form used by ``ledger verify --json``."""
        return {
            "ok": self.ok,
            "blocks": self.blocks,
            "head_hash": self.head_hash,
            "first_broken": self.first_broken,
            "problem": self.problem,
        }


CLOCK_TOLERANCE = timedelta(minutes=5)
"""How far a block time may lie after the moment of the audit (clock skew) before it is a break."""


def audit_rows(rows: Sequence[BlockRow], *, ledger_id: str, public_key: bytes) -> LedgerAudit:
    """Check ``rows`` (oldest first) as one chain signed by ``public_key``; stop at the first break.

    Block times must not go backwards nor lie in the future: a node key signing either has had its clock
    set by hand (a backdated block) or its blocks were re-made."""
    previous = GENESIS_PREVIOUS
    head: str | None = None
    key_id = spki_fingerprint(public_key)
    last_time: datetime | None = None
    limit = datetime.now(UTC) + CLOCK_TOLERANCE
    for expected, row in enumerate(rows):
        problem = _block_problem(row, expected, previous, ledger_id, key_id, public_key)
        moment = _block_time(row[1]) if problem is None else None
        if problem is None and moment is None:
            problem = "the block time is not an ISO 8601 UTC time"
        elif moment is not None and last_time is not None and moment < last_time:
            problem = (
                f"the block time {moment.isoformat()} is before the previous block's {last_time.isoformat()}: "
                "block times went backwards (a clock set back, or blocks re-made)"
            )
        elif moment is not None and moment > limit:
            problem = f"the block time {moment.isoformat()} is in the future"
        if problem is not None:
            return LedgerAudit(False, len(rows), head, row[0], problem)
        previous = head = row[2]
        last_time = moment
    return LedgerAudit(True, len(rows), head)


def _block_time(header_bytes: bytes) -> datetime | None:
    try:
        text = json.loads(bytes(header_bytes))["time"]
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None
    return moment if moment.tzinfo is not None else None


def _block_problem(
    row: BlockRow, expected: int, previous: str, ledger_id: str, key_id: str, public_key: bytes
) -> str | None:
    height, header_bytes, block_hash, signature, entries = row
    if height != expected:
        return f"block {expected} is missing (next stored block is {height})"
    if not header_bytes:
        return "entries are stored for a block that does not exist"
    try:
        header = json.loads(bytes(header_bytes))
    except (ValueError, UnicodeDecodeError):
        return "the block header is not valid JSON"
    if (why := header_problem(header)) is not None:
        return why
    if canonical(header) != bytes(header_bytes):
        return "the stored header is not in canonical form"
    if sm3_hex(bytes(header_bytes)) != block_hash:
        return "the stored block hash does not match the SM3 hash of the header"
    if header["height"] != height:
        return f"the header says height {header['height']}"
    if header["ledger_id"] != ledger_id:
        return "the header names another ledger"
    if header["previous_hash"] != previous:
        return "the header does not link to the previous block's hash"
    if header["node_key_id"] != key_id:
        return "the header names another node key"
    try:
        signature_ok = verify_signature(public_key, bytes(signature), bytes(header_bytes))
    except Exception:  # noqa: BLE001 - a mangled signature may fail to parse in many ways; all are breaks
        signature_ok = False
    if not signature_ok:
        return "the node's SM2 signature over the header does not verify"
    return _entries_problem(header, entries)


def _entries_problem(header: dict[str, Any], entries: list[tuple[int, str, bytes]]) -> str | None:
    if not entries or [pos for pos, _, _ in entries] != list(range(len(entries))):
        return "the block's entries are missing or out of order"
    if header["entry_count"] != len(entries):
        return f"the header counts {header['entry_count']} entries, {len(entries)} are stored"
    for pos, deposit_id, entry in entries:
        try:
            parsed = json.loads(bytes(entry))
        except (ValueError, UnicodeDecodeError):
            return f"entry {pos} is not valid JSON"
        if not isinstance(parsed, dict) or parsed.get("deposit_id") != deposit_id or canonical(parsed) != entry:
            return f"entry {pos} does not match its deposit id or is not canonical"
    if entries_tree([bytes(e) for _, _, e in entries]).root.hex() != header["entries_root"]:
        return "the entries do not hash to the header's entries root"
    return None
