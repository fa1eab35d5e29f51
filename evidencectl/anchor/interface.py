"""The anchor interface: record a deposit's Merkle roots somewhere outside the package, verify the receipt.

Two backends implement :class:`Anchor`: the embedded ledger (``local``, :mod:`.ledger`) and any Ethereum
JSON-RPC node holding the ``EvidenceRegistry`` contract (``evm:URL``, :mod:`.evm`). A receipt is a JSON-able
dict stored in the package under ``proofs/anchors/``; :func:`verify_receipt` turns it into one check.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..checks import CheckResult, Status
from ..errors import UsageError

if TYPE_CHECKING:
    from ..crypto.trust import TrustStore

ROOT_ALGORITHMS = ("sm3", "sha256")
"""Digest algorithms whose Merkle roots a deposit anchors."""

RECEIPT_VERSION = 1
"""Version of the receipt layout, the same for every kind of receipt."""

_HEX64 = re.compile(r"[0-9a-f]{64}")


class Anchor(Protocol):
    """Something that records a deposit's roots and hands back a receipt."""

    name: str
    """``local`` for the embedded ledger, ``evm:<rpc url>`` for a chain."""

    def anchor(self, deposit_id: str, roots: dict[str, str]) -> dict[str, Any]:
        """Record ``roots`` (``{"sm3": hex, "sha256": hex}``) of deposit ``deposit_id``; return the receipt.

        Raises :class:`~evidencectl.errors.ServiceError` when the ledger or node cannot take the record, so
        the caller keeps the deposit pending and retries later.
        """
        ...


def check_roots(roots: Mapping[str, str]) -> dict[str, str]:
    """A clean copy of ``roots``: known algorithms, 32-byte lower-case hex; UsageError otherwise."""
    if not isinstance(roots, Mapping) or not roots:
        raise UsageError("anchor roots must be a non-empty mapping of algorithm to hex digest")
    clean: dict[str, str] = {}
    for alg, value in roots.items():
        if alg not in ROOT_ALGORITHMS:
            raise UsageError(f"anchor roots: unknown algorithm {alg!r}")
        if not isinstance(value, str) or not _HEX64.fullmatch(value):
            raise UsageError(f"anchor roots: {alg} root is not 64 lower-case hex digits")
        clean[alg] = value
    return dict(sorted(clean.items()))


def verify_receipt(
    receipt: Mapping[str, Any],
    *,
    deposit_id: str,
    roots: Mapping[str, str],
    trust: TrustStore,
    online: bool = False,
    check: str = "anchor",
    rpc_url: str | None = None,
) -> CheckResult:
    """Check one anchor receipt against the deposit it should prove; never raises for bad input.

    A ledger receipt is verified offline against the node keys in ``trust`` (role ``ledger``). An EVM
    receipt is INDETERMINATE offline (the facts say what to look up); with ``online`` a node the verifier
    chose (``rpc_url``, else ``trust.chains()``) is asked for the transaction, block and event — never the
    node the receipt names.
    """
    if not isinstance(receipt, Mapping):
        return failed(check, "malformed: the receipt is not a JSON object")
    kind = receipt.get("type")
    try:
        # The version decides how every other field is read: an unknown one is never guessed at.
        if need(receipt, "version", int) != RECEIPT_VERSION:
            return failed(check, f"malformed: unknown receipt version {receipt['version']!r}")
        if receipt.get("deposit_id") != deposit_id:
            return failed(check, f"the receipt is for deposit {receipt.get('deposit_id')!r}, not {deposit_id!r}")
        if receipt.get("roots") != dict(roots):
            return failed(check, "the roots in the receipt differ from the roots of this deposit")
        if kind == "ledger":
            from .ledger_receipt import verify_ledger_receipt

            result = verify_ledger_receipt(receipt, trust=trust, check=check)
            base = getattr(trust, "base", None)  # the verifier's data directory: its own ledger
            if online and base is not None:
                from .ledger_online import check_still_in_ledger

                result = check_still_in_ledger(result, receipt, base)
            return result
        if kind == "evm":
            from .evm_receipt import verify_evm_receipt

            chains = trust.chains() if hasattr(trust, "chains") else []
            return verify_evm_receipt(receipt, online=online, check=check, rpc_url=rpc_url, chains=chains)
        return failed(check, f"malformed: unknown receipt type {kind!r}")
    except MalformedReceipt as exc:
        return failed(check, f"malformed: {exc}")


class MalformedReceipt(Exception):
    """A receipt field is missing or of the wrong kind (a FAILED check, never a crash)."""


def need(mapping: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str = "receipt") -> Any:
    """``mapping[key]`` when it exists and is of ``kind``; raises MalformedReceipt otherwise."""
    if not isinstance(mapping, Mapping) or key not in mapping:
        raise MalformedReceipt(f"{where} has no {key!r}")
    value = mapping[key]
    # bool is an int in Python; a height of ``true`` is still malformed.
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise MalformedReceipt(f"{where}.{key} has the wrong type")
    return value


def exact_keys(mapping: Mapping[str, Any], keys: frozenset[str], where: str = "receipt") -> None:
    """Raise MalformedReceipt unless ``mapping`` has exactly ``keys``.

    Every field of a receipt is either bound by the signature or proof it carries or checked for
    consistency with them; a field nobody checks could be changed freely, so an unknown one is refused.
    """
    if not isinstance(mapping, Mapping):
        raise MalformedReceipt(f"{where} is not an object")
    unknown, missing = sorted(set(mapping) - keys), sorted(keys - set(mapping))
    if unknown:
        raise MalformedReceipt(f"{where} has unknown field{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    if missing:
        raise MalformedReceipt(f"{where} lacks {', '.join(missing)}")


def failed(check: str, detail: str, facts: dict[str, Any] | None = None, reproduce: str | None = None) -> CheckResult:
    """A FAILED check result."""
    return CheckResult(check, Status.FAILED, detail, facts or {}, reproduce)


def anchor_from_spec(spec: str, base: Path, *, contract: str | None = None) -> Anchor:
    """The anchor named by ``spec``: ``local`` (embedded ledger under ``base``) or ``evm:<rpc url>``.

    For a chain, ``contract`` overrides the registry address remembered for that URL, and the number of
    confirmations to wait for comes from ``[evm] confirmations`` in config.toml (default 1).
    """
    if spec == "local":
        from .ledger import EmbeddedLedger

        return EmbeddedLedger.open(base)
    if spec.startswith("evm:"):
        url = spec[4:]
        if not url.startswith(("http://", "https://")):
            raise UsageError(f"anchor {spec!r}: expected evm:http://host:port or evm:https://…")
        from ..config import load_config
        from .evm import EvmAnchor

        try:
            confirmations = int(load_config(base).section("evm").get("confirmations", 1))
        except (TypeError, ValueError) as exc:
            raise UsageError("config.toml [evm] confirmations must be a whole number") from exc
        return EvmAnchor(url, contract=contract, confirmations=confirmations, base=base)
    raise UsageError(f"unknown anchor {spec!r}: expected 'local' or 'evm:<rpc url>'")
