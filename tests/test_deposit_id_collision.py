"""Two deposits that draw one deposit number: the registry writes a deposit's row by upsert, so the second
deposit took over the first one's row (its package path, roots, status) and the first deposit vanished from
``cases``. The random source is forced to repeat itself here; a deposit draws again, a bounded number of
times, then stops with one line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from evidencectl import DepositOptions, Status, deposit, verify
from evidencectl.deposit import statement
from evidencectl.errors import BadInputError, ExitCode
from evidencectl.registry import Registry
from tests.conftest import CliResult


def _random_source(monkeypatch: pytest.MonkeyPatch, values: Iterator[str]) -> None:
    """``secrets.token_hex`` as the deposit number's draw sees it, giving ``values`` in turn."""

    class Repeating:
        @staticmethod
        def token_hex(nbytes: int) -> str:
            assert nbytes == 4
            return next(values)

    monkeypatch.setattr(statement, "secrets", Repeating)


def _exhibits(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("exhibit A\n")
    b.write_text("exhibit B\n")
    return a, b


def test_a_deposit_number_already_in_the_registry_is_drawn_again(
    tmp_path: Path, evidencectl_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _exhibits(tmp_path)
    first = deposit(DepositOptions(inputs=[str(a)], out=tmp_path / "a.evp"))
    taken = first.deposit_id.rsplit("-", 1)[1].lower()
    _random_source(monkeypatch, iter([taken, taken, "0000abcd"]))

    second = deposit(DepositOptions(inputs=[str(b)], out=tmp_path / "b.evp"))
    assert second.deposit_id != first.deposit_id and second.deposit_id.endswith("-0000ABCD")
    registry = Registry.open(evidencectl_home)
    try:
        rows = {r["deposit_id"]: r for r in registry.deposits()}
        assert set(rows) == {first.deposit_id, second.deposit_id}
        assert rows[first.deposit_id]["package"] == str((tmp_path / "a.evp").resolve())
        assert json.loads(rows[first.deposit_id]["roots"]) == first.roots
        assert [i["name"] for i in registry.items(first.deposit_id)] == ["a.txt"]
        assert [i["name"] for i in registry.items(second.deposit_id)] == ["b.txt"]
    finally:
        registry.close()
    assert verify(tmp_path / "a.evp").verdict is Status.PASSED
    assert verify(tmp_path / "b.evp").verdict is Status.PASSED


def test_a_random_source_that_repeats_for_ever_stops_the_deposit_with_one_line(
    tmp_path: Path, evidencectl_home: Path, monkeypatch: pytest.MonkeyPatch, cli: Callable[..., CliResult]
) -> None:
    a, b = _exhibits(tmp_path)
    first = deposit(DepositOptions(inputs=[str(a)], out=tmp_path / "a.evp"))
    taken = first.deposit_id.rsplit("-", 1)[1].lower()
    drawn: list[str] = []

    def draws() -> Iterator[str]:
        while True:
            drawn.append(taken)
            yield taken

    _random_source(monkeypatch, draws())
    with pytest.raises(BadInputError, match="8 deposit numbers drawn in a row are all taken"):
        deposit(DepositOptions(inputs=[str(b)], out=tmp_path / "b.evp"))
    assert len(drawn) == statement.DRAWS and not (tmp_path / "b.evp").exists()

    res = cli("deposit", b, "-o", tmp_path / "b.evp")
    assert res.code == ExitCode.BAD_INPUT and res.err.count("\n") == 1 and "all taken" in res.err
    assert "Traceback" not in res.err and not (tmp_path / "b.evp").exists()
    registry = Registry.open(evidencectl_home)
    try:
        (row,) = registry.deposits()
        assert row["deposit_id"] == first.deposit_id and row["package"] == str((tmp_path / "a.evp").resolve())
    finally:
        registry.close()
