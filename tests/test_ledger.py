"""The embedded ledger: chain audit, tamper detection byte by byte, concurrent writers, CLI."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidencectl.anchor import anchor_from_spec
from evidencectl.anchor import ledger as ledger_module
from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.cli.ledger_cmd import app
from evidencectl.context import Context
from evidencectl.errors import ServiceError, UsageError

ROOTS = {"sm3": "ab" * 32, "sha256": "cd" * 32}


def _db(base: Path) -> Path:
    return base / "ledger" / "ledger.sqlite"


def test_blocks_link_and_audit_clean(tmp_path: Path) -> None:
    ledger = EmbeddedLedger.open(Context(tmp_path))
    receipts = [ledger.anchor(f"dep-{i}", ROOTS) for i in range(3)]
    blocks = ledger.blocks()
    assert [b["height"] for b in blocks] == [0, 1, 2]
    assert blocks[0]["header"]["previous_hash"] == "00" * 32
    assert blocks[2]["header"]["previous_hash"] == blocks[1]["hash"]
    assert [b["entries"][0]["deposit_id"] for b in blocks] == ["dep-0", "dep-1", "dep-2"]
    assert receipts[1]["block"]["hash"] == blocks[1]["hash"]
    audit = ledger.verify_chain()
    assert audit.ok and audit.blocks == 3 and audit.head_hash == blocks[2]["hash"]


def test_reopen_keeps_ledger_and_key_and_trusts_it_here(tmp_path: Path) -> None:
    first = EmbeddedLedger.open(Context(tmp_path))
    second = EmbeddedLedger.open(Context(tmp_path))
    assert (first.ledger_id, first.key.key_id) == (second.ledger_id, second.key.key_id)
    trusted = list((tmp_path / "trust" / "ledger").glob("*.pem"))
    assert len(trusted) == 1 and trusted[0].read_bytes() == first.key.public_key_pem()


def _columns(db: Path) -> list[tuple[str, str, tuple[object, ...]]]:
    """(table, column, primary key) of every value stored in the block tables."""
    out = []
    with sqlite3.connect(db) as con:
        for h, pos in con.execute("SELECT height, position FROM entries"):
            out += [("entries", c, (h, pos)) for c in ("height", "position", "deposit_id", "entry")]
        for (h,) in con.execute("SELECT height FROM blocks"):
            out += [("blocks", c, (h,)) for c in ("height", "header", "block_hash", "signature")]
    return out


def _variants(value: object) -> list[object]:
    """Every one-byte alteration of a stored value (a different number for integers)."""
    if isinstance(value, int):
        return [value + 100]
    raw = value.encode() if isinstance(value, str) else bytes(value)  # type: ignore[arg-type]
    changed = []
    for i in range(len(raw)):
        b = bytearray(raw)
        b[i] ^= 0x01
        changed.append(b.decode("latin-1") if isinstance(value, str) else bytes(b))
    return changed


def test_altering_any_byte_of_any_block_row_is_found(tmp_path: Path) -> None:
    ledger = EmbeddedLedger.open(Context(tmp_path))
    for i in range(2):
        ledger.anchor(f"dep-{i}", ROOTS)
    db = _db(tmp_path)
    tried = 0
    with sqlite3.connect(db, isolation_level=None) as con:
        for table, column, key in _columns(db):
            where = "height = ?" + (" AND position = ?" if table == "entries" else "")
            (original,) = con.execute(f"SELECT {column} FROM {table} WHERE {where}", key).fetchone()
            for altered in _variants(original):
                # A changed key column is found again under its altered value.
                new_key = {"height": (altered, *key[1:]), "position": (key[0], altered)}.get(column, key)
                con.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (altered, *key))
                audit = ledger.verify_chain()
                assert not audit.ok, (table, column, key, altered)
                assert audit.first_broken is not None and audit.problem
                con.execute(f"UPDATE {table} SET {column} = ? WHERE {where}", (original, *new_key))
                tried += 1
    assert tried > 500
    assert ledger.verify_chain().ok


def test_raw_file_byte_flip_and_deleted_block_are_found(tmp_path: Path) -> None:
    ledger = EmbeddedLedger.open(Context(tmp_path))
    for i in range(3):
        ledger.anchor(f"dep-{i}", ROOTS)
    with sqlite3.connect(_db(tmp_path)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    header = json.dumps(ledger.blocks()[1]["header"], separators=(",", ":"), sort_keys=True).encode()
    data = bytearray(_db(tmp_path).read_bytes())
    at = data.find(header)
    assert at > 0
    data[at + header.find(b'"time"') + 12] ^= 0x01  # one digit of the block time
    _db(tmp_path).write_bytes(bytes(data))
    audit = ledger.verify_chain()
    assert (audit.ok, audit.first_broken) == (False, 1)

    other = tmp_path / "other"
    ledger = EmbeddedLedger.open(Context(other))
    for i in range(3):
        ledger.anchor(f"dep-{i}", ROOTS)
    with sqlite3.connect(_db(other)) as con:
        con.execute("DELETE FROM blocks WHERE height = 1")
    audit = ledger.verify_chain()
    assert (audit.ok, audit.first_broken) == (False, 2) and "missing" in (audit.problem or "")


WRITER = """
import json, sys
from pathlib import Path
from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.context import Context
base, tag, n = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
out = []
for i in range(n):
    ledger = EmbeddedLedger.open(Context(base))
    r = ledger.anchor(f"{tag}-{i}", {"sm3": "ab" * 32, "sha256": "cd" * 32})
    out.append([r["block"]["header"]["height"], r["block"]["header"]["node_key_id"]])
