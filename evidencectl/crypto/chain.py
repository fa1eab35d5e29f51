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
from ..i18n import _
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
        raise VerificationError(_("unsupported certificate signature algorithm: {exc}").format(exc=exc)) from exc


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
            _("certificate {name_text} was not valid at {isoformat} (valid {isoformat2} to {isoformat3})").format(
                name_text=name_text(cert.subject),
                isoformat=at.isoformat(),
                isoformat2=start.isoformat(),
                isoformat3=end.isoformat(),
            )
        )


def build_path(
    cert_der: bytes,
    roots: Sequence[bytes],
    intermediates: Sequence[bytes] = (),
    at: datetime | None = None,
) -> list[bytes]:
    """The path ``[cert, ..., root]`` from ``cert_der`` to one of ``roots``, checked at time ``at``.

    Every issuer candidate is tried (same name, matching key identifier, a CA, and its key verifies the
    signature), so a CA that shares its name with another is no trap. Raises :class:`IndeterminateError`
    when no path to a trusted root exists, and :class:`VerificationError` when every path that reaches a
    trusted root holds a certificate (the root included) not valid at ``at``.
    """
    paths = all_paths(cert_der, roots, intermediates)
    if not paths:
        raise IndeterminateError(
            _("no path from {name_text} to a trusted CA").format(
                name_text=name_text(parse_certificate(cert_der).subject)
            )
        )
    first: VerificationError | None = None
    for path in paths:
        try:
            if at is not None:
                for der in path:
                    check_validity(parse_certificate(der), at)
        except VerificationError as exc:
            first = first or exc
            continue
        return path
    assert first is not None
    raise first


def all_paths(cert_der: bytes, roots: Sequence[bytes], intermediates: Sequence[bytes] = ()) -> list[list[bytes]]:
    """Every path ``[cert, ..., root]`` whose links hold, trusted roots tried first; at most 16."""
    root_set = set(roots)
    pool: dict[bytes, asn1_x509.Certificate] = {}
    for der in [*roots, *intermediates]:
        pool.setdefault(bytes(der), parse_certificate(der))
    found: list[list[bytes]] = []

    def walk(path: list[bytes], current: asn1_x509.Certificate) -> None:
        if path[-1] in root_set:
            found.append(list(path))
            return
        if len(path) > MAX_DEPTH:
            return
        for der, candidate in pool.items():
            if len(found) >= 16:
                return
            if der not in path and _issues(current, candidate):
                walk([*path, der], candidate)

    walk([bytes(cert_der)], parse_certificate(cert_der))
    return found


def _issues(cert: asn1_x509.Certificate, candidate: asn1_x509.Certificate) -> bool:
    """True when ``candidate`` is a CA whose subject and key identifier fit ``cert`` and whose key signed it."""
    if candidate.subject != cert.issuer:
        return False
    aki, ski = cert.authority_key_identifier, candidate.key_identifier
    if aki is not None and ski is not None and aki != ski:
        return False
    constraints = candidate.basic_constraints_value
    # A root without basicConstraints (v1) is still a CA by being trusted; others must say so.
    is_ca = candidate.self_signed != "no" if constraints is None else bool(constraints["ca"].native)
    return is_ca and signed_by(cert, candidate)
