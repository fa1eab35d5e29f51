"""The warm-up a deposit does while its workers hash changes nothing a deposit writes."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from evidencectl import Context
from evidencectl import workers as workers_module
from evidencectl.deposit import pipeline, warmup


def test_warming_up_never_creates_an_embedded_tsa(tmp_path: Path) -> None:
    """Creating the TSA's keys is the deposit's own job (never two threads at once): an empty data
    directory stays empty."""
    warmup.preload_services(Context(tmp_path), ["local"])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("warm", [True, False], ids=["warmed-up", "not-warmed-up"])
def test_a_deposit_writes_the_same_members_warmed_up_or_not(
    cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warm: bool
) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(600):  # above intake.MIN_FILES: the workers run, and the warm-up with them
        (folder / f"{i:03}.txt").write_text(f"exhibit {i}\n")
    monkeypatch.setattr(workers_module, "worker_count", lambda: 2)
    if not warm:
        monkeypatch.setattr(pipeline, "preload_services", lambda base, tsas, warmed, anchors: None)
    out = tmp_path / "p.evp"
    assert cli("deposit", folder, "-o", out).code == 0
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
    assert names[:2] == ["mimetype", "evidence/in/000.txt"] and len(manifest["items"]) == 600
    assert {n for n in names if n.startswith("proofs/")} == {
        "proofs/timestamps/local.sm3.tsr",
        "proofs/timestamps/local.sha256.tsr",
        "proofs/anchors/local.json",
    }
    assert cli("verify", out).code == 0
