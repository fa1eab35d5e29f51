"""Verification of an EVM anchor receipt: the facts offline, the transaction, block and event online."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..checks import CheckResult, Status
from ..errors import ServiceError
from ..hashing import ALGORITHMS
from .receipt import MalformedReceipt, exact_keys, need

if TYPE_CHECKING:
    from ..crypto.trust_sources import TrustedChain

_HASH = re.compile(r"0x[0-9a-f]{64}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
RECEIPT_FIELDS = frozenset(
    {
        "type",
        "version",
        "deposit_id",
        "roots",
        "chain_id",
        "rpc_url",
        "contract",
        "tx_hash",
        "block_number",
        "block_hash",
        "log_index",
        "sender",
        "time",
        "confirmations",
    }
)
"""Exactly the members of an EVM receipt."""
ANCHORED_EVENT = "Anchored(bytes32,address,string,bytes32,bytes32)"
"""Signature of the registry's event; keccak256 of it is the log's first topic."""


def verify_evm_receipt(
    receipt: Mapping[str, Any],
    *,
    online: bool,
    check: str,
    rpc_url: str | None = None,
    chains: Sequence[TrustedChain] = (),
) -> CheckResult:
    """INDETERMINATE offline (with what to look up); online, PASSED or FAILED from a node the verifier chose.

    The node named in the receipt is shown, never contacted: a package must not pick who vouches for it.
    Online, the receipt's chain id and contract must be pinned by a trusted chain entry (``chains``:
    ``[chain.NAME]``, ``--trust chain:FILE``, this installation's deployments), the node asked is
    ``rpc_url``, else a ``--rpc`` node, else the entry's ``rpc``; a sender outside the entry's ``senders``
    (when it lists some) is INDETERMINATE. The facts carry ``operator`` and ``independent`` from the
    pinning entries (``own`` or ``depositor`` is never independent).
    """
    facts = _facts(receipt)
    facts["receipt_rpc_url"] = str(receipt["rpc_url"])
    tx, number, roots = facts["tx_hash"], facts["block_number"], receipt["roots"]
    reproduce = (
        f"Ask a node of chain {facts['chain_id']} that you trust (`cast receipt {tx} --rpc-url YOUR-NODE`, "
        f"eth_getTransactionReceipt over JSON-RPC, or a block explorer) for transaction {tx}: it must be in "
        f"block {number} with hash {facts['block_hash']}, sent to {facts['contract']}, and its log "
        f"{facts['log_index']} must be {ANCHORED_EVENT} with deposit id {receipt['deposit_id']!r}, "
        f"sm3Root 0x{roots.get('sm3', '00' * 32)} and sha256Root 0x{roots.get('sha256', '00' * 32)}."
    )
    pinned = [c for c in chains if c.chain_id is not None and c.pins(facts["chain_id"], facts["contract"])]
    facts["contract_trusted"] = bool(pinned)
    if pinned:
        facts["trusted_chain"] = pinned[0].name
        # Who runs the chain's nodes is what the verifier's entry says: a chain the depositor runs (its own
        # Anvil, a Besu node in its office) sets its block times and can rewrite its history, like the ledger.
        operators = {c.operator for c in pinned}
        operator = "own" if "own" in operators else "depositor" if "depositor" in operators else "third-party"
        facts.update(operator=operator, independent=operator == "third-party")
    if not online:
        return CheckResult(
            check,
            Status.INDETERMINATE,
            f"anchored on chain {facts['chain_id']} in block {facts['block_number']}; not checked offline "
            "(verify --online with a node you trust, or look the transaction up)",
            facts,
            reproduce,
            "NOT_CHECKED",
        )
    if not pinned:
        return CheckResult(
            check,
            Status.INDETERMINATE,
            f"registry {facts['contract']} on chain {facts['chain_id']} is not trusted here: add [chain.NAME] "
            "chain_id, contract and rpc to config.toml (or --trust chain:FILE); the node the receipt names "
            "was not asked",
            facts,
            reproduce,
            "NO_TRUST_ANCHOR",
        )
    urls = [rpc_url] if rpc_url else []
    urls += [c.rpc for c in chains if c.chain_id is None and c.rpc] + [c.rpc for c in pinned if c.rpc]
    if not urls:
        return CheckResult(
            check,
            Status.INDETERMINATE,
            f"no node of your own to ask for chain {facts['chain_id']}: give --rpc URL or rpc in [chain.NAME]",
            facts,
            reproduce,
            "NOT_CHECKED",
        )
    try:
        import web3  # noqa: F401 - the chain extra
    except ImportError:
        return CheckResult(
            check,
            Status.INDETERMINATE,
            "online chain checks need the chain extra: pip install 'evidencectl[chain]'",
            facts,
            reproduce,
            "NOT_INSTALLED",
        )
    other_chains: list[str] = []
    for url in dict.fromkeys(urls):  # each node once, in the order chosen
        facts["node"] = url
        try:
            problem, seen = _online_problem(receipt, facts, url)
        except ServiceError as exc:
            return CheckResult(
                check, Status.INDETERMINATE, f"chain node unreachable: {exc}", facts, reproduce, "SERVICE"
            )
        if seen.get("node_chain_id") == facts["chain_id"]:
            break
        # A node of another chain says nothing about this receipt: try the next one the verifier chose.
        other_chains.append(f"{url} serves chain {seen.get('node_chain_id')}")
    else:
        facts.pop("node", None)
        detail = f"no node you chose serves chain {facts['chain_id']} ({'; '.join(other_chains)})"
        return CheckResult(check, Status.INDETERMINATE, detail, facts, reproduce, "NOT_CHECKED")
    facts.update(seen)
    if problem is not None:
        return CheckResult(check, Status.FAILED, problem, facts, reproduce, "CHAIN")
    senders = {a.lower() for c in pinned for a in c.senders}
    facts["sender_trusted"] = facts["sender"].lower() in senders if senders else None
    if senders and not facts["sender_trusted"]:
        detail = f"anchored by {facts['sender']}, not by a sender trusted for {pinned[0].name}"
        return CheckResult(check, Status.INDETERMINATE, detail, facts, reproduce, "NO_TRUST_ANCHOR")
    if seen["confirmations_now"] < facts["confirmations"]:
        detail = f"transaction has {seen['confirmations_now']} of {facts['confirmations']} required confirmations"
        return CheckResult(check, Status.INDETERMINATE, detail, facts, reproduce, "CHAIN")
    where = f"chain {facts['chain_id']} block {facts['block_number']}"
    count = seen["confirmations_now"]
    detail = f"roots recorded in {where}, {count} confirmation{'' if count == 1 else 's'}, asked of {url}"
    return CheckResult(check, Status.PASSED, detail, facts, reproduce)


def _facts(receipt: Mapping[str, Any]) -> dict[str, Any]:
    """The receipt's claims, checked for shape (MalformedReceipt otherwise)."""
    exact_keys(receipt, RECEIPT_FIELDS)
    facts: dict[str, Any] = {"anchor": "evm"}
    for key, kind in (("chain_id", int), ("block_number", int), ("log_index", int), ("confirmations", int)):
        facts[key] = need(receipt, key, kind)
        if facts[key] < 0:
            raise MalformedReceipt(f"receipt.{key} is negative")
    if facts["confirmations"] < 1:
        raise MalformedReceipt("receipt.confirmations is below 1: the transaction itself is one")
    for key, pattern in (("tx_hash", _HASH), ("block_hash", _HASH), ("contract", _ADDRESS), ("sender", _ADDRESS)):
        facts[key] = need(receipt, key, str)
        if not pattern.fullmatch(facts[key]):
            raise MalformedReceipt(f"receipt.{key} is not a 0x-prefixed hex value of the right length")
    facts["time"] = need(receipt, "time", str)
    if not _TIME.fullmatch(facts["time"]):
        raise MalformedReceipt("receipt.time is not YYYY-MM-DDTHH:MM:SSZ")
    if not need(receipt, "rpc_url", str).startswith(("http://", "https://")):
        raise MalformedReceipt("receipt.rpc_url is not an http(s) URL")
    if not isinstance(receipt.get("roots"), Mapping):
        raise MalformedReceipt("receipt.roots is not an object")
    return facts


