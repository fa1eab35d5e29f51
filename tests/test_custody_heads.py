"""The depositor deletes entries from the custody log or re-makes the ledger and re-links the chain: the chain
checks out, but a package whose statement recorded the older heads shows the deletion (``--against``)."""

from __future__ import annotations

import json
import sqlite3
import zipfile
from pathlib import Path
from typing import Any

from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.context import Context
from evidencectl.registry import GENESIS, custody_hash


def _statement(package: Path) -> dict[str, Any]:
    with zipfile.ZipFile(package) as z:
        return dict(json.loads(z.read("manifest.json"))["statement"])


def _two_deposits(cli: Any, tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "b.txt").write_text("second\n")
    first, second = tmp_path / "a.evp", tmp_path / "b.evp"
    assert cli("deposit", tmp_path / "a.txt", "-o", first).code == 0
    assert cli("deposit", tmp_path / "b.txt", "-o", second).code == 0
    return first, second


def test_statement_records_the_custody_and_ledger_heads(cli: Any, tmp_path: Path, evidencectl_home: Path) -> None:
    first, second = _two_deposits(cli, tmp_path)
    assert "heads" not in _statement(first) or "ledger" not in _statement(first)["heads"]  # a new installation
    heads = _statement(second)["heads"]
    assert heads["ledger"]["height"] == 0 and heads["custody"]["seq"] >= 1
    assert heads["ledger"]["hash"] == EmbeddedLedger.open(Context(evidencectl_home)).blocks()[0]["hash"]
    assert cli("verify", second).code == 0  # the heads are part of the timestamped statement
    assert cli("log", "--verify", "--against", first, second).code == 0
    assert cli("ledger", "verify", "--against", first, second).code == 0


def test_custody_entries_deleted_and_relinked_show_against_a_package(
    cli: Any, tmp_path: Path, evidencectl_home: Path
) -> None:
    first, second = _two_deposits(cli, tmp_path)
    vouched = _statement(second)["heads"]["custody"]["seq"]
    db = sqlite3.connect(evidencectl_home / "registry.sqlite", isolation_level=None)
    # The attack: drop the first deposit's events and rebuild every hash after them.
    db.execute("DELETE FROM custody WHERE deposit_id = ?", (_statement(first)["deposit_id"],))
    rows = db.execute("SELECT seq, time, deposit_id, event, detail FROM custody ORDER BY seq").fetchall()
    db.execute("DELETE FROM custody")
    prev = GENESIS
    for seq, (_, time, deposit_id, event, detail) in enumerate(rows, start=1):
        entry = {"seq": seq, "time": time, "deposit_id": deposit_id, "event": event, "prev_hash": prev}
        entry["detail"] = json.loads(detail)
        entry["hash"] = custody_hash(entry)
        db.execute(
            "INSERT INTO custody (seq, time, deposit_id, event, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?)",
            (seq, time, deposit_id, event, detail, prev, entry["hash"]),
        )
        prev = entry["hash"]
    db.close()
    assert cli("log", "--verify").code == 0  # the chain alone cannot tell
    caught = cli("log", "--verify", "--json", "--against", second)
    assert caught.code == 1
    (problem,) = json.loads(caught.out)["against"]["problems"]
    assert problem["position"] == vouched and "removed or rewritten" in problem["problem"]


def test_ledger_remade_without_a_block_shows_against_its_package(
    cli: Any, tmp_path: Path, evidencectl_home: Path
) -> None:
    first, second = _two_deposits(cli, tmp_path)
    ledger = EmbeddedLedger.open(Context(evidencectl_home))
    with zipfile.ZipFile(second) as z:
        receipt = json.loads(z.read("proofs/anchors/local.json"))
    db = sqlite3.connect(ledger.db_path, isolation_level=None)
    db.execute("DELETE FROM blocks")
    db.execute("DELETE FROM entries")
    db.close()
    ledger.anchor(receipt["deposit_id"], receipt["roots"])  # the depositor holds the node key: re-signs at will
    assert cli("ledger", "verify").code == 0
    caught = cli("ledger", "verify", "--json", "--against", first, second)
    assert caught.code == 1
    problems = json.loads(caught.out)["against"]["problems"]
    assert {p["package"] for p in problems} == {str(first), str(second)}
    assert "REWRITTEN" in cli("ledger", "verify", "--against", first).out
