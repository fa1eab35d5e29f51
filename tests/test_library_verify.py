"""The public ``verify()`` decides as ``evidencectl verify`` does: the same trust, the same configuration."""

from __future__ import annotations

import os
from pathlib import Path

from evidencectl import Context, DepositOptions, Status, deposit, verify


def test_a_court_that_requires_independent_time_gets_it_from_the_library_too(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    """``[verify] require_independent = true``: time resting only on the embedded TSA and ledger is
    INDETERMINATE, for a script calling ``verify()`` as for the command line."""
    (tmp_path / "a.txt").write_text("exhibit\n")
    package = tmp_path / "a.evp"
    deposit(DepositOptions(inputs=[str(tmp_path / "a.txt")], out=package))
    home = Path(os.environ["EVIDENCECTL_HOME"])
    assert verify(package).verdict is Status.PASSED
    (home / "config.toml").write_text("[verify]\nrequire_independent = true\n", encoding="utf-8")
    assert verify(package, context=Context(home)).verdict is Status.INDETERMINATE
    assert cli("verify", package).code == 3
    assert verify(package, require_independent=False).verdict is Status.PASSED


def test_the_cli_report_refuses_what_verify_finds_indeterminate(tmp_path: Path, cli) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a.txt").write_text("exhibit\n")
    package = tmp_path / "a.evp"
    deposit(DepositOptions(inputs=[str(tmp_path / "a.txt")], out=package))
    (Path(os.environ["EVIDENCECTL_HOME"]) / "config.toml").write_text("[verify]\nrequire_independent = true\n")
    assert cli("verify", package).code == 3
    assert cli("report", package, "-o", tmp_path / "c.html").code == 3
    assert not (tmp_path / "c.html").exists()
