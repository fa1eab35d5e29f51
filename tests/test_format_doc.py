"""Every value of the worked example in docs/format.md is recomputed from the library and the doc's own bytes."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from evidencectl.package.manifest import leaf_bytes, seal

DOC = (Path(__file__).parent.parent / "docs" / "format.md").read_text(encoding="utf-8")


def test_worked_example_matches_the_library() -> None:
    statement = {
        "kind": "statement",
        "deposit_id": "EVD-20261129-0A1B2C3D",
        "case": "（2026）渝0103民初1234号",
        "depositor": "张律师",
        "note": None,
        "created": "2026-11-29T08:00:00Z",
        "tool": "evidencectl 0.1.0",
        "hash_only": False,
        "item_count": 1,
        "salt": "11" * 32,
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
        "version": 1,
        "deposit_id": statement["deposit_id"],
        "statement": statement,
        "items": [item],
    }
    seal(manifest)
    blocks = re.findall(r"```\n(\{.*?\})\n```", DOC)
    assert blocks[0].encode() == leaf_bytes(statement)
    assert blocks[1].encode() == leaf_bytes(item)
    for alg in ("sm3", "sha256"):

        def h(b: bytes, alg: str = alg) -> bytes:
            return hashlib.new(alg, b).digest()

        s, i = h(b"\x00" + blocks[0].encode()), h(b"\x00" + blocks[1].encode())
        assert s.hex() in DOC and i.hex() in DOC
        assert h(b"\x01" + s + i).hex() == manifest["roots"][alg]
        assert manifest["roots"][alg] in DOC
