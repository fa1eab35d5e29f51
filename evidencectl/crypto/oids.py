"""Chinese commercial cryptography (SM) object identifiers, registered with asn1crypto.

asn1crypto knows none of the SM OIDs; without them it cannot name the SM2 curve in a public key, the
SM2-with-SM3 signature algorithm of a certificate, or the SM3 digest of a timestamp imprint.
Registration is idempotent, so every module that needs the names may call :func:`register_sm_oids`.
"""

from __future__ import annotations

from typing import Any

from asn1crypto import algos, keys

SM2_CURVE_OID = "1.2.156.10197.1.301"
"""GM/T 0006: the SM2 elliptic curve (also used, by some producers, as a public-key algorithm)."""
SM3_OID = "1.2.156.10197.1.401"
"""GM/T 0006: the SM3 hash function."""
SM2_WITH_SM3_OID = "1.2.156.10197.1.501"
"""GM/T 0006: SM2 signature with SM3 (signer ID 1234567812345678 by GM/T 0015 convention)."""

SM2_DEFAULT_ID = b"1234567812345678"
"""The default SM2 signer identifier of GM/T 0009; OpenSSL calls it ``distid``."""

_registered = False


def _add(cls: Any, oid: str, name: str) -> None:
    """Add ``oid -> name`` to an asn1crypto ObjectIdentifier class, keeping its lazy reverse map in step."""
    cls._map[oid] = name
    reverse = getattr(cls, "_reverse_map", None)
    if reverse is not None:
        reverse[name] = oid


def register_sm_oids() -> None:
    """Teach asn1crypto the SM2 curve, SM3 and SM2-with-SM3 (safe to call more than once)."""
    global _registered
    if _registered:
        return
    if SM2_CURVE_OID not in keys.NamedCurve._map:
        keys.NamedCurve.register("sm2", SM2_CURVE_OID, 32)
    _add(algos.DigestAlgorithmId, SM3_OID, "sm3")
    _add(algos.SignedDigestAlgorithmId, SM2_WITH_SM3_OID, "sm2sign_with_sm3")
    _registered = True


register_sm_oids()
