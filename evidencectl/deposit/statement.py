"""Stage: the deposit's number and its statement, leaf 0 of the trees (docs/format.md)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from ..package.manifest import new_salt
from ..version import __version__
from .options import StatementOptions


def new_deposit_id() -> str:
    """A deposit number such as ``EVD-20261129-7F3A9C21``."""
    return f"EVD-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4).upper()}"


def build_statement(
    deposit_id: str, opts: StatementOptions, hash_only: bool, item_count: int, heads: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The deposit's own statement: leaf 0 of the trees. ``heads``: the custody log and ledger heads now
    (:func:`evidencectl.heads.current_heads`), put under the deposit's timestamps so deletions show."""
    statement: dict[str, Any] = {
        "kind": "statement",
        "deposit_id": deposit_id,
        "case": opts.case,
        "depositor": opts.depositor,
        "note": opts.note,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"evidencectl {__version__}",
        "hash_only": hash_only,
        "item_count": item_count,
        "salt": new_salt(),
    }
    if opts.sign_key is not None:
        statement["signer"] = {"algorithm": opts.sign_key.algorithm, "key_id": opts.sign_key.key_id}
    if heads:
        statement["heads"] = heads
    return statement
