"""Flipping any single byte of an original, the manifest, a token or a receipt makes verify fail.

Each package member's data region is located in the ZIP and bytes spread across it are flipped, one per
package; verify must exit 1 (evidence or proof altered) or 4 (the flip broke the format itself), and name
what failed. Never 0.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest


@pytest.fixture
def package(cli, sample_dir: Path, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path / "p.evp"
    res = cli("deposit", sample_dir, "-o", out, "--case", "T-1")
    assert res.code == 0, res.err
    return out


def _data_ranges(path: Path) -> dict[str, tuple[int, int]]:
    ranges = {}
    raw = path.read_bytes()
    with zipfile.ZipFile(path) as z:
        for info in z.infolist():
            off = info.header_offset
            name_len = int.from_bytes(raw[off + 26 : off + 28], "little")
            extra_len = int.from_bytes(raw[off + 28 : off + 30], "little")
            start = off + 30 + name_len + extra_len
            ranges[info.filename] = (start, start + info.compress_size)
    return ranges


def _flipped(path: Path, at: int, dst: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    dst.write_bytes(bytes(data))
    return dst


def _positions(start: int, end: int, count: int = 6) -> list[int]:
    if end - start <= count:
        return list(range(start, end))
    step = (end - start) // count
    return [start + i * step for i in range(count)] + [end - 1]


def test_every_flip_in_every_member_is_detected(cli, package: Path, tmp_path: Path) -> None:
    assert cli("verify", package).code == 0
    ranges = _data_ranges(package)
    # certs/*.pem are chain-building material only, never trusted or required: altering them cannot
    # make a forged package pass, so they are left out here.
    members = [m for m in ranges if m != "mimetype" and not m.startswith("certs/")]
    assert any(m.startswith("evidence/") for m in members)
    assert any(m.endswith(".tsr") for m in members) and any(m.startswith("proofs/anchors/") for m in members)
    tried = 0
    for member in members:
        start, end = ranges[member]
        for at in _positions(start, end):
            bad = _flipped(package, at, tmp_path / "bad.evp")
            res = cli("verify", bad, "--json")
            tried += 1
            assert res.code in (1, 4), f"flip at {at} in {member} gave exit {res.code}"
            if res.code == 1:
                report = json.loads(res.out)
                failed = [c for c in report["checks"] if c["status"] == "FAILED"]
                assert failed, member
                if member.startswith("evidence/"):
                    assert any(c["check"].startswith("digest:") and member in c["detail"] for c in failed)
                if member.endswith(".tsr"):
                    assert any(c["check"].startswith("timestamp:") for c in failed)
                if member.startswith("proofs/anchors/"):
                    assert any(c["check"].startswith("anchor:") for c in failed)
            else:
                assert "error" in json.loads(res.out)
                assert res.err.count("\n") == 1 and "Traceback" not in res.err
    assert tried > 30


def test_flip_in_a_stored_original_is_a_digest_failure_not_a_format_error(cli, package: Path, tmp_path: Path) -> None:
    start, end = _data_ranges(package)["evidence/evidence/contract.txt"]
    bad = _flipped(package, (start + end) // 2, tmp_path / "bad.evp")
    res = cli("verify", bad)
    assert res.code == 1
    assert "FAILED" in res.out and "contract.txt" in res.out and "CRC" in res.out


def _dense(start: int, end: int, stride: int, phase: int, head: int) -> list[int]:
    """Every byte of the first ``head`` bytes, then every ``stride``-th byte from ``phase`` on."""
    return sorted({*range(start, min(end, start + head)), *range(start + head + phase, end, stride)})


def test_dense_flips_in_tokens_and_receipts_fail(cli, package: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Tokens and receipts, the members a verifier could be tempted to read leniently, flipped densely.

    Every byte of them is flipped at the library level (tests/test_timestamp_envelope.py,
    tests/test_anchor_ledger_receipt.py); through the command line every byte of a token's envelope head
    (status, versions, digestAlgorithms) and one byte in six elsewhere, at a phase that differs per
    member, so that the certificate, signer identifier and every receipt field are hit.
    """
    ranges = _data_ranges(package)
    members = sorted(m for m in ranges if m.endswith(".tsr") or m.startswith("proofs/anchors/"))
    assert len(members) == 3
    bad_path = tmp_path / "bad.evp"
    escaped = []
    for phase, member in enumerate(members):
        start, end = ranges[member]
        head = 72 if member.endswith(".tsr") else 0
        # Offsets that once passed: digestAlgorithms' OID, the carried certificate's serial and issuer,
        # and the receipt's signature_algorithm field.
        once_passed = (42, 294, 336) if member.endswith(".tsr") else (595,)
        for at in sorted({*_dense(start, end, 6, phase, head), *(start + o for o in once_passed if o < end - start)}):
            res = cli("verify", _flipped(package, at, bad_path), "--json")
            if res.code not in (1, 4):
                escaped.append((member, at - start, res.code))
                continue
            if res.code == 1:
                failed = [c["check"] for c in json.loads(res.out)["checks"] if c["status"] == "FAILED"]
                prefix = "timestamp:" if member.endswith(".tsr") else "anchor:"
                if not any(c.startswith(prefix) for c in failed):
                    escaped.append((member, at - start, failed))
    assert not escaped
