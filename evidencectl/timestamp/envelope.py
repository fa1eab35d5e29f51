"""The unsigned envelope of a time-stamp token: every field outside the signature must be the one allowed.

The TSA's signature covers the TSTInfo (through messageDigest) and the signed attributes, nothing else.
Whatever else a TimeStampResp carries — the status, the SignedData version and digestAlgorithms, the
SignerInfo's identifiers, the certificates, unsigned attributes — is checked here for being exactly
what RFC 3161 and RFC 5652 allow, so that a changed byte there is an altered token, not a pass.
"""

from __future__ import annotations

from collections.abc import Sequence

from asn1crypto import cms, core, x509

from ..errors import MalformedTokenError, VerificationError
from ..i18n import _
from .algorithms import OID_HASHES, RSA_PSS_OID
from .der import check_der, check_token_encoding
from .token import ParsedToken, find_signer, name_text

SIGNED_DATA_VERSIONS = ("v3", "v1")
"""RFC 5652 §5.1 wants version 3 when eContentType is not id-data; qualified TSAs in use (EuroCert QTSA,
2022) write version 1, which OpenSSL reads. The two differ in no field a token may hold; 4 and 5 announce
attribute certificates or other formats, which a token never needs."""


def _params_null_or_absent(alg: core.Sequence, what: str) -> None:
    """An AlgorithmIdentifier whose parameters must be absent or NULL (hashes, RSA PKCS#1, ECDSA, SM2)."""
    rest = bytes(alg.contents)[len(alg["algorithm"].dump()) :]
    if rest not in (b"", b"\x05\x00"):
        raise MalformedTokenError(
            _("{what} {dotted} has parameters other than NULL").format(what=what, dotted=alg["algorithm"].dotted)
        )


def check_envelope(parsed: ParsedToken, der: bytes) -> None:
    """Check every unsigned part of a decoded token; raises MalformedTokenError (VerificationError for the
    status) on the first fault.

    ``der`` is the exact input: it must be DER throughout, indefinite lengths of constructed values
    aside (:func:`.der.check_token_encoding`), so no other byte can change while the decoded value
    stays the same.
    """
    check_token_encoding(der)
    status = parsed.status
    if not status.as_requested:
        # The status lies outside the signature: anything but a plain grant is refused rather than trusted.
        raise VerificationError(
            _("response status is {text}, not granted (0) without failInfo").format(text=status.text)
        )
    signed = parsed.signed_data
    if signed["version"].native not in SIGNED_DATA_VERSIONS:
        raise MalformedTokenError(
            _("SignedData version is {native}, RFC 5652 wants v3 here").format(native=signed["version"].native)
        )
    infos = signed["signer_infos"]
    if len(infos) != 1:
        raise MalformedTokenError(_("token has {n_infos} signers, RFC 3161 wants one").format(n_infos=len(infos)))
    info = infos[0]
    wanted_version = "v1" if info["sid"].name == "issuer_and_serial_number" else "v3"
    if info["version"].native != wanted_version:
        raise MalformedTokenError(
            _("SignerInfo version is {native}, its sid wants {wanted_version}").format(
                native=info["version"].native, wanted_version=wanted_version
            )
        )
    digest_alg = info["digest_algorithm"]
    if digest_alg["algorithm"].dotted not in OID_HASHES:
        raise MalformedTokenError(
            _("SignerInfo digest algorithm {dotted} is unknown").format(dotted=digest_alg["algorithm"].dotted)
        )
    _params_null_or_absent(digest_alg, "SignerInfo digest algorithm")
    # RFC 5652 §5.1: digestAlgorithms lists the algorithms the signers use; with one signer that is one.
    listed = [alg.dump() for alg in signed["digest_algorithms"]]
    if listed != [digest_alg.dump()]:
        raise MalformedTokenError(
            _("SignedData.digestAlgorithms does not list exactly the SignerInfo's digest algorithm")
        )
    sig_alg = info["signature_algorithm"]
    if sig_alg["algorithm"].dotted != RSA_PSS_OID:
        _params_null_or_absent(sig_alg, "signature algorithm")
    # Unsigned material is tolerated only when it parses completely.
    try:
        __ = info["unsigned_attrs"].native
    except Exception as exc:  # asn1crypto raises many kinds on hostile contents
        raise MalformedTokenError(_("unsigned attributes do not parse: {exc}").format(exc=exc)) from exc
    _check_revocation_info(signed)
    try:
        choices = list(signed["certificates"] or [])
    except Exception as exc:  # asn1crypto cannot read a certificate written in the indefinite form
        raise MalformedTokenError(
            _("the certificates the token carries do not parse as DER: {exc}").format(exc=exc)
        ) from exc
    for choice in choices:
        if choice.name != "certificate":
            raise MalformedTokenError(
                _("the token carries a {name}, not an X.509 certificate").format(name=choice.name)
            )
        try:
            __ = choice.chosen.native
        except Exception as exc:
            raise MalformedTokenError(
                _("a certificate the token carries does not parse: {exc}").format(exc=exc)
            ) from exc
        # The indefinite form stops at the CMS envelope: a certificate is a copied DER blob, and one
        # re-encoded around its signed part would keep verifying under another fingerprint.
        check_der(choice.chosen.dump())


