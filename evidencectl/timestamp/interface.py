"""The shape every time-stamping authority takes, embedded or remote (RFC 3161)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

HASH_NAMES: tuple[str, ...] = ("sha256", "sm3", "sha384", "sha512")
"""Imprint algorithms a deposit may ask a TSA for."""


@runtime_checkable
class TimestampAuthority(Protocol):
    """A source of RFC 3161 time-stamp tokens over a digest."""

    name: str
    """``"local"`` for the embedded TSA, otherwise the service URL."""

    def timestamp(self, digest: bytes, hash_name: str) -> bytes:
        """Return a DER ``TimeStampResp`` over ``digest`` (the hash value itself, made with ``hash_name``).

        The response has already been checked: status granted, imprint and nonce as requested, signature
        valid. Raises :class:`evidencectl.errors.ServiceError` when the service fails, rejects the request
        (the message carries the PKIStatus text and failInfo) or answers something that is not a valid
        response.
        """
        ...
