"""examples/verify_by_hand.py (standard library only) agrees with evidencectl on packages evidencectl writes."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import rewrite_member

SCRIPT = Path(__file__).parent.parent / "examples" / "verify_by_hand.py"
ASSETS_MAIL = Path(__file__).parent / "assets" / "email" / "multipart_attachments.eml"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, check=False)


def test_every_item_checks_out_by_hand(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (sample_dir / "中文 名称 — long name with spaces.txt").write_text("混合 Chinese/English 名字\n", encoding="utf-8")
    out = tmp_path / "p.evp"
    assert (
        cli("deposit", sample_dir, "-o", out, "--case", "（2026）渝0103民初1234号", "--note", '引号"与\\反斜杠').code
        == 0
    )
    manifest = json.loads(zipfile.ZipFile(out).read("manifest.json"))
    assert len(manifest["items"]) == 5
    for item in manifest["items"]:
        res = _run(out, item["name"])
        assert res.returncode == 0, res.stdout + res.stderr
        assert res.stdout.count(" ok") == 4
        assert manifest["roots"]["sm3"] in res.stdout


def test_by_hand_detects_altered_original_and_altered_statement(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", out, "--hash-only", "--case", "A-1").code == 0
    original = sample_dir / "contract.txt"
    assert _run(out, "evidence/contract.txt", original).returncode == 0
    altered = tmp_path / "altered.txt"
    altered.write_bytes(original.read_bytes() + b" ")
    res = _run(out, "evidence/contract.txt", altered)
    assert res.returncode == 1 and "content MISMATCH" in res.stdout

    def other_case(data: bytes) -> bytes:  # re-serialised, not canonical: the script must not care
        m = json.loads(data)
        m["statement"]["case"] = "A-2"
        return json.dumps(m, ensure_ascii=False).encode()

    forged = rewrite_member(out, tmp_path / "forged.evp", "manifest.json", other_case)
    res = _run(forged, "evidence/contract.txt", original)
    assert res.returncode == 1 and "MISMATCH" in res.stdout


def test_by_hand_on_a_disclosure_package(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, one = tmp_path / "p.evp", tmp_path / "one.evp"
    assert cli("deposit", sample_dir, "-o", out).code == 0
    assert cli("extract", out, "--item", "evidence/contract.txt", "-o", one).code == 0
    res = _run(one, "evidence/contract.txt")
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count(" ok") == 4


def test_manifest_json_is_canonical(cli, sample_dir: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from evidencectl.package.canonical import canonical_json

    out = tmp_path / "p.evp"
    assert (
        cli("deposit", sample_dir, ASSETS_MAIL, "-o", out, "--case", "（2026）渝0103民初1234号", "--offline").code == 0
    )
    raw = zipfile.ZipFile(out).read("manifest.json")
    assert canonical_json(json.loads(raw)) == raw
