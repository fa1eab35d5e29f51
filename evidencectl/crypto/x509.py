"""X.509 certificates built with asn1crypto, so that SM2 keys can sign them (cryptography cannot)."""

from __future__ import annotations

import binascii
import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from asn1crypto import keys as asn1_keys
from asn1crypto import pem
from asn1crypto import x509 as asn1_x509

from ..errors import BadInputError
from ..i18n import _
from .keys import SigningKey
from .oids import register_sm_oids

register_sm_oids()

_SIGNATURE_ALGORITHM = {"sm2": "sm2sign_with_sm3", "ecdsa-p256": "sha256_ecdsa"}


def _time(value: datetime) -> asn1_x509.Time:
    """UTCTime before 2050 and GeneralizedTime from 2050 on, as RFC 5280 §4.1.2.5 requires."""
    value = value.astimezone(UTC).replace(microsecond=0)
    return asn1_x509.Time({"utc_time" if value.year < 2050 else "general_time": value})


def _name(common_name: str, organization: str | None, unit: str | None = None) -> asn1_x509.Name:
    """A distinguished name of O and OU (optional) and CN, UTF8String-encoded so Chinese names survive."""
    attrs: dict[str, str] = {}
    if organization:
        attrs["organization_name"] = organization
    if unit:
        attrs["organizational_unit_name"] = unit
    attrs["common_name"] = common_name
    return asn1_x509.Name.build(attrs, use_printable=False)


def _key_identifier(spki_der: bytes) -> bytes:
    """RFC 5280 §4.2.1.2 method 1: SHA-1 of the subjectPublicKey BIT STRING (an identifier, not security)."""
    info = asn1_keys.PublicKeyInfo.load(spki_der)
    return hashlib.sha1(info["public_key"].contents[1:], usedforsecurity=False).digest()


def build_certificate(
    *,
    subject_cn: str,
    subject_public_key_der: bytes,
    issuer_key: SigningKey,
    issuer_cert_der: bytes | None,
    serial: int | None = None,
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    is_ca: bool = False,
    path_length: int | None = None,
    extended_key_usage: list[str] | None = None,
    eku_critical: bool = False,
    organization: str | None = None,
    organizational_unit: str | None = None,
    policies: tuple[str, ...] = (),
) -> bytes:
    """Issue a certificate (DER) for ``subject_public_key_der``, signed by ``issuer_key``.

    ``issuer_cert_der=None`` makes it self-signed (issuer = subject). Signed with sm2sign-with-sm3
    (OID 1.2.156.10197.1.501, signer ID 1234567812345678) by SM2 issuers and ecdsa-with-SHA256 by
    P-256 issuers. Carries SKI/AKI, a critical basicConstraints and a critical keyUsage (CA:
    keyCertSign + cRLSign; leaf: digitalSignature + nonRepudiation), and ``extended_key_usage``
    (asn1crypto names such as ``time_stamping``) when given, and a non-critical certificatePolicies
    extension listing ``policies`` (OIDs) when given. Validity defaults to now-5min .. +10 years.
    """
    try:
        subject_info = asn1_keys.PublicKeyInfo.load(subject_public_key_der)
        subject_info.native  # noqa: B018 - parse fully now, so a bad key fails here and not in dump()
    except (ValueError, TypeError) as exc:
        raise BadInputError(_("subject public key is not a SubjectPublicKeyInfo: {exc}").format(exc=exc)) from exc
    subject = _name(subject_cn, organization, organizational_unit)
    if issuer_cert_der is None:
        issuer = subject
        issuer_ski = _key_identifier(issuer_key.public_key_der())
    else:
        issuer_cert = _load_one(issuer_cert_der)
        issuer = issuer_cert.subject
        issuer_ski = issuer_cert.key_identifier or _key_identifier(issuer_cert.public_key.dump())
    start = not_before or (datetime.now(UTC) - timedelta(minutes=5))
    end = not_after or (start + timedelta(days=3650))
    if end <= start:
        raise BadInputError(_("certificate would expire before it becomes valid"))
    sig_algo = {"algorithm": _SIGNATURE_ALGORITHM[issuer_key.algorithm]}
    key_usage = {"key_cert_sign", "crl_sign"} if is_ca else {"digital_signature", "non_repudiation"}
    basic: dict[str, object] = {"ca": is_ca}
    if is_ca and path_length is not None:
        basic["path_len_constraint"] = path_length
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": basic},
        {"extn_id": "key_usage", "critical": True, "extn_value": key_usage},
        {
            "extn_id": "key_identifier",
            "critical": False,
            "extn_value": _key_identifier(subject_public_key_der),
        },
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": issuer_ski},
        },
    ]
    if extended_key_usage:
        extensions.append({"extn_id": "extended_key_usage", "critical": eku_critical, "extn_value": extended_key_usage})
    if policies:
        value = [{"policy_identifier": oid} for oid in policies]
        extensions.append({"extn_id": "certificate_policies", "critical": False, "extn_value": value})
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            # 159 random bits: positive, at most 20 octets, unpredictable (CA/B Forum habit).
            "serial_number": serial if serial is not None else secrets.randbits(159) | 1,
            "signature": sig_algo,
            "issuer": issuer,
            "validity": {"not_before": _time(start), "not_after": _time(end)},
            "subject": subject,
            "subject_public_key_info": subject_info,
            "extensions": extensions,
        }
    )
    signature = issuer_key.sign(tbs.dump())
    cert = asn1_x509.Certificate(
        {"tbs_certificate": tbs, "signature_algorithm": sig_algo, "signature_value": signature}
    )
    return bytes(cert.dump())


