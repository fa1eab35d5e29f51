"""Certificate paths of TSA signers, validated at the token's genTime against the user's trust store."""

from __future__ import annotations

from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from asn1crypto import x509

from ..checks import Status
from ..errors import VerificationError
from ..i18n import _
from .signature import is_sm2_key, verify_with_key
from .token import name_text

T = TypeVar("T")

MAX_DEPTH = 8
"""Longest path we try to build; real TSA chains have two or three certificates."""
MAX_PATHS = 16
"""Most candidate paths tried: enough for any real pool, bounded against a hostile one."""
NO_ANCHOR = "NO_TRUST_ANCHOR"


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
    reason: str | None = None
    """Machine reason when not PASSED: ``NO_TRUST_ANCHOR``, ``CHAIN`` or ``TIME``."""


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
        raise VerificationError(_("signer certificate has no extended key usage timeStamping"))
    ext = found[0]
    if list(ext["extn_value"].native) != ["time_stamping"]:
        raise VerificationError(
            _("signer certificate EKU is {native}, not timeStamping alone").format(
                native=list(ext["extn_value"].native)
            )
        )
    if not ext["critical"].native:
        raise VerificationError(_("signer certificate EKU timeStamping is not marked critical"))
    # RFC 5280 §4.2.1.3: a key whose keyUsage allows neither digitalSignature nor nonRepudiation may not sign
    # data (OpenSSL's ts -verify refuses such a signer as "unsuitable certificate purpose").
    usage = cert.key_usage_value
    if usage is not None and not ({"digital_signature", "non_repudiation"} & set(usage.native)):
        raise SignerKeyUsageError(
            _("signer certificate key usage {native} does not allow signing").format(native=sorted(usage.native))
        )


class SignerKeyUsageError(VerificationError):
    """The TSA certificate's keyUsage forbids the signature the token carries."""

    reason = "CHAIN"
    """The machine reason a check records for this refusal."""


def validate_path(
    signer: x509.Certificate,
    pool: Sequence[x509.Certificate],
    roots: Sequence[x509.Certificate],
    moment: datetime,
) -> ChainVerdict:
    """Validate ``signer`` up to one of ``roots`` at ``moment`` (pool: untrusted chain-building material).

    Every path the certificates allow is tried (issuers matched by name, key identifier and signature:
    each installation's embedded TSA root once had the same name as every other's), and each is checked
    by the validator its keys need. No path to a trusted root is INDETERMINATE; FAILED is kept for a path
    that reaches a trusted root but breaks a rule on the way (a certificate not valid at genTime, an
    issuer that may not issue).
    """
    if not roots:
        return ChainVerdict(
            Status.INDETERMINATE,
            "no TSA trust anchors are configured (add one with --trust tsa:FILE)",
            reason=NO_ANCHOR,
        )
    paths = build_paths(signer, pool, roots)
    if not paths:
        return ChainVerdict(
            Status.INDETERMINATE,
            f"no path from the TSA certificate to a trusted root: {name_text(signer.subject)} is issued by "
            f"{name_text(signer.issuer)}, not trusted here for timestamps (add its root with --trust tsa:FILE)",
            reason=NO_ANCHOR,
        )
    first: ChainVerdict | None = None
    for path in paths:
        verdict = _check_path(path, moment)
        if verdict.status is Status.PASSED:
            return verdict
        first = first or verdict
    assert first is not None
    return first


def build_paths(
    signer: x509.Certificate, pool: Sequence[x509.Certificate], roots: Sequence[x509.Certificate]
) -> list[tuple[x509.Certificate, ...]]:
    """Every path ``(signer, …, trusted root)`` whose links hold: issuer name, key identifier, signature.

    Trusted roots are tried before the pool, so a path to a root is found before a detour through an
    untrusted copy of it; at most :data:`MAX_PATHS` paths of :data:`MAX_DEPTH` certificates are returned.
    """
    root_ders = {r.dump() for r in roots}
    candidates: dict[bytes, x509.Certificate] = {}
    for cert in (*roots, *pool):
        candidates.setdefault(cert.dump(), cert)
    found: list[tuple[x509.Certificate, ...]] = []

    def walk(path: list[x509.Certificate]) -> None:
        cert = path[-1]
        if cert.dump() in root_ders:
            found.append(tuple(path))
            return
        if len(path) >= MAX_DEPTH:
            return
        on_path = {c.dump() for c in path}
        for der, issuer in candidates.items():
            if len(found) >= MAX_PATHS:
                return
            if der not in on_path and _links(cert, issuer):
                walk([*path, issuer])

    walk([signer])
    return found


