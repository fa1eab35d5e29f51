"""Anchoring on a real Ethereum node (Anvil from npm): deploy, anchor, verify online, tampering, reorganisation."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from evidencectl.anchor import anchor_from_spec, verify_receipt
from evidencectl.anchor.evm import EvmAnchor, deploy_registry
from evidencectl.checks import Status
from evidencectl.cli.chain_cmd import app as chain_app
from evidencectl.context import Context
from evidencectl.crypto.trust import TrustStore
from evidencectl.errors import ServiceError, UsageError

ANVIL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "anvil"
# Anvil's first development account (public test mnemonic); it holds test ether on a fresh node only.
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
ROOTS = {"sha256": "cd" * 32, "sm3": "ab" * 32}


def _rpc(url: str, method: str, *params: Any) -> Any:
    reply = requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=5)
    return reply.json()["result"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def node() -> Iterator[str]:
    """A fresh Anvil node on a free loopback port for this module."""
    if not ANVIL.exists():
        pytest.skip("node_modules/.bin/anvil is absent: run `npm ci` to install the test Ethereum node")
    port = _free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            _rpc(url, "eth_chainId")
            break
        except requests.RequestException:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("anvil did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(tmp_path))
    monkeypatch.setenv("EVIDENCECTL_EVM_KEY", DEV_KEY)
    return tmp_path


@pytest.fixture()
def anchored(node: str, home: Path) -> dict[str, Any]:
    deploy_registry(node, Context(home))
    return EvmAnchor(node, ctx=Context(home)).anchor("case-9", ROOTS)


def _verify(receipt: dict[str, Any], home: Path, online: bool = True, **kw: Any) -> Any:
    return verify_receipt(
        receipt,
        deposit_id=receipt["deposit_id"],
        roots=receipt["roots"],
        trust=TrustStore.for_verification(home),
        online=online,
        **kw,
    )


def test_deploy_command_remembers_the_contract(node: str, home: Path) -> None:
    result = CliRunner().invoke(chain_app, ["deploy", "--rpc", node, "--json"])
    assert result.exit_code == 0, result.output
    address = json.loads(result.stdout)["contract"]
    assert json.loads((home / "chains.json").read_text())[node]["contract"] == address
    assert len(_rpc(node, "eth_getCode", address, "latest")) > 100
    anchor = anchor_from_spec(f"evm:{node}", home)
    assert isinstance(anchor, EvmAnchor) and anchor.contract == address and anchor.name == f"evm:{node}"


def test_anchor_then_verify_online_and_offline(anchored: dict[str, Any], home: Path, node: str) -> None:
    assert anchored["type"] == "evm" and anchored["chain_id"] == 31337
    online = _verify(anchored, home)
    assert online.status is Status.PASSED, online.detail
    assert online.facts["tx_hash"] == anchored["tx_hash"] and online.facts["confirmations_now"] >= 1
    offline = _verify(anchored, home, online=False)
    assert offline.status is Status.INDETERMINATE
    assert anchored["tx_hash"] in (offline.reproduce or "") and offline.facts["block_hash"] == anchored["block_hash"]
    # The node itself agrees, asked without web3: the tx is in the block the receipt names.
    tx = _rpc(node, "eth_getTransactionReceipt", anchored["tx_hash"])
    assert (int(tx["blockNumber"], 16), tx["blockHash"]) == (anchored["block_number"], anchored["block_hash"])


@pytest.mark.parametrize(
    "change",
    [
        {"tx_hash": "0x" + "12" * 32},
        {"block_hash": "0x" + "34" * 32},
        {"time": "2001-01-01T00:00:00Z"},
        {"log_index": 1},
        {"sender": "0x" + "22" * 20},
    ],
)
def test_altered_receipt_fails_online(anchored: dict[str, Any], home: Path, change: dict[str, Any]) -> None:
    result = _verify({**anchored, **change}, home)
    assert result.status is Status.FAILED, result.detail


@pytest.mark.parametrize("change", [{"chain_id": 1}, {"contract": "0x" + "11" * 20}])
def test_receipt_naming_an_untrusted_chain_or_registry_is_not_asked(
    anchored: dict[str, Any], home: Path, change: dict[str, Any]
) -> None:
    # Only registries the verifier trusts are checked; another chain id or contract is not theirs.
    result = _verify({**anchored, **change}, home)
    assert result.status is Status.INDETERMINATE and result.reason == "NO_TRUST_ANCHOR", result.detail


def test_node_of_another_chain_is_no_answer(anchored: dict[str, Any], home: Path, node: str) -> None:
    (home / "config.toml").write_text(
        f'[chain.main]\nchain_id = 1\ncontract = "{anchored["contract"]}"\nrpc = "{node}"\n', encoding="utf-8"
    )
    result = _verify({**anchored, "chain_id": 1}, home)
    assert result.status is Status.INDETERMINATE and "serves chain 31337" in result.detail, result.detail


def test_altered_block_number_or_roots_fail_online(anchored: dict[str, Any], home: Path, node: str) -> None:
    _rpc(node, "anvil_mine", "0x2")  # so that a neighbouring block exists
    for number in (anchored["block_number"] - 1, anchored["block_number"] + 1):
        assert _verify({**anchored, "block_number": number}, home).status is Status.FAILED
    for alg in ("sm3", "sha256"):
        forged = {**anchored, "roots": {**ROOTS, alg: "ef" * 32}}
        result = _verify(forged, home)
        assert result.status is Status.FAILED and "other roots" in result.detail
    assert _verify({**anchored, "deposit_id": "case-10"}, home).status is Status.FAILED


def test_reorganised_block_is_detected(node: str, home: Path) -> None:
    deploy_registry(node, Context(home))
    snapshot = _rpc(node, "evm_snapshot")
    receipt = EvmAnchor(node, ctx=Context(home)).anchor("case-reorg", ROOTS)
    assert _verify(receipt, home).status is Status.PASSED
    assert _rpc(node, "evm_revert", snapshot) is True
    _rpc(node, "anvil_mine", "0x3")  # the other branch grows past the anchored height
    result = _verify(receipt, home)
    assert result.status is Status.FAILED, result.detail


def test_confirmations_are_required(anchored: dict[str, Any], home: Path, node: str) -> None:
    wanting = {**anchored, "confirmations": 50}
    result = _verify(wanting, home)
    assert result.status is Status.INDETERMINATE and "confirmations" in result.detail
    _rpc(node, "anvil_mine", "0x32")
    assert _verify(wanting, home).status is Status.PASSED


def test_node_down_or_not_configured(anchored: dict[str, Any], home: Path, node: str, monkeypatch: Any) -> None:
    dead = f"http://127.0.0.1:{_free_port()}"
    result = _verify(anchored, home, rpc_url=dead)
    assert result.status is Status.INDETERMINATE and "unreachable" in result.detail
    with pytest.raises(ServiceError):
        EvmAnchor(dead, contract=anchored["contract"], ctx=Context(home)).anchor("case-x", ROOTS)
    with pytest.raises(UsageError):
        EvmAnchor(dead, ctx=Context(home))  # no contract known for that URL
    monkeypatch.delenv("EVIDENCECTL_EVM_KEY")
    with pytest.raises(UsageError):
        EvmAnchor(node, ctx=Context(home)).anchor("case-x", ROOTS)


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: {k: v for k, v in r.items() if k != "tx_hash"},
        lambda r: {**r, "block_number": "12"},
        lambda r: {**r, "block_hash": "0x12"},
        lambda r: {**r, "contract": 5},
        lambda r: {**r, "confirmations": -1},
        lambda r: {**r, "confirmations": 0},
        lambda r: {**r, "note": "an unchecked field"},
        lambda r: {**r, "version": 2},
        lambda r: {k: v for k, v in r.items() if k != "sender"},
        lambda r: {**r, "sender": "0x12"},
        lambda r: {**r, "time": r["time"].replace("Z", "+00:00")},
        lambda r: {**r, "rpc_url": "ftp://node"},
    ],
)
def test_malformed_evm_receipt_fails(anchored: dict[str, Any], home: Path, mangle: Any) -> None:
    result = _verify(mangle(anchored), home, online=False)
    assert result.status is Status.FAILED and result.detail.startswith("malformed")


def test_addresses_must_keep_their_checksum_spelling_online(anchored: dict[str, Any], home: Path) -> None:
    # EIP-55 spells the checksum in the letter case: another case is another text, not the receipt made.
    assert anchored["contract"] != anchored["contract"].lower()
    result = _verify({**anchored, "contract": anchored["contract"].lower()}, home)
    assert result.status is Status.FAILED and "checksum" in result.detail
    result = _verify({**anchored, "sender": anchored["sender"].lower()}, home)
    assert result.status is Status.FAILED and "sent by" in result.detail
