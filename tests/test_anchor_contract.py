"""The shipped EvidenceRegistry ABI and bytecode are what solc (from npm) makes of the shipped source."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from evidencectl.anchor.evm import registry_artifacts

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "tests" / "assets" / "anchor" / "build_registry.py"


def test_shipped_bytecode_is_rebuilt_by_solc() -> None:
    if not (ROOT / "node_modules" / ".bin" / "solcjs").exists():
        pytest.skip("node_modules/.bin/solcjs is absent: run `npm ci` to install the Solidity compiler")
    spec = importlib.util.spec_from_file_location("build_registry", BUILD)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    abi, bytecode = module.compile_registry()
    shipped_abi, shipped_bytecode = registry_artifacts()
    assert abi == shipped_abi
    # Byte for byte, including the metadata hash of the source that solc appends.
    assert "0x" + bytecode == shipped_bytecode


def test_abi_declares_the_anchor_function_and_event() -> None:
    abi, bytecode = registry_artifacts()
    names = {(e["type"], e.get("name")) for e in abi}
    assert {("function", "anchor"), ("event", "Anchored")} <= names
    event = next(e for e in abi if e.get("name") == "Anchored")
    assert [i["type"] for i in event["inputs"]] == ["bytes32", "address", "string", "bytes32", "bytes32"]
    assert bytes.fromhex(bytecode[2:])
    assert json.loads((ROOT / "evidencectl/anchor/contracts/build.json").read_text())["settings"]["evmVersion"]
