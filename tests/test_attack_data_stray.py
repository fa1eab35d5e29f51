"""``verify --data`` with a file that is no item of the deposit. Anyone can hand the court's verifier one more
file; it does not contradict the package and is not a deposited original whose digest differs, so it must not
make a genuine package FAILED (DESIGN §4). A file given in the place of a deposited original (its name, other
bytes) is exactly the altered copy ``--data`` exists to catch: FAILED. Three data directories (lawyer, other
party, court); the court trusts the lawyer's embedded services, so the genuine package PASSES there."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_independent_time import checks, people, run, trust_lawyers_services, verify_json

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")
__all__ = ["people"]  # fixture


def _genuine(people: dict[str, Path], tmp_path: Path, *extra: str) -> Path:
    package = tmp_path / ("hash-only.evp" if extra else "genuine.evp")
    done = run(people["lawyer"], "deposit", tmp_path / "contract.txt", "-o", package, "--case", "C-9", *extra)
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(people["court"], people["lawyer"])
    return package


def _stray(tmp_path: Path) -> Path:
    """The other party's file: its own notes, no item's name or content."""
    stray = tmp_path / "other" / "our-notes.txt"
    stray.parent.mkdir(parents=True, exist_ok=True)
    stray.write_text("what the other side thinks of the contract\n", encoding="utf-8")
    return stray


def _not_passed(doc: dict) -> list[dict]:
    return [c for c in doc["checks"] if c["status"] != "PASSED"]


def test_stray_data_file_does_not_fail_a_genuine_package(people: dict[str, Path], tmp_path: Path) -> None:
    """Was FAILED "matches no item" (reason DIGEST_MISMATCH, exit 1) though nothing of the deposit differed."""
    package = _genuine(people, tmp_path)
    court, stray = people["court"], _stray(tmp_path)
    assert verify_json(court, package)[0] == 0

    code, doc = verify_json(court, package, "--data", str(stray))
    assert code == 3 and doc["verdict"] == "INDETERMINATE"
    (named,) = _not_passed(doc)
    assert named["check"] == f"data:{stray}" and named["status"] == "INDETERMINATE"
    assert named["reason"] == "NOT_COVERED" and named["facts"]["file"] == str(stray)
    assert "no item of this deposit" in named["detail"]
    assert {c["check"] for c in doc["checks"]} - {named["check"]} == {
        c["check"] for c in verify_json(court, package)[1]["checks"]
    }

    text = run(court, "verify", package, "--data", stray)
    assert text.returncode == 3 and "FAILED" not in text.stdout
    (line,) = [x for x in text.stdout.splitlines() if "our-notes.txt" in x]
    assert "INDETERMINATE" in line and "no item of this deposit" in line


def test_stray_data_file_beside_the_originals_of_a_hash_only_deposit(people: dict[str, Path], tmp_path: Path) -> None:
    """The lawyer's original given with it still PASSES its digest check; only the stray file is undecided."""
    package = _genuine(people, tmp_path, "--hash-only")
    court, stray = people["court"], _stray(tmp_path)
    code, doc = verify_json(court, package, "--data", str(tmp_path / "contract.txt"), "--data", str(stray))
    assert code == 3
    assert [c["check"] for c in _not_passed(doc)] == [f"data:{stray}"]
    (digest,) = checks(doc, "digest:contract.txt")
    assert digest["status"] == "PASSED" and str(tmp_path / "contract.txt") in digest["facts"]["source"]


def test_file_given_in_the_place_of_a_deposited_original_still_fails(people: dict[str, Path], tmp_path: Path) -> None:
    """Same name as the deposited ``contract.txt``, other bytes: the altered copy is named FAILED, CLI and JSON."""
    package = _genuine(people, tmp_path)
    court = people["court"]
    altered = tmp_path / "copy" / "contract.txt"
    altered.parent.mkdir()
    altered.write_text("合同 第一条（改）\n", encoding="utf-8")
    code, doc = verify_json(court, package, "--data", str(altered))
    assert code == 1 and doc["verdict"] == "FAILED"
    (bad,) = _not_passed(doc)
    assert bad["check"] == f"data:{altered}" and bad["status"] == "FAILED" and bad["reason"] == "DIGEST_MISMATCH"
    assert bad["facts"]["items"] == ["contract.txt"] and "in the place of item contract.txt" in bad["detail"]
    text = run(court, "verify", package, "--data", altered)
    assert text.returncode == 1
    (line,) = [x for x in text.stdout.splitlines() if str(altered) in x]
    assert "FAILED" in line

    hash_only = _genuine(people, tmp_path, "--hash-only")
    code, doc = verify_json(court, hash_only, "--data", str(altered))
    (digest,) = checks(doc, "digest:contract.txt")
    assert code == 1 and digest["status"] == "FAILED" and str(altered) in digest["facts"]["source"]
    assert not checks(doc, "data:")  # the item's own digest check judges the file


