"""Signature checks: the CMS SignerInfo of a token, and certificate signatures for SM2 chains."""

from __future__ import annotations

from asn1crypto import algos, cms, x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from ..errors import MalformedTokenError, VerificationError
from ..i18n import _
from .algorithms import (
    ECDSA_OIDS,
    OID_HASHES,
    RSA_PKCS1_OIDS,
    RSA_PSS_OID,
    SM2_CURVE_OID,
    SM2_SIGNATURE_OIDS,
    TST_INFO_OID,
    digest,
)
from .der import to_definite
from .token import name_text

_HASHES: dict[str, type[hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
    "sha3_256": hashes.SHA3_256,
    "sha3_384": hashes.SHA3_384,
    "sha3_512": hashes.SHA3_512,
}


def is_sm2_key(spki: object) -> bool:
    """True when a SubjectPublicKeyInfo holds an SM2 key (curve OID, or the SM2 OID as algorithm)."""
    alg = spki["algorithm"]  # type: ignore[index]
    if alg["algorithm"].dotted == SM2_CURVE_OID:
        return True
    params = alg["parameters"]
    return bool(
        alg["algorithm"].dotted == "1.2.840.10045.2.1"
        and getattr(params, "name", "") == "named"
        and params.chosen.dotted == SM2_CURVE_OID
    )


def _hash(name: str) -> hashes.HashAlgorithm:
    """A cryptography hash object for a name; unknown names are a verification failure."""
    try:
        return _HASHES[name]()
    except KeyError:
        raise VerificationError(_("unsupported signature hash {name}").format(name=name)) from None


def verify_with_key(
    spki_der: bytes, sig_alg: algos.SignedDigestAlgorithm, hash_name: str, data: bytes, signature: bytes
) -> None:
    """Check ``signature`` over ``data``; raises VerificationError when it does not verify.

    ``hash_name`` is the digest algorithm the signer declared; a signature OID that names its own hash
    must agree with it, since an attacker could otherwise pick the weaker of the two.
    """
    from asn1crypto import keys

    oid = sig_alg["algorithm"].dotted
    spki = keys.PublicKeyInfo.load(spki_der)
    if oid in SM2_SIGNATURE_OIDS or is_sm2_key(spki):
        if oid not in SM2_SIGNATURE_OIDS and oid not in ECDSA_OIDS:
            raise VerificationError(_("signature algorithm {oid} does not fit an SM2 key").format(oid=oid))
        if not is_sm2_key(spki) or hash_name != "sm3":
            raise VerificationError(
                _("SM2 signature needs an SM2 key and SM3, got {hash_name}").format(hash_name=hash_name)
            )
        from ..crypto.keys import verify_signature

        if not verify_signature(spki_der, signature, data):
            raise VerificationError(_("SM2 signature does not verify"))
        return
    try:
        key = load_der_public_key(spki_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VerificationError(_("cannot load the signer's public key: {exc}").format(exc=exc)) from exc
    try:
        if oid in RSA_PKCS1_OIDS:
            implied = RSA_PKCS1_OIDS[oid]
            if implied and implied != hash_name:
                raise VerificationError(
                    _("signature algorithm hash {implied} differs from digest {hash_name}").format(
                        implied=implied, hash_name=hash_name
                    )
                )
            if not isinstance(key, rsa.RSAPublicKey):
                raise VerificationError(_("RSA signature but the key is not RSA"))
            key.verify(signature, data, padding.PKCS1v15(), _hash(hash_name))
        elif oid == RSA_PSS_OID:
            if not isinstance(key, rsa.RSAPublicKey):
                raise VerificationError(_("RSASSA-PSS signature but the key is not RSA"))
            params = sig_alg["parameters"]
            pss_hash = OID_HASHES.get(params["hash_algorithm"]["algorithm"].dotted, "?")
            mgf_hash = OID_HASHES.get(params["mask_gen_algorithm"]["parameters"]["algorithm"].dotted, "?")
            if params["mask_gen_algorithm"]["algorithm"].dotted != "1.2.840.113549.1.1.8":
                raise VerificationError(_("RSASSA-PSS with a mask generation function other than MGF1"))
            pss = padding.PSS(mgf=padding.MGF1(_hash(mgf_hash)), salt_length=int(params["salt_length"].native))
            key.verify(signature, data, pss, _hash(pss_hash))
        elif oid in ECDSA_OIDS:
            implied = ECDSA_OIDS[oid]
            if implied and implied != hash_name:
                raise VerificationError(
                    _("signature algorithm hash {implied} differs from digest {hash_name}").format(
                        implied=implied, hash_name=hash_name
                    )
                )
            if not isinstance(key, ec.EllipticCurvePublicKey):
                raise VerificationError(_("ECDSA signature but the key is not an EC key"))
            key.verify(signature, data, ec.ECDSA(_hash(hash_name)))
        else:
            raise VerificationError(_("unsupported signature algorithm {oid}").format(oid=oid))
    except InvalidSignature:
        raise VerificationError(_("signature does not verify with the signer's public key")) from None


class SignerCertificateMismatch(VerificationError):
    """The ESS signing-certificate attribute names a certificate other than the token's signer."""

    reason = "SIGNER_CERT_MISMATCH"
    """The machine reason a check records for this refusal."""


def _der_set(contents: bytes) -> bytes:
    """Wrap the original contents of ``[0] IMPLICIT SignedAttributes`` as the SET that was signed.

    RFC 5652 §5.4: the signature covers the DER encoding with an EXPLICIT SET OF tag. The attributes
    keep the order the TSA wrote (OpenSSL does the same: some TSAs do not sort them); a BER length
    written as indefinite is made definite, the one difference between the two encodings we accept.
    """
    contents = to_definite(contents)
    n = len(contents)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return b"\x31" + length + contents


def _one(attrs: cms.CMSAttributes, name: str) -> object | None:
    """The single value of a signed attribute, None when absent; several values or instances are malformed."""
    found = [a for a in attrs if a["type"].native == name]
    if not found:
        return None
    if len(found) > 1 or len(found[0]["values"]) != 1:
        raise VerificationError(_("signed attribute {name} appears more than once").format(name=name))
    value: object = found[0]["values"][0]
    return value


def _check_ess(attrs: cms.CMSAttributes, signer: x509.Certificate) -> None:
    """The ESS signing-certificate attribute (v1 or v2) must name exactly this signer certificate."""
    v1 = _one(attrs, "signing_certificate")
    v2 = _one(attrs, "signing_certificate_v2")
    if v1 is None and v2 is None:
        raise SignerCertificateMismatch(_("no ESS signing-certificate attribute binds the signer certificate"))
    for value, version in ((v1, 1), (v2, 2)):
        if value is None:
            continue
        if not len(value["certs"]):  # type: ignore[index]
            raise SignerCertificateMismatch(
                _("the ESS signing-certificate attribute (v{version}) lists no certificate").format(version=version)
            )
        first = value["certs"][0]  # type: ignore[index]
        hash_name = "sha1" if version == 1 else OID_HASHES.get(first["hash_algorithm"]["algorithm"].dotted, "?")
        if hash_name == "?":
            raise VerificationError(_("ESSCertIDv2 uses an unknown hash algorithm"))
        label = "ESSCertIDv2 (signingCertificateV2)" if version == 2 else "ESSCertID (signingCertificate)"
        if first["cert_hash"].native != digest(hash_name, signer.dump()):
            raise SignerCertificateMismatch(
                _("{label} names a certificate other than the signer's{named}").format(label=label, named=_named(first))
            )
        serial = first["issuer_serial"]
        if serial.native is not None:
            names = [gn.chosen for gn in serial["issuer"] if gn.name == "directory_name"]
            if serial["serial_number"].native != signer.serial_number or signer.issuer not in names:
                raise SignerCertificateMismatch(
                    _("{label} issuerSerial does not name the signer certificate").format(label=label)
                )


def _named(cert_id: object) -> str:
    """What an ESSCertID's issuerSerial says of the certificate it names, for the refusal's detail."""
    try:
        serial = cert_id["issuer_serial"]  # type: ignore[index]
        if serial.native is None:
            return ""
        issuers = [name_text(gn.chosen) for gn in serial["issuer"] if gn.name == "directory_name"]
        return f" (serial {serial['serial_number'].native:x} issued by {'; '.join(issuers) or 'an unnamed issuer'})"
    except Exception:  # the detail is a courtesy; the refusal stands without it
        return ""


def check_signer_info(signer_info: cms.SignerInfo, signer: x509.Certificate, tst_bytes: bytes) -> None:
    """Check signed attributes, ESS binding and the signature of a token's single SignerInfo."""
    hash_oid = signer_info["digest_algorithm"]["algorithm"].dotted
    hash_name = OID_HASHES.get(hash_oid)
    if hash_name is None:
        raise VerificationError(_("unsupported digest algorithm {hash_oid}").format(hash_oid=hash_oid))
    attrs = signer_info["signed_attrs"]
    if attrs.native is None or len(attrs) == 0:
        raise MalformedTokenError(_("SignerInfo has no signed attributes (RFC 3161 requires them)"))
    content_type = _one(attrs, "content_type")
    if content_type is None or content_type.dotted != TST_INFO_OID:  # type: ignore[attr-defined]
        raise VerificationError(_("signed contentType attribute is missing or not id-ct-TSTInfo"))
    message_digest = _one(attrs, "message_digest")
    if message_digest is None:
        raise VerificationError(_("signed messageDigest attribute is missing"))
    if message_digest.native != digest(hash_name, tst_bytes):  # type: ignore[attr-defined]
        raise VerificationError(_("messageDigest does not match the TSTInfo: the token content was altered"))
    _check_ess(attrs, signer)
    # Hash the attributes exactly as the TSA encoded them: some TSAs do not sort the SET in DER order,
    # and re-encoding would change the bytes the signature covers.
    signed_bytes = _der_set(bytes(attrs.contents))
    verify_with_key(
        signer.public_key.dump(),
        signer_info["signature_algorithm"],
        hash_name,
        signed_bytes,
        bytes(signer_info["signature"].native),
    )
