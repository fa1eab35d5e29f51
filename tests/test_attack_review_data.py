"""The other party's review of ``verify --data`` matching files to items by content and by name (§13). A file
under a deposited item's name is offered as that item: with another item's bytes (two originals' contents
swapped) it is not that original, whatever other item it equals, so a court must see FAILED, not PASSED.
Three data directories (lawyer, other party, court); the court trusts the lawyer's embedded services, so the
genuine package PASSES there. ``sha256sum`` says what each file given holds."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from test_independent_time import checks, people, run, trust_lawyers_services, verify_json

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")
__all__ = ["people"]  # fixture

CONTRACT, INVOICE = "合同 第一条\n", "发票 001\n"


def _sha256(path: Path) -> str:
    return subprocess.run(["sha256sum", str(path)], capture_output=True, text=True, check=True).stdout.split()[0]


def _case(tmp_path: Path) -> Path:
    case = tmp_path / "case"
    case.mkdir()
    (case / "contract.txt").write_text(CONTRACT, encoding="utf-8")
    (case / "invoice.txt").write_text(INVOICE, encoding="utf-8")
    return case


def _deposit(people: dict[str, Path], tmp_path: Path, *inputs: Path, hash_only: bool = False) -> Path:
    package = tmp_path / f"p{len(list(tmp_path.glob('p*.evp')))}.evp"
    extra = ["--hash-only"] if hash_only else []
    done = run(people["lawyer"], "deposit", *inputs, "-o", package, *extra)
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(people["court"], people["lawyer"])
    return package


def _swapped(case: Path, where: Path) -> Path:
    """The other party's copy of the case folder with the two originals' contents swapped, names kept."""
    copy = where / "case"
    copy.mkdir(parents=True)
    shutil.copy(case / "invoice.txt", copy / "contract.txt")
    shutil.copy(case / "contract.txt", copy / "invoice.txt")
    assert _sha256(copy / "contract.txt") == _sha256(case / "invoice.txt")
    return copy


def _failed(doc: dict) -> list[dict]:
    return [c for c in doc["checks"] if c["status"] == "FAILED"]


@pytest.mark.parametrize("hash_only", [False, True], ids=["stored", "hash-only"])
def test_two_originals_with_their_contents_swapped_in_the_data_folder_fail(
    people: dict[str, Path], tmp_path: Path, hash_only: bool
) -> None:
    """``case/contract.txt`` given with the invoice's bytes and ``case/invoice.txt`` with the contract's: each
    is another item by content, so both were "matched" and the folder PASSED (exit 0). Each file under an
    item's name that is not that item's content is FAILED, named in ``altered``."""
    case = _case(tmp_path)
    package = _deposit(people, tmp_path, case, hash_only=hash_only)
    court = people["court"]
    assert verify_json(court, package, "--data", str(case))[0] == 0
    swapped = _swapped(case, tmp_path / "other")
    code, doc = verify_json(court, package, "--data", str(swapped))
    assert code == 1 and doc["verdict"] == "FAILED"
    (folder,) = checks(doc, "data:")
    assert folder["status"] == "FAILED" and folder["reason"] == "DIGEST_MISMATCH"
    assert sorted(folder["facts"]["altered"]) == ["case/contract.txt", "case/invoice.txt"]
    assert [c["check"] for c in _failed(doc)] == [f"data:{swapped}/"]


def test_a_file_given_alone_under_one_items_name_with_anothers_bytes_fails(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """Two files deposited alone (items ``contract.txt``, ``invoice.txt``); ``--data copy/contract.txt``
    holding the invoice's bytes was PASSED "is item invoice.txt". It is offered as the contract and is not it."""
    case = _case(tmp_path)
    package = _deposit(people, tmp_path, case / "contract.txt", case / "invoice.txt")
    given = tmp_path / "copy" / "contract.txt"
    given.parent.mkdir()
    shutil.copy(case / "invoice.txt", given)
    code, doc = verify_json(people["court"], package, "--data", str(given))
    assert code == 1
    (bad,) = _failed(doc)
    assert bad["check"] == f"data:{given}" and bad["reason"] == "DIGEST_MISMATCH"
    assert bad["facts"]["items"] == ["contract.txt"] and "in the place of item contract.txt" in bad["detail"]
    assert bad["facts"]["sha256"] == _sha256(given)


