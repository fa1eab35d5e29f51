"""Attacks on who attests the time: a chain the depositor runs, and a staging TSA shipped as a third party.

Three data directories: the depositor (deploys a registry on its own Anvil node, whose clock it sets to
2024, and deposits under ``faketime`` 2024), and the court, whose config.toml pins that registry. Anvil is
the real node from npm; the sigstore staging token is a real one (tests/assets/tsr, Apache-2.0).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from evidencectl.checks import Status
from evidencectl.crypto.trust import TrustStore
from evidencectl.timestamp.catalogue import CATALOGUE, roots_folder
from evidencectl.timestamp.verifier import verify_timestamp
from evidencectl.verify.timecheck import timestamp_operator
from tests.conftest import CliResult
from tests.test_anchor_evm import ANVIL, DEV_KEY, _free_port

JAN_2024 = 1704067200
STAGING_TOKEN = Path(__file__).parent / "assets" / "tsr" / "06_sigstage_2025"


@pytest.fixture(scope="module")
def own_chain() -> Iterator[str]:
    """The depositor's own Anvil node, its genesis set to 2024-01-01 (a chain whose clock it sets)."""
    if not ANVIL.exists():
        pytest.fail("node_modules/.bin/anvil is absent: run `npm ci`")
    port = _free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent", "--timestamp", str(JAN_2024)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 15
    while True:
        try:
            requests.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, timeout=2)
            break
        except requests.RequestException:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("anvil did not start")
            time.sleep(0.05)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


