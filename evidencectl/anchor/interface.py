"""The anchor interface: what a backend (embedded ledger, EVM chain…) must offer.

A backend records a deposit's Merkle roots somewhere outside the package and hands back a receipt: a
JSON-able dict stored in the package under ``proofs/anchors/``, whose ``type`` is the backend's ``kind``.
The same class verifies its own receipts. :mod:`.backends` holds the table of backends by kind; adding
one (FISCO BCOS, ChainMaker) is one module with one such class and one line in that table.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

if TYPE_CHECKING:
    from ..checks import CheckResult
    from ..context import Context
    from ..crypto.trust import TrustStore


class Anchor(Protocol):
    """Something that records a deposit's roots, hands back a receipt, and verifies receipts of its kind."""

    kind: ClassVar[str]
    """The receipt ``type`` this backend writes (``ledger``, ``evm``) and the prefix of its spec."""
    name: str
    """``local`` for the embedded ledger, ``evm:<rpc url>`` for a chain."""

    @classmethod
    def from_spec(cls, spec: str, ctx: Context, *, contract: str | None = None) -> Anchor:
        """The backend named by ``spec`` (``local``, ``evm:URL``…) with its data in ``ctx``; UsageError
        for a spec of this kind that is wrong."""
        ...

    def anchor(self, deposit_id: str, roots: dict[str, str]) -> dict[str, Any]:
        """Record ``roots`` (``{"sm3": hex, "sha256": hex}``) of deposit ``deposit_id``; return the receipt.

        Raises :class:`~evidencectl.errors.ServiceError` when the ledger or node cannot take the record, so
        the caller keeps the deposit pending and retries later.
        """
        ...

    @staticmethod
    def verify_receipt(
        receipt: Mapping[str, Any], *, trust: TrustStore, online: bool, check: str, rpc_url: str | None
    ) -> CheckResult:
        """Check the fields of a receipt of this kind whose version, deposit id and roots were checked
        already (:func:`.backends.verify_receipt`); raises MalformedReceipt for a malformed one."""
        ...
