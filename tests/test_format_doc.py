"""Every value of the worked example in docs/format.md is recomputed from the library and the doc's own bytes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from evidencectl.package.manifest import leaf_bytes, seal
from evidencectl.package.private import private_leaf

DOC = (Path(__file__).parent.parent / "docs" / "format.md").read_text(encoding="utf-8")


def test_worked_example_matches_the_library() -> None:
    private = {"kind": "private", "note": "仅供内部：证人尚未联系", "salt": "33" * 32}
    statement = {
        "kind": "statement",
        "deposit_id": "EVD-20261129-0A1B2C3D",
        "case": "（2026）渝0103民初1234号",
        "depositor": "张律师",
        "created": "2026-11-29T08:00:00Z",
        "tool": "evidencectl 0.1.0",
        "hash_only": False,
        "item_count": 1,
        "salt": "11" * 32,
        "private_leaf": private_leaf(private),
    }
    item = {
        "id": 1,
        "name": "contract.txt",
        "kind": "file",
        "media_type": "text/plain",
        "size": 3,
        "digests": {"sm3": hashlib.new("sm3", b"abc").hexdigest(), "sha256": hashlib.sha256(b"abc").hexdigest()},
        "parent": None,
        "path": "evidence/contract.txt",
        "salt": "22" * 32,
        "metadata": {},
    }
    manifest = {
        "format": "evidencectl-package",
        "version": 3,
        "deposit_id": statement["deposit_id"],
        "statement": statement,
        "items": [item],
    }
    seal(manifest)
    blocks = re.findall(r"```\n(\{.*?\})\n```", DOC)
    assert blocks[0].encode() == leaf_bytes(private)
    for alg in ("sm3", "sha256"):  # the seal recomputed from the doc's own bytes of the private record
        sealed = hashlib.new(alg, b"\x00" + blocks[0].encode()).hexdigest()
        assert sealed == statement["private_leaf"][alg] and sealed in DOC
    blocks = blocks[1:]
    assert blocks[0].encode() == leaf_bytes(statement)
    assert blocks[1].encode() == leaf_bytes(item)
    for alg in ("sm3", "sha256"):

        def h(b: bytes, alg: str = alg) -> bytes:
            return hashlib.new(alg, b).digest()

        s, i = h(b"\x00" + blocks[0].encode()), h(b"\x00" + blocks[1].encode())
        assert s.hex() in DOC and i.hex() in DOC
        assert h(b"\x01" + s + i).hex() == manifest["roots"][alg]
        assert manifest["roots"][alg] in DOC
