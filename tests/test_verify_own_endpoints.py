"""Online checks ask only the verifier's own endpoints; report trusts what verify trusts.

A lying JSON-RPC node on loopback, named inside the package, must never receive a request; the genuine
path runs against a real Anvil node (the module-scoped node of test_anchor_evm).
"""

from __future__ import annotations

import json
import sys
import threading
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import test_anchor_evm
from test_anchor_evm import DEV_KEY
from test_timestamp_http import start

from evidencectl.anchor.evm import deploy_registry
from evidencectl.context import Context
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.server import make_app

node = test_anchor_evm.node


class LyingNode:
    """A JSON-RPC endpoint that agrees with everything; it counts every request it receives."""

    def __init__(self) -> None:
        self.requests = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                owner.requests += 1
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                reply = json.dumps({"jsonrpc": "2.0", "id": body.get("id", 1), "result": "0x7a69"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture()
def liar() -> Iterator[LyingNode]:
    lying = LyingNode()
    yield lying
    lying.server.shutdown()


def _rewrite_receipt(src: Path, dst: Path, change: dict[str, Any]) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.startswith("proofs/anchors/") and json.loads(data).get("type") == "evm":
                data = json.dumps({**json.loads(data), **change}).encode()
            zout.writestr(info, data)
    return dst


def _evm(res: Any) -> dict[str, Any]:
    return next(c for c in json.loads(res.out)["checks"] if c["check"].startswith("anchor:evm"))


@pytest.fixture()
def chain_package(cli: Any, node: str, sample_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package anchored on Anvil by the depositor's installation; the court then verifies in its own."""
    monkeypatch.setenv("EVIDENCECTL_EVM_KEY", DEV_KEY)
    depositor = tmp_path / "depositor"
    monkeypatch.setenv("EVIDENCECTL_HOME", str(depositor))
    depositor.mkdir()
    address = deploy_registry(node, Context(depositor))["contract"]
    out = tmp_path / "chain.evp"
    assert cli("deposit", sample_dir, "-o", out, "--anchor", f"evm:{node}").code == 0
    court = tmp_path / "court"
    court.mkdir()
    (court / "config.toml").write_text(f'[chain.dev]\nchain_id = 31337\ncontract = "{address}"\n', encoding="utf-8")
    monkeypatch.setenv("EVIDENCECTL_HOME", str(court))
    return out


def test_lying_node_named_by_the_package_is_never_contacted(
    cli: Any, chain_package: Path, node: str, liar: LyingNode, tmp_path: Path
) -> None:
    change = {"rpc_url": liar.url, "tx_hash": "0x" + "ab" * 32}
    forged = _rewrite_receipt(chain_package, tmp_path / "forged.evp", change)
    res = cli("verify", forged, "--online", "--json")
    assert liar.requests == 0
    evm = _evm(res)
    assert evm["status"] == "INDETERMINATE" and "--rpc" in evm["detail"]
    assert evm["facts"]["receipt_rpc_url"] == liar.url  # shown, never asked
    res = cli("verify", forged, "--online", "--rpc", node, "--json")
    assert _evm(res)["status"] == "FAILED" and "not on the chain" in _evm(res)["detail"]
    # The genuine package passes through the verifier's own node; the liar heard nothing throughout.
    renamed = _rewrite_receipt(chain_package, tmp_path / "renamed.evp", {"rpc_url": liar.url})
    res = cli("verify", renamed, "--online", "--rpc", node, "--json")
    assert _evm(res)["status"] == "PASSED" and _evm(res)["facts"]["node"] == node, res.out
    assert liar.requests == 0


def test_rpc_in_the_trust_store_is_asked_and_untrusted_sender_is_indeterminate(
    cli: Any, chain_package: Path, node: str
) -> None:
    court = Path(__import__("os").environ["EVIDENCECTL_HOME"])
    config = (court / "config.toml").read_text(encoding="utf-8")
    (court / "config.toml").write_text(config + f'rpc = "{node}"\n', encoding="utf-8")
    res = cli("verify", chain_package, "--online", "--json")
    assert _evm(res)["status"] == "PASSED" and _evm(res)["facts"]["node"] == node, res.out
    (court / "config.toml").write_text(config + f'rpc = "{node}"\nsenders = ["0x{"11" * 20}"]\n', encoding="utf-8")
    res = cli("verify", chain_package, "--online", "--json")
    evm = _evm(res)
    assert evm["status"] == "INDETERMINATE" and evm["reason"] == "NO_TRUST_ANCHOR"
    assert "not by a sender trusted" in evm["detail"]


def test_online_without_the_chain_extra_says_how_to_install(
    cli: Any, chain_package: Path, node: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "web3", None)  # as if `pip install evidencectl` without [chain]
    res = cli("verify", chain_package, "--online", "--rpc", node, "--json")
    evm = _evm(res)
    assert res.code == 3 and evm["status"] == "INDETERMINATE"
    assert evm["detail"] == "online chain checks need the chain extra: pip install 'evidencectl[chain]'"


def test_rpc_without_online_is_a_usage_error(cli: Any, chain_package: Path, node: str) -> None:
    res = cli("verify", chain_package, "--rpc", node)
    assert res.code == 2 and "--online" in res.err


def test_report_trusts_the_tsa_roots_configured_for_verify(
    cli: Any, sample_dir: Path, tmp_path: Path, evidencectl_home: Path
) -> None:
    office = EmbeddedTSA.open(Context(tmp_path / "office-tsa"))
    url, server = start(make_app(office))
    try:
        chain = tmp_path / "office-chain.pem"
        chain.write_bytes(office.chain_pem())
        evidencectl_home.mkdir(parents=True, exist_ok=True)
        (evidencectl_home / "config.toml").write_text(
            f'[tsa.office]\nurl = "{url}"\ntrust = "{chain}"\n', encoding="utf-8"
        )
        out = tmp_path / "p.evp"
        assert cli("deposit", sample_dir, "-o", out, "--tsa", "office", "--tsa", "local").code == 0
    finally:
        server.close()
    assert cli("verify", out).code == 0
    res = cli("report", out, "-o", tmp_path / "p.html")
    assert res.code == 0, res.err
    assert (tmp_path / "p.html").stat().st_size > 1000


def test_online_finds_a_ledger_block_removed_after_the_deposit(
    cli: Any, sample_dir: Path, tmp_path: Path, evidencectl_home: Path
) -> None:
    import sqlite3

    out = tmp_path / "p.evp"
    assert cli("deposit", sample_dir, "-o", out).code == 0
    res = cli("verify", out, "--online", "--json")
    anchor = next(c for c in json.loads(res.out)["checks"] if c["check"] == "anchor:local")
    assert res.code == 0 and "still in this machine's ledger" in anchor["detail"], res.out
    with sqlite3.connect(evidencectl_home / "ledger" / "ledger.sqlite") as db:
        db.execute("DELETE FROM blocks WHERE height = 0")
    assert cli("verify", out).code == 0  # the receipt alone still verifies offline
    res = cli("verify", out, "--online", "--json")
    anchor = next(c for c in json.loads(res.out)["checks"] if c["check"] == "anchor:local")
    assert res.code == 1 and anchor["reason"] == "CHAIN" and "no longer in ledger" in anchor["detail"]


def test_chain_trust_file_pins_the_registry_and_names_the_node(
    cli: Any, chain_package: Path, node: str, tmp_path: Path
) -> None:
    court = Path(__import__("os").environ["EVIDENCECTL_HOME"])
    contract = (court / "config.toml").read_text(encoding="utf-8").split('contract = "')[1].split('"')[0]
    (court / "config.toml").unlink()
    chain_file = tmp_path / "court-chain.toml"
    chain_file.write_text(f'[chain.dev]\nchain_id = 31337\ncontract = "{contract}"\nrpc = "{node}"\n', encoding="utf-8")
    assert _evm(cli("verify", chain_package, "--online", "--json"))["reason"] == "NO_TRUST_ANCHOR"
    res = cli("verify", chain_package, "--online", "--trust", f"chain:{chain_file}", "--json")
    assert _evm(res)["status"] == "PASSED", res.out
    res = cli("trust", "add", chain_file, "--as", "chain")
    assert res.code == 0 and "trusted as chain: dev (chain id 31337" in res.out
    assert json.loads(cli("trust", "list", "--json").out)["chains"][0]["contract"] == contract
    assert _evm(cli("verify", chain_package, "--online", "--json"))["status"] == "PASSED"
