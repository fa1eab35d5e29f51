"""The other party posts a forged copy of a large genuine package to the evidence service while the genuine
one is being verified: the service verifies in a thread pool (service/app.py ``run_in_threadpool``), so two
verifications run in one process, each forking its workers.

The workers' job was one module-level dict, replaced in place by each verification: workers forked just
after another thread had registered its job read that other package. The forged copy (one original altered,
same length) then PASSED with the genuine package's digests and roots, on the streamed path and on the
plain path's workers alike; without any help 2 runs of 8 did so on the 2-CPU machine. The interleaving is
made certain here by holding both threads at their pools' fork until both have registered their job (the
real fork, the real workers); one of the two then read the other's package (the forgery PASSED, or the
genuine package FAILED with the forgery's digests).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from evidencectl import verify, workers
from evidencectl.checks import Status
from evidencectl.verify import stream
from tests.streamkit import Base, both, deposit_base, interleaved, unzip_member, with_members

VICTIM = "evidence/case/d2/f01000.txt"


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Base:
    return deposit_base(tmp_path_factory.mktemp("concurrent"))


@pytest.fixture(scope="module")
def forged(base: Base, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The genuine package with one original replaced by other bytes of the same length."""
    genuine = unzip_member(base.package, VICTIM)

    def change(entries: list[Any]) -> None:
        entry = next(e for e in entries if e.name == VICTIM)
        entry.data = b"X" * len(genuine)

    out = with_members(base.package, tmp_path_factory.mktemp("forged") / "forged.evp", change)
    assert unzip_member(out, VICTIM) != genuine and len(unzip_member(out, VICTIM)) == len(genuine)
    return out


@pytest.mark.parametrize("path", ["streamed", "plain"])
def test_forged_copy_verified_beside_its_genuine_package_is_still_failed(
    base: Base, forged: Path, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    if path == "plain":
        monkeypatch.setattr(stream, "MIN_ITEMS", 10**9)  # the plain path, its records checked by workers
    alone = verify(forged, context=base.court)
    assert alone.verdict is Status.FAILED
    forged_report, genuine_report = interleaved(
        monkeypatch,
        lambda: verify(forged, context=base.court),
        lambda: verify(base.package, context=base.court),
    )
    # Before the fix one of the two read the other's package: the forgery PASSED, or the genuine FAILED.
    assert genuine_report.verdict is Status.PASSED
    failed = [c.check for c in forged_report.checks if c.status is Status.FAILED]
    assert failed == ["digest:case/d2/f01000.txt"], failed
    same = lambda r: {k: v for k, v in r.to_json().items() if k != "verified_at"}  # noqa: E731
    assert same(forged_report) == same(alone)


def test_forged_copy_verified_without_worker_processes_is_failed_alike(
    base: Base, forged: Path, cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A one-CPU machine (no workers): the streamed path checks its blocks in this process, from the same
    registered job, and says what the plain path says."""
    monkeypatch.setattr(workers, "worker_count", lambda: 0)
    res = both(cli, monkeypatch, base.court, forged)
    res.same()
    assert res.took_stream
    failed = [c for c, v in res.checks().items() if v["status"] == "FAILED"]
    assert failed == ["digest:case/d2/f01000.txt"]
