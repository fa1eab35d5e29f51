"""Which files a deposit takes: its own output and staging files never, a file named twice once, and
eight deposits racing for one output leave one package and nothing pending."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from evidencectl.registry import Registry
from tests.conftest import CliResult


def _items(cli: Callable[..., CliResult], package: Path) -> list[str]:
    return [i["name"] for i in json.loads(cli("inspect", package, "--json").out)["items"]]


def test_the_output_and_its_staging_files_are_not_deposited(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """``deposit case1 -o case1/inside.evp --force``: the package being replaced and a stale staging file of
    the same output are passed over, with a warning each; the evidence itself is deposited."""
    monkeypatch.chdir(tmp_path)
    case = tmp_path / "case1"
    case.mkdir()
    (case / "contract.pdf").write_bytes(b"%PDF-1.4 contract")
    assert cli("deposit", "case1", "-o", "case1/inside.evp").code == 0
    (case / ".inside.evp.deadbeef.partial").write_bytes(b"left by a killed deposit")
    res = cli("deposit", "case1", "-o", "case1/inside.evp", "--force", "--json")
    assert res.code == 0, res.err
    assert _items(cli, case / "inside.evp") == ["case1/contract.pdf"]
    assert sum("the package being written" in w for w in json.loads(res.out)["warnings"]) == 2
    assert cli("verify", case / "inside.evp").code == 0


def test_the_same_file_named_twice_is_deposited_once(
    cli: Callable[..., CliResult], tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("the exhibit\n")
    (tmp_path / "in" / "b.txt").write_text("another exhibit\n")
    res = cli("deposit", "in/a.txt", "./in/a.txt", "in", "-o", "d.evp", "--json")
    assert res.code == 0, res.err
    assert _items(cli, tmp_path / "d.evp") == ["a.txt", "in/b.txt"]
    warnings = json.loads(res.out)["warnings"]
    assert sum("deposited once" in w for w in warnings) == 2


def test_eight_deposits_racing_for_one_output_leave_one_package_and_nothing_pending(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path
) -> None:
    """One wins; the others exit 2 (the output exists) and are recorded abandoned, not pending: no
    ``deposit --resume`` is left that could never finish."""
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text("x" * 5000)
    assert cli("tsa", "cert").code == 0
    env = dict(os.environ, EVIDENCECTL_HOME=str(evidencectl_home))
    out = tmp_path / "out.evp"
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "evidencectl", "deposit", str(tmp_path / "in"), "-o", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(8)
    ]
    codes = sorted(p.wait(timeout=120) for p in procs)
    for p in procs:
        assert p.stderr is not None
        p.stderr.close()
    assert codes == [0] + [2] * 7
    registry = Registry.open(evidencectl_home)
    try:
        statuses = [r["status"] for r in registry.deposits()]
        assert statuses.count("complete") == 1 and "pending" not in statuses
    finally:
        registry.close()
    assert cli("deposit", "--resume").code == 0
    assert cli("verify", out).code == 0 and cli("log", "--verify").code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["home", "in", "out.evp"]