def _run(home: Path, *args: str, clock: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "evidencectl", *args]
    if clock:
        cmd = ["faketime", clock, *cmd]
    env = {**os.environ, "EVIDENCECTL_HOME": str(home), "EVIDENCECTL_EVM_KEY": DEV_KEY}
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def backdated(own_chain: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(package, depositor home, contract): deposited under faketime 2024 on the depositor's own chain."""
    root = tmp_path_factory.mktemp("backdated")
    depositor = root / "depositor"
    deployed = _run(depositor, "chain", "deploy", "--rpc", own_chain, "--json")
    assert deployed.returncode == 0, deployed.stderr
    contract = json.loads(deployed.stdout)["contract"]
    (root / "contract.txt").write_text("signed on 1 January 2024\n")
    out = root / "p.evp"
    res = _run(
        depositor,
        "deposit",
        str(root / "contract.txt"),
        "-o",
        str(out),
        "--tsa",
        "local",
        "--anchor",
        f"evm:{own_chain}",
        clock="2024-01-01 00:05:00",
    )
    assert res.returncode == 0, res.stderr
    return out, depositor, contract


def _court(tmp_path: Path, contract: str, rpc: str, operator: str | None) -> Path:
    court = tmp_path / "court"
    court.mkdir()
    line = f'operator = "{operator}"\n' if operator else ""
    (court / "config.toml").write_text(
        f'[chain.lawyer]\nchain_id = 31337\ncontract = "{contract}"\nrpc = "{rpc}"\n{line}'
    )
    return court


def _anchor_check(doc: dict) -> dict:
    return next(c for c in doc["checks"] if c["check"].startswith("anchor:evm"))


@pytest.mark.parametrize("operator", ["depositor", "own"])
def test_backdated_anchor_on_a_chain_marked_the_depositors_is_not_independent_time(
    backdated: tuple[Path, Path, str], own_chain: str, tmp_path: Path, operator: str
) -> None:
    """The court pins the lawyer's registry and says the chain is the depositor's: the anchor PASSED (it is
    on that chain) but was reported third-party, so `--require-independent` PASSED with 2024 as the proven
    time. Now the anchor is the depositor's, never independent, and the verdict is INDETERMINATE."""
    package, _depositor, contract = backdated
    court = _court(tmp_path, contract, own_chain, operator)
    res = _run(court, "verify", str(package), "--online", "--require-independent", "--json")
    doc = json.loads(res.stdout)
    anchor = _anchor_check(doc)
    assert anchor["status"] == "PASSED" and anchor["facts"]["time"].startswith("2024-01-01")
    assert anchor["facts"]["operator"] == operator and anchor["facts"]["independent"] is False
    assert doc["independent_time"] is False
    independent = next(c for c in doc["checks"] if c["check"] == "time:independent")
    assert independent["status"] == "INDETERMINATE" and independent["reason"] == "NOT_INDEPENDENT"
    assert res.returncode == 3


def test_registry_deployed_through_a_node_on_this_machine_is_the_installations_own_chain(
    backdated: tuple[Path, Path, str],
) -> None:
    """The depositor verifying its own package: its chains.json names a loopback node, so the chain is its
    own, and the 2024 block time is not reported as attested by a third party."""
    package, depositor, _contract = backdated
    res = _run(depositor, "verify", str(package), "--online", "--json")
    doc = json.loads(res.stdout)
    anchor = _anchor_check(doc)
    assert anchor["status"] == "PASSED"
    assert anchor["facts"]["operator"] == "own" and anchor["facts"]["independent"] is False
    assert doc["independent_time"] is False


def test_chain_entry_without_an_operator_is_the_courts_word_for_a_third_party(
    backdated: tuple[Path, Path, str], own_chain: str, tmp_path: Path
) -> None:
    """Regression guard: a court that pins a chain and says nothing of its operator takes it as a third
    party's (the default of DESIGN §4), as before."""
    package, _depositor, contract = backdated
    court = _court(tmp_path, contract, own_chain, None)
    doc = json.loads(_run(court, "verify", str(package), "--online", "--json").stdout)
    anchor = _anchor_check(doc)
    assert anchor["status"] == "PASSED" and anchor["facts"]["operator"] == "third-party"
    assert doc["independent_time"] is True


def test_chain_entry_with_an_unknown_operator_is_one_line_bad_input(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path
) -> None:
    evidencectl_home.mkdir(parents=True, exist_ok=True)
    (evidencectl_home / "config.toml").write_text(
        '[chain.x]\nchain_id = 1\ncontract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"\noperator = "nobody"\n'
    )
    (tmp_path / "a.txt").write_text("a\n")
    assert cli("deposit", tmp_path / "a.txt", "-o", tmp_path / "a.evp", "--tsa", "local").code == 0
    res = cli("verify", tmp_path / "a.evp")
    assert res.code == 4 and "operator must be one of" in res.err and "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1


def _staging_result(store: TrustStore) -> tuple[Status, dict]:
    der = (STAGING_TOKEN / "response-sha256.tsr").read_bytes()
    digest = hashlib.sha256((STAGING_TOKEN / "data.txt").read_bytes()).digest()
    result = verify_timestamp(der, digest=digest, hash_name="sha256", trust=store, check="timestamp:sigstage")
    return result.status, timestamp_operator(dict(result.facts), der, [], set())


def test_sigstore_staging_tsa_is_not_a_trusted_third_party_by_default(evidencectl_home: Path) -> None:
    """The staging TSA's root shipped as an independent anchor: any token of a trial service was an
    "independent" time on every installation. Now its root ships but is not trusted by default."""
    store = TrustStore.load(evidencectl_home)
    assert not any(a.source.startswith("catalogue sigstore-staging") for a in store.anchors("tsa"))
    status, _facts = _staging_result(store)
    assert status is Status.INDETERMINATE
    assert CATALOGUE["sigstore-staging"].trusted is False and CATALOGUE["freetsa"].trusted is True


def test_sigstore_staging_root_added_knowingly_verifies_its_real_token(evidencectl_home: Path) -> None:
    """A verifier who accepts the staging service says so with --trust tsa:FILE, from the shipped file."""
    root = roots_folder() / CATALOGUE["sigstore-staging"].roots[0]
    store = TrustStore.load(evidencectl_home, [f"tsa:{root}"])
    status, facts = _staging_result(store)
    assert status is Status.PASSED and facts["operator"] == "third-party"


def test_tsa_list_says_the_staging_root_is_not_trusted(cli: Callable[..., CliResult]) -> None:
    listed = json.loads(cli("tsa", "list", "--json").out)["tsas"]
    staging = next(t for t in listed if t["name"] == "sigstore-staging")
    assert staging["trusted"] is False
    assert "not trusted by default" in cli("tsa", "list").out
