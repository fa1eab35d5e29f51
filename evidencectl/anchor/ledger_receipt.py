"""Offline verification of an embedded-ledger receipt: entry inclusion, block hash, node signature, trust."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..checks import CheckResult, Status
from ..crypto.keys import spki_algorithm, spki_fingerprint, verify_signature
from .blockformat import canonical, entry_bytes, header_problem, root_of_inclusion, sm3_hex
from .receipt import MalformedReceipt, exact_keys, failed, need

if TYPE_CHECKING:
    from ..crypto.trust import TrustStore

REPRODUCE = (
    "Write receipt.block.header as RFC 8785 canonical JSON to header.json; `openssl dgst -sm3 header.json` "
    "prints block.hash. Decode node_public_key (base64 DER) to node.der and block.signature to block.sig, "
    "then "
    "`openssl pkey -pubin -inform DER -in node.der -out node.pem && openssl dgst -sm3 -verify node.pem "
    "-sigopt distid:1234567812345678 -signature block.sig header.json`. The entry "
    '{"deposit_id":…,"roots":{…}} (canonical JSON) hashes to the header\'s entries_root along inclusion.path '
    "(RFC 9162, SM3, leaf prefix 00, node prefix 01)."
)


RECEIPT_FIELDS = frozenset(
    {"type", "version", "deposit_id", "roots", "ledger_id", "block", "node_public_key", "inclusion"}
)
"""Exactly the members of a ledger receipt."""
BLOCK_FIELDS = frozenset({"header", "hash", "signature", "signature_algorithm"})
"""Exactly the members of ``receipt.block``."""
INCLUSION_FIELDS = frozenset({"index", "size", "path"})
"""Exactly the members of ``receipt.inclusion``."""
SIGNATURE_ALGORITHM = "sm2-sm3"
"""The only block signature the embedded ledger makes: SM2 with SM3 and the default signer ID."""
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _base64(text: str, where: str) -> bytes:
    """Decode canonical base64: the one text that encodes the bytes, so no character can change unnoticed."""
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise MalformedReceipt(f"{where} is not base64") from exc
    # Several texts decode to the same bytes (unused low bits in the last character); only one is right.
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedReceipt(f"{where} is not canonical base64")
    return raw


def verify_ledger_receipt(receipt: Mapping[str, Any], *, trust: TrustStore, check: str) -> CheckResult:
    """PASSED, FAILED (broken signature, hash or proof) or INDETERMINATE (node key not in ``trust``)."""
    exact_keys(receipt, RECEIPT_FIELDS)
    block = need(receipt, "block", Mapping)
    exact_keys(block, BLOCK_FIELDS, "block")
    header = need(block, "header", Mapping, "block")
    if (why := header_problem(dict(header))) is not None:
        raise MalformedReceipt(why)
    if need(block, "signature_algorithm", str, "block") != SIGNATURE_ALGORITHM:
        raise MalformedReceipt(f"block.signature_algorithm is {block['signature_algorithm']!r}, not sm2-sm3")
    need(block, "hash", str, "block")
    need(receipt, "ledger_id", str)
    inclusion = need(receipt, "inclusion", Mapping)
    exact_keys(inclusion, INCLUSION_FIELDS, "inclusion")
    path = need(inclusion, "path", list, "inclusion")
    index = need(inclusion, "index", int, "inclusion")
    size = need(inclusion, "size", int, "inclusion")
    if not all(isinstance(p, str) and _HEX64.fullmatch(p) for p in path):
        raise MalformedReceipt("inclusion.path holds something other than 64 lower-case hex digits")
    spki = _base64(need(receipt, "node_public_key", str), "node_public_key")
    signature = _base64(need(block, "signature", str, "block"), "block.signature")

    header_bytes = canonical(dict(header))
    facts: dict[str, Any] = {
        "anchor": "ledger",
        "ledger_id": header["ledger_id"],
        "block_height": header["height"],
        "block_hash": sm3_hex(header_bytes),
        "entries_root": header["entries_root"],
        "time": header["time"],
        "node_key_id": header["node_key_id"],
        "operator": "depositor",
        "independent": False,
    }
    if header.get("ledger_id") != receipt.get("ledger_id"):
        return failed(check, "the receipt's ledger id differs from its block header's", facts, REPRODUCE)
    if sm3_hex(header_bytes) != block.get("hash"):
        return failed(check, "the block hash does not match the SM3 hash of the block header", facts, REPRODUCE)
    entry = entry_bytes(str(receipt["deposit_id"]), receipt["roots"])
    if root_of_inclusion(entry, index, size, path) != header["entries_root"] or size != header["entry_count"]:
        return failed(check, "the inclusion proof does not lead to the block's entries root", facts, REPRODUCE)
    try:
        key_id = spki_fingerprint(spki)
        # block.signature_algorithm says SM2: a key of another kind is not the one the field names.
        signature_ok = spki_algorithm(spki) == "sm2" and verify_signature(spki, signature, header_bytes)
    except Exception:  # noqa: BLE001 - any parse failure of hostile key bytes is a broken receipt
        key_id, signature_ok = None, False
    if key_id is None or key_id != header["node_key_id"]:
        return failed(check, "the node public key does not match the key id in the block header", facts, REPRODUCE)
    if not signature_ok:
        return failed(check, "the ledger node's SM2 signature over the block header does not verify", facts, REPRODUCE)
    trusted = {spki_fingerprint(k) for k in trust.public_keys("ledger")}
    # The embedded ledger is always run by whoever deposits: it is never independent, whoever trusts it.
    own = {spki_fingerprint(a.spki_der) for a in trust.anchors("ledger") if getattr(a, "operator", "") == "own"}
    if key_id in own:
        facts["operator"] = "own"
    where = f"ledger {header['ledger_id']} block {header['height']}"
    if key_id not in trusted:
        return CheckResult(
            check,
            Status.INDETERMINATE,
            f"signed entry in {where}, but node key {key_id[:16]}… is not trusted here "
            "(add it with --trust ledger:FILE)",
            facts,
            REPRODUCE,
            "NO_TRUST_ANCHOR",
        )
    trust.note_used("ledger", spki)
    return CheckResult(check, Status.PASSED, f"roots recorded in {where}, signed by a trusted node", facts, REPRODUCE)