def _check_revocation_info(signed: cms.SignedData) -> None:
    """CRLs must parse; revocation data in another format (RFC 5652 §10.2.1) must name its format.

    evidencectl takes no revocation data from a token, so an ``other`` entry is not interpreted: its
    format is open-ended, and real tokens carry entries that do not match their declared format (an ETSI
    Plugtests TSA puts a BasicOCSPResponse under id-ri-ocsp-response; OpenSSL and DSS accept the token).
    Its encoding was checked with the rest of the token.
    """
    for choice in signed["crls"] or []:
        try:
            __ = choice.chosen["other_rev_info_format"].dotted if choice.name == "other" else choice.native
        except Exception as exc:  # asn1crypto raises many kinds on hostile contents
            raise MalformedTokenError(_("CRLs do not parse: {exc}").format(exc=exc)) from exc


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
        raise VerificationError(_("the token carries several certificates its signer identifier names"))
    if named:
        return named[0]
    if carried:
        raise VerificationError(
            _(
                "the token carries certificates but not the one its signer identifier names (RFC 3161 "
                "§2.4.1): its signer identifier or its certificate was altered"
            )
        )
    return find_signer(sid, outside)


def check_carried(
    carried: Sequence[x509.Certificate],
    signer: x509.Certificate,
    path: Sequence[x509.Certificate],
    trusted: Sequence[x509.Certificate],
) -> None:
    """Every carried certificate is the signer, part of the validated ``path``, a trusted root, or
    another certificate of the signer's own key and name.

    A carried certificate outside the path that names itself like a path certificate (same subject or
    same issuer and serial) is an altered copy: the verifier would otherwise pass on a good copy found
    elsewhere and leave the altered bytes unexplained. The one exception is a TSA's earlier or later
    certificate for the same key under the same name: qualified TSAs carry both across a renewal
    (Disig, 2019), and such a certificate can change nothing the verifier relies on. A copy of a path
    certificate with the same issuer and serial but other bytes is never that exception.
    """
    known = {c.dump() for c in (signer, *path, *trusted)}
    for cert in carried:
        if cert.dump() in known or _renewal_of(cert, signer):
            continue
        raise VerificationError(
            _(
                "the token carries a certificate ({name_text}, serial {serial_number}) that is neither its "
                "signer nor part of the validated path: the token was altered"
            ).format(name_text=name_text(cert.subject), serial_number=cert.serial_number)
        )


def _renewal_of(cert: x509.Certificate, signer: x509.Certificate) -> bool:
    """True when ``cert`` is another certificate of the signer's key, subject and issuer name."""
    return bool(
        cert.subject == signer.subject
        and cert.issuer == signer.issuer
        and cert.serial_number != signer.serial_number
        and cert.public_key.dump() == signer.public_key.dump()
    )
