"""A package whose statement counts another number of items than it holds contradicts itself.

The statement's ``item_count`` is sealed with it (leaf 0 of both trees), yet neither verify path compared it
with the package: a depositor who seals a count of their own choosing (its own deposit run with the count
changed, re-timestamped by its own embedded TSA and anchored in its own ledger, everything consistent but
the count) published a package that PASSED while its statement says 2,101 items or 2,099 and it holds
2,100. Now ``statement:item-count`` is FAILED with reason ``COUNT_MISMATCH`` on both paths alike (the
streamed one from 2,048 items, the plain one forced by tests/streamkit.py ``both()``), and it is the only
check that fails. The other party's edit of a genuine package's count fails the tree too (the statement is
no longer the sealed leaf), and the count check says why as well.

What the manifest says is read by ``unzip -p`` and ``jq``, not by evidencectl.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evidencectl import Context, DepositOptions, deposit
from evidencectl.deposit import pipeline
from tests.conftest import CliResult
from tests.streamkit import both, make_files, run, unzip_member, with_manifest

LARGE, SMALL = 2100, 3


def _jq(package: Path) -> list[int]:
    """``[item_count, tree_size - 1, number of item records]`` as jq reads the extracted manifest."""
    query = "[.statement.item_count, .tree_size - 1, (.items | length)]"
    raw = unzip_member(package, "manifest.json")
    done = subprocess.run(["jq", "-c", query], input=raw, capture_output=True, check=True)
    counts: list[int] = json.loads(done.stdout)
    return counts


@pytest.fixture(scope="module")
def homes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    """The depositor's data directory (its embedded TSA and ledger made by a first deposit) and a court's
    that trusts both."""
    work = tmp_path_factory.mktemp("count")
    depositor, court = work / "depositor", work / "court"
    (work / "first.txt").write_bytes(b"first\n")
    assert run(depositor, "deposit", work / "first.txt", "-o", work / "first.evp").returncode == 0
    assert run(court, "trust", "add", depositor / "tsa" / "ecdsa-p256" / "root.pem", "--as", "tsa").returncode == 0
    (ledger,) = (depositor / "trust" / "ledger").glob("*.pem")
    assert run(court, "trust", "add", ledger, "--as", "ledger").returncode == 0
    yield {"work": work, "depositor": depositor, "court": court}


def _crafted(homes: dict[str, Path], files: int, off_by: int, name: str) -> Path:
    """A deposit of ``files`` files made by the depositor's own evidencectl, its statement counting
    ``files + off_by`` items: sealed, timestamped and anchored as that statement says."""
    folder = homes["work"] / name / "case"
    make_files(folder, files)
    real = pipeline.build_statement

    def lying(*args: Any, **kwargs: Any) -> dict[str, Any]:
        statement: dict[str, Any] = real(*args, **kwargs)
        statement["item_count"] += off_by
        return statement

    out = homes["work"] / f"{name}.evp"
    with pytest.MonkeyPatch.context() as m:
        m.setattr(pipeline, "build_statement", lying)
        result = deposit(DepositOptions(inputs=[str(folder)], out=out), Context(homes["depositor"]))
    assert result.status == "complete" and result.items == files
    assert _jq(out) == [files + off_by, files, files]
    return out


@pytest.mark.parametrize(
    ("files", "off_by"), [(LARGE, 1), (LARGE, -1), (SMALL, -1), (SMALL, 5)], ids=["2100+1", "2100-1", "3-1", "3+5"]
)
def test_statement_counting_other_items_than_the_package_holds_is_failed_alike(
    homes: dict[str, Path],
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    files: int,
    off_by: int,
) -> None:
    package = _crafted(homes, files, off_by, f"crafted-{files}-{off_by}")
    res = both(cli, monkeypatch, homes["court"], package)
    res.same()
    assert res.took_stream is (files >= 2048)
    assert res.verdict == "FAILED"
    failed = {n: c for n, c in res.checks().items() if c["status"] != "PASSED"}
    assert list(failed) == ["statement:item-count"], {n: c["detail"] for n, c in failed.items()}
    check = failed["statement:item-count"]
    assert check["status"] == "FAILED" and check["reason"] == "COUNT_MISMATCH"
    assert check["facts"] == {"item_count": files + off_by, "tree_size": files + 1, "records": files}
    # The rest holds: the tree, every original, the depositor's own timestamp and anchor.
    passed = res.checks()
    assert passed["inclusion:tree"]["status"] == "PASSED"
    assert sum(1 for n in passed if n.startswith("digest:")) == files


def test_other_partys_edited_count_fails_the_tree_and_the_count(
    homes: dict[str, Path], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A genuine package's count edited afterwards: the statement is not the sealed leaf (``inclusion:tree``)
    and contradicts the package (``statement:item-count``)."""
    genuine = _crafted(homes, LARGE, 0, "genuine")
    res = both(cli, monkeypatch, homes["court"], genuine)
    res.same()
    assert res.verdict == "PASSED" and "statement:item-count" not in res.checks()
    raw = unzip_member(genuine, "manifest.json")
    edited = raw.replace(b'"item_count":2100', b'"item_count":2099')
    assert edited.count(b'"item_count":2099') == 1
    package = with_manifest(genuine, edited, homes["work"] / "edited.evp")
    assert _jq(package) == [LARGE - 1, LARGE, LARGE]
    res = both(cli, monkeypatch, homes["court"], package)
    res.same()
    assert res.took_stream
    failed = {n: c.get("reason") for n, c in res.checks().items() if c["status"] == "FAILED"}
    assert failed == {"inclusion:tree": None, "statement:item-count": "COUNT_MISMATCH"}, failed


@pytest.mark.parametrize("off_by", [0, -1])
def test_disclosure_of_a_package_counting_other_items_than_its_tree_is_failed(
    homes: dict[str, Path], cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, off_by: int
) -> None:
    """A disclosure (``extract``) holds only some records: its count is compared with its tree's size, which
    the inclusion proofs are checked against. The genuine count: no such check; the depositor's own: FAILED."""
    package = _crafted(homes, SMALL, off_by, f"disclosed-{off_by}")
    out = homes["work"] / f"disclosure-{off_by}.evp"
    done = run(homes["depositor"], "extract", package, "--item", "case/d0/f00001.txt", "-o", out)
    assert done.returncode == 0, done.stderr
    assert _jq(out) == [SMALL + off_by, SMALL, 1]
    res = both(cli, monkeypatch, homes["court"], out)
    res.same()
    failed = {n: c.get("reason") for n, c in res.checks().items() if c["status"] != "PASSED"}
    assert failed == ({} if off_by == 0 else {"statement:item-count": "COUNT_MISMATCH"}), failed
    assert res.checks()["inclusion:case/d0/f00001.txt"]["status"] == "PASSED"
