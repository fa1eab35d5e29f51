"""Stage: the deposit's number and its statement, leaf 0 of the trees (docs/format.md).

The statement holds the deposit's public facts; what a disclosure may leave out (the note) goes into the
private record, whose salted leaf hash the statement seals (package/private.py).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..errors import BadInputError
from ..i18n import _
from ..package.manifest import new_salt
from ..package.private import PRIVATE_LEAF, new_private_record, private_leaf
from ..version import __version__
from .options import StatementOptions


def new_deposit_id() -> str:
    """A deposit number such as ``EVD-20261129-7F3A9C21``."""
    return f"EVD-{datetime.now(UTC):%Y%m%d}-{secrets.token_hex(4).upper()}"


DRAWS = 8
"""Deposit numbers drawn before giving up: 32 random bits a day collide once in ~9,000 days at 1,000 deposits a
day, so eight in a row mean that the random source or the registry is broken, not bad luck."""


def unused_deposit_id(taken: Callable[[str], bool], draw: Callable[[], str] = new_deposit_id) -> str:
    """A fresh deposit number that ``taken`` says no deposit has yet (the registry writes a deposit's row by
    upsert, so a number drawn twice would make two deposits share one row). Raises BadInputError (exit 4)
    after :data:`DRAWS` numbers all taken."""
    for _attempt in range(DRAWS):
        candidate = draw()
        if not taken(candidate):
            return candidate
    message = _("{n} deposit numbers drawn in a row are all taken: the random source or the registry is broken")
    raise BadInputError(message.format(n=DRAWS))


def build_private(opts: StatementOptions) -> dict[str, Any]:
    """The deposit's private record (the note, a fresh 256-bit salt): its own salted leaf, sealed by the
    statement, kept in a complete package and left out of a disclosure."""
    return new_private_record(opts.note)


def build_statement(
    deposit_id: str,
    opts: StatementOptions,
    hash_only: bool,
    item_count: int,
    heads: dict[str, Any] | None = None,
    *,
    private: dict[str, Any],
) -> dict[str, Any]:
    """The deposit's own statement: leaf 0 of the trees. ``heads``: the custody log and ledger heads now
    (:func:`evidencectl.heads.current_heads`), put under the deposit's timestamps so deletions show.
    ``private``: the record :func:`build_private` made, whose leaf hash the statement seals; it goes into
    ``manifest.json`` beside the statement (deposit/seal.py)."""
    statement: dict[str, Any] = {
        "kind": "statement",
        "deposit_id": deposit_id,
        "case": opts.case,
        "depositor": opts.depositor,
        "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tool": f"evidencectl {__version__}",
        "hash_only": hash_only,
        "item_count": item_count,
        "salt": new_salt(),
        PRIVATE_LEAF: private_leaf(private),
    }
    if opts.sign_key is not None:
        statement["signer"] = {"algorithm": opts.sign_key.algorithm, "key_id": opts.sign_key.key_id}
    if heads:
        statement["heads"] = heads
    return statement
