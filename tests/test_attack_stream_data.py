"""``verify --data`` of a ``--hash-only`` deposit of 2,100 files on the streamed path: the other party hands
the court a tampered copy of the originals' folder (a file altered, added, removed, renamed, two files'
contents swapped) or a stray file. Every item is then judged from ``--data`` one by one, as on the plain
path; both paths must say the same. ``openssl dgst -sm3`` says what a PASSED check must report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import CliResult
from tests.streamkit import Base, both, deposit_base


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return deposit_base(tmp_path_factory.mktemp("hashonly"), args=("--hash-only",))


def _folder(base: Base, tmp_path: Path, change: Callable[[Path], None]) -> Path:
    """The other party's copy of the originals (named ``case`` like the deposited folder), changed."""
    copy = tmp_path / "given" / "case"
    shutil.copytree(base.folder, copy)
    change(copy)
    return copy


def _swap(folder: Path) -> None:
    a, b = folder / "d1" / "f00600.txt", folder / "d1" / "f00601.txt"
    data = a.read_bytes()
    a.write_bytes(b.read_bytes())
    b.write_bytes(data)


CHANGES: dict[str, tuple[Callable[[Path], None], str, dict[str, tuple[str, str | None]]]] = {
    "untouched": (lambda f: None, "PASSED", {}),
    "a-file-altered": (
        lambda f: (f / "d1" / "f00600.txt").write_bytes(b"exhibit 6OO\n"),
        "FAILED",
        {"digest:case/d1/f00600.txt": ("FAILED", "DIGEST_MISMATCH")},
    ),
    "a-file-added": (
        lambda f: (f / "d1" / "planted.txt").write_bytes(b"the buyer waived every claim\n"),
        "INDETERMINATE",
        {"data:{folder}/": ("INDETERMINATE", "NOT_COVERED")},
    ),
    "a-file-removed": (
        lambda f: (f / "d1" / "f00600.txt").unlink(),
        "INDETERMINATE",
        {"digest:case/d1/f00600.txt": ("INDETERMINATE", "NOT_GIVEN")},
    ),
    "a-file-renamed": (
        lambda f: (f / "d1" / "f00600.txt").rename(f / "d1" / "renamed.txt"),
        "PASSED",
        {},
    ),
    # Each file under the other's name: offered as that item and not it (tests/test_attack_review_data.py).
    "two-files-contents-swapped": (
        _swap,
        "FAILED",
        {"data:{folder}/": ("FAILED", "DIGEST_MISMATCH")},
    ),
}


@pytest.mark.parametrize("name", list(CHANGES))
def test_tampered_data_folder_gets_the_plain_paths_verdict(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, name: str
) -> None:
    change, verdict, expected = CHANGES[name]
    folder = _folder(base, tmp_path, change)
    res = both(cli, monkeypatch, base.court, base.package, "--data", folder)
    res.same()
    assert res.took_stream
    assert res.verdict == verdict
    checks = res.checks()
    not_passed = {k: (c["status"], c.get("reason")) for k, c in checks.items() if c["status"] != "PASSED"}
    assert not_passed == {k.format(folder=folder): v for k, v in expected.items()}
    # A renamed copy or swapped contents are found by digest: each PASSED check names the file it read,
    # and its SM3 is what openssl computes of that file.
    passed = checks["digest:case/d1/f00600.txt"]
    if passed["status"] == "PASSED":
        source = Path(passed["facts"]["source"].removeprefix("--data "))
        out = subprocess.run(["openssl", "dgst", "-sm3", source], capture_output=True, text=True, check=True)
        assert out.stdout.split()[-1] == passed["facts"]["sm3"]


def test_hash_only_package_without_its_originals_is_indeterminate_alike(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    res = both(cli, monkeypatch, base.court, base.package)
    res.same()
    assert res.took_stream and res.verdict == "INDETERMINATE"
    reasons = {c.get("reason") for c in json.loads(res.plain.out)["checks"] if c["status"] != "PASSED"}
    assert reasons == {"NOT_GIVEN"}


def test_stray_file_given_alone_is_judged_alike(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    stray = tmp_path / "f00600.txt"
    stray.write_bytes(b"exhibit 6OO\n")
    res = both(cli, monkeypatch, base.court, base.package, "--data", base.folder, "--data", stray)
    res.same()
    assert res.took_stream
    # No item has its content or its relative name (an item's last segment is no claim): it says nothing
    # about the deposit, on both paths (docs/security.md §13).
    stray_check = res.checks()[f"data:{stray}"]
    assert (stray_check["status"], stray_check["reason"]) == ("INDETERMINATE", "NOT_COVERED")