print(json.dumps(out))
"""


def test_four_processes_append_without_losing_or_forking_blocks(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"p{p}", "12"], stdout=subprocess.PIPE)
        for p in range(4)
    ]
    results = []
    for proc in procs:
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        results += json.loads(out)
    heights = sorted(h for h, _ in results)
    assert heights == list(range(48))
    assert len({k for _, k in results}) == 1  # the processes that raced to create the key agree on one
    ledger = EmbeddedLedger.open(Context(tmp_path))
    audit = ledger.verify_chain()
    assert audit.ok and audit.blocks == 48
    assert len(list((tmp_path / "trust" / "ledger").glob("*.pem"))) == 1


def test_locked_ledger_is_a_service_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = EmbeddedLedger.open(Context(tmp_path))
    monkeypatch.setattr(ledger_module, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(_db(tmp_path), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(ServiceError) as info:
            ledger.anchor("dep", ROOTS)
        assert "ledger.sqlite" in info.value.diagnostics()
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert ledger.anchor("dep", ROOTS)["block"]["header"]["height"] == 0


def test_anchor_from_spec_and_bad_roots(tmp_path: Path) -> None:
    anchor = anchor_from_spec("local", tmp_path)
    assert isinstance(anchor, EmbeddedLedger) and anchor.name == "local"
    for spec in ("ledger", "evm:ftp://x", ""):
        with pytest.raises(UsageError):
            anchor_from_spec(spec, tmp_path)
    for roots in ({}, {"md5": "ab" * 32}, {"sm3": "AB" * 32}, {"sm3": "ab" * 31}):
        with pytest.raises(UsageError):
            anchor.anchor("dep", roots)
    assert anchor.blocks() == []


def test_cli_show_and_verify(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(tmp_path))
    runner = CliRunner()
    ledger = EmbeddedLedger.open(Context(tmp_path))
    for i in range(3):
        ledger.anchor(f"case-{i}", ROOTS)
    shown = runner.invoke(app, ["show", "--json"])
    assert shown.exit_code == 0
    doc = json.loads(shown.stdout)
    assert [b["entries"][0]["deposit_id"] for b in doc["blocks"]] == ["case-0", "case-1", "case-2"]
    assert "case-1" in runner.invoke(app, ["show"]).stdout
    ok = runner.invoke(app, ["verify"])
    assert ok.exit_code == 0 and "3 blocks" in ok.stdout
    with sqlite3.connect(_db(tmp_path)) as con:
        con.execute("UPDATE entries SET deposit_id = 'forged' WHERE height = 1")
    broken = runner.invoke(app, ["verify"])
    assert broken.exit_code == 1 and "block 1" in broken.stdout
    as_json = runner.invoke(app, ["verify", "--json"])
    assert as_json.exit_code == 1 and json.loads(as_json.stdout)["first_broken"] == 1