def _online_problem(receipt: Mapping[str, Any], facts: dict[str, Any], url: str) -> tuple[str | None, dict[str, Any]]:
    """(why the chain contradicts the receipt or None, what the node said). ServiceError if unreachable."""
    from web3.exceptions import TransactionNotFound

    from .evm_rpc import connect, registry_artifacts, to_hex

    w3 = connect(url)
    try:
        seen: dict[str, Any] = {"node_chain_id": int(w3.eth.chain_id)}
        if seen["node_chain_id"] != facts["chain_id"]:
            return (
                f"the node serves chain {seen['node_chain_id']}, the receipt names chain {facts['chain_id']}",
                seen,
            )
        try:
            tx = w3.eth.get_transaction_receipt(facts["tx_hash"])
        except TransactionNotFound:
            return (
                f"transaction {facts['tx_hash']} is not on the chain (altered, or dropped in a reorg)",
                seen,
            )
        latest = int(w3.eth.block_number)
        seen["confirmations_now"] = max(0, latest - facts["block_number"] + 1)
        block = w3.eth.get_block(facts["block_number"]) if facts["block_number"] <= latest else None
    except Exception as exc:  # noqa: BLE001 - any transport or decoding failure: the node cannot be used
        raise ServiceError(f"{url}: {' '.join(str(exc).split())[:200]}") from exc
    if block is None or to_hex(block["hash"]) != facts["block_hash"]:
        return (
            f"block {facts['block_number']} on the chain is not {facts['block_hash']} (reorganised/altered)",
            seen,
        )
    if int(tx["blockNumber"]) != facts["block_number"] or to_hex(tx["blockHash"]) != facts["block_hash"]:
        return f"the transaction is in block {tx['blockNumber']}, not in the block the receipt names", seen
    if tx["status"] != 1 or (tx["to"] or "").lower() != facts["contract"].lower():
        return "the transaction failed or was not sent to the registry contract", seen
    # Addresses are written in their EIP-55 checksum form: a changed letter case is a changed receipt.
    if w3.to_checksum_address(facts["contract"]) != facts["contract"]:
        return "the receipt's contract address is not in its EIP-55 checksum form", seen
    if str(tx["from"]) != facts["sender"]:
        return f"the transaction was sent by {tx['from']}, not by the receipt's sender {facts['sender']}", seen
    abi, _ = registry_artifacts()
    registry = w3.eth.contract(address=w3.to_checksum_address(facts["contract"]), abi=abi)
    from web3.logs import DISCARD

    events = [e for e in registry.events.Anchored().process_receipt(tx, errors=DISCARD)]
    event = next((e for e in events if int(e["logIndex"]) == facts["log_index"]), None)
    if event is None:
        return f"the transaction has no Anchored event at log index {facts['log_index']}", seen
    args = event["args"]
    roots = receipt["roots"]
    recorded = {"sm3": bytes(args["sm3Root"]).hex(), "sha256": bytes(args["sha256Root"]).hex()}
    claimed = {alg: str(roots.get(alg, "00" * 32)) for alg in ALGORITHMS}
    if args["depositId"] != receipt["deposit_id"] or recorded != claimed:
        return "the event on the chain holds another deposit id or other roots", seen
    seen["block_time"] = datetime.fromtimestamp(int(block["timestamp"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if seen["block_time"] != facts["time"]:
        return f"the block was made at {seen['block_time']}, not at the time the receipt gives", seen
    return None, seen