def test_a_renamed_copy_under_no_items_name_still_passes(people: dict[str, Path], tmp_path: Path) -> None:
    """What the fix must keep: a copy of an original under a name no item has is that item (by content)."""
    case = _case(tmp_path)
    package = _deposit(people, tmp_path, case / "contract.txt", case / "invoice.txt")
    given = tmp_path / "copy" / "the-contract-scan.txt"
    given.parent.mkdir()
    shutil.copy(case / "contract.txt", given)
    code, doc = verify_json(people["court"], package, "--data", str(given))
    assert code == 0, _failed(doc)
    (ok,) = checks(doc, "data:")
    assert ok["status"] == "PASSED" and ok["facts"]["items"] == ["contract.txt"]


def test_two_items_of_equal_bytes_given_under_either_name_pass(people: dict[str, Path], tmp_path: Path) -> None:
    """Two items with the same content: a file under either name has that item's content, so it PASSES."""
    case = _case(tmp_path)
    (case / "invoice.txt").write_text(CONTRACT, encoding="utf-8")
    package = _deposit(people, tmp_path, case)
    code, doc = verify_json(people["court"], package, "--data", str(case))
    assert code == 0, _failed(doc)


def test_hash_only_altered_original_beside_a_genuine_copy_under_another_name_still_fails(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """The other party alters ``case/invoice.txt`` in its copy of a hash-only deposit's folder and puts the
    genuine bytes beside it as ``case/invoice-copy.txt``: the item's digest check takes the genuine copy
    (PASSED), so only the folder's check can tell; it must be FAILED naming the altered file, never only
    INDETERMINATE."""
    case = _case(tmp_path)
    package = _deposit(people, tmp_path, case, hash_only=True)
    copy = tmp_path / "other" / "case"
    shutil.copytree(case, copy)
    shutil.copy(case / "invoice.txt", copy / "invoice-copy.txt")
    (copy / "invoice.txt").write_text("发票 002\n", encoding="utf-8")
    code, doc = verify_json(people["court"], package, "--data", str(copy))
    assert code == 1 and doc["verdict"] == "FAILED"
    (folder,) = checks(doc, "data:")
    assert folder["status"] == "FAILED" and folder["facts"]["altered"] == ["case/invoice.txt"]
    (digest,) = checks(doc, "digest:case/invoice.txt")
    assert digest["status"] == "PASSED" and "invoice-copy.txt" in digest["facts"]["source"]


def test_hash_only_altered_original_renamed_away_is_not_given_never_passed(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """The altered invoice renamed to ``case/invoice-v2.txt`` (no item's name or bytes), the original not
    given: nothing can be decided of the invoice (INDETERMINATE ``NOT_GIVEN``), the renamed file is a stranger
    (``NOT_COVERED``); never PASSED. A digest check needs the original, which the other party withholds."""
    case = _case(tmp_path)
    package = _deposit(people, tmp_path, case, hash_only=True)
    copy = tmp_path / "other" / "case"
    copy.mkdir(parents=True)
    shutil.copy(case / "contract.txt", copy / "contract.txt")
    (copy / "invoice-v2.txt").write_text("发票 002\n", encoding="utf-8")
    code, doc = verify_json(people["court"], package, "--data", str(copy))
    assert code == 3 and doc["verdict"] == "INDETERMINATE"
    (digest,) = checks(doc, "digest:case/invoice.txt")
    assert digest["status"] == "INDETERMINATE" and digest["reason"] == "NOT_GIVEN"
    (folder,) = checks(doc, "data:")
    assert folder["reason"] == "NOT_COVERED" and folder["facts"]["not_items"] == ["case/invoice-v2.txt"]
