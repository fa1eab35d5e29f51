"""``inspect --json`` lists every member of the package, as ZIP tools the project did not write list them:
a member that no item lists (a forged ``report.pdf``) is shown, with ``covered_by: nothing``."""

from __future__ import annotations

import json
import re
import subprocess
import zlib
from pathlib import Path

from evidencectl.package.schema import validate
from tests.zipattacks import Entry, Layout, build, entries_of


def _listing(package: Path) -> dict[str, list[str]]:
    """Member names in archive order by unzip (central directory) and bsdtar (streaming the local headers)."""
    unzip = subprocess.run(["unzip", "-Z1", str(package)], check=True, capture_output=True, text=True).stdout
    bsdtar = subprocess.run(["bsdtar", "-tf", str(package)], check=True, capture_output=True, text=True).stdout
    return {"unzip": unzip.splitlines(), "bsdtar": bsdtar.splitlines()}


def _sizes(package: Path) -> dict[str, tuple[int, int, str]]:
    """name -> (size, compressed size, method) as ``unzip -Zl`` prints them."""
    text = subprocess.run(["unzip", "-Zl", str(package)], check=True, capture_output=True, text=True).stdout
    row = re.compile(r"^-\S+\s+\S+\s+\S+\s+(\d+)\s+\S+\s+(\d+)\s+(\S+)\s+\S+\s+\S+\s(.+)$")
    return {m[4]: (int(m[1]), int(m[2]), m[3]) for line in text.splitlines() if (m := row.match(line))}


def test_inspect_json_lists_every_member_as_unzip_and_bsdtar_do(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    genuine = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", genuine, "--note", "n").code == 0
    # A member that nothing covers: verify refuses it, inspect must still show it.
    entries = entries_of(genuine)
    forged_report = b"%PDF-1.4 forged verification report: PASSED\n"
    entries.append(Entry("report.pdf", forged_report))
    package = tmp_path / "with-report.evp"
    package.write_bytes(build(Layout(entries=entries)))
    for path, extra in ((genuine, set()), (package, {"report.pdf"})):
        res = cli("inspect", path, "--json")
        assert res.code == 0, res.err
        doc = json.loads(res.out)
        assert validate(doc, "inspect") is None
        members = doc["members"]
        names = [m["name"] for m in members]
        listing = _listing(path)
        assert names == listing["unzip"] == listing["bsdtar"]
        assert extra <= set(names)
        sizes = _sizes(path)
        assert {m["name"]: (m["size"], m["compressed_size"], m["method"][:4]) for m in members} == sizes
        by_name = {m["name"]: m for m in members}
        for item in doc["items"]:
            assert by_name[item["path"]]["covered_by"] == "item" and by_name[item["path"]]["item"] == item["id"]
        assert by_name["manifest.json"]["covered_by"] == "roots"
        assert by_name["mimetype"]["covered_by"] == "format"
        assert {m["covered_by"] for m in members if m["name"].startswith("proofs/timestamps/")} == {"timestamp"}
        data = {e.name: e.data for e in entries_of(path)}
        assert all(m["crc32"] == f"{zlib.crc32(data[m['name']]):08x}" for m in members)
    assert by_name["report.pdf"]["covered_by"] == "nothing"
    assert cli("verify", package).code == 1  # NOT_COVERED: what inspect calls "nothing", verify refuses
