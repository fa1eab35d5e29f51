"""Anchors: record a deposit's Merkle roots in the embedded ledger or on an Ethereum-compatible chain.

:mod:`.interface` is what a backend offers, :mod:`.backends` the table of backends and the two entry points
(:func:`~.backends.anchor_from_spec`, :func:`~.backends.verify_receipt`), :mod:`.receipt` what every receipt
shares; :mod:`.ledger` and :mod:`.evm` are the backends.
"""

from .backends import BACKENDS, anchor_from_spec, verify_receipt
from .interface import Anchor

__all__ = ["BACKENDS", "Anchor", "anchor_from_spec", "verify_receipt"]
