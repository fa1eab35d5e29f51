"""Packages of exactly 2,047, 2,048 and 2,049 items: the streamed verifier starts at 2,048
(``stream.MIN_ITEMS``), counting the records by the ``},{"digests":`` between them, before any record is
parsed. Genuine, with one original altered, and with a record holding that marker (so that 2,047 records
count as 2,048): the streamed path answers exactly when it should, and says what the plain path says.
``openssl dgst -sm3`` and ``sha256sum`` of the altered member say what its digest check must report.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidencectl.package.canonical import canonical_json
from evidencectl.verify import stream
from tests.conftest import CliResult
from tests.streamkit import Base, both, deposit_base, unzip_member, with_manifest, with_members


@pytest.fixture(scope="module", params=[2047, 2048, 2049])
def sized(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Base:
    return deposit_base(tmp_path_factory.mktemp(f"n{request.param}"), request.param)


def _count(base: Base) -> int:
    return len(json.loads(base.manifest())["items"])


def test_genuine_package_takes_the_streamed_path_from_2048_items_and_passes_alike(
    sized: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch
) -> None:
    res = both(cli, monkeypatch, sized.court, sized.package)
    res.same()
    assert res.plain.code == 0
    assert res.took_stream is (_count(sized) >= stream.MIN_ITEMS == 2048)


def _hex(cmd: list[str], data: bytes) -> str:
    """The 64 hex digits a digest tool prints for ``data`` on its standard input."""
    out = subprocess.run(cmd, input=data, capture_output=True, check=True).stdout.decode()
    return next(word for word in out.split() if len(word) == 64)


def test_altered_original_at_the_threshold_fails_with_the_digests_standard_tools_compute(
    sized: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    item = json.loads(sized.manifest())["items"][2046]  # the last item of the smallest package

    def change(entries: list[Any]) -> None:
        entry = next(e for e in entries if e.name == item["path"])
        entry.data = entry.data.replace(b"exhibit", b"EXHIBIT")

    package = with_members(sized.package, tmp_path / "altered.evp", change)
    res = both(cli, monkeypatch, sized.court, package)
    res.same()
    assert res.took_stream is (_count(sized) >= 2048)
    failed = [c for c in json.loads(res.plain.out)["checks"] if c["status"] == "FAILED"]
    assert [c["check"] for c in failed] == [f"digest:{item['name']}"]
    altered = unzip_member(package, item["path"])
    assert failed[0]["facts"]["sm3"] == _hex(["openssl", "dgst", "-sm3"], altered)
    assert failed[0]["facts"]["sha256"] == _hex(["sha256sum"], altered)
    assert failed[0]["facts"]["expected"]["sha256"] == item["digests"]["sha256"]


def test_record_holding_the_record_marker_is_counted_once_more_and_judged_by_the_plain_path(
    sized: Base, cli: Callable[..., CliResult], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``"a":[{},{"digests":1}]`` in a record's metadata: the scanner counts one record more (2,047 records
    reach the threshold), the blocks do not come out, the plain path judges (the record altered: FAILED)."""
    raw = sized.manifest()
    record = canonical_json(json.loads(raw)["items"][100])
    edited = raw.replace(record, record.replace(b'"metadata":{', b'"metadata":{"a":[{},{"digests":1}],', 1))
    from evidencectl.verify.stream import split

    found = split(edited)
    assert found is not None and len(found[1]) - 1 == _count(sized) + 1
    res = both(cli, monkeypatch, sized.court, with_manifest(sized.package, edited, tmp_path / "marker.evp"))
    res.same()
    assert not res.took_stream
    failed = [c["check"] for c in json.loads(res.plain.out)["checks"] if c["status"] == "FAILED"]
    assert failed == ["inclusion:tree"]
