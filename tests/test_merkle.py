"""RFC 9162 trees: roots against the recursive definition, proofs for every tree size 1..300."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencectl.merkle import InclusionProof, MerkleTree, leaf_hash, root_from_proof, verify_inclusion


def reference_mth(alg: str, leaves: list[bytes]) -> bytes:
    """MTH from RFC 9162 §2.1.1, written from the text: split at the largest power of two below n."""
    n = len(leaves)
    if n == 1:
        return hashlib.new(alg, b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.new(alg, b"\x01" + reference_mth(alg, leaves[:k]) + reference_mth(alg, leaves[k:])).digest()


def _data(n: int) -> list[bytes]:
    return [f"leaf-{i}".encode() for i in range(n)]


@pytest.mark.parametrize("alg", ["sha256", "sm3"])
def test_roots_match_the_rfc_definition(alg: str) -> None:
    for n in range(1, 70):
        data = _data(n)
        tree = MerkleTree(alg, [leaf_hash(alg, d) for d in data])
        assert tree.root == reference_mth(alg, data), n


def test_every_proof_of_every_size_up_to_300_verifies_and_tampering_fails() -> None:
    alg = "sha256"
    for n in range(1, 301):
        leaves = [leaf_hash(alg, d) for d in _data(n)]
        tree = MerkleTree(alg, leaves)
        for i in range(n):
            proof = tree.proof(i)
            assert verify_inclusion(leaves[i], proof, tree.root), (n, i)
            # another leaf never verifies at this position
            other = leaves[(i + 1) % n] if n > 1 else leaf_hash(alg, b"other")
            assert not verify_inclusion(other, proof, tree.root)
            # any altered sibling breaks it
            for j in range(len(proof.path)):
                path = list(proof.path)
                path[j] = bytes([path[j][0] ^ 1]) + path[j][1:]
                assert not verify_inclusion(leaves[i], InclusionProof(alg, i, n, tuple(path)), tree.root)
            # a wrong index breaks it (whenever the index changes the path shape or order)
            if n > 1:
                wrong = InclusionProof(alg, (i + 1) % n, n, proof.path)
                assert not verify_inclusion(leaves[i], wrong, tree.root)
            # a dropped or extra path element breaks it
            if proof.path:
                assert not verify_inclusion(leaves[i], InclusionProof(alg, i, n, proof.path[:-1]), tree.root)
            assert not verify_inclusion(leaves[i], InclusionProof(alg, i, n, (*proof.path, tree.root)), tree.root)


def test_out_of_range_index_is_rejected() -> None:
    tree = MerkleTree("sm3", [leaf_hash("sm3", b"a"), leaf_hash("sm3", b"b")])
    assert root_from_proof(leaf_hash("sm3", b"a"), InclusionProof("sm3", 2, 2, ())) is None
    with pytest.raises(IndexError):
        tree.proof(5)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.binary(max_size=20), min_size=1, max_size=120), st.data())
def test_random_trees(data: list[bytes], draw: st.DataObject) -> None:
    leaves = [leaf_hash("sm3", d) for d in data]
    tree = MerkleTree("sm3", leaves)
    assert tree.root == reference_mth("sm3", data)
    i = draw.draw(st.integers(min_value=0, max_value=len(data) - 1))
    assert verify_inclusion(leaves[i], tree.proof(i), tree.root)


@pytest.mark.parametrize("alg", ["sm3", "sha256"])
def test_root_folded_before_leaf_zero_is_known_matches_the_rfc_definition(alg: str) -> None:
    from evidencectl.merkle import RootAfterFirst

    for n in [*range(0, 140), 255, 256, 257, 1023, 1024, 1025, 3000]:
        data = [b"%d/%d" % (n, i) for i in range(n + 1)]
        hashes = [leaf_hash(alg, d) for d in data]
        folded = RootAfterFirst(alg)
        for leaf in hashes[1:]:
            folded.add(leaf)
        assert folded.root(hashes[0]) == reference_mth(alg, data), n
        assert folded.root(leaf_hash(alg, b"other")) != reference_mth(alg, data)  # leaf 0 counts
        assert len(folded._blocks) <= 2 * max(n, 1).bit_length()  # O(log n) kept
