"""Ledger receipts checked offline: trusted, untrusted, tampered, malformed; the signature by OpenSSL."""

from __future__ import annotations

import base64
import copy
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785

from evidencectl.anchor import verify_receipt
from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.crypto.trust import TrustStore

ROOTS = {"sha256": "cd" * 32, "sm3": "ab" * 32}


@pytest.fixture()
def made(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    ledger = EmbeddedLedger.open(Context(tmp_path))
    ledger.anchor("earlier", {"sm3": "11" * 32})
    return tmp_path, ledger.anchor("case-7", ROOTS)


def _verify(receipt: Any, trust: TrustStore, deposit_id: str = "case-7", roots: Any = None) -> Any:
    return verify_receipt(receipt, deposit_id=deposit_id, roots=roots or ROOTS, trust=trust)


def test_trusted_receipt_passes_with_facts(made: tuple[Path, dict[str, Any]]) -> None:
    base, receipt = made
    result = _verify(receipt, TrustStore.load(base))
    assert result.status is Status.PASSED, result.detail
    assert result.facts["block_height"] == 1 and result.facts["block_hash"] == receipt["block"]["hash"]
    assert result.facts["ledger_id"] == receipt["ledger_id"] and result.reproduce
    assert result.check == "anchor"


def test_receipt_from_unknown_node_is_indeterminate_until_trusted(
    made: tuple[Path, dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> None:
    base, receipt = made
    elsewhere = tmp_path_factory.mktemp("court")
    result = _verify(receipt, TrustStore.load(elsewhere))
    assert result.status is Status.INDETERMINATE and "not trusted" in result.detail
    node_pem = next((base / "trust" / "ledger").glob("*.pem"))
    assert _verify(receipt, TrustStore.load(elsewhere, extra=[f"ledger:{node_pem}"])).status is Status.PASSED


def _set(receipt: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(receipt)
    *parents, last = path.split(".")
    target = changed
    for p in parents:
        target = target[p]
    target[last] = value
    return changed


def _flip_b64(text: str, at: int) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[at] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_tampered_receipts_fail(made: tuple[Path, dict[str, Any]]) -> None:
    base, receipt = made
    trust = TrustStore.load(base)
    header = receipt["block"]["header"]
    other_key = EmbeddedLedger.open(Context(base / "other")).key
    cases = {
        "time": _set(receipt, "block.header.time", header["time"].replace("Z", "1Z")),
        "previous": _set(receipt, "block.header.previous_hash", "00" * 32),
        "hash": _set(receipt, "block.hash", "00" * 32),
        "signature": _set(receipt, "block.signature", _flip_b64(receipt["block"]["signature"], 20)),
        "proof": _set(receipt, "inclusion.path", ["00" * 32]),
        "index": _set(receipt, "inclusion.index", 1),
        "other node key": _set(receipt, "node_public_key", base64.b64encode(other_key.public_key_der()).decode()),
        "ledger id": _set(receipt, "ledger_id", "another"),
    }
    for name, bad in cases.items():
        result = _verify(bad, trust)
        assert result.status is Status.FAILED, (name, result.detail)
    # A receipt of another deposit, or of other roots, proves nothing about this one.
    assert _verify(receipt, trust, deposit_id="case-8").status is Status.FAILED
    assert _verify(receipt, trust, roots={**ROOTS, "sm3": "ac" * 32}).status is Status.FAILED
    # Changing the entry consistently in the receipt and the claimed deposit breaks the inclusion proof.
    forged = _set(_set(receipt, "roots.sm3", "ac" * 32), "deposit_id", "case-7")
    assert _verify(forged, trust, roots=forged["roots"]).status is Status.FAILED


def _respell(text: str) -> str:
    """Another base64 text that decodes to the same bytes (``text`` must end in padding, as an SPKI does)."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    stripped = text.rstrip("=")
    last = alphabet.index(stripped[-1])
    other = stripped[:-1] + alphabet[last | 1] + text[len(stripped) :]
    assert other != text and base64.b64decode(other) == base64.b64decode(text)
    return other


def test_every_single_byte_flip_of_a_receipt_fails(made: tuple[Path, dict[str, Any]]) -> None:
    """No byte of the stored receipt can change and leave it PASSED or merely INDETERMINATE."""
    from evidencectl.package.canonical import canonical_json, parse_json

    base, receipt = made
    trust = TrustStore.load(base)
    stored = canonical_json(receipt)
    escaped = []
    for at in range(len(stored)):
        bad = bytearray(stored)
        bad[at] ^= 0x01
        try:
            parsed = parse_json(bytes(bad))
        except ValueError:
            continue  # no longer JSON: the package check reports it as a malformed receipt
        result = _verify(parsed, trust)
        if result.status is not Status.FAILED:
            escaped.append((at, stored[at : at + 12], result.detail))
    assert not escaped


@pytest.mark.parametrize(
    "mangle",
    [
        lambda r: [],
        lambda r: "text",
        lambda r: {**r, "type": "blockchain"},
        lambda r: {k: v for k, v in r.items() if k != "block"},
        lambda r: {**r, "block": {**r["block"], "header": {"height": 1}}},
        lambda r: {**r, "block": {**r["block"], "header": {**r["block"]["header"], "height": True}}},
        lambda r: {**r, "block": {**r["block"], "signature": "%%%"}},
        lambda r: {**r, "node_public_key": base64.b64encode(b"not a key").decode()},
        lambda r: {**r, "inclusion": {"index": 0, "size": 1, "path": [7]}},
        lambda r: {**r, "inclusion": {"index": 0, "size": 1, "path": ["zz"]}},
        lambda r: {**r, "inclusion": None},
        lambda r: {**r, "note": "an unchecked field"},
        lambda r: {**r, "version": 2},
        lambda r: {**r, "version": True},
        lambda r: {k: v for k, v in r.items() if k != "version"},
        lambda r: {**r, "block": {**r["block"], "signature_algorithm": "sm2-sm4"}},
        lambda r: {**r, "block": {**r["block"], "extra": 1}},
        lambda r: {**r, "inclusion": {**r["inclusion"], "extra": 1}},
        lambda r: {**r, "inclusion": {"index": 0, "size": 1, "path": ["AB" * 32]}},
        lambda r: {**r, "inclusion": {"index": 0, "size": 1, "path": [" ab" * 32]}},
        # The same bytes in another base64 spelling: the unused low bits of the last character set.
        lambda r: {**r, "node_public_key": _respell(r["node_public_key"])},
        lambda r: {**r, "node_public_key": r["node_public_key"].replace("=", "") + "\n"},
    ],
)
def test_malformed_receipts_fail_without_raising(made: tuple[Path, dict[str, Any]], mangle: Any) -> None:
    base, receipt = made
    result = _verify(mangle(receipt), TrustStore.load(base))
    assert result.status is Status.FAILED


@pytest.mark.openssl
def test_openssl_checks_block_hash_and_node_signature(made: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    """The recipe in the check's ``reproduce`` text, carried out with OpenSSL instead of evidencectl."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command line tool is required")
    _, receipt = made
    work = tmp_path / "by-hand"
    work.mkdir()
    (work / "header.json").write_bytes(rfc8785.dumps(receipt["block"]["header"]))
    (work / "node.der").write_bytes(base64.b64decode(receipt["node_public_key"]))
    (work / "block.sig").write_bytes(base64.b64decode(receipt["block"]["signature"]))

    def run(*args: str) -> str:
        return subprocess.run(["openssl", *args], cwd=work, check=True, capture_output=True, text=True).stdout

    assert run("dgst", "-sm3", "-r", "header.json").split()[0] == receipt["block"]["hash"]
    run("pkey", "-pubin", "-inform", "DER", "-in", "node.der", "-out", "node.pem")
    sig = ["-sigopt", "distid:1234567812345678", "-signature", "block.sig"]
    assert "Verified OK" in run("dgst", "-sm3", "-verify", "node.pem", *sig, "header.json")
    (work / "header.json").write_bytes(rfc8785.dumps({**receipt["block"]["header"], "height": 99}))
    bad = subprocess.run(
        ["openssl", "dgst", "-sm3", "-verify", "node.pem", *sig, "header.json"], cwd=work, capture_output=True
    )
    assert bad.returncode != 0
