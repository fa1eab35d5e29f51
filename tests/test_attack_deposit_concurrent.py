"""Two library deposits of thousands of small files run at once in one process, as the evidence service's
thread pool runs them (service/deposits.py over the public ``deposit()``): each must publish its own files.

The deposit's workers read one module-level job (evidencectl/intake.py), which each deposit replaced in
place, and the deposit process took every member back from that job's shared buffer: a deposit whose
workers were forked after the other had registered its job hashed and stored into the other's buffer, and
read its members back from the other's. Without any help 7 runs of 8 published packages that ``verify``
refused ("local header disagrees with the central directory (CRC)"). Here both threads are held at their
pools' fork until both have registered their job (the real fork, the real workers), as two requests
arriving together may do. The folders hold the same names with other bytes of the same length: a mix could
not be told by a name or a size.

What each package holds is read by standard tools: ``bsdtar`` extracts it, ``sha256sum`` hashes what came
out and the source folder, ``unzip -tq`` tests every member's CRC; the court verifies each package in its
own data directory.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidencectl import Context, DepositOptions, deposit, verify
from evidencectl.checks import Status
from tests.streamkit import interleaved, make_files, run

FILES = 3000
MARKS = (b"ALPHA", b"BRAVO")
"""What every file of each deposit holds, so that one deposit's bytes in the other's package are seen."""


def _content(mark: bytes) -> Callable[[int], bytes]:
    return lambda i: mark + b"-exhibit-%05d-" % i + bytes([65 + i % 26]) * (300 + i % 200) + b"\n"


def _sums(folder: Path) -> str:
    """``sha256sum`` of every file under ``folder``, by relative name, sorted."""
    cmd = "find . -type f -print0 | sort -z | xargs -0 sha256sum"
    return subprocess.run(cmd, shell=True, cwd=folder, capture_output=True, text=True, check=True).stdout


def _set_up(home: Path, work: Path) -> None:
    """A data directory that has deposited before (its embedded TSA and ledger made), as a service's is."""
    (work / "first.txt").write_bytes(b"first\n")
    done = run(home, "deposit", work / "first.txt", "-o", work / f"first-{home.name}.evp")
    assert done.returncode == 0, done.stderr


def _trust(court: Path, home: Path) -> None:
    assert run(court, "trust", "add", home / "tsa" / "ecdsa-p256" / "root.pem", "--as", "tsa").returncode == 0
    (ledger,) = (home / "trust" / "ledger").glob("*.pem")
    assert run(court, "trust", "add", ledger, "--as", "ledger").returncode == 0


@pytest.mark.parametrize("homes", ["same-data-directory", "different-data-directories"])
def test_two_deposits_at_once_in_one_process_each_publish_their_own_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, homes: str
) -> None:
    folders = [tmp_path / name / "case" for name in ("a", "b")]
    for folder, mark in zip(folders, MARKS, strict=True):
        make_files(folder, FILES, _content(mark))
    assert sorted(p.relative_to(folders[0]) for p in folders[0].rglob("*")) == sorted(
        p.relative_to(folders[1]) for p in folders[1].rglob("*")
    )
    dirs = [tmp_path / "home-a", tmp_path / "home-a" if homes == "same-data-directory" else tmp_path / "home-b"]
    court = tmp_path / "court"
    for home in dict.fromkeys(dirs):
        _set_up(home, tmp_path)
        _trust(court, home)
    packages = [tmp_path / "a.evp", tmp_path / "b.evp"]

    def job(n: int) -> Callable[[], Any]:
        opts = DepositOptions(inputs=[str(folders[n])], out=packages[n], case="(2026)渝0103民初1234号")
        return lambda: deposit(opts, Context(dirs[n]))

    results = interleaved(monkeypatch, job(0), job(1))
    monkeypatch.undo()  # the court verifies as it would, not at the held fork
    for n, result in enumerate(results):
        assert not isinstance(result, BaseException), (n, repr(result))
        assert result.status == "complete" and result.items == FILES
    for n, package in enumerate(packages):
        tested = subprocess.run(["unzip", "-tq", package], capture_output=True, text=True, check=False)
        assert tested.returncode == 0, tested.stdout[-2000:]
        out = tmp_path / f"out-{n}"
        out.mkdir()
        subprocess.run(["bsdtar", "-xf", package, "-C", out], check=True)
        assert _sums(out / "evidence" / "case") == _sums(folders[n])
        raw = package.read_bytes()
        assert raw.count(MARKS[n]) >= FILES
        assert MARKS[1 - n] not in raw  # not one byte string of the other deposit's files
        report = verify(package, context=Context(court))
        failed = [(c.check, c.reason, c.detail) for c in report.checks if c.status is not Status.PASSED]
        assert report.verdict is Status.PASSED, failed[:5]
