"""Talking to an Ethereum JSON-RPC node (web3, imported only when a node is asked): for anchoring and for
checking a receipt online."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

from ..errors import ServiceError
from ..i18n import _

RPC_TIMEOUT_S = 10
"""Timeout of one JSON-RPC request."""


def registry_artifacts() -> tuple[list[Any], str]:
    """ABI and creation bytecode (hex) of the shipped ``EvidenceRegistry`` contract."""
    folder = resources.files("evidencectl.anchor") / "contracts"
    abi = json.loads((folder / "EvidenceRegistry.abi.json").read_text(encoding="utf-8"))
    return abi, "0x" + (folder / "EvidenceRegistry.bin").read_text(encoding="ascii").strip()


def connect(rpc_url: str) -> Any:
    """A web3 client for ``rpc_url``; ServiceError when the node does not answer."""
    from web3 import Web3

    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": RPC_TIMEOUT_S}))
    try:
        w3.eth.chain_id  # noqa: B018 - the cheapest call that proves the node answers
    except Exception as exc:  # noqa: BLE001 - requests, web3 and JSON errors all mean "node unusable"
        raise ServiceError(
            _("chain node {rpc_url} does not answer: {one_line}").format(rpc_url=rpc_url, one_line=one_line(exc))
        ) from exc
    return w3


def to_hex(value: Any) -> str:
    """0x-prefixed lower-case hex of bytes (web3 HexBytes' str() omits the prefix in some versions)."""
    raw = bytes(value) if not isinstance(value, str) else bytes.fromhex(value.removeprefix("0x"))
    return "0x" + raw.hex()


def one_line(exc: BaseException) -> str:
    """An exception as one line of at most 300 characters."""
    return " ".join(str(exc).split())[:300] or type(exc).__name__
