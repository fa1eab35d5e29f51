"""Merkle trees per RFC 9162 §2.1: leaf = H(0x00 || data), node = H(0x01 || left || right).

One tree per digest algorithm. Every item keeps an O(log n) inclusion proof so it can be disclosed alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"


_PRIMED: dict[tuple[str, bytes], Any] = {}
"""Hash objects that have taken only a prefix: a copy costs less than a new object (a tree of n leaves
takes 2n - 1 hashes)."""


def _primed(algorithm: str, prefix: bytes) -> Any:
    h = _PRIMED.get((algorithm, prefix))
    if h is None:
        h = _PRIMED[(algorithm, prefix)] = hashlib.new(algorithm, prefix)
    return h.copy()


_LEAF: dict[str, Any] = {}
"""A hash object per algorithm that has taken only :data:`LEAF_PREFIX`, by algorithm alone: a deposit hashes
two leaves a file, and the look-up by (algorithm, prefix) of :func:`_primed` and a copy of the digest cost
0.1 us of each."""


def leaf_hash(algorithm: str, data: bytes) -> bytes:
    """RFC 9162 leaf hash of ``data`` with ``algorithm`` (``sm3`` or ``sha256``)."""
    h = _LEAF.get(algorithm)
    if h is None:
        h = _LEAF[algorithm] = hashlib.new(algorithm, LEAF_PREFIX)
    h = h.copy()
    h.update(data)
    digest: bytes = h.digest()
    return digest


def node_hash(algorithm: str, left: bytes, right: bytes) -> bytes:
    """RFC 9162 interior node hash."""
    h = _primed(algorithm, NODE_PREFIX)
    h.update(left)
    h.update(right)
    return bytes(h.digest())


@dataclass(frozen=True)
class InclusionProof:
    """Proof that one leaf is in a tree of a given size and root."""

    algorithm: str
    """Hash algorithm of the tree."""
    leaf_index: int
    """Zero-based position of the leaf."""
    tree_size: int
    """Number of leaves in the tree."""
    path: tuple[bytes, ...]
    """Sibling hashes from the leaf up to the root (RFC 9162 inclusion path)."""

    def to_json(self) -> dict[str, object]:
        """Manifest form: index, size and hex path."""
        return {"index": self.leaf_index, "size": self.tree_size, "path": [p.hex() for p in self.path]}


class MerkleTree:
    """A complete tree over a list of leaf hashes, with every level kept for proof extraction."""

    def __init__(self, algorithm: str, leaf_hashes: Sequence[bytes]) -> None:
        if not leaf_hashes:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.algorithm = algorithm
        levels: list[list[bytes]] = [list(leaf_hashes)]
        # Pairing neighbours level by level and promoting an odd last node unchanged yields exactly the
        # RFC 9162 tree (split at the largest power of two below n), without recursion.
        while len(levels[-1]) > 1:
            below = levels[-1]
            above = [node_hash(algorithm, below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)]
            if len(below) % 2:
                above.append(below[-1])
            levels.append(above)
        self._levels = levels

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    @property
    def root(self) -> bytes:
        """The tree head."""
        return self._levels[-1][0]

    def proof(self, index: int) -> InclusionProof:
        """Inclusion proof of leaf ``index``."""
        if not 0 <= index < self.size:
            raise IndexError(index)
        path: list[bytes] = []
        i = index
        for level in self._levels[:-1]:
            sibling = i ^ 1
            if sibling < len(level):
                path.append(level[sibling])
            i //= 2
        return InclusionProof(self.algorithm, index, self.size, tuple(path))


def tree_root(algorithm: str, leaf_hashes: Sequence[bytes]) -> bytes:
    """The RFC 9162 tree head over ``leaf_hashes``, keeping only one level in memory at a time."""
    if not leaf_hashes:
        raise ValueError("a Merkle tree needs at least one leaf")
    level = list(leaf_hashes)
    while len(level) > 1:
        above = [node_hash(algorithm, level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            above.append(level[-1])
        level = above
    return level[0]


class RootAfterFirst:
    """The RFC 9162 tree head over ``[first, *leaves]`` when leaf 0 (a deposit's statement) is known only at
    the end: leaves 1, 2, … are folded into aligned perfect subtrees as they come, so that only O(log n)
    hashes are kept and :meth:`root` does O(log n) work.

    A subtree that would take in leaf 0 is never formed; every range the RFC 9162 recursion asks for is
    then either leaf 0 or one of the subtrees kept (tests/test_merkle.py compares with :func:`tree_root`).
    """

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self.count = 0
        """Leaves added (leaf 0 not counted)."""
        self._blocks: list[tuple[int, int, bytes]] = []  # (first leaf index, leaf count, subtree hash)

    def add(self, leaf: bytes) -> None:
        """Append the leaf hash of leaf ``count + 1``."""
        self.count += 1
        start, size, h = self.count, 1, leaf
        blocks = self._blocks
        while blocks and blocks[-1][1] == size and blocks[-1][0] % (2 * size) == 0:
            left = blocks.pop()
            start, size, h = left[0], 2 * size, node_hash(self.algorithm, left[2], h)
        blocks.append((start, size, h))

    def add_all(self, leaves: tuple[bytes, ...] | list[bytes]) -> None:
        """:meth:`add` of each of ``leaves`` in turn, in one call (a run of prepared files): one look-up of
        the primed node hash for the run, not one a node."""
        _primed(self.algorithm, NODE_PREFIX)
        primed, blocks, count = _PRIMED[(self.algorithm, NODE_PREFIX)], self._blocks, self.count
        for h in leaves:
            count += 1
            start, size = count, 1
            while blocks and blocks[-1][1] == size and blocks[-1][0] % (2 * size) == 0:
                left = blocks.pop()
                node = primed.copy()
                node.update(left[2])
                node.update(h)
                start, size, h = left[0], 2 * size, node.digest()
            blocks.append((start, size, h))
        self.count = count

    def root(self, first: bytes) -> bytes:
        """The tree head, given the leaf hash of leaf 0."""
        kept = {(start, start + size): h for start, size, h in self._blocks}

        def head(lo: int, hi: int) -> bytes:
            if hi - lo == 1 and lo == 0:
                return first
            found = kept.get((lo, hi))
            if found is not None:
                return found
            k = 1 << ((hi - lo - 1).bit_length() - 1)  # the largest power of two below hi - lo
            return node_hash(self.algorithm, head(lo, lo + k), head(lo + k, hi))

        return head(0, self.count + 1)


def root_from_proof(leaf: bytes, proof: InclusionProof) -> bytes | None:
    """The root ``proof`` leads to from leaf hash ``leaf``; None when the proof is malformed (RFC 9162 §2.1.3.2)."""
    if not 0 <= proof.leaf_index < proof.tree_size:
        return None
    fn, sn = proof.leaf_index, proof.tree_size - 1
    r = leaf
    for p in proof.path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(proof.algorithm, p, r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(proof.algorithm, r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(leaf: bytes, proof: InclusionProof, root: bytes) -> bool:
    """True when ``proof`` proves leaf hash ``leaf`` is in the tree with head ``root``."""
    return root_from_proof(leaf, proof) == root
