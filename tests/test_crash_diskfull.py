"""A full disk under the output: the deposit fails with one line (exit 4) and leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evidencectl.registry import Registry
from tests.conftest import CliResult


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs (mounting needs root, or CAP_SYS_ADMIN in a container)."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a 2 MiB tmpfs here ({res.stderr.strip() or 'mount failed'}): needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


@pytest.mark.parametrize("size", [5 << 20, 1_900_000, 1 << 20])
def test_deposit_on_a_full_disk(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path, full_disk: Path, size: int
) -> None:
    exhibit = tmp_path / "exhibit.bin"
    exhibit.write_bytes(os.urandom(size))
    out = full_disk / "case.evp"
    res = cli("deposit", exhibit, "-o", out)
    if size > 2 << 20:
        assert res.code == 4, res.out + res.err  # cannot fit: a clean failure is the only acceptable outcome
    if res.code == 0:
        assert cli("verify", out).code == 0  # it did fit: then it is whole
        return
    assert res.code == 4, res.out + res.err
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and str(out) in lines[0] and "No space left on device" in lines[0], res.err
    assert "unexpected" not in lines[0] and str(exhibit) not in lines[0]  # names the output, not the input
    assert list(full_disk.iterdir()) == []  # no package, no staging file
    registry = Registry.open(evidencectl_home)
    assert registry.deposits() == []  # nothing recorded either
    registry.close()
    assert cli("log", "--verify").code == 0
