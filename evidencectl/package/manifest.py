"""The deposit manifest: statement, items, leaves, roots and inclusion proofs (docs/format.md)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from ..hashing import ALGORITHMS
from ..merkle import InclusionProof, MerkleTree, leaf_hash, tree_root, verify_inclusion
from .canonical import canonical_json

FORMAT = "evidencectl-package"
FORMAT_VERSION = 3
"""3: the note lives in a salted private record whose leaf hash the statement seals, so a disclosure can
leave it out (package/private.py); 2: a part of a stored item lives under NAME.parts/ (version 1 put it
under NAME/, a file there). Verifiers read all three."""
READ_VERSIONS = (1, 2, 3)
"""The format versions a verifier reads."""
MIMETYPE = "application/vnd.evidencectl.package+zip"

PROOF_KEY = "proof"
"""The only key of a statement or item record that is not part of its leaf (it is derived from the leaves)."""


_SALTS: list[str] = []
"""Salts drawn ahead from the operating system's CSPRNG, 256 per read (one read per item cost ~4 us)."""
os.register_at_fork(after_in_child=_SALTS.clear)  # a forked worker must never reuse its parent's salts


def new_salt() -> str:
    """A random 256-bit per-leaf salt, hex: a disclosed sibling hash reveals nothing about its leaf."""
    try:
        return _SALTS.pop()
    except IndexError:
        block = os.urandom(32 * 256).hex()
        _SALTS.extend(block[i : i + 64] for i in range(64, len(block), 64))
        return block[:64]


def leaf_bytes(record: dict[str, Any]) -> bytes:
    """The exact bytes a leaf hashes: RFC 8785 canonical JSON of the record without its ``proof``."""
    return canonical_json(record if PROOF_KEY not in record else {k: v for k, v in record.items() if k != PROOF_KEY})


