"""Time-stamp requests, and the checks a client makes on a response before it keeps it."""

from __future__ import annotations

import secrets

from asn1crypto import tsp, x509

from ..errors import MalformedTokenError, ServiceError, VerificationError
from ..i18n import _
from .algorithms import OID_HASHES, REQUESTABLE_HASHES, digest_size, hash_oid
from .algorithms import digest as hash_of
from .chain import check_tsa_eku
from .signature import check_signer_info, verify_with_key
from .token import certificates_of, decode, find_signer, info_of

_MESSAGE_DIGEST_OID = "1.2.840.113549.1.9.4"


def new_nonce() -> int:
    """A random positive 64-bit nonce (RFC 3161 §2.4.1: large enough to be unpredictable)."""
    return secrets.randbits(63) | (1 << 62)


def check_imprint(digest: bytes, hash_name: str) -> None:
    """ValueError unless ``digest`` is a digest of a hash a TSA may be asked for, of that hash's size."""
    if hash_name not in REQUESTABLE_HASHES:
        raise ValueError(f"hash {hash_name!r} is not one of {', '.join(REQUESTABLE_HASHES)}")
    if len(digest) != digest_size(hash_name):
        raise ValueError(f"a {hash_name} digest has {digest_size(hash_name)} bytes, got {len(digest)}")


def build_request(
    digest: bytes, hash_name: str, *, nonce: int | None, policy: str | None = None, cert_req: bool = True
) -> bytes:
    """DER TimeStampReq over ``digest``; ValueError for an unknown hash or a digest of the wrong size."""
    check_imprint(digest, hash_name)
    fields: dict[str, object] = {
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": hash_oid(hash_name)}, "hashed_message": digest},
        "cert_req": cert_req,
    }
    if nonce is not None:
        fields["nonce"] = nonce
    if policy is not None:
        fields["req_policy"] = policy
    return bytes(tsp.TimeStampReq(fields).dump())


def check_response(
    response_der: bytes,
    *,
    digest: bytes,
    hash_name: str,
    nonce: int | None,
    source: str,
    policy: str | None = None,
) -> None:
    """Accept a fresh response only if granted, over our imprint and nonce, and signed by the TSA certificate
    it carries. Chain trust is left to verification, which happens against the verifier's own trust store.
    Raises ServiceError naming ``source`` and what is wrong.
    """
    try:
        parsed = decode(response_der)
    except MalformedTokenError as exc:
        raise ServiceError(_("TSA {source} answered garbage: {exc}").format(source=source, exc=exc)) from exc
    if parsed.content_info is None or not parsed.status.granted:
        raise ServiceError(_("TSA {source} refused the request: {text}").format(source=source, text=parsed.status.text))
    try:
        # The same envelope rules as verification (strict DER, status exactly granted, carried certificates),
        # so that a token stored at deposit time cannot fail later for a reason known now.
        from .envelope import check_envelope

        check_envelope(parsed, response_der)
        info = info_of(parsed)
        if info.hash_algorithm != hash_name or info.imprint != digest:
            raise VerificationError(_("the token covers another imprint than the one requested"))
        if nonce is not None and info.nonce != nonce:
            raise VerificationError(
                _("the token's nonce {nonce} is not the request's {nonce2}").format(nonce=info.nonce, nonce2=nonce)
            )
        if policy is not None and info.policy != policy:
            raise VerificationError(
                _("the token's policy {policy} is not the requested {policy2}").format(
                    policy=info.policy, policy2=policy
                )
            )
        signed = parsed.signed_data
        if len(signed["signer_infos"]) != 1:
            raise VerificationError(
                _("the token has {n_signer_infos} signers, not one").format(n_signer_infos=len(signed["signer_infos"]))
            )
        signer_info = signed["signer_infos"][0]
        signer = find_signer(signer_info["sid"], certificates_of(signed))
        if signer is None:
            raise VerificationError(_("the token lacks the TSA certificate although it was requested"))
        check_signer_info(signer_info, signer, parsed.tst_info_bytes)
        check_tsa_eku(signer)
    except (VerificationError, MalformedTokenError) as exc:
        raise ServiceError(_("TSA {source} returned an unusable token: {exc}").format(source=source, exc=exc)) from exc
    except Exception as exc:  # hostile structures that asn1crypto only notices on access
        raise ServiceError(_("TSA {source} returned a malformed token: {exc}").format(source=source, exc=exc)) from exc


