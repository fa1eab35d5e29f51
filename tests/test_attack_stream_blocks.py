"""Records at the streamed verifier's block boundary: it checks the leaves in blocks of 4,096 (leaf 0 the
statement, so items 0 … 4,094 in the first block and 4,095 … in the next), each block parsed on its own.

A genuine deposit of 4,200 files and two mails whose items straddle the boundary: a mail with six parts
(items 4,087 … 4,093) and a DKIM-signed mail (item 4,094, the last of the first block) whose body part is
item 4,095 (the first of the next). The signed mail's file name holds a quote, a backslash, the text
``\\u0041``, ``},{"digests":`` and ``}],"private":``: in the manifest those are escaped in its record and
its part's. Then the other party's edits at the boundary, and packages of exactly one full block (4,095
items) and of one block and one leaf (4,096 items). Each is verified by the court on both paths.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidencectl.package.canonical import canonical_json
from evidencectl.package.manifest import STORED_BLOCK
from tests.conftest import ASSETS, CliResult
from tests.streamkit import (
    Base,
    both,
    deposit_base,
    members,
    oracle_manifest,
    unzip_member,
    with_manifest,
    with_members,
)

MAILS = ASSETS / "email"
SIGNED_NAME = 'f04086b q"\\ \\u0041 },{"digests": }],"private":.eml'
LAST_OF_FIRST = STORED_BLOCK - 2
"""Item index of the last record in the first block (leaf 4,095)."""


def _mails(folder: Path) -> None:
    shutil.copy(MAILS / "multipart_attachments.eml", folder / "d8" / "f04086a.eml")
    shutil.copy(MAILS / "dkimpy_gmail_dkim_2013.eml", folder / "d8" / SIGNED_NAME)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    made = deposit_base(tmp_path_factory.mktemp("blocks"), 4200, _mails, ("--dkim-keys", MAILS / "dkim_keys.zone"))
    items = json.loads(made.manifest())["items"]
    # The layout the attacks below rely on, read from the deposit itself.
    assert items[LAST_OF_FIRST]["name"] == f"case/d8/{SIGNED_NAME}"
    assert items[LAST_OF_FIRST + 1]["parent"] == LAST_OF_FIRST + 1  # its body, the first of the next block
    assert items[4087]["name"] == "case/d8/f04086a.eml" and items[4093]["parent"] is not None
    return made


def _changed(base: Base, tmp_path: Path, member: str) -> Path:
    """The package with one byte of ``member`` changed (the byte in the middle)."""

    def change(entries: list[Any]) -> None:
        entry = next(e for e in entries if e.name == member)
        data = bytearray(entry.data)
        data[len(data) // 2] ^= 0x01
        entry.data = bytes(data)

    return with_members(base.package, tmp_path / "changed.evp", change)


def _failed(res: Any) -> dict[str, str | None]:
    return {c["check"]: c.get("reason") for c in json.loads(res.plain.out)["checks"] if c["status"] == "FAILED"}


def test_genuine_package_with_escaped_names_and_mails_across_the_boundary_passes_on_both_paths(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    res = both(cli, monkeypatch, base.court, base.package)
    res.same()
    assert res.took_stream and res.plain.code == 0
    checks = res.checks()
    assert checks[f"dkim:case/d8/{SIGNED_NAME}"]["status"] == "PASSED"  # re-checked from a record of block 0
    assert checks[f"digest:case/d8/{SIGNED_NAME}/body-1.txt"]["status"] == "PASSED"
    # jq reads the names exactly as the files were named; bsdtar lists the members the records name.
    said = oracle_manifest(base.package)
    assert isinstance(said, dict)
    assert said["items"][LAST_OF_FIRST]["name"] == f"case/d8/{SIGNED_NAME}"
    listed = set(members(base.package))
    assert {i["path"] for i in said["items"]} <= listed
    assert (
        unzip_member(base.package, said["items"][LAST_OF_FIRST]["path"])
        == (MAILS / "dkimpy_gmail_dkim_2013.eml").read_bytes()
    )


@pytest.mark.parametrize(
    "index",
    [LAST_OF_FIRST, LAST_OF_FIRST + 1, 4090],
    ids=["signed-mail-last-of-block", "its-body-first-of-next-block", "attachment-in-first-block"],
)
def test_tampered_mail_or_part_across_the_boundary_fails_alike(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path, index: int
) -> None:
    item = json.loads(base.manifest())["items"][index]
    res = both(cli, monkeypatch, base.court, _changed(base, tmp_path, item["path"]))
    res.same()
    assert res.took_stream
    failed = _failed(res)
    assert failed.pop(f"digest:{item['name']}") == "DIGEST_MISMATCH"
    if index == LAST_OF_FIRST:  # the signed message itself: the DKIM re-check sees the change too
        assert failed.pop(f"dkim:{item['name']}") == "SIGNATURE"
    assert not failed


def _edit_record(base: Base, tmp_path: Path, change: Callable[[list[bytes]], bytes]) -> Path:
    raw = base.manifest()
    items = json.loads(raw)["items"]
    records = [canonical_json(items[i]) for i in (LAST_OF_FIRST, LAST_OF_FIRST + 1)]
    pair = records[0] + b"," + records[1]
    assert raw.count(pair) == 1
    return with_manifest(base.package, raw.replace(pair, change(records)), tmp_path / "edited.evp")


FALSE_START = b'"metadata":{"a":[{},{"digests":1}],'


@pytest.mark.parametrize(
    ("change", "verdict", "stream"),
    [
        (lambda r: r[0].replace(b'"metadata":{', FALSE_START, 1) + b"," + r[1], "FAILED", False),
        (lambda r: r[0] + b"," + r[1].replace(b'"metadata":{', FALSE_START, 1), "FAILED", False),
        (lambda r: r[1] + b"," + r[0], "FAILED", True),
        (lambda r: r[0] + b", " + r[1], "refused", False),
        (lambda r: r[0] + b"," + r[1].replace(b'"kind":"body"', b'"kind": "body"'), "refused", False),
        (lambda r: r[0][:-1] + b',"size":0}' + b"," + r[1], "refused", False),
    ],
    ids=[
        "record-start-in-the-last-record-of-a-block",
        "record-start-in-the-first-record-of-a-block",
        "records-swapped-across-the-boundary",
        "space-at-the-boundary",
        "space-in-the-first-record-of-a-block",
        "duplicate-size-in-the-last-record-of-a-block",
    ],
)
def test_edit_at_the_block_boundary_gets_the_plain_paths_verdict(
    base: Base,
    cli: Callable[..., CliResult],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    change: Callable[[list[bytes]], bytes],
    verdict: str,
    stream: bool,
) -> None:
    res = both(cli, monkeypatch, base.court, _edit_record(base, tmp_path, change))
    res.same()
    assert res.verdict == verdict
    assert res.took_stream is stream
    if verdict == "FAILED":
        assert "inclusion:tree" in _failed(res)


@pytest.fixture(scope="module", params=[STORED_BLOCK - 1, STORED_BLOCK], ids=["one-full-block", "block-and-one"])
def exact(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Base:
    """A deposit of 4,095 files (the statement and its items fill one block exactly) or 4,096 (the last
    record alone in the second block)."""
    return deposit_base(tmp_path_factory.mktemp("exact"), request.param)


def test_package_filling_a_block_exactly_passes_and_its_last_original_altered_fails(
    exact: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    res = both(cli, monkeypatch, exact.court, exact.package)
    res.same()
    assert res.took_stream and res.plain.code == 0
    last = json.loads(exact.manifest())["items"][-1]
    res = both(cli, monkeypatch, exact.court, _changed(exact, tmp_path, last["path"]))
    res.same()
    assert res.took_stream
    assert _failed(res) == {f"digest:{last['name']}": "DIGEST_MISMATCH"}


def test_json_written_check_by_check_is_what_json_dumps_writes_of_the_report(
    base: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Both paths write ``--json`` with the same streaming writer (verify/compact.py), so comparing them
    says nothing of the writer: here its characters are held against Python's own encoder of the library's
    report, for names with quotes, backslashes and braces, passed and failed."""
    import re

    from evidencectl import verify

    items = json.loads(base.manifest())["items"]
    package = _changed(base, tmp_path, items[LAST_OF_FIRST + 1]["path"])
    monkeypatch.setenv("EVIDENCECTL_HOME", str(base.court))
    written = cli("verify", package, "--json")
    report = verify(package, context=base.court)
    assert report.verdict.value == "FAILED"
    expected = json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n"
    blank = lambda text: re.sub(r'"verified_at": "[^"]*"', "", text)  # noqa: E731
    assert blank(written.out) == blank(expected)