def leaf_records(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Leaves in tree order: the statement first, then every item in manifest order."""
    return [manifest["statement"], *manifest["items"]]


def leaf_hashes(records: list[dict[str, Any]]) -> dict[str, list[bytes]]:
    """Leaf hashes of ``records`` (in tree order) for every algorithm."""
    data = [leaf_bytes(r) for r in records]
    return {algorithm: [leaf_hash(algorithm, d) for d in data] for algorithm in ALGORITHMS}


_RECORD_START = b'},{"digests":'
"""Between two item records of a canonical manifest. It cannot occur inside a string (a quote there is
always escaped); it can inside a record's metadata, which only makes the count of pieces wrong."""


def record_spans(manifest: dict[str, Any], raw: bytes) -> tuple[bytes, bytes, list[int]] | None:
    """Where each item record lies in the bytes of ``manifest.json`` as stored (``raw``, already parsed
    into ``manifest``): the statement's leaf bytes, the text of the items array, and the offset in it at
    which each record starts (see :func:`span_of`). When the manifest is in canonical form, each item
    record's bytes are its leaf bytes, and hashing them spares re-encoding 200,000 records.

    None when that cannot be relied on (records with proofs, another layout, a count of records that does
    not come out): then :func:`leaf_hashes` is the way. Hashes of the spans that do not rebuild the roots
    prove nothing either way (the spans may be cut wrong): a verifier re-encodes the records before it says
    a root is wrong. Hashes that do rebuild them are sound: the spans are then the sealed records' bytes,
    and the items parsed from ``raw`` are exactly those records parsed.
    """
    items = manifest.get("items")
    if not isinstance(items, list) or not items or PROOF_KEY in manifest["statement"]:
        return None
    if any(not isinstance(i, dict) or PROOF_KEY in i for i in items):
        return None
    rest = {k: v for k, v in manifest.items() if k not in ("deposit_id", "format", "items")}
    if any(k < "items" for k in rest):
        return None
    try:
        prefix = b'{"deposit_id":%s,"format":%s,"items":[' % (
            canonical_json(manifest["deposit_id"]),
            canonical_json(manifest["format"]),
        )
        suffix = b"]," + canonical_json(rest)[1:] if rest else b"]}"
        statement = leaf_bytes(manifest["statement"])
    except (ValueError, TypeError, KeyError):
        return None
    if not (raw.startswith(prefix) and raw.endswith(suffix)) or len(raw) < len(prefix) + len(suffix):
        return None
    body = raw[len(prefix) : len(raw) - len(suffix)]
    if not (body.startswith(b'{"digests":') and body.endswith(b"}")):
        return None
    starts, find, at = [0], body.find, 0
    while (at := find(_RECORD_START, at)) >= 0:
        starts.append(at + 2)
        at += len(_RECORD_START)
        if len(starts) > len(items):
            return None
    if len(starts) != len(items):
        return None
    return statement, body, starts


def span_of(body: bytes, starts: list[int], index: int) -> bytes:
    """The bytes of item record ``index`` (0-based) located by :func:`record_spans`."""
    end = starts[index + 1] - 1 if index + 1 < len(starts) else len(body)
    return body[starts[index] : end]


STORED_BLOCK = 4096
"""Leaves per subtree of :func:`stored_subtree` (a power of two: the blocks are the tree's own subtrees)."""


def stored_subtree(spans: tuple[bytes, bytes, list[int]], first: int) -> tuple[bytes, ...]:
    """Heads (one per algorithm, in ``ALGORITHMS`` order) of the subtree over leaves ``first`` …
    ``first + STORED_BLOCK - 1`` (fewer at the end) of :func:`record_spans`' records as stored; leaf 0 is the
    statement, leaf n is item record n - 1. ``first`` is a multiple of :data:`STORED_BLOCK`."""
    statement, body, starts = spans
    last = min(first + STORED_BLOCK, len(starts) + 1)
    leaves = [statement if leaf == 0 else span_of(body, starts, leaf - 1) for leaf in range(first, last)]
    return tuple(tree_root(alg, [leaf_hash(alg, data) for data in leaves]) for alg in ALGORITHMS)


def subtree_starts(spans: tuple[bytes, bytes, list[int]]) -> range:
    """The first leaf of every :func:`stored_subtree`."""
    return range(0, len(spans[2]) + 1, STORED_BLOCK)


def join_subtrees(heads: list[tuple[bytes, ...]]) -> dict[str, bytes]:
    """The roots over the heads of every :func:`stored_subtree`, in order."""
    return {alg: tree_root(alg, [h[n] for h in heads]) for n, alg in enumerate(ALGORITHMS)}


def stored_roots(spans: tuple[bytes, bytes, list[int]]) -> dict[str, bytes]:
    """The roots of :func:`record_spans`' records as stored, in this process."""
    return join_subtrees([stored_subtree(spans, first) for first in subtree_starts(spans)])


def seal(manifest: dict[str, Any], *, proofs: bool = False) -> None:
    """Compute the roots over the manifest's leaves and store them; with ``proofs``, also store each
    record's inclusion proofs (a disclosure package needs them; a complete package recomputes the tree)."""
    records = leaf_records(manifest)
    hashes = leaf_hashes(records)
    roots: dict[str, str] = {}
    for algorithm in ALGORITHMS:
        if proofs:
            tree = MerkleTree(algorithm, hashes[algorithm])
            roots[algorithm] = tree.root.hex()
            for index, record in enumerate(records):
                record.setdefault(PROOF_KEY, {})[algorithm] = tree.proof(index).to_json()
        else:
            roots[algorithm] = tree_root(algorithm, hashes[algorithm]).hex()
    manifest["roots"] = roots
    manifest["tree_size"] = len(records)


def check_complete(manifest: dict[str, Any]) -> str | None:
    """None when a complete manifest's records rebuild its roots, else why not."""
    records = leaf_records(manifest)
    if [r.get("id") for r in records[1:]] != list(range(1, len(records))) or len(records) != manifest["tree_size"]:
        return "items are missing or out of order"
    hashes = leaf_hashes(records)
    for algorithm in ALGORITHMS:
        if tree_root(algorithm, hashes[algorithm]).hex() != manifest["roots"][algorithm]:
            return f"the records do not rebuild the {algorithm} root"
    return None


def attach_proofs(records: list[dict[str, Any]], all_records: list[dict[str, Any]]) -> None:
    """Add inclusion proofs to ``records`` (a subset of ``all_records``, the full tree in order)."""
    position = {id(r): i for i, r in enumerate(all_records)}
    hashes = leaf_hashes(all_records)
    for algorithm in ALGORITHMS:
        tree = MerkleTree(algorithm, hashes[algorithm])
        for record in records:
            record.setdefault(PROOF_KEY, {})[algorithm] = tree.proof(position[id(record)]).to_json()


@dataclass(frozen=True)
class LeafCheck:
    """Outcome of checking one record's inclusion proofs against the manifest roots."""

    ok: bool
    """Every algorithm's proof leads from this record's leaf to the root."""
    reason: str
    """Empty when ok; otherwise which algorithm failed and why."""


def proof_from_json(algorithm: str, value: Any, tree_size: int) -> InclusionProof:
    """Parse a stored proof; raises ValueError when its shape is wrong."""
    if not isinstance(value, dict):
        raise ValueError("proof is not an object")
    index, size, path = value.get("index"), value.get("size"), value.get("path")
    if not isinstance(index, int) or not isinstance(size, int) or not isinstance(path, list):
        raise ValueError("proof needs integer index, size and a path list")
    if size != tree_size:
        raise ValueError(f"proof is for a tree of {size} leaves, the manifest has {tree_size}")
    if len(path) > 64 or not all(isinstance(p, str) and len(p) == 64 for p in path):
        raise ValueError("proof path must hold at most 64 hex hashes of 32 bytes")
    return InclusionProof(algorithm, index, size, tuple(bytes.fromhex(p) for p in path))


def check_leaf(
    record: dict[str, Any], roots: dict[str, str], tree_size: int, expected_index: int | None = None
) -> LeafCheck:
    """Check that ``record`` (statement or item) is included under every root."""
    data = leaf_bytes(record)
    proofs = record.get(PROOF_KEY)
    if not isinstance(proofs, dict):
        return LeafCheck(False, "no inclusion proof")
    for algorithm in ALGORITHMS:
        try:
            proof = proof_from_json(algorithm, proofs.get(algorithm), tree_size)
            root = bytes.fromhex(roots[algorithm])
        except (ValueError, KeyError) as exc:
            return LeafCheck(False, f"{algorithm}: malformed proof ({exc})")
        if expected_index is not None and proof.leaf_index != expected_index:
            return LeafCheck(False, f"{algorithm}: proof is for leaf {proof.leaf_index}, not {expected_index}")
        if not verify_inclusion(leaf_hash(algorithm, data), proof, root):
            return LeafCheck(False, f"{algorithm}: leaf does not lead to the root {roots[algorithm][:16]}…")
    return LeafCheck(True, "")