_SHORT_NAMES = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "country_name": "C",
    "state_or_province_name": "ST",
    "locality_name": "L",
    "email_address": "emailAddress",
    "serial_number": "serialNumber",
}


def name_text(name: asn1_x509.Name) -> str:
    """A distinguished name as OpenSSL prints it by default (``O = Acme, CN = TSA``), Unicode kept."""
    parts: list[str] = []
    for rdn in name.chosen:
        for attr in rdn:
            kind = attr["type"].native
            parts.append(f"{_SHORT_NAMES.get(kind, kind)} = {attr['value'].native}")
    return ", ".join(parts)


def certificate_pem(der: bytes) -> bytes:
    """PEM ``CERTIFICATE`` armour around a DER certificate."""
    return bytes(pem.armor("CERTIFICATE", der))


def _load_one(der: bytes) -> asn1_x509.Certificate:
    """Parse one DER certificate fully, raising :class:`BadInputError` if it is malformed."""
    try:
        cert = asn1_x509.Certificate.load(der, strict=True)
        cert["tbs_certificate"]["subject_public_key_info"].dump()
        cert.subject.native  # noqa: B018 - force a full parse
    except (ValueError, TypeError, KeyError) as exc:
        raise BadInputError(_("not a valid X.509 certificate: {exc}").format(exc=exc)) from exc
    return cert


def parse_certificate(der: bytes) -> asn1_x509.Certificate:
    """The asn1crypto view of a DER certificate; :class:`BadInputError` if malformed."""
    return _load_one(der)


def load_certificates(data: bytes) -> list[bytes]:
    """All certificates in a PEM bundle or one DER certificate, as DER; :class:`BadInputError` if none."""
    found: list[bytes] = []
    if pem.detect(data):
        try:
            blocks = list(pem.unarmor(data, multiple=True))
        except (ValueError, binascii.Error) as exc:  # broken armour or base64
            raise BadInputError(_("not a readable PEM file: {join}").format(join=" ".join(str(exc).split()))) from exc
        for kind, _headers, der in blocks:
            if kind in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
                _load_one(der)
                found.append(bytes(der))
    else:
        found.append(bytes(_load_one(data).dump()))
    if not found:
        raise BadInputError(_("no certificate found (expected PEM CERTIFICATE blocks or DER)"))
    return found


def certificate_summary(der: bytes) -> dict[str, str]:
    """Subject, issuer, serial (hex), validity (ISO 8601), key algorithm and SHA-256 fingerprints."""
    from .keys import spki_algorithm, spki_fingerprint

    cert = _load_one(der)
    spki = cert.public_key.dump()
    validity = cert["tbs_certificate"]["validity"]
    return {
        "subject": name_text(cert.subject),
        "issuer": name_text(cert.issuer),
        "serial": format(cert.serial_number, "x"),
        "not_before": validity["not_before"].native.isoformat(),
        "not_after": validity["not_after"].native.isoformat(),
        "key_algorithm": spki_algorithm(spki),
        "signature_algorithm": cert["signature_algorithm"]["algorithm"].native,
        "fingerprint": hashlib.sha256(der).hexdigest(),
        "key_fingerprint": spki_fingerprint(spki),
    }
