"""Deposit and verify end to end through the command line, on the embedded defaults."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from conftest import rewrite_member

from evidencectl.package.schema import validate


def _deposit(cli, *args: str | Path):  # type: ignore[no-untyped-def]
    res = cli("deposit", *args, "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert validate(doc, "deposit-result") is None
    return doc


def test_deposit_then_verify_passes_with_every_check_listed(cli, sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "case-42.evp"
    doc = _deposit(cli, sample_dir, "-o", out, "--case", "（2026）渝0103民初1234号", "--depositor", "张律师")
    assert doc["status"] == "complete" and doc["items"] == 4
    assert sorted(doc["timestamps"]) == ["proofs/timestamps/local.sha256.tsr", "proofs/timestamps/local.sm3.tsr"]
    assert doc["anchors"] == ["proofs/anchors/local.json"]
    res = cli("verify", out, "--json")
    assert res.code == 0, res.out
    report = json.loads(res.out)
    assert validate(report, "verification") is None
    assert report["verdict"] == "PASSED"
    names = {c["check"] for c in report["checks"]}
    assert {
        "digest:evidence/contract.txt",
        "inclusion:tree",
        "timestamp:local.sm3",
        "timestamp:local.sha256",
        "anchor:local",
    } <= names
    assert all(c["status"] == "PASSED" for c in report["checks"])
    assert report["trust_anchors"], "the report names the trust anchors it used"
    text = cli("verify", out)
    assert text.code == 0 and "Verdict: PASSED" in text.out


def test_inspect_json_is_the_manifest_and_its_members(cli, sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.evp"
    _deposit(cli, sample_dir, "-o", out, "--case", "C-1")
    res = cli("inspect", out, "--json")
    manifest = json.loads(res.out)
    assert validate(manifest, "inspect") is None
    assert validate({k: v for k, v in manifest.items() if k != "members"}, "manifest") is None
    assert manifest["statement"]["case"] == "C-1"
    assert {i["name"] for i in manifest["items"]} == {
        "evidence/chat-export.txt",
        "evidence/contract.txt",
        "evidence/photos/screenshot-1.png",
        "evidence/photos/screenshot-2.png",
    }


def test_hash_only_verifies_with_data_and_fails_on_altered_data(cli, tmp_path: Path) -> None:
    f = tmp_path / "big.bin"
    f.write_bytes(os.urandom(700_000))
    out = tmp_path / "h.evp"
    _deposit(cli, f, "-o", out, "--hash-only")
    res = cli("verify", out)
    assert res.code == 3, "without the original the digest check is indeterminate"
    assert cli("verify", out, "--data", f).code == 0
    # The altered copy under the item's name is judged against that item: FAILED. Under another name it is
    # no item of the deposit, and says nothing about it (tests/test_attack_data_stray.py).
    (tmp_path / "copy").mkdir()
    altered = tmp_path / "copy" / "big.bin"
    data = bytearray(f.read_bytes())
    data[123_456] ^= 0x01
    altered.write_bytes(bytes(data))
    res = cli("verify", out, "--data", altered)
    assert res.code == 1
    assert "digest:big.bin" in res.out and "FAILED" in res.out
    renamed = tmp_path / "altered.bin"
    renamed.write_bytes(bytes(data))
    res = cli("verify", out, "--data", renamed)
    assert res.code == 3 and "no item of this deposit" in res.out


def test_stdin_and_path_list_with_checked_sums(cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib
    import io
    import sys

    a = tmp_path / "a.txt"
    a.write_text("alpha")
    lst = tmp_path / "list.txt"
    lst.write_text(f"{hashlib.sha256(b'alpha').hexdigest()}  {a}\n")
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"from a pipe")))
    out = tmp_path / "s.evp"
    doc = _deposit(cli, "-", "--from-list", lst, "-o", out)
    assert doc["items"] == 2
    assert cli("verify", out).code == 0
    lst.write_text(f"{'0' * 64}  {a}\n")
    res = cli("deposit", "--from-list", lst, "-o", tmp_path / "bad.evp")
    assert res.code == 4 and "differs from the list" in res.err
    assert not (tmp_path / "bad.evp").exists()


def test_non_utf8_file_name_is_kept_losslessly(cli, tmp_path: Path) -> None:
    import base64

    folder = tmp_path / "raw"
    folder.mkdir()
    raw_name = b"\xb3\xa4\xb3\xc7.txt"  # GBK bytes, not UTF-8
    (Path(os.fsdecode(bytes(folder))) / os.fsdecode(raw_name)).write_bytes(b"gbk named")
    out = tmp_path / "n.evp"
    _deposit(cli, folder, "-o", out)
    manifest = json.loads(cli("inspect", out, "--json").out)
    (item,) = manifest["items"]
    assert base64.b64decode(item["name_raw"]) == b"raw/" + raw_name
    assert item["metadata"]["name_not_utf8"] is True
    assert cli("verify", out).code == 0


def test_extract_discloses_one_item_that_verifies_alone(cli, sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "all.evp"
    _deposit(cli, sample_dir, "-o", out)
    one = tmp_path / "one.evp"
    res = cli("extract", out, "--item", "evidence/contract.txt", "-o", one)
    assert res.code == 0, res.err
    res = cli("verify", one, "--json")
    assert res.code == 0, res.out
    import zipfile

    with zipfile.ZipFile(one) as z:
        names = z.namelist()
        manifest = z.read("manifest.json").decode()
    assert "evidence/evidence/contract.txt" in names
    assert not any("screenshot" in n or "chat-export" in n for n in names)
    assert "screenshot" not in manifest and "chat-export" not in manifest
    assert cli("extract", out, "--item", "nope", "-o", tmp_path / "x.evp").code == 2


def test_cases_and_custody_log(cli, sample_dir: Path, tmp_path: Path, evidencectl_home: Path) -> None:
    out = tmp_path / "c.evp"
    doc = _deposit(cli, sample_dir, "-o", out, "--case", "C-9")
    cases = json.loads(cli("cases", "--json").out)["deposits"]
    assert [c["deposit_id"] for c in cases] == [doc["deposit_id"]]
    cli("verify", out)
    log = json.loads(cli("log", "--json").out)["entries"]
    assert [e["event"] for e in log] == ["deposit", "verify"]
    assert cli("log", "--verify").code == 0
    import sqlite3

    db = sqlite3.connect(evidencectl_home / "registry.sqlite")
    db.execute('UPDATE custody SET detail = \'{"verdict": "FAILED"}\' WHERE seq = 2')
    db.commit()
    db.close()
    res = cli("log", "--verify", "--json")
    assert res.code == 1
    assert json.loads(res.out)["first_break"] == 2


def test_existing_output_is_not_overwritten_without_force(cli, sample_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.evp"
    _deposit(cli, sample_dir, "-o", out)
    before = out.read_bytes()
    res = cli("deposit", sample_dir, "-o", out)
    assert res.code == 2 and "--force" in res.err
    assert out.read_bytes() == before
    _deposit(cli, sample_dir, "-o", out, "--force")
    assert out.read_bytes() != before


def test_changing_the_case_number_fails_verification(cli, sample_dir: Path, tmp_path: Path) -> None:
    from evidencectl.package.canonical import canonical_json

    out = tmp_path / "p.evp"
    _deposit(cli, sample_dir, "-o", out, "--case", "A-1")

    def other_case(data: bytes) -> bytes:
        m = json.loads(data)
        m["statement"]["case"] = "A-2"
        return canonical_json(m)

    forged = rewrite_member(out, tmp_path / "forged.evp", "manifest.json", other_case)
    res = cli("verify", forged, "--json")
    assert res.code == 1
    failed = [c["check"] for c in json.loads(res.out)["checks"] if c["status"] == "FAILED"]
    assert failed == ["inclusion:tree"]


def test_package_is_a_valid_zip_for_other_readers(cli, sample_dir: Path, tmp_path: Path) -> None:
    """Members written in one go (header, then data) read back through zipfile's own local-header path."""
    import zipfile

    out = tmp_path / "z.evp"
    _deposit(cli, sample_dir, "-o", out)
    with zipfile.ZipFile(out) as z:
        assert z.testzip() is None
        infos = z.infolist()
        assert infos[0].filename == "mimetype" and infos[0].compress_type == zipfile.ZIP_STORED
        assert all(i.compress_type == zipfile.ZIP_STORED and i.date_time == (1980, 1, 1, 0, 0, 0) for i in infos)
        assert z.read("evidence/evidence/contract.txt") == (sample_dir / "contract.txt").read_bytes()


