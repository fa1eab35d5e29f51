"""Compile evidencectl/anchor/contracts/EvidenceRegistry.sol with solc from npm (node_modules/.bin/solcjs).

Run from the repository root after `npm ci`:  python tests/assets/anchor/build_registry.py [--write]
Without --write it prints the ABI and bytecode; with --write it updates EvidenceRegistry.abi.json and
EvidenceRegistry.bin next to the source. tests/test_anchor_contract.py calls compile_registry() and
compares its output with the shipped files.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
CONTRACTS = ROOT / "evidencectl" / "anchor" / "contracts"
SOLCJS = ROOT / "node_modules" / ".bin" / "solcjs"


def compile_registry() -> tuple[list[object], str]:
    """(ABI, creation bytecode hex) of EvidenceRegistry with the settings in contracts/build.json."""
    settings = json.loads((CONTRACTS / "build.json").read_text())
    source = (CONTRACTS / "EvidenceRegistry.sol").read_text()
    request = {**settings, "sources": {"EvidenceRegistry.sol": {"content": source}}}
    request["settings"]["outputSelection"] = {"EvidenceRegistry.sol": {"EvidenceRegistry": ["abi", "evm.bytecode.object"]}}
    out = subprocess.run(
        [str(SOLCJS), "--standard-json"], input=json.dumps(request), capture_output=True, text=True, check=True
    ).stdout
    # solcjs may print warnings before the JSON document.
    result = json.loads(out[out.index("{"):])
    errors = [e for e in result.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise RuntimeError(errors[0]["formattedMessage"])
    contract = result["contracts"]["EvidenceRegistry.sol"]["EvidenceRegistry"]
    return contract["abi"], contract["evm"]["bytecode"]["object"]


if __name__ == "__main__":
    abi, bytecode = compile_registry()
    if "--write" in sys.argv:
        (CONTRACTS / "EvidenceRegistry.abi.json").write_text(json.dumps(abi, indent=2) + "\n")
        (CONTRACTS / "EvidenceRegistry.bin").write_text(bytecode + "\n")
    else:
        print(json.dumps(abi))
        print(bytecode)
