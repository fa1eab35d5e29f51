"""Anchors: record a deposit's Merkle roots in the embedded ledger or on an Ethereum-compatible chain."""

from .interface import Anchor, anchor_from_spec, verify_receipt

__all__ = ["Anchor", "anchor_from_spec", "verify_receipt"]
