"""The statement's own checks: it names this deposit, and the private record is the one it seals.

From format version 3 the note is not in the statement but in the private record, whose salted leaf hash
the statement seals (package/private.py, docs/format.md §3.1). A complete package must hold that record
and it must hash to the seal: a note edited after sealing is FAILED (``DIGEST_MISMATCH``), a record removed
from a complete package is FAILED (``MISSING_NOTE``: the statement says it exists, the package contradicts
it). A disclosure package (``extract``) leaves it out: ``statement:note`` then PASSES with reason
``WITHHELD``, the statement's inclusion proof covering the seal, and says so.

The statement's ``item_count`` is sealed with it: a package whose count is not its tree's (``tree_size``
less the statement) or, when complete, not the number of its item records contradicts itself and is FAILED
(``statement:item-count``, reason ``COUNT_MISMATCH``), whoever sealed it. Both verify paths come here with
the item records (the streamed path's are :class:`~evidencectl.verify.compact.ItemRecords`), so they agree.
"""

from __future__ import annotations

from typing import Any

from ..checks import CheckResult, Status, VerificationReport
from ..package.private import PRIVATE_LEAF, check_private, has_private_record

CHECK = "statement:note"
REPRODUCE = (
    'unzip -p PACKAGE manifest.json | python3 -c "import json,sys,hashlib,rfc8785; '
    "p=json.load(sys.stdin)['private']; print(hashlib.sha256(b'\\\\x00'+rfc8785.dumps(p)).hexdigest())\"  "
    "(equals statement.private_leaf.sha256; docs/format.md §3.1)"
)


def check_statement(report: VerificationReport, manifest: dict[str, Any]) -> None:
    """Add the statement's checks to ``report`` (``manifest`` follows its schema)."""
    if manifest["statement"]["deposit_id"] != manifest["deposit_id"]:
        report.add(
            CheckResult(
                "statement:deposit-id",
                Status.FAILED,
                "the statement names another deposit",
                {"statement": manifest["statement"]["deposit_id"], "manifest": manifest["deposit_id"]},
                reason="FORMAT",
            )
        )
    count = _count_check(manifest)
    if count is not None:
        report.add(count)
    if has_private_record(manifest):
        report.add(_private_check(manifest))


def _count_check(manifest: dict[str, Any]) -> CheckResult | None:
    """FAILED when the sealed ``item_count`` is not the tree's (and a complete package's records'); None when
    it is (a genuine package's report is unchanged by the check)."""
    count, size = manifest["statement"]["item_count"], manifest["tree_size"]
    records = len(manifest["items"])
    complete = "disclosure" not in manifest
    if count == size - 1 and (count == records or not complete):
        return None
    facts = {"item_count": count, "tree_size": size, "records": records}
    held = f"{records} item records" if complete and count != records else f"a tree of {size - 1} items"
    return CheckResult(
        "statement:item-count",
        Status.FAILED,
        f"the statement counts {count} items but the package holds {held}: it contradicts itself",
        facts,
        "unzip -p PACKAGE manifest.json | jq '[.statement.item_count, .tree_size - 1, (.items | length)]'",
        reason="COUNT_MISMATCH",
    )


def _private_check(manifest: dict[str, Any]) -> CheckResult:
    sealed = manifest["statement"][PRIVATE_LEAF]
    facts: dict[str, Any] = {f"private_leaf_{alg}": value for alg, value in sorted(sealed.items())}
    outcome, wrong = check_private(manifest)
    if outcome == "ok":
        facts["withheld"] = False
        return CheckResult(
            CHECK,
            Status.PASSED,
            "the note (private record) hashes to the leaf hash the statement seals (SM3 and SHA-256)",
            facts,
            REPRODUCE,
        )
    if outcome == "withheld":
        facts["withheld"] = True
        return CheckResult(
            CHECK,
            Status.PASSED,
            "withheld by this disclosure: the note is not in the package; the statement seals only its salted "
            "leaf hash, which the statement's inclusion proofs cover",
            facts,
            reason="WITHHELD",
        )
    if outcome == "mismatch":
        return CheckResult(
            CHECK,
            Status.FAILED,
            f"the note (private record) in manifest.json does not hash to the {wrong} leaf hash the statement "
            "seals: it was altered after the deposit was sealed",
            facts,
            REPRODUCE,
            reason="DIGEST_MISMATCH",
        )
    return CheckResult(
        CHECK,
        Status.FAILED,
        "the statement seals a private record (the note) that this complete package does not hold: it was "
        "removed after the deposit was sealed",
        facts,
        reason="MISSING_NOTE",
    )