def test_report_sentence_names_the_stray_file_as_no_item(people: dict[str, Path], tmp_path: Path) -> None:
    """The HTML report says the stray file is no item (it said "matches no item" as for an altered copy)."""
    package = _genuine(people, tmp_path)
    court, stray = people["court"], _stray(tmp_path)
    report = tmp_path / "r.html"
    done = run(court, "verify", package, "--data", stray, "--report", report, "--lang", "en")
    assert done.returncode == 3, done.stderr
    html = report.read_text(encoding="utf-8")
    assert "is no item of this deposit and says nothing about it" in html
    assert json.dumps(str(stray))[1:-1] in html or str(stray) in html


def _folder_deposit(people: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    case = tmp_path / "case"
    case.mkdir()
    (case / "contract.txt").write_text("合同 第一条\n", encoding="utf-8")
    (case / "invoice.txt").write_text("发票 001\n", encoding="utf-8")
    package = tmp_path / "folder.evp"
    assert run(people["lawyer"], "deposit", case, "-o", package).returncode == 0
    trust_lawyers_services(people["court"], people["lawyer"])
    return package, case


def test_the_deposited_folder_given_as_data_is_its_items_not_strangers(people: dict[str, Path], tmp_path: Path) -> None:
    """A package holding its originals, checked against the folder they came from: every file there is an item
    (by content). The folder's check was INDETERMINATE, "2 of the 2 files … are no item of this deposit"."""
    package, case = _folder_deposit(people, tmp_path)
    code, doc = verify_json(people["court"], package, "--data", str(case))
    assert code == 0, _not_passed(doc)
    (folder,) = checks(doc, "data:")
    assert folder["status"] == "PASSED" and folder["facts"]["matched"] == 2


def test_a_data_folder_with_an_altered_original_fails_and_one_with_an_extra_file_does_not(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """In a ``--data`` folder, a file under a deposited item's relative name with other bytes is an altered
    copy (FAILED, named); a file no item has by content or name is a stranger (INDETERMINATE, named)."""
    package, case = _folder_deposit(people, tmp_path)
    court = people["court"]
    altered = tmp_path / "copy" / "case"
    shutil.copytree(case, altered)
    (altered / "invoice.txt").write_text("发票 002\n", encoding="utf-8")
    code, doc = verify_json(court, package, "--data", str(altered))
    (folder,) = checks(doc, "data:")
    assert code == 1 and folder["status"] == "FAILED" and folder["reason"] == "DIGEST_MISMATCH"
    assert folder["facts"]["altered"] == ["case/invoice.txt"] and "case/invoice.txt" in folder["detail"]

    extra = tmp_path / "more" / "case"
    shutil.copytree(case, extra)
    (extra / "their-notes.txt").write_text("not deposited\n", encoding="utf-8")
    code, doc = verify_json(court, package, "--data", str(extra))
    (folder,) = checks(doc, "data:")
    assert code == 3 and folder["status"] == "INDETERMINATE" and folder["reason"] == "NOT_COVERED"
    assert folder["facts"]["not_items"] == ["case/their-notes.txt"] and folder["facts"]["matched"] == 2
    text = run(court, "verify", package, "--data", extra)
    assert text.returncode == 3 and "case/their-notes.txt" in text.stdout and "FAILED" not in text.stdout


def test_report_names_the_altered_file_of_a_data_folder(people: dict[str, Path], tmp_path: Path) -> None:
    """The report's sentence for a folder names the folder and the file, not "the given file data:…/"."""
    package, case = _folder_deposit(people, tmp_path)
    altered = tmp_path / "copy" / "case"
    shutil.copytree(case, altered)
    (altered / "invoice.txt").write_text("发票 002\n", encoding="utf-8")
    report = tmp_path / "r.html"
    done = run(people["court"], "verify", package, "--data", altered, "--report", report, "--lang", "en")
    assert done.returncode == 1, done.stderr
    html = report.read_text(encoding="utf-8")
    assert "bear an item&#x27;s name but not its content: case/invoice.txt" in html or (
        "bear an item's name but not its content: case/invoice.txt" in html
    )