def test_unknown_option_is_a_usage_error(cli, sample_dir: Path) -> None:
    res = cli("deposit", sample_dir, "--bogus", "--json")
    assert res.code == 2
    assert "No such option" in res.err and "Traceback" not in res.err
    assert json.loads(res.out) == {"error": "No such option '--bogus'.", "code": "USAGE", "exit_code": 2}


def test_usage_error_of_a_click_copy_is_still_exit_2(monkeypatch, capsys) -> None:
    # typer 0.26+ carries its own copy of click: its usage errors are not click.ClickException.
    from evidencectl.cli import main as cli_main

    class CopiedUsageError(Exception):
        def format_message(self) -> str:
            return "Missing option '--out'."

        def show(self) -> None:
            print("Error: Missing option '--out'.", file=sys.stderr)

    def raise_copy(**kwargs) -> None:
        raise CopiedUsageError()

    monkeypatch.setattr(cli_main, "_app_for", lambda argv: raise_copy)
    assert cli_main.main(["deposit", "x", "--json"]) == 2
    captured = capsys.readouterr()
    assert json.loads(captured.out) == {"error": "Missing option '--out'.", "code": "USAGE", "exit_code": 2}
    assert "unexpected" not in captured.err


@pytest.mark.parametrize("count", [0, 1, 511, 512, 513, 1024, 1025])
def test_manifest_streams_every_record_once_in_order(count: int) -> None:
    from evidencectl.deposit.seal import manifest_chunks
    from evidencectl.merkle import RootAfterFirst, leaf_hash, tree_root
    from evidencectl.package.canonical import canonical_json

    class Records:
        def __init__(self) -> None:
            self.count = count
            self.trees = {alg: RootAfterFirst(alg) for alg in ("sm3", "sha256")}
            for tree in self.trees.values():
                for _ in range(count):
                    tree.add(b"\0" * 32)

        def records(self):
            return (b'{"id":%d}' % i for i in range(count))

    private = {"kind": "private", "note": None, "salt": "00" * 32}
    _, chunks = manifest_chunks("EVD-1", {"kind": "statement"}, Records(), private)
    doc = json.loads(b"".join(chunks()))
    assert [i["id"] for i in doc["items"]] == list(range(count))
    assert doc["private"] == private
    assert doc["tree_size"] == count + 1
    stmt = leaf_hash("sm3", canonical_json({"kind": "statement"}))
    assert doc["roots"]["sm3"] == tree_root("sm3", [stmt] + [b"\0" * 32] * count).hex()


def test_console_script_output_is_complete_through_a_pipe(sample_dir: Path, tmp_path: Path) -> None:
    # The console script leaves with os._exit after flushing: what it printed must all arrive.
    import subprocess

    out = tmp_path / "p.evp"
    proc = subprocess.run(
        [sys.executable, "-m", "evidencectl", "deposit", sample_dir, "-o", out, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["status"] == "complete"
    proc = subprocess.run(
        [sys.executable, "-m", "evidencectl", "verify", out], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and proc.stdout.rstrip().splitlines()[-1].startswith("Verdict: PASSED")
