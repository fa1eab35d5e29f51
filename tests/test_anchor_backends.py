"""The anchor backends come from one kind -> class table: each class anchors and verifies its own receipts."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import pytest

from evidencectl.anchor import backends
from evidencectl.anchor.evm import EvmAnchor
from evidencectl.anchor.ledger import EmbeddedLedger
from evidencectl.checks import CheckResult, Status
from evidencectl.context import Context
from evidencectl.crypto.trust import TrustStore
from evidencectl.errors import UsageError

ROOTS = {"sha256": "ab" * 32, "sm3": "cd" * 32}


def test_every_backend_is_listed_under_the_type_of_its_receipts(tmp_path: Path) -> None:
    assert {"ledger": EmbeddedLedger, "evm": EvmAnchor} == backends.BACKENDS
    receipt = backends.anchor_from_spec("local", tmp_path).anchor("EVD-1", dict(ROOTS))
    assert receipt["type"] == EmbeddedLedger.kind
    check = backends.verify_receipt(receipt, deposit_id="EVD-1", roots=ROOTS, trust=TrustStore.load(tmp_path))
    assert check.status is Status.PASSED, check.detail


@pytest.mark.parametrize("spec", ["ledger:x", "fisco:http://x", "evm", "", "localx"])
def test_a_spec_names_a_known_backend_or_is_refused(tmp_path: Path, spec: str) -> None:
    with pytest.raises(UsageError, match="unknown anchor"):
        backends.anchor_from_spec(spec, tmp_path)


def test_an_unknown_receipt_type_is_a_format_failure(tmp_path: Path) -> None:
    receipt = {"type": "fisco", "version": 1, "deposit_id": "EVD-1", "roots": ROOTS}
    check = backends.verify_receipt(receipt, deposit_id="EVD-1", roots=ROOTS, trust=TrustStore.load(tmp_path))
    assert check.status is Status.FAILED and check.reason == "FORMAT"


class _Notary:
    """A backend added the documented way: one class, one line in the table."""

    kind: ClassVar[str] = "notary"
    name = "notary:office"

    @classmethod
    def from_spec(cls, spec: str, ctx: Context, *, contract: str | None = None) -> _Notary:
        return cls()

    def anchor(self, deposit_id: str, roots: dict[str, str]) -> dict[str, Any]:
        return {"type": self.kind, "version": 1, "deposit_id": deposit_id, "roots": roots, "seal": "ok"}

    @staticmethod
    def verify_receipt(
        receipt: Mapping[str, Any], *, trust: TrustStore, online: bool, check: str, rpc_url: str | None
    ) -> CheckResult:
        ok = receipt.get("seal") == "ok"
        return CheckResult(check, Status.PASSED if ok else Status.FAILED, "sealed" if ok else "not sealed")


def test_a_new_backend_is_one_class_and_one_table_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(backends.BACKENDS, _Notary.kind, _Notary)
    receipt = backends.anchor_from_spec("notary:office", tmp_path).anchor("EVD-2", dict(ROOTS))
    trust = TrustStore.load(tmp_path)
    assert backends.verify_receipt(receipt, deposit_id="EVD-2", roots=ROOTS, trust=trust).status is Status.PASSED
    forged = {**receipt, "seal": "forged"}
    assert backends.verify_receipt(forged, deposit_id="EVD-2", roots=ROOTS, trust=trust).status is Status.FAILED