def check_own_response(
    response_der: bytes, *, digest: bytes, hash_name: str, nonce: int, certificate: x509.Certificate, source: str
) -> None:
    """The checks of a response this process has just made with a TSA whose earlier token, built by the same
    code from the same certificate and key, passed :func:`check_response` (the embedded TSA's own tokens).

    What can differ from that token is checked again, on the bytes kept: the status is granted, the TSTInfo
    is over ``digest`` with ``hash_name`` and carries ``nonce``, the one signer is identified by
    ``certificate``, which is the one certificate carried, its messageDigest is the TSTInfo's and its
    signature verifies with ``certificate``'s key. 0.3 ms, against 10 ms for :func:`check_response`:
    asn1crypto's full decode of the response (5.5 ms), the envelope (strict DER, every unsigned field; 1 ms
    more) and the signed attributes read natively (3 ms), all fixed for a given TSA and checked with its
    first token. Raises ServiceError naming ``source`` and what is wrong.
    """
    try:
        response = tsp.TimeStampResp.load(response_der)
        status = response["status"]
        if status["status"].native != "granted" or status["fail_info"].native is not None:
            raise VerificationError(
                _("response status is {text}, not granted (0) without failInfo").format(text=status["status"].native)
            )
        signed = response["time_stamp_token"]["content"]
        tst_bytes = bytes(signed["encap_content_info"]["content"].contents)
        info = tsp.TSTInfo.load(tst_bytes)
        imprint = info["message_imprint"]
        if (
            OID_HASHES.get(imprint["hash_algorithm"]["algorithm"].dotted) != hash_name
            or bytes(imprint["hashed_message"].native) != digest
        ):
            raise VerificationError(_("the token covers another imprint than the one requested"))
        if info["nonce"].native != nonce:
            raise VerificationError(
                _("the token's nonce {nonce} is not the request's {nonce2}").format(
                    nonce=info["nonce"].native, nonce2=nonce
                )
            )
        infos = signed["signer_infos"]
        if len(infos) != 1:
            raise VerificationError(
                _("the token has {n_signer_infos} signers, not one").format(n_signer_infos=len(infos))
            )
        signer_info = infos[0]
        carried = [c.chosen.dump() for c in signed["certificates"] or []]
        sid = signer_info["sid"]
        # The identifier's bytes, not asn1crypto's name comparison (LDAP string preparation: 2 ms a token):
        # a TSA writes its certificate's own issuer name there.
        if (
            carried != [certificate.dump()]
            or sid.name != "issuer_and_serial_number"
            or sid.chosen["issuer"].dump() != certificate.issuer.dump()
            or sid.chosen["serial_number"].native != certificate.serial_number
        ):
            raise VerificationError(_("the token lacks the TSA certificate although it was requested"))
        signer_hash = OID_HASHES.get(signer_info["digest_algorithm"]["algorithm"].dotted, "")
        attrs = signer_info["signed_attrs"]
        digests = [a["values"][0].native for a in attrs if a["type"].dotted == _MESSAGE_DIGEST_OID]
        if not signer_hash or digests != [hash_of(signer_hash, tst_bytes)]:
            raise VerificationError(_("messageDigest does not match the TSTInfo: the token content was altered"))
        verify_with_key(
            certificate.public_key.dump(),
            signer_info["signature_algorithm"],
            signer_hash,
            b"\x31" + attrs.dump()[1:],  # the SET the signature covers, as the TSA signed it (authority.py)
            bytes(signer_info["signature"].native),
        )
    except (VerificationError, MalformedTokenError) as exc:
        raise ServiceError(_("TSA {source} returned an unusable token: {exc}").format(source=source, exc=exc)) from exc
    except Exception as exc:  # a structure asn1crypto only notices on access
        raise ServiceError(_("TSA {source} returned a malformed token: {exc}").format(source=source, exc=exc)) from exc
