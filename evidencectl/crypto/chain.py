"""A small certificate path check that understands SM2-with-SM3 as well as ECDSA and RSA.

pyhanko-certvalidator cannot check SM2 signatures, and depositor certificates from Chinese CAs are
SM2, so depositor chains are checked here: names link, each issuer is a CA, each signature verifies
with its issuer's key, and every certificate on the path is valid at the signing time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from asn1crypto import x509 as asn1_x509

from ..errors import BadInputError, IndeterminateError, VerificationError
from . import sm2
from .keys import verify_signature
from .x509 import name_text, parse_certificate

MAX_DEPTH = 6
"""Longest path accepted (leaf to root), far above any real depositor PKI."""


def signature_hash(cert: asn1_x509.Certificate) -> str | None:
    """The hash name of a certificate's signature algorithm (None for SM2-with-SM3, which implies SM3)."""
    algo = cert["signature_algorithm"]
    if algo["algorithm"].native == "sm2sign_with_sm3":
        return None
    try:
        return str(algo.hash_algo)
    except ValueError as exc:
        raise VerificationError(f"unsupported certificate signature algorithm: {exc}") from exc


def signed_by(cert: asn1_x509.Certificate, issuer: asn1_x509.Certificate) -> bool:
    """True when ``issuer``'s key verifies the signature on ``cert``.

    SM2 certificates are checked with the GM/T 0015 signer ID 1234567812345678 and, failing that, with
    the empty ID that OpenSSL 3.0 ``req``/``x509``/``ca`` use unless told ``-sigopt distid:...``.
    """
    spki, signature, tbs = (
        issuer.public_key.dump(),
        cert["signature_value"].native,
        cert["tbs_certificate"].dump(),
    )
    try:
        if verify_signature(spki, signature, tbs, signature_hash(cert)):
            return True
        if cert["signature_algorithm"]["algorithm"].native == "sm2sign_with_sm3":
            return sm2.verify_with_id(spki, signature, tbs, b"")
    except BadInputError:
        return False
    return False


def check_validity(cert: asn1_x509.Certificate, at: datetime) -> None:
    """Raise :class:`VerificationError` unless ``at`` lies within the certificate's validity."""
    validity = cert["tbs_certificate"]["validity"]
    start, end = validity["not_before"].native, validity["not_after"].native
    if not start <= at <= end:
        raise VerificationError(
            f"certificate {name_text(cert.subject)} was not valid at {at.isoformat()} "
            f"(valid {start.isoformat()} to {end.isoformat()})"
        )


def build_path(
    cert_der: bytes,
    roots: Sequence[bytes],
    intermediates: Sequence[bytes] = (),
    at: datetime | None = None,
) -> list[bytes]:
    """The path ``[cert, ..., root]`` from ``cert_der`` to one of ``roots``, checked at time ``at``.

    Raises :class:`IndeterminateError` when no path to a trusted root exists, and
    :class:`VerificationError` when the path exists but a certificate on it was not valid at ``at``.
    """
    root_set = set(roots)
    pool = [parse_certificate(der) for der in [*roots, *intermediates]]
    path = [cert_der]
    current = parse_certificate(cert_der)
    while len(path) <= MAX_DEPTH:
        if at is not None:
            check_validity(current, at)
        if path[-1] in root_set:
            return path
        issuer = _find_issuer(current, pool, exclude=path)
        if issuer is None:
            break
        path.append(bytes(issuer.dump()))
        current = issuer
    raise IndeterminateError(f"no path from {name_text(parse_certificate(cert_der).subject)} to a trusted CA")


def _find_issuer(
    cert: asn1_x509.Certificate, pool: list[asn1_x509.Certificate], exclude: list[bytes]
) -> asn1_x509.Certificate | None:
    """A CA certificate in ``pool`` whose subject is ``cert``'s issuer and whose key signed it."""
    for candidate in pool:
        if candidate.dump() in exclude or candidate.subject != cert.issuer:
            continue
        constraints = candidate.basic_constraints_value
        # A root without basicConstraints (v1) is still a CA by being trusted; others must say so.
        is_ca = candidate.self_signed != "no" if constraints is None else bool(constraints["ca"].native)
        if is_ca and signed_by(cert, candidate):
            return candidate
    return None
