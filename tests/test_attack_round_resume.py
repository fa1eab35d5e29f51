"""Attacks on ``deposit --resume``: a staging file edited, replaced or listed anew while its deposit is pending.

The deposit is pending on a TSA that is down (exit 5); the attacker edits the staging file; the TSA comes
back (the real embedded TSA served over HTTP) and ``deposit --resume`` runs. What resume publishes as
complete must be what was hashed: otherwise a court receives a package that FAILED, with the registry
saying it was deposited complete.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from evidencectl.registry import Registry
from tests.conftest import CliResult
from tests.test_outage_services import _free_port, tsa_server  # noqa: F401 - the fixture

EXHIBIT = b"the buyer pays 100 yuan\n"


def _pending(cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[dict, int]:
    port = _free_port()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "contract.txt").write_bytes(EXHIBIT)
    res = cli("deposit", "contract.txt", "-o", "c.evp", "--tsa", f"http://127.0.0.1:{port}", "--json")
    assert res.code == 5, res.err
    return json.loads(res.out), port


def _still_pending(home: Path, deposit_id: str) -> None:
    registry = Registry.open(home)
    try:
        assert [r["deposit_id"] for r in registry.deposits("pending")] == [deposit_id]
    finally:
        registry.close()


def test_resume_refuses_a_staging_file_whose_original_was_edited_under_an_intact_manifest(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811 - the fixture imported above
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The original inside the staging file is edited in place (same length, manifest untouched): resume
    published it as complete and every verifier then said FAILED. It is now refused before anything is
    timestamped or published, and the deposit stays pending."""
    doc, port = _pending(cli, tmp_path, monkeypatch)
    staging = Path(doc["staging"])
    data = staging.read_bytes()
    assert data.count(EXHIBIT) == 1
    staging.write_bytes(data.replace(EXHIBIT, b"the buyer pays 900 yuan\n"))
    tsa_server(port)
    res = cli("deposit", "--resume", "--json")
    assert res.code == 5
    assert "was changed" in res.err and "evidence/contract.txt" in res.err and "Traceback" not in res.err
    assert not (tmp_path / "c.evp").exists()
    _still_pending(evidencectl_home, doc["deposit_id"])


