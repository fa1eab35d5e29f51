"""The depositor's signature over ``manifest.json`` (``manifest.sig``): make it and check it."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..checks import CheckResult, Status
from ..errors import BadInputError, IndeterminateError, VerificationError
from .chain import build_path, check_validity
from .keys import SigningKey, spki_algorithm, spki_fingerprint, verify_signature
from .trust import TrustStore
from .x509 import name_text, parse_certificate

if TYPE_CHECKING:
    from asn1crypto import x509 as asn1_x509

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


def _common_name(cert: asn1_x509.Certificate) -> str | None:
    """The subject's CN, if any."""
    value = cert.subject.native.get("common_name")
    return str(value[-1] if isinstance(value, list) else value) if value else None


def matches_signer(expected: str, cert_der: bytes, spki: bytes, cert: asn1_x509.Certificate) -> tuple[bool, bool]:
    """(matches, by fingerprint) for ``verify --expect-signer``: a SHA-256 fingerprint of the certificate or
    of its key (16 hex digits at least, colons allowed), or the certificate's CN or whole subject."""
    wanted = expected.strip()
    hexed = wanted.lower().replace(":", "")
    if len(hexed) >= 16 and all(ch in "0123456789abcdef" for ch in hexed):
        prints = (hashlib.sha256(cert_der).hexdigest(), spki_fingerprint(spki))
        return any(p.startswith(hexed) for p in prints), True
    return wanted in (_common_name(cert), name_text(cert.subject)), False


def verify_manifest_signature(
    sig: bytes,
    manifest_bytes: bytes,
    cert_der: bytes,
    trust: TrustStore,
    *,
    signing_time: datetime | None = None,
    intermediates: Sequence[bytes] = (),
    named_key_id: str | None = None,
    expect_signer: str | None = None,
    declared_depositor: str | None = None,
) -> CheckResult:
    """Check ``manifest.sig`` against the signer certificate and the trust store (role ``signer``).

    PASSED: the signature is good and the certificate or its key is trusted as a signer, or the
    certificate chains (through ``intermediates``, every issuer candidate tried) to a trusted signer CA,
    or its fingerprint is the ``expect_signer`` the verifier gave. INDETERMINATE: good but not trusted,
    or not the ``expect_signer`` (reason ``SIGNER_MISMATCH``). FAILED: bad signature, unusable
    certificate, a key other than the ``named_key_id`` the sealed statement names, or a trusted path
    with a certificate not valid at ``signing_time`` — pass the time a timestamp proves, since the
    manifest's own clock is only a claim; without it the validity period is not checked (the facts say
    so). ``declared_depositor`` (the statement's depositor) is shown beside the certificate's name.
    """
    facts: dict[str, Any] = {}
    try:
        cert = parse_certificate(cert_der)
        spki = bytes(cert.public_key.dump())
        algorithm = spki_algorithm(spki)
    except BadInputError as exc:
        return CheckResult(
            CHECK_NAME, Status.FAILED, f"the signer certificate is unusable: {exc}", facts, reason="FORMAT"
        )
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
    note = ""
    if declared_depositor is not None:
        facts["declared_depositor"] = declared_depositor
        if declared_depositor not in (_common_name(cert), facts["signer"]):
            note = (
                f" (the statement names the depositor {declared_depositor!r}; the certificate names {facts['signer']})"
            )
    reproduce = openssl_command(algorithm)

    def result(status: Status, detail: str, reason: str | None = None) -> CheckResult:
        return CheckResult(CHECK_NAME, status, detail + note, facts, reproduce, reason)

    try:
        good = verify_signature(spki, sig, manifest_bytes)
    except BadInputError as exc:
        return result(Status.FAILED, f"the manifest signature cannot be checked: {exc}", "SIGNATURE")
    if not good:
        return result(
            Status.FAILED, f"the manifest signature by {facts['signer']} does not match manifest.json", "SIGNATURE"
        )
    if named_key_id is not None and named_key_id != facts["key_fingerprint"]:
        return result(
            Status.FAILED,
            f"the sealed statement names signer key {named_key_id[:16]}…, but manifest.sig was made with key "
            f"{facts['key_fingerprint'][:16]}… ({facts['signer']})",
            "SIGNATURE",
        )
    facts["validity_checked"] = signing_time is not None
    pinned = False
    if expect_signer is not None:
        matched, pinned = matches_signer(expect_signer, cert_der, spki, cert)
        facts["expected_signer"] = expect_signer
        if not matched:
            return result(
                Status.INDETERMINATE,
                f"the manifest is signed by {facts['signer']} (key {facts['key_fingerprint'][:16]}…), "
                f"not by the expected signer {expect_signer}",
                "SIGNER_MISMATCH",
            )
    direct = cert_der in trust.certificates("signer") or trust.trusts_key(spki, "signer")
    if direct and cert_der not in trust.certificates("signer"):
        # Trusted by its key only: the certificate in the package is anyone's text around that key (any name,
        # any validity, any issuer). Name and validity come from what the verifier trusts.
        vouched = next((a for a in trust.anchors("signer") if a.spki_der == spki and a.is_certificate), None)
        facts["package_certificate_names"] = facts["signer"]
        facts["signer"] = vouched.subject if vouched is not None else f"public key {facts['key_fingerprint'][:16]}…"
        cert = parse_certificate(vouched.der) if vouched is not None else None
        # A name asked for must be a name the verifier trusts for this key, not the package's text.
        if (
            expect_signer is not None
            and not pinned
            and (vouched is None or not matches_signer(expect_signer, vouched.der, spki, cert)[0])
        ):
            return result(
                Status.INDETERMINATE,
                f"the manifest is signed by {facts['signer']}, not by the expected signer {expect_signer} (the "
                f"name {facts['package_certificate_names']} is only the package's certificate's)",
                "SIGNER_MISMATCH",
            )
    if direct or pinned:
        if signing_time is not None and cert is not None:
            try:
                check_validity(cert, signing_time)
            except VerificationError as exc:
                return result(Status.FAILED, f"the manifest signature is intact but {exc}", "TIME")
        if direct:
            trust.note_used("signer", cert_der)
            trust.note_used("signer", spki)
        facts["trusted_as"] = "signer" if direct else "expected fingerprint"
        return result(Status.PASSED, f"manifest signed by {facts['signer']}, a trusted signer")
    try:
        path = build_path(cert_der, trust.certificates("signer"), intermediates, signing_time)
    except VerificationError as exc:
        return result(Status.FAILED, f"the manifest signature is intact but its chain is invalid: {exc}", "TIME")
    except (IndeterminateError, BadInputError) as exc:
        return result(
            Status.INDETERMINATE,
            f"the manifest signature by {facts['signer']} is intact but the signer is not trusted ({exc}; "
            "trust it with --trust signer:FILE)",
            "NO_TRUST_ANCHOR",
        )
    trust.note_used("signer", path[-1])
    facts["trusted_as"] = "signer CA"
    facts["chain"] = [name_text(parse_certificate(der).subject) for der in path]
    return result(Status.PASSED, f"manifest signed by {facts['signer']}, certified by {facts['chain'][-1]}")
