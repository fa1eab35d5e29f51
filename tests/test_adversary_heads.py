"""The heads mechanism must not lie: a package vouches for a custody or ledger head only when it proves it. A
forged package naming a head the log never held would otherwise make ``--against`` report the genuine log
as rewritten (a false accusation the other party could hand a court)."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

from conftest import rewrite_member

from evidencectl.package.canonical import canonical_json

FAKE = "ab" * 32


def _deposit_two(cli: Any, tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "b.txt").write_text("second\n")
    assert cli("deposit", tmp_path / "a.txt", "-o", tmp_path / "a.evp").code == 0
    assert cli("deposit", tmp_path / "b.txt", "-o", tmp_path / "b.evp").code == 0
    return tmp_path / "b.evp"


def test_forged_package_naming_a_custody_head_the_log_never_held_accuses_nobody(
    cli: Any, tmp_path: Path, evidencectl_home: Path
) -> None:
    genuine = _deposit_two(cli, tmp_path)

    def fake_head(data: bytes) -> bytes:
        manifest = json.loads(data)
        manifest["statement"]["heads"]["custody"]["hash"] = FAKE
        return canonical_json(manifest)

    forged = rewrite_member(genuine, tmp_path / "forged.evp", "manifest.json", fake_head)
    assert cli("verify", forged).code == 1  # the statement no longer rebuilds the roots
    done = cli("log", "--verify", "--json", "--against", forged)
    against = json.loads(done.out)["against"]
    assert against["problems"] == [] and done.code == 0
    assert against["not_counted"][0]["package"] == str(forged)
    assert "not counted" in done.err
    assert cli("log", "--verify", "--against", genuine).code == 0


def test_forged_ledger_receipt_block_hash_accuses_nobody(cli: Any, tmp_path: Path, evidencectl_home: Path) -> None:
    genuine = _deposit_two(cli, tmp_path)

    def fake_block(data: bytes) -> bytes:
        receipt = json.loads(data)
        receipt["block"]["hash"] = FAKE
        return canonical_json(receipt)

    with zipfile.ZipFile(genuine) as z:
        receipt = next(n for n in z.namelist() if n.startswith("proofs/anchors/"))
    forged = rewrite_member(genuine, tmp_path / "forged.evp", receipt, fake_block)
    done = cli("ledger", "verify", "--json", "--against", forged)
    assert json.loads(done.out)["against"]["problems"] == [] and done.code == 0
    assert cli("ledger", "verify", "--against", genuine).code == 0


def test_token_swapped_in_from_another_package_fails(cli: Any, tmp_path: Path, evidencectl_home: Path) -> None:
    """A genuine token of another deposit (same TSA, same trust) timestamps other roots: FAILED, never PASSED."""
    (tmp_path / "a.txt").write_text("first\n")
    (tmp_path / "b.txt").write_text("second\n")
    assert cli("deposit", tmp_path / "a.txt", "-o", tmp_path / "a.evp").code == 0
    assert cli("deposit", tmp_path / "b.txt", "-o", tmp_path / "b.evp").code == 0
    with zipfile.ZipFile(tmp_path / "a.evp") as z:
        token = z.read("proofs/timestamps/local.sha256.tsr")
    swapped = rewrite_member(
        tmp_path / "b.evp", tmp_path / "swapped.evp", "proofs/timestamps/local.sha256.tsr", lambda _: token
    )
    done = cli("verify", "--json", swapped)
    assert done.code == 1
    (check,) = [c for c in json.loads(done.out)["checks"] if c["check"] == "timestamp:local.sha256"]
    assert check["status"] == "FAILED" and "timestamps something else" in check["detail"]


def test_another_installations_genuine_package_does_not_accuse_this_custody_log(tmp_path: Path) -> None:
    """Custody heads carry no installation id: a genuine package of another installation, whose time this
    installation trusts (a public TSA), holds the heads of *its* log and must not call this log rewritten."""
    from test_independent_time import run

    lawyer, other = tmp_path / "lawyer", tmp_path / "other"
    (tmp_path / "a.txt").write_text("first\n")
    for home in (lawyer, other):
        for n in range(2):
            assert run(home, "deposit", tmp_path / "a.txt", "-o", tmp_path / f"{home.name}-{n}.evp").returncode == 0
    # The lawyer trusts the other installation's TSA root as it would a public TSA's.
    assert run(lawyer, "trust", "add", other / "tsa" / "ecdsa-p256" / "root.pem", "--as", "tsa").returncode == 0
    done = run(lawyer, "log", "--verify", "--json", "--against", tmp_path / "other-1.evp")
    against = json.loads(done.stdout)["against"]
    assert against["problems"] == [] and done.returncode == 0, against
    assert run(lawyer, "log", "--verify", "--against", tmp_path / "lawyer-1.evp").returncode == 0
