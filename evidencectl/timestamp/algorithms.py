"""Hash and signature algorithm identifiers met in RFC 3161 tokens, by dotted OID."""

from __future__ import annotations

import hashlib

from ..crypto.oids import register_sm_oids

register_sm_oids()

HASH_OIDS: dict[str, str] = {
    "sha1": "1.3.14.3.2.26",
    "sha224": "2.16.840.1.101.3.4.2.4",
    "sha256": "2.16.840.1.101.3.4.2.1",
    "sha384": "2.16.840.1.101.3.4.2.2",
    "sha512": "2.16.840.1.101.3.4.2.3",
    "sha3_256": "2.16.840.1.101.3.4.2.8",
    "sha3_384": "2.16.840.1.101.3.4.2.9",
    "sha3_512": "2.16.840.1.101.3.4.2.10",
    "sm3": "1.2.156.10197.1.401",
}
"""Digest algorithms we can compute, by the names used in evidencectl files."""

OID_HASHES: dict[str, str] = {oid: name for name, oid in HASH_OIDS.items()}
"""Reverse of :data:`HASH_OIDS`."""

REQUESTABLE_HASHES: tuple[str, ...] = ("sha256", "sm3", "sha384", "sha512")
"""Imprint algorithms evidencectl asks TSAs for."""

TST_INFO_OID = "1.2.840.113549.1.9.16.1.4"
"""id-ct-TSTInfo, the eContentType of every time-stamp token."""

# Signature algorithm OIDs, grouped by scheme. A hash given by the OID itself (sha256WithRSA…) must
# agree with the SignerInfo's digestAlgorithm; the bare key-algorithm OIDs take the hash from there.
RSA_PKCS1_OIDS: dict[str, str | None] = {
    "1.2.840.113549.1.1.1": None,
    "1.2.840.113549.1.1.5": "sha1",
    "1.2.840.113549.1.1.14": "sha224",
    "1.2.840.113549.1.1.11": "sha256",
    "1.2.840.113549.1.1.12": "sha384",
    "1.2.840.113549.1.1.13": "sha512",
}
"""RSA PKCS#1 v1.5 signature algorithms."""
RSA_PSS_OID = "1.2.840.113549.1.1.10"
"""RSASSA-PSS (parameters carry hash, MGF and salt length)."""
ECDSA_OIDS: dict[str, str | None] = {
    "1.2.840.10045.2.1": None,
    "1.2.840.10045.4.1": "sha1",
    "1.2.840.10045.4.3.1": "sha224",
    "1.2.840.10045.4.3.2": "sha256",
    "1.2.840.10045.4.3.3": "sha384",
    "1.2.840.10045.4.3.4": "sha512",
}
"""ECDSA signature algorithms."""
SM2_SIGNATURE_OIDS: tuple[str, ...] = ("1.2.156.10197.1.501", "1.2.156.10197.1.301.1")
"""SM2-with-SM3 (GM/T 0006) and the GM/T 0010 style SM2 OID that some producers put in SignerInfo."""
SM2_CURVE_OID = "1.2.156.10197.1.301"
"""The SM2 curve, as named in a SubjectPublicKeyInfo."""


def hash_oid(name: str) -> str:
    """The OID of a hash algorithm name; raises KeyError for a name we do not know."""
    return HASH_OIDS[name]


def digest(name: str, data: bytes) -> bytes:
    """Hash ``data`` with the named algorithm (hashlib names; SM3 through OpenSSL)."""
    return hashlib.new(name.replace("_", "-") if name.startswith("sha3") else name, data).digest()


def digest_size(name: str) -> int:
    """Length in bytes of a digest made with the named algorithm."""
    return len(digest(name, b""))
