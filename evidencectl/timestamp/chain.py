"""Certificate paths of TSA signers, validated at the token's genTime against the user's trust store."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import x509

from ..checks import Status
from ..errors import VerificationError
from .signature import is_sm2_key, verify_with_key

T = TypeVar("T")

MAX_DEPTH = 8
"""Longest path we try to build; real TSA chains have two or three certificates."""


@dataclass(frozen=True)
class ChainVerdict:
    """Outcome of validating a signer's certificate path."""

    status: Status
    """PASSED when a path to a trusted root is valid at genTime."""
    detail: str
    """What was found, in one sentence."""
    anchor: x509.Certificate | None = None
    """The trust anchor the path ends in, when one was reached."""
    path: tuple[x509.Certificate, ...] = ()
    """The certificates from the signer up to (not including) the anchor."""


def _run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion, also when the caller already runs an event loop."""
    import asyncio  # here: a deposit checks its own TSA's responses without an event loop
    import concurrent.futures

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def check_tsa_eku(cert: x509.Certificate) -> None:
    """RFC 3161 §2.3: the TSA certificate's only extended key usage is timeStamping, marked critical."""
    found = [e for e in cert["tbs_certificate"]["extensions"] if e["extn_id"].native == "extended_key_usage"]
    if not found:
        raise VerificationError("signer certificate has no extended key usage timeStamping")
    ext = found[0]
    if list(ext["extn_value"].native) != ["time_stamping"]:
        raise VerificationError(f"signer certificate EKU is {list(ext['extn_value'].native)}, not timeStamping alone")
    if not ext["critical"].native:
        raise VerificationError("signer certificate EKU timeStamping is not marked critical")


def validate_path(
    signer: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
) -> ChainVerdict:
    """Validate ``signer`` up to one of ``roots`` at ``moment`` (pool: untrusted chain-building material)."""
    if not roots:
        return ChainVerdict(Status.INDETERMINATE, "no TSA trust anchors are configured (add one with --trust)")
    if is_sm2_key(signer.public_key) or any(is_sm2_key(c.public_key) for c in pool):
        return _validate_sm2(signer, pool, roots, moment)
    return _validate_pkix(signer, pool, roots, moment)


def _validate_pkix(
    signer: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
) -> ChainVerdict:
    """RFC 5280 path validation by pyhanko-certvalidator, at genTime, without network fetching."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator import errors as cv

    context = ValidationContext(
        trust_roots=list(roots),
        other_certs=list(pool),
        moment=moment,
        allow_fetching=False,
        revocation_mode="soft-fail",
        # Old TSA chains (2010s) are signed with SHA-1; the token's own signature is checked separately.
        weak_hash_algos={"md2", "md5"},
    )
    validator = CertificateValidator(signer, intermediate_certs=list(pool), validation_context=context)
    try:
        path = _run(validator.async_validate_usage(set(), {"time_stamping"}))  # type: ignore[no-untyped-call]
    except cv.PathBuildingError as exc:
        return ChainVerdict(Status.INDETERMINATE, f"no path from the TSA certificate to a trusted root: {exc}")
    except (cv.PathValidationError, cv.InvalidCertificateError, cv.DisallowedAlgorithmError) as exc:
        return ChainVerdict(Status.FAILED, f"TSA certificate path invalid at genTime: {exc}")
    except cv.ValidationError as exc:
        return ChainVerdict(Status.INDETERMINATE, f"TSA certificate path could not be validated: {exc}")
    anchor_cert = getattr(path.trust_anchor.authority, "certificate", None)
    certs = tuple(c for c in path.iter_certs(include_root=False) if isinstance(c, x509.Certificate))
    return ChainVerdict(Status.PASSED, "TSA certificate path valid at genTime", anchor_cert, certs)


def _valid_at(cert: x509.Certificate, moment: datetime) -> bool:
    """True when ``moment`` lies within the certificate's validity period."""
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= moment <= validity["not_after"].native)


def _validate_sm2(
    signer: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
) -> ChainVerdict:
    """Path validation for SM2 chains, which certvalidator cannot verify: names, validity at genTime,
    basicConstraints and path length, and each certificate signature."""
    root_ders = {r.dump() for r in roots}
    path: list[x509.Certificate] = []
    cert = signer
    for _ in range(MAX_DEPTH):
        if not _valid_at(cert, moment):
            return ChainVerdict(Status.FAILED, f"certificate {cert.subject.human_friendly} not valid at genTime")
        if cert.dump() in root_ders:
            return ChainVerdict(Status.PASSED, "TSA certificate path valid at genTime", cert, tuple(path))
        path.append(cert)
        issuers = [c for c in (*roots, *pool) if c.subject == cert.issuer and c.dump() != cert.dump()]
        if not issuers:
            return ChainVerdict(Status.INDETERMINATE, "no path from the TSA certificate to a trusted root")
        # Prefer a trusted issuer over an untrusted copy of the same name.
        issuer = sorted(issuers, key=lambda c: c.dump() not in root_ders)[0]
        if not issuer.ca or (issuer.max_path_length is not None and issuer.max_path_length < len(path) - 1):
            return ChainVerdict(Status.FAILED, f"{issuer.subject.human_friendly} may not issue certificates")
        try:
            hash_name = "sm3" if is_sm2_key(issuer.public_key) else (cert.hash_algo or "?")
            verify_with_key(
                issuer.public_key.dump(),
                cert["signature_algorithm"],
                hash_name,
                cert["tbs_certificate"].dump(),
                bytes(cert["signature_value"].native),
            )
        except VerificationError as exc:
            return ChainVerdict(Status.FAILED, f"certificate {cert.subject.human_friendly}: {exc}")
        cert = issuer
    return ChainVerdict(Status.INDETERMINATE, "certificate path too long")
