"""The depositor's signature over ``manifest.json`` (``manifest.sig``): make it and check it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from ..checks import CheckResult, Status
from ..errors import BadInputError, IndeterminateError, VerificationError
from .chain import build_path, check_validity
from .keys import SigningKey, spki_algorithm, spki_fingerprint, verify_signature
from .trust import TrustStore
from .x509 import name_text, parse_certificate

CHECK_NAME = "signature:manifest"
"""Name of the check in a verification report."""


def sign_manifest(key: SigningKey, manifest_bytes: bytes) -> bytes:
    """The detached signature (DER ``SEQUENCE {r, s}``) over the exact bytes of ``manifest.json``."""
    return key.sign(manifest_bytes)


def openssl_command(algorithm: str) -> str:
    """The OpenSSL command lines that re-check ``manifest.sig`` with the signer certificate ``signer.pem``."""
    extract = "openssl x509 -in signer.pem -pubkey -noout > signer-pub.pem"
    if algorithm == "sm2":
        dgst = "openssl dgst -sm3 -verify signer-pub.pem -sigopt distid:1234567812345678"
    else:
        dgst = "openssl dgst -sha256 -verify signer-pub.pem"
    return f"{extract} && {dgst} -signature manifest.sig manifest.json"


def verify_manifest_signature(
    sig: bytes,
    manifest_bytes: bytes,
    cert_der: bytes,
    trust: TrustStore,
    *,
    signing_time: datetime | None = None,
    intermediates: Sequence[bytes] = (),
) -> CheckResult:
    """Check ``manifest.sig`` against the signer certificate and the trust store.

    PASSED: the signature is good and the certificate (or its key) is trusted as ``depositor``, or the
    certificate chains (through ``intermediates``) to a trusted ``ca``. INDETERMINATE: good but not
    trusted. FAILED: bad signature, unusable certificate, or a certificate not valid at
    ``signing_time`` — pass the time a timestamp proves, since the manifest's own clock is only a claim;
    without it the validity period is not checked (and the facts say so).
    """
    facts: dict[str, Any] = {}
    try:
        cert = parse_certificate(cert_der)
        spki = bytes(cert.public_key.dump())
        algorithm = spki_algorithm(spki)
    except BadInputError as exc:
        return CheckResult(CHECK_NAME, Status.FAILED, f"the signer certificate is unusable: {exc}", facts)
    facts.update(
        {
            "signer": name_text(cert.subject),
            "issuer": name_text(cert.issuer),
            "serial": format(cert.serial_number, "x"),
            "fingerprint": hashlib.sha256(cert_der).hexdigest(),
            "key_fingerprint": spki_fingerprint(spki),
            "algorithm": algorithm,
            "signing_time": signing_time.astimezone(UTC).isoformat() if signing_time else None,
        }
    )
    reproduce = openssl_command(algorithm)

    def result(status: Status, detail: str) -> CheckResult:
        return CheckResult(CHECK_NAME, status, detail, facts, reproduce)

    try:
        good = verify_signature(spki, sig, manifest_bytes)
    except BadInputError as exc:
        return result(Status.FAILED, f"the manifest signature cannot be checked: {exc}")
    if not good:
        return result(Status.FAILED, f"the manifest signature by {facts['signer']} does not match manifest.json")
    if signing_time is not None:
        try:
            check_validity(cert, signing_time)
        except VerificationError as exc:
            return result(Status.FAILED, f"the manifest signature is intact but {exc}")
    facts["validity_checked"] = signing_time is not None

    if cert_der in trust.certificates("depositor") or trust.trusts_key(spki, "depositor"):
        facts["trusted_as"] = "depositor"
        return result(Status.PASSED, f"manifest signed by {facts['signer']}, a trusted depositor")
    roots = trust.certificates("ca")
    try:
        path = build_path(cert_der, roots, intermediates, signing_time)
    except VerificationError as exc:
        return result(Status.FAILED, f"the manifest signature is intact but its chain is invalid: {exc}")
    except (IndeterminateError, BadInputError) as exc:
        return result(
            Status.INDETERMINATE,
            f"the manifest signature by {facts['signer']} is intact but the signer is not trusted ({exc})",
        )
    facts["trusted_as"] = "ca"
    facts["chain"] = [name_text(parse_certificate(der).subject) for der in path]
    return result(Status.PASSED, f"manifest signed by {facts['signer']}, certified by {facts['chain'][-1]}")
