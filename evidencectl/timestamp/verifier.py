"""The strict RFC 3161 verifier: every check a court may ask about, each failure named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from asn1crypto import x509

from ..checks import CheckResult, Status
from ..errors import MalformedTokenError, VerificationError
from .chain import check_tsa_eku, validate_path
from .envelope import carried_certificates, check_carried, check_envelope, select_signer
from .signature import check_signer_info
from .token import decode, fingerprint, info_of, name_text


class TrustSource(Protocol):
    """What the verifier needs of a trust store: the DER roots trusted for a role."""

    def certificates(self, role: str) -> Sequence[bytes]:
        """DER certificates trusted for ``role`` (here ``"tsa"``)."""
        ...


def _note_used(trust: TrustSource, der: bytes) -> None:
    """Tell a store that keeps count (``TrustStore.note_used``) which root validated this token."""
    note = getattr(trust, "note_used", None)
    if callable(note):
        note("tsa", der)


def _reproduce(digest_hex: str, bare: bool, gen_epoch: int | None) -> str:
    """The OpenSSL command that redoes this verification by hand."""
    source = "-token_in -in TOKEN.tst" if bare else "-in TOKEN.tsr"
    at = f" -attime {gen_epoch}" if gen_epoch is not None else ""
    return f"openssl ts -verify -digest {digest_hex} {source} -CAfile ROOT.pem -untrusted CHAIN.pem{at}"


def verify_timestamp(
    response_der: bytes,
    *,
    digest: bytes,
    hash_name: str,
    trust: TrustSource,
    check: str,
    extra_certs: Sequence[bytes] = (),
    expected_nonce: int | None = None,
    expected_policy: str | None = None,
) -> CheckResult:
    """Verify a TimeStampResp or bare token over ``digest``; never raises for a bad token.

    FAILED: malformed or not DER, status other than granted, an envelope field RFC 3161/5652 does not
    allow (see :mod:`.envelope`), wrong imprint, nonce or policy, bad signature, signer not bound by
    ESSCertID, no critical timeStamping EKU, invalid path, a carried certificate that is neither the
    signer nor on its validated path, a certificate of a path to a trusted root not valid at genTime (the
    root included). INDETERMINATE: no path to a root in ``trust.certificates("tsa")`` (whatever other
    certificates the verifier trusts, or the token carries), or a token without certificates whose signer
    certificate is not in ``extra_certs`` either.
    PASSED otherwise. ``extra_certs`` may supply the signer only when the token carries no certificate.
    """
    facts: dict[str, Any] = {}
    reproduce = _reproduce(digest.hex(), False, None)

    def result(status: Status, detail: str, reason: str | None = None) -> CheckResult:
        # asn1crypto's messages span lines ("while parsing …"); a check's detail is one line.
        if reason is None and status is Status.FAILED:
            reason = "FORMAT" if detail.startswith("malformed") else "SIGNATURE"
        return CheckResult(check, status, " ".join(detail.split()), facts, reproduce, reason)

    try:
        parsed = decode(response_der)
    except MalformedTokenError as exc:
        return result(Status.FAILED, f"malformed: {exc}")
    if parsed.content_info is None or not parsed.status.granted:
        return result(Status.FAILED, f"the TSA did not grant a timestamp: {parsed.status.text}")
    try:
        check_envelope(parsed, response_der)
        info = info_of(parsed)
    except MalformedTokenError as exc:
        return result(Status.FAILED, f"malformed: {exc}")
    except VerificationError as exc:
        return result(Status.FAILED, str(exc))
    except Exception as exc:  # hostile TSTInfo contents
        return result(Status.FAILED, f"malformed: TSTInfo: {exc}")
    facts.update(info.facts())
    reproduce = _reproduce(digest.hex(), parsed.bare, int(info.gen_time.timestamp()))

    if info.hash_algorithm != hash_name:
        return result(Status.FAILED, f"token imprint uses {info.hash_algorithm}, expected {hash_name}", "FORMAT")
    if info.imprint != digest:
        return result(
            Status.FAILED, "token imprint does not match the data: it timestamps something else", "DIGEST_MISMATCH"
        )
    if expected_nonce is not None and info.nonce != expected_nonce:
        return result(Status.FAILED, f"nonce {info.nonce} differs from the request's {expected_nonce}")
    if expected_policy is not None and info.policy != expected_policy:
        return result(Status.FAILED, f"TSA policy {info.policy} differs from the requested {expected_policy}")

    try:
        roots = [x509.Certificate.load(d) for d in trust.certificates("tsa")]
        extra = [x509.Certificate.load(d) for d in extra_certs]
        carried = carried_certificates(parsed)
        signer = select_signer(parsed, carried, extra + roots)
    except VerificationError as exc:
        return result(Status.FAILED, str(exc))
    except Exception as exc:
        return result(Status.FAILED, f"malformed: certificates: {exc}")
    if signer is None:
        return result(
            Status.INDETERMINATE,
            "the token does not carry the TSA certificate its signer identifier names; supply it (--certs)",
            "NO_TRUST_ANCHOR",
        )
    facts["tsa"] = name_text(signer.subject)
    facts["signer_fingerprint"] = fingerprint(signer.dump())
    facts["signer_certificate_from"] = "token" if any(c is signer for c in carried) else "outside the token"
    signer_info = parsed.signed_data["signer_infos"][0]
    try:
        check_signer_info(signer_info, signer, parsed.tst_info_bytes)
        check_tsa_eku(signer)
    except MalformedTokenError as exc:
        return result(Status.FAILED, f"malformed: {exc}")
    except VerificationError as exc:
        return result(Status.FAILED, str(exc), getattr(exc, "reason", None))
    except Exception as exc:  # a hostile structure asn1crypto only notices late
        return result(Status.FAILED, f"malformed: signer info: {exc}")

    # The token's own certificates come first, so that the path is built from what the TSA sent.
    try:
        verdict = validate_path(signer, carried + extra, roots, info.gen_time)
    except Exception as exc:  # an outside certificate asn1crypto only fails on when a key is read
        return result(Status.FAILED, f"malformed: certificates: {exc}")
    if verdict.anchor is not None:
        facts["trust_anchor"] = f"{name_text(verdict.anchor.subject)} (sha256 {fingerprint(verdict.anchor.dump())})"
    if verdict.status is not Status.PASSED:
        return result(verdict.status, verdict.detail, verdict.reason)
    anchors = [verdict.anchor] if verdict.anchor is not None else []
    try:
        check_carried(carried, signer, [*verdict.path, *anchors], roots)
    except VerificationError as exc:
        return result(Status.FAILED, str(exc), "FORMAT")
    if verdict.anchor is not None:
        _note_used(trust, verdict.anchor.dump())
    return result(
        Status.PASSED,
        f"timestamp by {facts['tsa']} at {facts['gen_time']} over the {hash_name} digest; signature, "
        f"signer binding and certificate path valid",
    )