def test_resume_refuses_a_staging_file_rebuilt_with_another_original_of_the_same_size(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The staging file is rewritten by a ZIP tool with a correct CRC for the new bytes (Python's zipfile,
    stored members, same order): still refused, because the bytes are not those the records hash."""
    doc, port = _pending(cli, tmp_path, monkeypatch)
    staging = Path(doc["staging"])
    rebuilt = tmp_path / "rebuilt.zip"
    with zipfile.ZipFile(staging) as zin, zipfile.ZipFile(rebuilt, "w") as zout:
        for info in zin.infolist():
            body = zin.read(info)
            zout.writestr(info, b"the buyer pays 900 yuan\n" if info.filename == "evidence/contract.txt" else body)
    staging.write_bytes(rebuilt.read_bytes())
    tsa_server(port)
    res = cli("deposit", "--resume", "--json")
    assert res.code == 5 and "was changed" in res.err
    assert not (tmp_path / "c.evp").exists()
    _still_pending(evidencectl_home, doc["deposit_id"])


def test_resume_of_an_untouched_staging_file_still_publishes_a_package_that_passes(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The guard against edited originals does not refuse the genuine case."""
    doc, port = _pending(cli, tmp_path, monkeypatch)
    tsa_server(port)
    res = cli("deposit", "--resume", "--json")
    assert res.code == 0, res.err
    assert cli("verify", tmp_path / "c.evp").code == 0
    assert zipfile.ZipFile(tmp_path / "c.evp").read("evidence/contract.txt") == EXHIBIT


@pytest.mark.parametrize(
    "pending",
    [
        "{}",
        "not json",
        '{"retry": [{"kind": "tsa"}], "quorum": 1, "tsas_ok": 0, "force": false, "out": "x.evp", "labels": []}',
        '{"retry": [], "quorum": "x", "tsas_ok": 0, "force": false, "out": "x.evp", "labels": []}',
        None,
    ],
    ids=["empty", "not-json", "retry-without-spec", "quorum-not-a-number", "null"],
)
def test_resume_with_an_edited_registry_record_names_it_and_still_resumes_the_others(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    pending: str | None,
) -> None:
    """The pending record of one deposit is edited in the registry: resume stopped at it with "unexpected
    KeyError … rerun with --debug" and resumed nothing else. Now that deposit is named in one line (exit 5)
    and the other pending deposit is published."""
    import sqlite3

    port = _free_port()
    monkeypatch.chdir(tmp_path)
    ids = []
    for name in ("first", "second"):
        (tmp_path / f"{name}.txt").write_text(f"{name} exhibit\n")
        res = cli("deposit", f"{name}.txt", "-o", f"{name}.evp", "--tsa", f"http://127.0.0.1:{port}", "--json")
        assert res.code == 5
        ids.append(json.loads(res.out)["deposit_id"])
    db = sqlite3.connect(evidencectl_home / "registry.sqlite")
    db.execute("UPDATE deposits SET pending = ? WHERE deposit_id = ?", (pending, ids[0]))
    db.commit()
    db.close()
    tsa_server(port)
    res = cli("deposit", "--resume")
    assert res.code == 5
    assert "unexpected" not in res.err and "Traceback" not in res.err
    assert ids[0] in res.err and "registry record is malformed" in res.err
    assert (tmp_path / "second.evp").is_file() and not (tmp_path / "first.evp").exists()
    assert cli("verify", tmp_path / "second.evp").code == 0


def test_resume_while_another_resume_of_the_deposit_runs_leaves_it_alone(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two ``deposit --resume`` at once both copied the staging file and renamed their copy over it (one
    even removed the other's copy in progress as "left by a killed resume"): the package published could be
    the other's half-written file. A resume now holds the deposit's lock: while another process holds it
    (played here by taking the lock file), the deposit is named and left alone; once free it is resumed."""
    import fcntl
    import hashlib
    import os

    doc, port = _pending(cli, tmp_path, monkeypatch)
    tsa_server(port)
    name = hashlib.sha256(doc["deposit_id"].encode()).hexdigest()[:32]
    (evidencectl_home / "resume-locks").mkdir(exist_ok=True)
    fd = os.open(evidencectl_home / "resume-locks" / f"{name}.lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        res = cli("deposit", "--resume")
        assert res.code == 5 and "another deposit --resume is finishing it" in res.err
        assert not (tmp_path / "c.evp").exists() and Path(doc["staging"]).exists()
        _still_pending(evidencectl_home, doc["deposit_id"])
    finally:
        os.close(fd)
    assert cli("deposit", "--resume").code == 0
    assert cli("verify", tmp_path / "c.evp").code == 0


def test_four_resumes_at_once_publish_one_package_that_passes(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Four processes resume at once: one package, which verifies; the registry says complete; no staging or
    ``.resume`` file is left; every process ends 0 or 5, none with a traceback."""
    import os
    import subprocess
    import sys

    doc, port = _pending(cli, tmp_path, monkeypatch)
    tsa_server(port)
    env = {**os.environ, "EVIDENCECTL_HOME": str(evidencectl_home)}
    cmd = [sys.executable, "-m", "evidencectl", "deposit", "--resume"]
    procs = [subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(4)]
    done = [(p.wait(timeout=120), p.stderr.read().decode() if p.stderr else "") for p in procs]
    assert all(code in (0, 5) and "Traceback" not in err for code, err in done), done
    assert cli("verify", tmp_path / "c.evp").code == 0
    left = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".c.evp"))
    assert left == []
    registry = Registry.open(evidencectl_home)
    try:
        assert not registry.deposits("pending")
    finally:
        registry.close()
