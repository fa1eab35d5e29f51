"""The collector paused during a verification (evidencectl/gcpause.py) changes nothing a verification says."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path

import pytest

from evidencectl import DepositOptions, deposit, gcpause, verify
from evidencectl import workers as workers_module
from evidencectl.errors import MalformedPackageError
from evidencectl.verify import verifier


def _package(tmp_path: Path, altered: bool = False) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:03}.txt").write_text(f"exhibit {i}\n")
    (folder / "mail.eml").write_bytes(b"From: a@example.com\r\nSubject: x\r\n\r\nbody\r\n")
    out = tmp_path / "p.evp"
    deposit(DepositOptions(inputs=[str(folder)], out=out))
    if altered:
        data = bytearray(out.read_bytes())
        at = data.index(b"exhibit 7\n")
        data[at] = ord("E")
        out.write_bytes(bytes(data))
    return out


def _said(package: Path) -> dict:
    report = verify(package).to_json()
    report.pop("verified_at")
    return report


@pytest.mark.parametrize("altered", [False, True], ids=["intact", "altered-original"])
def test_a_verification_with_the_collector_running_says_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, altered: bool
) -> None:
    package = _package(tmp_path, altered)
    monkeypatch.setattr(workers_module, "worker_count", lambda: 0)
    paused = _said(package)
    monkeypatch.setattr(verifier, "paused_collector", contextlib.nullcontext)
    plain = _said(package)
    assert paused == plain
    assert paused["verdict"] == ("FAILED" if altered else "PASSED")


def test_the_collector_is_paused_while_verifying_and_running_again_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = _package(tmp_path)
    seen: list[bool] = []
    real = verifier._verify_package

    def spy(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(verifier, "_verify_package", spy)
    assert gc.isenabled()
    verify(package)
    assert seen == [False] and gc.isenabled()


def test_a_package_that_cannot_be_read_leaves_the_collector_running(tmp_path: Path) -> None:
    bad = tmp_path / "bad.evp"
    bad.write_bytes(b"PK\x03\x04 not a package")
    with pytest.raises(MalformedPackageError):
        verify(bad)
    assert gc.isenabled()


def test_a_collector_already_paused_by_the_caller_stays_paused() -> None:
    gc.disable()
    try:
        with gcpause.paused_collector():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
