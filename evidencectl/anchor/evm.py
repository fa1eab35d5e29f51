"""Anchoring to an Ethereum-compatible chain through the ``EvidenceRegistry`` contract (web3, lazily).

One transaction per deposit calls ``anchor(depositId, sm3Root, sha256Root)``; the ``Anchored`` event in its
receipt is the record. The sending key comes from ``$EVIDENCECTL_EVM_KEY`` (hex) or from an Ethereum
keystore file named in ``config.toml`` (``[evm] keystore``, password in ``$EVIDENCECTL_EVM_KEY_PASSWORD``),
never from the command line, where other users of the machine could read it.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from ..atomic import write_new_file
from ..context import Context
from ..errors import BadInputError, KeyFileError, ServiceError, UsageError
from ..i18n import _
from .evm_receipt import verify_evm_receipt
from .evm_rpc import connect, one_line, registry_artifacts, to_hex
from .receipt import check_roots

if TYPE_CHECKING:
    from ..checks import CheckResult
    from ..crypto.trust import TrustStore

KEY_ENV = "EVIDENCECTL_EVM_KEY"
"""Environment variable holding the sender's private key in hex."""
KEYSTORE_PASSWORD_ENV = "EVIDENCECTL_EVM_KEY_PASSWORD"
"""Environment variable holding the password of the keystore file named in ``config.toml``."""


def load_account(ctx: Context) -> Any:
    """The sending account: ``$EVIDENCECTL_EVM_KEY`` or the keystore file named in ``config.toml``."""
    from eth_account import Account

    hex_key = os.environ.get(KEY_ENV)
    if hex_key:
        try:
            return Account.from_key(hex_key.strip())
        except Exception as exc:  # noqa: BLE001 - eth_account raises several types for a bad key
            raise KeyFileError(_("${KEY_ENV} is not a valid private key in hex").format(KEY_ENV=KEY_ENV)) from exc
    config = ctx.config
    keystore = config.section("evm").get("keystore")
    if not keystore:
        raise UsageError(
            _("no chain key: set ${KEY_ENV} or [evm] keystore in {path}").format(KEY_ENV=KEY_ENV, path=config.path)
        )
    path = Path(str(keystore)).expanduser()
    try:
        encrypted = json.loads(path.read_text(encoding="utf-8"))
        return Account.from_key(Account.decrypt(encrypted, os.environ.get(KEYSTORE_PASSWORD_ENV, "")))
    except (OSError, ValueError) as exc:
        raise KeyFileError(_("cannot open the keystore: {one_line}").format(one_line=one_line(exc)), path=path) from exc


def known_contract(rpc_url: str, ctx: Context) -> str | None:
    """Registry address for ``rpc_url``: ``[evm.contracts]`` in config.toml, else ``ctx.chains_path``."""
    configured = ctx.config.section("evm").get("contracts", {})
    if isinstance(configured, dict) and isinstance(configured.get(rpc_url), str):
        return str(configured[rpc_url])
    entry = _read_chains(ctx).get(rpc_url)
    return str(entry["contract"]) if isinstance(entry, dict) and "contract" in entry else None


def deploy_registry(rpc_url: str, ctx: Context) -> dict[str, Any]:
    """Deploy ``EvidenceRegistry`` on ``rpc_url`` and remember its address in ``ctx.chains_path``."""
    w3 = connect(rpc_url)
    account = load_account(ctx)
    abi, bytecode = registry_artifacts()
    contract = w3.eth.contract(abi=abi, bytecode=bytecode)
    receipt = _transact(w3, account, contract.constructor(), rpc_url)
    record = {
        "contract": receipt["contractAddress"],
        "chain_id": w3.eth.chain_id,
        "tx_hash": to_hex(receipt["transactionHash"]),
        "block_number": receipt["blockNumber"],
        "deployer": account.address,
    }
    chains = _read_chains(ctx)
    chains[rpc_url] = record
    _write_json(ctx.chains_path, chains)
    return record


