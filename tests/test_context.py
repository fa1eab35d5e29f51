"""The data directory as one ``Context``: ``config.toml`` read once per command, and every file of the data
directory where it always was (the named places of ``context.py`` are the layout, written once)."""

from __future__ import annotations

import builtins
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import CliResult

from evidencectl.context import Context

CONFIG = """\
[verify]
require_independent = false

[report]
issuer = "重庆市渝中区人民法院"
"""


@pytest.fixture
def config_reads(evidencectl_home: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The function that read ``<home>/config.toml``, for every read of it (Path.read_text, read_bytes, open,
    or open())."""
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    target = (evidencectl_home / "config.toml").resolve()
    target.write_text(CONFIG, encoding="utf-8")
    reads: list[str] = []
    inside: list[str] = []  # read_text opens the file through Path.open: one read, counted once

    def counted(original: Callable[..., Any], name: str) -> Callable[..., Any]:
        def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
            if not inside and Path(self).resolve() == target:
                reads.append(sys._getframe(1).f_code.co_name)
            inside.append(name)
            try:
                return original(self, *args, **kwargs)
            finally:
                inside.pop()

        return wrapper

    for name in ("read_text", "read_bytes", "open"):
        monkeypatch.setattr(Path, name, counted(getattr(Path, name), name))
    real_open = builtins.open

    def counted_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if not inside and isinstance(file, (str, Path)) and Path(file).resolve() == target:
            reads.append(sys._getframe(1).f_code.co_name)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counted_open)
    return reads


@pytest.fixture
def package(cli: Callable[..., CliResult], tmp_path: Path) -> Path:
    """Two deposits of this data directory (``cases`` then has one row per deposit to give a time to)."""
    (tmp_path / "contract.txt").write_text("借款合同 2026", encoding="utf-8")
    for name in ("first.evp", "second.evp"):
        assert cli("deposit", tmp_path / "contract.txt", "-o", tmp_path / name, "--case", "c-1").code == 0
    return tmp_path / "first.evp"


@pytest.mark.parametrize(
    "command",
    [
        ["deposit", "{dir}/contract.txt", "-o", "{dir}/third.evp"],
        ["deposit", "--resume"],
        ["verify", "{pkg}", "--report", "{dir}/v.html"],
        ["report", "{pkg}", "-o", "{dir}/c.html", "--force"],
        ["cases", "--json"],
        ["inspect", "{pkg}"],
        ["log", "--verify", "--against", "{pkg}"],
        ["config", "show", "--json"],
    ],
    ids=lambda c: " ".join(a for a in c if "{" not in a),
)
def test_each_command_reads_config_toml_once(
    command: list[str], package: Path, config_reads: list[str], cli: Callable[..., CliResult]
) -> None:
    # Before the Context reached every reader, `verify` and `report` read it again for the custody event and
    # the report settings, and `cases` once more for every row it gave a proven time. The language of the
    # messages is chosen at start-up, before any command is parsed (i18n: `[cli] lang`), from its own read.
    args = [a.format(dir=package.parent, pkg=package) for a in command]
    result = cli(*args)
    assert result.code in (0, 3), result.err  # 3: the embedded TSA alone is no independent time
    assert config_reads == ["_from_config", "load_config"], f"{' '.join(command[:2])}: {config_reads}"


def test_the_data_directory_keeps_its_layout(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # The named places are the layout: a deposit, a key and a report seal leave their files exactly where
    # earlier versions put them, so an existing data directory keeps working.
    home = Context.default().base
    (tmp_path / "a.txt").write_text("evidence", encoding="utf-8")
    assert cli("deposit", tmp_path / "a.txt", "-o", tmp_path / "a.evp").code == 0
    assert cli("keys", "generate", "--name", "li", "--unencrypted").code == 0
    assert cli("report", tmp_path / "a.evp", "-o", tmp_path / "a.pdf", "--sign", "--force").code == 0
    for place in (
        "registry.sqlite",
        "installation-id",
        "ledger/ledger.sqlite",
        "ledger/node-key.pem",
        "tsa/ecdsa-p256/chain.pem",
        "keys/li.key.pem",
        "keys/li.cert.pem",
        "report/seal-key.pem",
    ):
        assert (home / place).is_file(), place
    assert list((home / "trust" / "tsa").glob("own-*.pem")) and list((home / "trust" / "ledger").glob("ledger-node-*"))
    assert list((home / "trust" / "signer").glob("own-*.pem"))
    ctx = Context(home)
    assert (ctx.registry_path, ctx.ledger_db, ctx.keys_dir, ctx.tsa_dir) == (
        home / "registry.sqlite",
        home / "ledger" / "ledger.sqlite",
        home / "keys",
        home / "tsa",
    )
