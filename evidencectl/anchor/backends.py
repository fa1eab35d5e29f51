"""The anchor backends by kind, and the two things done through them: anchor by spec, verify a receipt.

A spec names its backend: ``local`` is the embedded ledger, ``KIND:…`` (``evm:URL``) the backend of that
kind; a receipt names it by its ``type``. Checks every receipt shares (version, deposit id, roots) are made
here, the rest by the backend's own ``verify_receipt``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..context import Context
from ..errors import UsageError
from ..i18n import _
from .evm import EvmAnchor
from .interface import Anchor
from .ledger import EmbeddedLedger
from .receipt import RECEIPT_VERSION, MalformedReceipt, failed, need

if TYPE_CHECKING:
    from ..checks import CheckResult
    from ..crypto.trust import TrustStore

BACKENDS: dict[str, type[Anchor]] = {
    EmbeddedLedger.kind: EmbeddedLedger,
    EvmAnchor.kind: EvmAnchor,
}
"""Every anchor backend, by the ``type`` of its receipts."""

LOCAL = "local"
"""The spec of the embedded ledger."""


def anchor_from_spec(spec: str, context: Context | Path, *, contract: str | None = None) -> Anchor:
    """The anchor named by ``spec``: ``local`` (the embedded ledger of the data directory ``context``, a
    :class:`~evidencectl.context.Context` or its path) or ``KIND:…`` such as ``evm:<rpc url>`` (``contract``:
    the EvidenceRegistry address instead of the remembered one)."""
    kind = EmbeddedLedger.kind if spec == LOCAL else spec.partition(":")[0]
    backend = BACKENDS.get(kind) if spec == LOCAL or ":" in spec else None
    if backend is None or (kind == EmbeddedLedger.kind and spec != LOCAL):
        raise UsageError(_("unknown anchor {spec!r}: expected 'local' or 'evm:<rpc url>'").format(spec=spec))
    return backend.from_spec(spec, Context.of(context), contract=contract)


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
        return failed(check, "malformed: the receipt is not a JSON object", reason="FORMAT")
    kind = receipt.get("type")
    try:
        # The version decides how every other field is read: an unknown one is never guessed at.
        if need(receipt, "version", int) != RECEIPT_VERSION:
            return failed(check, f"malformed: unknown receipt version {receipt['version']!r}", reason="FORMAT")
        if receipt.get("deposit_id") != deposit_id:
            return failed(check, f"the receipt is for deposit {receipt.get('deposit_id')!r}, not {deposit_id!r}")
        if receipt.get("roots") != dict(roots):
            return failed(check, "the roots in the receipt differ from the roots of this deposit")
        backend = BACKENDS.get(kind) if isinstance(kind, str) else None
        if backend is None:
            return failed(check, f"malformed: unknown receipt type {kind!r}", reason="FORMAT")
        return backend.verify_receipt(receipt, trust=trust, online=online, check=check, rpc_url=rpc_url)
    except MalformedReceipt as exc:
        return failed(check, f"malformed: {exc}", reason="FORMAT")
