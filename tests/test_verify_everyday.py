"""What a court meets when it verifies: --data with a folder, a summary for big packages, --report names.

Issue 19 ("Everyday use"), the verify items.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest


def _hash_only_folder(cli, tmp_path: Path) -> tuple[Path, Path]:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / "a.txt").write_text("合同 first page\n", encoding="utf-8")
    (folder / "sub" / "b.bin").write_bytes(os.urandom(5000))
    (folder / "sub" / "deeper" / "c.txt").write_text("third\n")
    package = tmp_path / "h.evp"
    res = cli("deposit", folder, "--hash-only", "-o", package)
    assert res.code == 0, res.err
    return folder, package


def _checks(res) -> dict[str, dict]:  # type: ignore[no-untyped-def]
    return {c["check"]: c for c in json.loads(res.out)["checks"]}


def test_verify_data_takes_a_hash_only_folder_recursively(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, package = _hash_only_folder(cli, tmp_path)
    res = cli("verify", package, "--data", str(folder) + "/", "--json")
    assert res.code == 0, res.out + res.err
    checks = _checks(res)
    for name in ("in/a.txt", "in/sub/b.bin", "in/sub/deeper/c.txt"):
        assert checks[f"digest:{name}"]["status"] == "PASSED"
        assert checks[f"digest:{name}"]["facts"]["source"].startswith("--data ")
    assert checks[f"data:{folder}/"]["status"] == "PASSED"
    assert checks[f"data:{folder}/"]["facts"]["files"] == 3


def test_verify_data_folder_with_an_altered_file_fails_by_its_name(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, package = _hash_only_folder(cli, tmp_path)
    (folder / "sub" / "deeper" / "c.txt").write_text("third, edited after the deposit\n")
    res = cli("verify", package, "--data", folder, "--json")
    assert res.code == 1
    altered = _checks(res)["digest:in/sub/deeper/c.txt"]
    assert altered["status"] == "FAILED" and altered["reason"] == "DIGEST_MISMATCH"
    assert "differs from the deposit" in altered["detail"]


def test_verify_data_folder_matches_a_renamed_copy_by_digest(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, package = _hash_only_folder(cli, tmp_path)
    (folder / "a.txt").rename(folder / "a-renamed.txt")
    res = cli("verify", package, "--data", folder, "--json")
    assert res.code == 0, res.out
    assert _checks(res)["digest:in/a.txt"]["facts"]["source"].endswith("a-renamed.txt")


def test_verify_data_folder_with_a_file_never_deposited_is_indeterminate_not_failed(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, package = _hash_only_folder(cli, tmp_path)
    (folder / "added-later.txt").write_text("new\n")
    res = cli("verify", package, "--data", folder, "--json")
    assert res.code == 3
    check = _checks(res)[f"data:{folder}/"]
    assert check["status"] == "INDETERMINATE" and check["reason"] == "NOT_COVERED"
    assert check["facts"]["not_items"] == ["in/added-later.txt"]


def test_verify_data_missing_path_is_one_line_exit_4(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder, package = _hash_only_folder(cli, tmp_path)
    res = cli("verify", package, "--data", tmp_path / "nope")
    assert res.code == 4 and res.err.count("\n") == 1 and "no such file or folder" in res.err


@pytest.fixture
def many_items(cli, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(320):
        (folder / f"f{i:04}.txt").write_text(f"file {i}\n")
    package = tmp_path / "many.evp"
    assert cli("deposit", folder, "-o", package).code == 0
    return package


def test_verify_of_hundreds_of_items_prints_a_summary_by_default(cli, many_items: Path) -> None:  # type: ignore[no-untyped-def]
    res = cli("verify", many_items)
    assert res.code == 0
    lines = res.out.splitlines()
    assert len(lines) < 30, len(lines)
    assert any(line.split()[:2] == ["digest", "320"] for line in lines)
    assert "--full lists every one" in res.out and "Verdict: PASSED" in res.out


def test_verify_full_lists_every_check_and_json_is_unchanged(cli, many_items: Path) -> None:  # type: ignore[no-untyped-def]
    full = cli("verify", many_items, "--full")
    assert full.code == 0 and sum(1 for line in full.out.splitlines() if line.startswith("PASSED")) > 320
    doc = json.loads(cli("verify", many_items, "--json").out)
    assert len(doc["checks"]) > 320 and not any("summary" in k for k in doc)


def test_verify_summary_shows_counts_and_only_what_did_not_pass(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder, package = _hash_only_folder(cli, tmp_path)
    (folder / "a.txt").write_text("altered\n")
    res = cli("verify", package, "--data", folder, "--summary")
    assert res.code == 1
    shown = [line for line in res.out.splitlines() if line.startswith(("PASSED", "FAILED", "INDETERMINATE"))]
    assert shown and all(not line.startswith("PASSED") for line in shown)
    assert any("digest:in/a.txt" in line for line in shown)
    assert cli("verify", package, "--summary", "--full").code == 2


def test_verify_report_says_where_it_wrote(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder, package = _hash_only_folder(cli, tmp_path)
    out = tmp_path / "x.html"
    res = cli("verify", package, "--report", out, "--json")
    json.loads(res.out)  # stdout still holds exactly one JSON document
    assert out.is_file() and f"wrote {out}" in res.err


def test_verify_report_with_a_word_extension_is_a_usage_error(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    _folder, package = _hash_only_folder(cli, tmp_path)
    res = cli("verify", package, "--report", tmp_path / "v.docx")
    assert res.code == 2 and ".pdf" in res.err and ".html" in res.err and "v.docx" in res.err
    assert not (tmp_path / "v.docx").exists()
