"""One manifest model, one encoder: every fast path to a leaf's bytes gives the plain path's bytes.

The plain path is RFC 8785 canonical JSON of the record without ``proof`` (``leaf_bytes``), checked against
the ``rfc8785`` package, another implementation."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from evidencectl.package.manifest import leaf_bytes, record_spans, span_of
from evidencectl.package.model import AnchorReceipt, ItemRecord, Manifest, Statement, encode_leaf, renumbered

_TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)
DIGESTS = {"sm3": "ab" * 32, "sha256": "cd" * 32}


@settings(max_examples=200, deadline=None)
@given(old=st.integers(1, 10**7), new=st.integers(1, 10**7), name=_TEXT, metadata=st.dictionaries(_TEXT, _TEXT))
def test_renumbering_a_worker_record_gives_the_bytes_of_encoding_it_anew(old, new, name, metadata) -> None:
    record = ItemRecord(old, name, "file", "text/plain", 3, dict(DIGESTS), None, f"evidence/{name}", metadata)
    spliced = renumbered(encode_leaf(record), old, new)
    record.id = new
    assert spliced == encode_leaf(record) == leaf_bytes(record.to_json()) == rfc8785.dumps(record.to_json())


@pytest.mark.parametrize(
    "record",
    [
        ItemRecord(1, "a.txt", "file", "text/plain", 1, dict(DIGESTS), None, "evidence/a.txt", {"size": 1}),
        ItemRecord(2, "m.eml/body.txt", "body", "text/plain", 5, dict(DIGESTS), 1, None, {"charset": "utf-8"}),
        ItemRecord(3, "x", "file", "x/y", 0, dict(DIGESTS), None, None, {"warnings": ["bad"]}, name_raw="/w=="),
        ItemRecord(4, "y", "file", "x/y", 0, {**DIGESTS, "sha512": "ef" * 64}, None, None, {}),
    ],
    ids=["top-level-direct", "derived-part", "name-not-utf8", "another-algorithm"],
)
def test_every_record_encodes_as_its_plain_canonical_json(record: ItemRecord) -> None:
    assert encode_leaf(record) == rfc8785.dumps(record.to_json())
    assert ItemRecord.from_json(json.loads(encode_leaf(record))).to_json() == record.to_json()


def test_a_deposited_manifest_round_trips_through_the_model_byte_for_byte(
    cli, sample_dir: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The streamed manifest.json of a real deposit is the canonical JSON of its model; the record spans
    found in the stored bytes (the stored-bytes hashing path) are each record's encoded leaf."""
    out = tmp_path / "m.evp"
    assert cli("deposit", sample_dir, "-o", out).code == 0
    with zipfile.ZipFile(out) as z:
        raw = z.read("manifest.json")
        receipt = json.loads(z.read(next(n for n in z.namelist() if n.startswith("proofs/anchors/"))))
    value = json.loads(raw)
    model = Manifest.from_json(value)
    assert rfc8785.dumps(model.to_json()) == raw
    assert encode_leaf(model.statement) == leaf_bytes(value["statement"])
    spans = record_spans(value, raw)
    assert spans is not None
    _, body, starts = spans
    assert [span_of(body, starts, n) for n in range(len(model.items))] == [encode_leaf(i) for i in model.items]
    assert AnchorReceipt.from_json(receipt).to_json() == receipt


def test_statement_keeps_members_it_does_not_model() -> None:
    value = {
        "kind": "statement",
        "deposit_id": "EVD-1",
        "case": None,
        "depositor": "张律师",
        "note": None,
        "created": "2026-12-01T00:00:00Z",
        "tool": "evidencectl 0.1.0",
        "hash_only": False,
        "item_count": 0,
        "salt": "00" * 32,
        "heads": {"custody": "ab" * 32},
    }
    statement = Statement.from_json(value)
    assert statement.extra == {"heads": {"custody": "ab" * 32}, "note": None}  # a version-2 statement's note
    assert encode_leaf(statement) == rfc8785.dumps(value)
