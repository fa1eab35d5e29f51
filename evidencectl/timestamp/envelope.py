"""The unsigned envelope of a time-stamp token: every field outside the signature must be the one allowed.

The TSA's signature covers the TSTInfo (through messageDigest) and the signed attributes, nothing else.
Whatever else a TimeStampResp carries — the status, the SignedData version and digestAlgorithms, the
SignerInfo's identifiers, the certificates, unsigned attributes — is checked here for being exactly
what RFC 3161 and RFC 5652 allow, so that a changed byte there is an altered token, not a pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import core, x509

from ..errors import MalformedTokenError, VerificationError
from .algorithms import OID_HASHES, RSA_PSS_OID
from .der import check_der
from .token import ParsedToken, find_signer, name_text

SIGNED_DATA_VERSION = 3
"""RFC 5652 §5.1: version 3 when eContentType is not id-data and only X.509 certificates are carried."""


def _params_null_or_absent(alg: core.Sequence, what: str) -> None:
    """An AlgorithmIdentifier whose parameters must be absent or NULL (hashes, RSA PKCS#1, ECDSA, SM2)."""
    rest = bytes(alg.contents)[len(alg["algorithm"].dump()) :]
    if rest not in (b"", b"\x05\x00"):
        raise MalformedTokenError(f"{what} {alg['algorithm'].dotted} has parameters other than NULL")


def check_envelope(parsed: ParsedToken, der: bytes) -> None:
    """Check every unsigned part of a decoded token; raises MalformedTokenError (VerificationError for the
    status) on the first fault.

    ``der`` is the exact input: it must be DER throughout, so no byte can change while the decoded
    value stays the same.
    """
    check_der(der)
    status = parsed.status
    if not status.as_requested:
        # The status lies outside the signature: anything but a plain grant is refused rather than trusted.
        raise VerificationError(f"response status is {status.text}, not granted (0) without failInfo")
    signed = parsed.signed_data
    if signed["version"].native != f"v{SIGNED_DATA_VERSION}":
        raise MalformedTokenError(f"SignedData version is {signed['version'].native}, RFC 5652 wants v3 here")
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise MalformedTokenError(f"token has {len(infos)} signers, RFC 3161 wants one")
    info = infos[0]
    wanted_version = "v1" if info["sid"].name == "issuer_and_serial_number" else "v3"
    if info["version"].native != wanted_version:
        raise MalformedTokenError(f"SignerInfo version is {info['version'].native}, its sid wants {wanted_version}")
    digest_alg = info["digest_algorithm"]
    if digest_alg["algorithm"].dotted not in OID_HASHES:
        raise MalformedTokenError(f"SignerInfo digest algorithm {digest_alg['algorithm'].dotted} is unknown")
    _params_null_or_absent(digest_alg, "SignerInfo digest algorithm")
    # RFC 5652 §5.1: digestAlgorithms lists the algorithms the signers use; with one signer that is one.
    listed = [alg.dump() for alg in signed["digest_algorithms"]]
    if listed != [digest_alg.dump()]:
        raise MalformedTokenError("SignedData.digestAlgorithms does not list exactly the SignerInfo's digest algorithm")
    sig_alg = info["signature_algorithm"]
    if sig_alg["algorithm"].dotted != RSA_PSS_OID:
        _params_null_or_absent(sig_alg, "signature algorithm")
    # Unsigned material is tolerated only when it parses completely.
    for field, what in (("unsigned_attrs", "unsigned attributes"), ("crls", "CRLs")):
        container = info if field == "unsigned_attrs" else signed
        try:
            _ = container[field].native
        except Exception as exc:  # asn1crypto raises many kinds on hostile contents
            raise MalformedTokenError(f"{what} do not parse: {exc}") from exc
    for choice in signed["certificates"] or []:
        if choice.name != "certificate":
            raise MalformedTokenError(f"the token carries a {choice.name}, not an X.509 certificate")
        try:
            _ = choice.chosen.native
        except Exception as exc:
            raise MalformedTokenError(f"a certificate the token carries does not parse: {exc}") from exc


def carried_certificates(parsed: ParsedToken) -> list[x509.Certificate]:
    """The X.509 certificates inside the token (after :func:`check_envelope`, all of them)."""
    return [c.chosen for c in parsed.signed_data["certificates"] or [] if c.name == "certificate"]


def select_signer(
    parsed: ParsedToken, carried: Sequence[x509.Certificate], outside: Sequence[x509.Certificate]
) -> x509.Certificate | None:
    """The signer certificate: from the token when it carries certificates, else from ``outside``.

    RFC 3161 §2.4.1: a TSA puts certificates into a token only when asked to (certReq), and then MUST
    include its own. A token that carries certificates but none the signer identifier names has had its
    identifier or its certificate altered; a copy from elsewhere must not stand in for it.
    """
    sid = parsed.signed_data["signer_infos"][0]["sid"]
    named = [c for c in carried if find_signer(sid, [c]) is not None]
    if len(named) > 1:
        raise VerificationError("the token carries several certificates its signer identifier names")
    if named:
        return named[0]
    if carried:
        raise VerificationError(
            "the token carries certificates but not the one its signer identifier names (RFC 3161 §2.4.1): "
            "its signer identifier or its certificate was altered"
        )
    return find_signer(sid, outside)


def check_carried(
    carried: Sequence[x509.Certificate],
    signer: x509.Certificate,
    path: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
) -> None:
    """Every carried certificate is the signer, part of the validated ``path`` or a trusted root.

    A carried certificate outside the path that names itself like a path certificate (same subject or
    same issuer and serial) is an altered copy: the verifier would otherwise pass on a good copy found
    elsewhere and leave the altered bytes unexplained.
    """
    known = {c.dump() for c in (signer, *path, *trusted)}
    for cert in carried:
        if cert.dump() in known:
            continue
        raise VerificationError(
            f"the token carries a certificate ({name_text(cert.subject)}, serial {cert.serial_number}) that is "
            "neither its signer nor part of the validated path: the token was altered"
        )
