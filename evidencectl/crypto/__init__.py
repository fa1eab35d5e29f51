"""Keys, SM2/ECDSA signatures, X.509 certificates and the trust store."""

from __future__ import annotations

from .keys import (
    KeyAlgorithm,
    SigningKey,
    generate_key,
    load_or_create_service_key,
    load_private_key,
    save_private_key,
    spki_fingerprint,
    verify_signature,
)
from .passphrase import read_passphrase
from .trust import TrustAnchor, TrustRole, TrustStore
from .x509 import build_certificate, certificate_pem, load_certificates

__all__ = [
    "KeyAlgorithm",
    "SigningKey",
    "TrustAnchor",
    "TrustRole",
    "TrustStore",
    "build_certificate",
    "certificate_pem",
    "generate_key",
    "load_certificates",
    "load_or_create_service_key",
    "load_private_key",
    "read_passphrase",
    "save_private_key",
    "spki_fingerprint",
    "verify_signature",
]