def _links(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer`` may be the next certificate up from ``cert``: name, key identifier, signature.

    A certificate whose fields cannot even be read (the pool is the package's, so the adversary's) links
    nothing rather than failing the check of a path that does not need it.
    """
    try:
        return issuer.subject == cert.issuer and _key_ids_agree(cert, issuer) and _issued_by(cert, issuer)
    except Exception:  # noqa: BLE001 - hostile extensions surface as ValueError, TypeError, KeyError
        return False


def _key_ids_agree(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """False when the certificate's authority key identifier names another key than the issuer's."""
    aki, ski = cert.authority_key_identifier, issuer.key_identifier
    return aki is None or ski is None or aki == ski


def _issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key verifies the signature on ``cert`` (SM2 with either signer ID)."""
    from ..crypto.chain import signed_by

    try:
        if is_sm2_key(issuer.public_key) or cert["signature_algorithm"]["algorithm"].native == "sm2sign_with_sm3":
            return signed_by(cert, issuer)
        verify_with_key(
            issuer.public_key.dump(),
            cert["signature_algorithm"],
            cert.hash_algo,
            cert["tbs_certificate"].dump(),
            bytes(cert["signature_value"].native),
        )
    except Exception:  # noqa: BLE001 - a key or algorithm we cannot use links nothing
        return False
    return True


def _valid_at(cert: x509.Certificate, moment: datetime) -> bool:
    """True when ``moment`` lies within the certificate's validity period."""
    validity = cert["tbs_certificate"]["validity"]
    return bool(validity["not_before"].native <= moment <= validity["not_after"].native)


def _check_path(path: tuple[x509.Certificate, ...], moment: datetime) -> ChainVerdict:
    """Validity at genTime of every certificate, the trusted root included, then the rules of the path."""
    anchor, below = path[-1], path[:-1]
    for cert in path:
        if not _valid_at(cert, moment):
            validity = cert["tbs_certificate"]["validity"]
            return ChainVerdict(
                Status.FAILED,
                f"certificate {name_text(cert.subject)} was not valid at genTime {moment.isoformat()} (valid "
                f"{validity['not_before'].native.isoformat()} to {validity['not_after'].native.isoformat()})",
                anchor,
                below,
                reason="TIME",
            )
    if len(path) == 1:  # a TSA certificate trusted as itself: nothing above it to check
        return ChainVerdict(Status.PASSED, "TSA certificate trusted as itself, valid at genTime", anchor, below)
    if any(is_sm2_key(c.public_key) for c in path):
        return _check_sm2_rules(path, anchor, below)
    return _validate_pkix(path, moment)


def _check_sm2_rules(
    path: tuple[x509.Certificate, ...], anchor: x509.Certificate, below: tuple[x509.Certificate, ...]
) -> ChainVerdict:
    """What certvalidator would check beyond signatures and validity, for SM2 paths it cannot verify:
    each issuer is a CA within its path length whose key usage, if stated, allows keyCertSign (RFC 5280
    §4.2.1.3; OpenSSL: "invalid CA certificate")."""
    for depth, issuer in enumerate(path[1:]):
        if not issuer.ca or (issuer.max_path_length is not None and issuer.max_path_length < depth):
            return ChainVerdict(
                Status.FAILED, f"{name_text(issuer.subject)} may not issue certificates", anchor, below, reason="CHAIN"
            )
        usage = issuer.key_usage_value
        if usage is not None and "key_cert_sign" not in set(usage.native):
            detail = f"{name_text(issuer.subject)} may not issue certificates: its key usage lacks keyCertSign"
            return ChainVerdict(Status.FAILED, detail, anchor, below, reason="CHAIN")
    return ChainVerdict(Status.PASSED, "TSA certificate path valid at genTime", anchor, below)


def _validate_pkix(path: tuple[x509.Certificate, ...], moment: datetime) -> ChainVerdict:
    """RFC 5280 path validation by pyhanko-certvalidator along ``path``, at genTime, without fetching."""
    from pyhanko_certvalidator import CertificateValidator, ValidationContext
    from pyhanko_certvalidator import errors as cv

    anchor, below = path[-1], path[:-1]
    context = ValidationContext(
        trust_roots=[anchor],
        other_certs=list(path[1:-1]),
        moment=moment,
        allow_fetching=False,
        revocation_mode="soft-fail",
        # Old TSA chains (2010s) are signed with SHA-1; the token's own signature is checked separately.
        weak_hash_algos={"md2", "md5"},
    )
    validator = CertificateValidator(path[0], intermediate_certs=list(path[1:-1]), validation_context=context)
    try:
        _run(validator.async_validate_usage(set(), {"time_stamping"}))  # type: ignore[no-untyped-call]
    except cv.PathBuildingError as exc:
        return ChainVerdict(Status.INDETERMINATE, f"TSA certificate path could not be built: {exc}", reason="CHAIN")
    except (cv.PathValidationError, cv.InvalidCertificateError, cv.DisallowedAlgorithmError) as exc:
        return ChainVerdict(Status.FAILED, f"TSA certificate path invalid at genTime: {exc}", anchor, below, "CHAIN")
    except cv.ValidationError as exc:
        return ChainVerdict(Status.INDETERMINATE, f"TSA certificate path could not be validated: {exc}", reason="CHAIN")
    return ChainVerdict(Status.PASSED, "TSA certificate path valid at genTime", anchor, below)