class EvmAnchor:
    """Anchor roots through the registry contract at ``contract`` (default: the one known for the URL)."""

    kind: ClassVar[str] = "evm"
    """The ``type`` of its receipts and the prefix of its spec (``evm:URL``)."""

    def __init__(
        self,
        rpc_url: str,
        contract: str | None = None,
        confirmations: int = 1,
        *,
        ctx: Context,
        timeout_s: float = 120.0,
    ) -> None:
        if confirmations < 1:
            raise UsageError(_("confirmations must be at least 1"))
        self.rpc_url = rpc_url
        """JSON-RPC endpoint of the node."""
        self.name = f"evm:{rpc_url}"
        """Anchor name used in ``--anchor evm:URL``."""
        self.ctx = ctx
        """The data directory (configuration, ``chains.json``)."""
        self.contract = contract or known_contract(rpc_url, ctx)
        """Address of the EvidenceRegistry contract."""
        if not self.contract:
            raise UsageError(
                _("no EvidenceRegistry known for {rpc_url}: run `evidencectl chain deploy --rpc {rpc_url}`").format(
                    rpc_url=rpc_url
                )
            )
        self.confirmations = confirmations
        """Blocks (including its own) that must hold the transaction before the receipt is handed out."""
        self.timeout_s = timeout_s
        """How long to wait for inclusion and confirmations before giving up with ServiceError."""

    @classmethod
    def from_spec(cls, spec: str, ctx: Context, *, contract: str | None = None) -> EvmAnchor:
        """The chain of ``--anchor evm:URL``: ``contract`` overrides the registry address remembered for that
        URL; the confirmations to wait for come from ``[evm] confirmations`` in config.toml (default 1)."""
        url = spec.removeprefix("evm:")
        if not url.startswith(("http://", "https://")):
            raise UsageError(_("anchor {spec!r}: expected evm:http://host:port or evm:https://…").format(spec=spec))
        try:
            confirmations = int(ctx.config.section("evm").get("confirmations", 1))
        except (TypeError, ValueError) as exc:
            raise UsageError(_("config.toml [evm] confirmations must be a whole number")) from exc
        return cls(url, contract=contract, confirmations=confirmations, ctx=ctx)

    @staticmethod
    def verify_receipt(
        receipt: Mapping[str, Any], *, trust: TrustStore, online: bool, check: str, rpc_url: str | None
    ) -> CheckResult:
        """INDETERMINATE offline (the facts say what to look up); with ``online`` a node the verifier chose
        (``rpc_url``, else ``trust.chains()``) is asked for the transaction, block and event — never the node
        the receipt names."""
        chains = trust.chains() if hasattr(trust, "chains") else []
        return verify_evm_receipt(receipt, online=online, check=check, rpc_url=rpc_url, chains=chains)

    def anchor(self, deposit_id: str, roots: dict[str, str]) -> dict[str, Any]:
        """Send one ``anchor`` transaction, wait for its confirmations and return the receipt."""
        clean = check_roots(roots)
        w3 = connect(self.rpc_url)
        abi, __ = registry_artifacts()
        registry = w3.eth.contract(address=w3.to_checksum_address(str(self.contract)), abi=abi)
        call = registry.functions.anchor(
            deposit_id,
            bytes.fromhex(clean.get("sm3", "00" * 32)),
            bytes.fromhex(clean.get("sha256", "00" * 32)),
        )
        tx = _transact(w3, load_account(self.ctx), call, self.rpc_url, self.timeout_s)
        events = registry.events.Anchored().process_receipt(tx)
        if len(events) != 1:
            raise ServiceError(
                _("transaction {to_hex} emitted no Anchored event").format(to_hex=to_hex(tx["transactionHash"]))
            )
        self._await_confirmations(w3, int(tx["blockNumber"]))
        block = w3.eth.get_block(tx["blockNumber"])
        return {
            "type": "evm",
            "version": 1,
            "deposit_id": deposit_id,
            "roots": clean,
            "chain_id": int(w3.eth.chain_id),
            "rpc_url": self.rpc_url,
            "contract": w3.to_checksum_address(str(self.contract)),
            "tx_hash": to_hex(tx["transactionHash"]),
            "block_number": int(tx["blockNumber"]),
            "block_hash": to_hex(tx["blockHash"]),
            "log_index": int(events[0]["logIndex"]),
            "sender": tx["from"],
            "time": datetime.fromtimestamp(int(block["timestamp"]), UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "confirmations": self.confirmations,
        }

    def _await_confirmations(self, w3: Any, block_number: int) -> None:
        deadline = time.monotonic() + self.timeout_s
        while w3.eth.block_number - block_number + 1 < self.confirmations:
            if time.monotonic() > deadline:
                raise ServiceError(
                    _("block {block_number} on {rpc_url} lacks {confirmations} confirmations").format(
                        block_number=block_number, rpc_url=self.rpc_url, confirmations=self.confirmations
                    )
                )
            time.sleep(1.0)


def _transact(w3: Any, account: Any, call: Any, rpc_url: str, timeout_s: float = 120.0) -> Any:
    """Sign ``call`` locally (the node never sees the key), send it, and wait for a successful receipt."""
    try:
        tx = call.build_transaction(
            {"from": account.address, "nonce": w3.eth.get_transaction_count(account.address, "pending")}
        )
        signed = account.sign_transaction(tx)
        tx_hash = w3.eth.send_raw_transaction(signed.raw_transaction)
        receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout_s)
    except Exception as exc:  # noqa: BLE001 - network, node and web3 errors all leave the deposit pending
        raise ServiceError(
            _("transaction on {rpc_url} failed: {one_line}").format(rpc_url=rpc_url, one_line=one_line(exc))
        ) from exc
    if receipt["status"] != 1:
        raise ServiceError(
            _("transaction {to_hex} on {rpc_url} was reverted").format(
                to_hex=to_hex(receipt["transactionHash"]), rpc_url=rpc_url
            )
        )
    return receipt


def _read_chains(ctx: Context) -> dict[str, Any]:
    path = ctx.chains_path
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BadInputError(
            _("cannot read the chain registry: {one_line}").format(one_line=one_line(exc)), path=path
        ) from exc
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Any) -> None:
    """Atomic write of the chain registry (evidencectl/atomic.py)."""
    text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    write_new_file(path, text.encode("utf-8"), mode=0o644, replace=True)
