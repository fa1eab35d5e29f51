"""deposit --anchor evm:URL end to end on a real Anvil node: --contract, --online verification."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import test_anchor_evm
from test_anchor_evm import DEV_KEY

from evidencectl.anchor.evm import deploy_registry
from evidencectl.context import Context

# The module-scoped Anvil node of the anchor tests, under the name pytest looks up here.
node = test_anchor_evm.node


def test_deposit_to_a_chain_with_an_explicit_contract(
    cli,
    node: str,
    sample_dir: Path,
    tmp_path: Path,
    evidencectl_home: Path,
    monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]  # noqa: F811
) -> None:
    monkeypatch.setenv("EVIDENCECTL_EVM_KEY", DEV_KEY)
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    address = deploy_registry(node, Context(evidencectl_home))["contract"]
    (evidencectl_home / "chains.json").unlink()  # forget it: only --contract names it now
    out = tmp_path / "chain.evp"
    res = cli("deposit", sample_dir, "-o", out, "--anchor", f"evm:{node}", "--json")
    assert res.code == 2 and "chain deploy" in res.err  # no contract known for this node: say how to get one
    assert not out.exists()
    res = cli(
        "deposit",
        sample_dir,
        "-o",
        tmp_path / "c2.evp",
        "--anchor",
        f"evm:{node}",
        "--anchor",
        "local",
        "--contract",
        address,
        "--json",
    )
    assert res.code == 0, res.err
    doc: dict[str, Any] = json.loads(res.out)
    assert len(doc["anchors"]) == 2
    offline = json.loads(cli("verify", tmp_path / "c2.evp", "--json").out)
    evm = next(c for c in offline["checks"] if c["check"].startswith("anchor:evm"))
    assert evm["status"] == "INDETERMINATE" and evm["facts"]["contract"].lower() == address.lower()
    # The registry is not remembered here: online, nothing is asked until the verifier trusts it.
    res = cli("verify", tmp_path / "c2.evp", "--online", "--json")
    evm = next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("anchor:evm"))
    assert res.code == 3 and evm["reason"] == "NO_TRUST_ANCHOR"
    (evidencectl_home / "config.toml").write_text(
        f'[chain.dev]\nchain_id = 31337\ncontract = "{address}"\n', encoding="utf-8"
    )
    res = cli("verify", tmp_path / "c2.evp", "--online", "--json")
    evm = next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("anchor:evm"))
    assert res.code == 3 and "--rpc" in evm["detail"]  # trusted, but no node of the verifier's own named
    res = cli("verify", tmp_path / "c2.evp", "--online", "--rpc", node, "--json")
    assert res.code == 0, res.out
