"""Bytes of the embedded ledger: entries, the entries tree and the signed block header.

Everything that is hashed or signed is canonical JSON (RFC 8785), so a third party can rebuild the exact
bytes from a receipt with any JCS implementation and check them with ``openssl dgst -sm3``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import rfc8785

from ..merkle import InclusionProof, MerkleTree, leaf_hash, root_from_proof

HEADER_VERSION = 1
"""Version of the block header layout."""
GENESIS_PREVIOUS = "00" * 32
"""``previous_hash`` of block 0."""
HEADER_FIELDS = frozenset(
    {"version", "ledger_id", "height", "previous_hash", "entries_root", "entry_count", "time", "node_key_id"}
)
"""Exactly the members of a block header."""


def canonical(value: Any) -> bytes:
    """RFC 8785 canonical JSON bytes of ``value``."""
    return bytes(rfc8785.dumps(value))


def sm3_hex(data: bytes) -> str:
    """SM3 digest of ``data`` in lower-case hex."""
    return hashlib.new("sm3", data).hexdigest()


def entry_bytes(deposit_id: str, roots: Mapping[str, str]) -> bytes:
    """The ledger entry of one deposit: canonical JSON ``{"deposit_id": …, "roots": {…}}``."""
    return canonical({"deposit_id": deposit_id, "roots": dict(roots)})


def entries_tree(entries: Sequence[bytes]) -> MerkleTree:
    """RFC 9162 tree with SM3 over the entry bytes of one block."""
    return MerkleTree("sm3", [leaf_hash("sm3", e) for e in entries])


def root_of_inclusion(entry: bytes, index: int, size: int, path: Sequence[str]) -> str | None:
    """The entries root an inclusion proof leads to from ``entry``, or None if the proof is malformed."""
    try:
        proof = InclusionProof("sm3", index, size, tuple(bytes.fromhex(p) for p in path))
    except ValueError:
        return None
    root = root_from_proof(leaf_hash("sm3", entry), proof)
    return None if root is None else root.hex()


def make_header(
    *,
    ledger_id: str,
    height: int,
    previous_hash: str,
    entries_root: str,
    entry_count: int,
    time: str,
    node_key_id: str,
) -> dict[str, Any]:
    """A block header as a dict (its canonical JSON is what the node signs)."""
    return {
        "version": HEADER_VERSION,
        "ledger_id": ledger_id,
        "height": height,
        "previous_hash": previous_hash,
        "entries_root": entries_root,
        "entry_count": entry_count,
        "time": time,
        "node_key_id": node_key_id,
    }


def header_problem(header: Any) -> str | None:
    """Why ``header`` is not a well-formed block header, or None when it is."""
    if not isinstance(header, dict) or set(header) != HEADER_FIELDS:
        return "the block header does not have exactly the expected fields"
    ints = ("version", "height", "entry_count")
    if any(not isinstance(header[k], int) or isinstance(header[k], bool) or header[k] < 0 for k in ints):
        return "a block header number is not a non-negative integer"
    if any(not isinstance(header[k], str) for k in HEADER_FIELDS.difference(ints)):
        return "a block header text field is not a string"
    if header["version"] != HEADER_VERSION:
        return f"unknown block header version {header['version']}"
    return None
