"""The examples a pipeline copies work as documented: the batch script and its exit codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, EVIDENCECTL_HOME=str(home))
    exe = shutil.which("evidencectl") or ""
    env["EVIDENCECTL"] = exe if exe else f"{sys.executable} -m evidencectl"
    return env


def test_batch_script_deposits_artifacts_and_verifies(tmp_path: Path, evidencectl_home: Path) -> None:
    artifacts = tmp_path / "dist"
    (artifacts / "sub").mkdir(parents=True)
    for i in range(25):
        (artifacts / ("sub" if i % 2 else "") / f"artifact-{i}.bin").write_bytes(os.urandom(100 + i))
    out = tmp_path / "build.evp"
    res = subprocess.run(
        ["bash", str(EXAMPLES / "batch-deposit.sh"), str(artifacts), str(out), "v1.2.3"],
        capture_output=True,
        text=True,
        env=_env(evidencectl_home),
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert "25 artifact(s)" in res.stdout and "verification PASSED" in res.stdout
    manifest = json.loads(
        subprocess.run(
            [*_env(evidencectl_home)["EVIDENCECTL"].split(), "inspect", str(out), "--json"],
            capture_output=True,
            text=True,
            env=_env(evidencectl_home),
            check=True,
        ).stdout
    )
    assert manifest["statement"]["case"] == "v1.2.3" and len(manifest["items"]) == 25


def test_batch_script_reports_bad_input_with_exit_4(tmp_path: Path, evidencectl_home: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    res = subprocess.run(
        ["bash", str(EXAMPLES / "batch-deposit.sh"), str(empty), str(tmp_path / "x.evp")],
        capture_output=True,
        text=True,
        env=_env(evidencectl_home),
        check=False,
    )
    assert res.returncode == 4
    assert "deposit failed with exit 4" in res.stderr
    assert not (tmp_path / "x.evp").exists()


def test_library_example_deposits_and_verifies_through_the_public_face(tmp_path: Path, evidencectl_home: Path) -> None:
    """examples/library.py (docs/library.md) deposits a folder and verifies it with ``from evidencectl import …``;
    a folder that does not exist is refused with the library error's exit code (4)."""
    folder = tmp_path / "exhibits"
    folder.mkdir()
    for i in range(3):
        (folder / f"photo-{i}.bin").write_bytes(os.urandom(200))
    out = tmp_path / "lib.evp"
    example = [sys.executable, str(EXAMPLES / "library.py")]
    res = subprocess.run([*example, str(folder), str(out), "（2026）渝0103民初1234号"], **_run(evidencectl_home))
    assert res.returncode == 0, res.stderr
    assert "3 item(s)" in res.stdout and "verification PASSED" in res.stdout and out.is_file()
    res = subprocess.run([*example, str(tmp_path / "missing"), str(tmp_path / "x.evp")], **_run(evidencectl_home))
    assert res.returncode == 4 and "deposit refused" in res.stderr


def _run(home: Path) -> dict[str, object]:
    return {"capture_output": True, "text": True, "env": _env(home), "check": False}
