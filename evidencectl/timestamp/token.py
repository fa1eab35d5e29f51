"""RFC 3161 time-stamp tokens: parse a response (or a bare token) into facts, and verify it strictly."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms, core, tsp, x509

from ..errors import MalformedTokenError
from ..i18n import _
from .algorithms import OID_HASHES, TST_INFO_OID

PKI_STATUS_TEXT: dict[int, str] = {
    0: "granted",
    1: "grantedWithMods",
    2: "rejection",
    3: "waiting",
    4: "revocationWarning",
    5: "revocationNotification",
}
"""PKIStatus values of RFC 3161 §2.4.2."""

FAIL_INFO_BITS: dict[int, str] = {
    0: "badAlg",
    2: "badRequest",
    5: "badDataFormat",
    14: "timeNotAvailable",
    15: "unacceptedPolicy",
    16: "unacceptedExtension",
    17: "addInfoNotAvailable",
    25: "systemFailure",
}
"""PKIFailureInfo bits of RFC 3161 §2.4.2."""


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    """TimeStampResp of RFC 3161 §2.4.2; asn1crypto's own class wrongly makes the token mandatory."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


@dataclass(frozen=True)
class ResponseStatus:
    """The PKIStatusInfo of a TimeStampResp (a bare token counts as granted)."""

    status: int
    """PKIStatus number (0 granted, 1 grantedWithMods, 2 rejection…)."""
    text: str
    """The status as a word, followed by the free text and failInfo the TSA gave, if any."""
    fail_info: tuple[str, ...] = ()
    """Names of the PKIFailureInfo bits set."""

    @property
    def granted(self) -> bool:
        """True when the TSA granted the request (with or without modifications)."""
        return self.status in (0, 1)

    @property
    def as_requested(self) -> bool:
        """True for status granted (0) without failInfo: the TSA certifies the request exactly as made.

        RFC 3161 leaves a TSA no change to make to a request it grants (imprint and nonce are echoed, an
        unacceptable policy or extension is refused), so grantedWithMods cannot be told apart from a
        status that was altered after signing: the status is outside the signature.
        """
        return self.status == 0 and not self.fail_info


@dataclass(frozen=True)
class TimestampInfo:
    """What a time-stamp token asserts, as read from it (nothing here is verified yet)."""

    tsa: str
    """Subject of the signing certificate when the token carries it, else the TSTInfo tsa name."""
    serial: int
    """TSTInfo serialNumber, unique per TSA."""
    gen_time: datetime
    """TSTInfo genTime, timezone-aware UTC."""
    accuracy: float | None
    """Declared accuracy in seconds, or None when the TSA declared none."""
    policy: str
    """TSA policy OID, dotted."""
    hash_algorithm: str
    """Imprint hash algorithm name (``sha256``, ``sm3``…) or its dotted OID when unknown."""
    imprint: bytes
    """The hashed message the token covers."""
    nonce: int | None
    """The request nonce echoed by the TSA, if any."""
    bare_token: bool
    """True when the input was a bare TimeStampToken (ContentInfo) rather than a TimeStampResp."""
    certificates: tuple[bytes, ...] = field(default_factory=tuple)
    """DER certificates embedded in the SignedData."""

    def facts(self) -> dict[str, Any]:
        """JSON-ready facts for a :class:`~evidencectl.checks.CheckResult`."""
        return {
            "tsa": self.tsa,
            "serial": str(self.serial),
            "gen_time": iso_utc(self.gen_time),
            "accuracy": self.accuracy,
            "policy": self.policy,
            "hash_algorithm": self.hash_algorithm,
            "imprint": self.imprint.hex(),
            "nonce": None if self.nonce is None else str(self.nonce),
        }


@dataclass(frozen=True)
class ParsedToken:
    """A decoded response: status, the ContentInfo, the SignedData, the TSTInfo and their raw bytes."""

    status: ResponseStatus
    """The response status (granted for a bare token)."""
    content_info: cms.ContentInfo | None
    """The TimeStampToken, absent when the TSA refused."""
    bare: bool
    """True when the input was a bare token."""
    encap: cms.EncapsulatedContentInfo | None = None
    """The encapsulated content read the CMS way (eContent an OCTET STRING), whatever the version."""

    @property
    def signed_data(self) -> cms.SignedData:
        """The token's SignedData."""
        assert self.content_info is not None
        return self.content_info["content"]

    @property
    def tst_info_bytes(self) -> bytes:
        """The exact eContent octets, which the messageDigest attribute covers."""
        assert self.encap is not None
        return bytes(self.encap["content"].contents)

    @property
    def tst_info(self) -> tsp.TSTInfo:
        """The parsed TSTInfo."""
        return tsp.TSTInfo.load(self.tst_info_bytes)


def iso_utc(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, keeping sub-second digits only when present."""
    moment = moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _status_of(info: tsp.PKIStatusInfo) -> ResponseStatus:
    """Turn a PKIStatusInfo into words."""
    number = int(info["status"])
    fail: tuple[str, ...] = ()
    if info["fail_info"].native is not None:
        # Read the bits by number: asn1crypto's own names for them differ from RFC 3161's.
        bits = info["fail_info"].chosen if hasattr(info["fail_info"], "chosen") else info["fail_info"]
        flags = [int(ch) for ch in "".join(f"{b:08b}" for b in bytes(bits.contents[1:]))]
        fail = tuple(FAIL_INFO_BITS.get(i, f"bit{i}") for i, on in enumerate(flags) if on)
    words = [PKI_STATUS_TEXT.get(number, f"status {number}")]
    if info["status_string"].native:
        words.append("; ".join(str(s) for s in info["status_string"].native))
    if fail:
        words.append("failInfo " + ",".join(fail))
    return ResponseStatus(number, ": ".join(words[:2]) + (f" ({words[2]})" if len(words) > 2 else ""), fail)


def decode(der: bytes) -> ParsedToken:
    """Decode a TimeStampResp or a bare TimeStampToken; raises MalformedTokenError on anything else."""
    if not der:
        raise MalformedTokenError(_("empty timestamp response"))
    try:
        parsed = _decode(der)
        if parsed.content_info is not None:
            __ = parsed.tst_info.native  # force a full parse now, so later access cannot raise
            __ = parsed.signed_data["signer_infos"].native
    except MalformedTokenError:
        raise
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError… on hostile input
        why = " ".join(str(exc).split())
        raise MalformedTokenError(_which_part(der) or f"not an RFC 3161 timestamp response or token: {why}") from exc
    return parsed


def _which_part(der: bytes) -> str | None:
    """Name the part of a token that does not parse (a signed attribute, the TSTInfo), where one can be told.

    A refusal should say what is wrong in the token's own terms: "signed attribute signing_certificate does
    not parse: Field certs is missing" tells a reader more than the parser's path through its classes.
    """
    try:
        parsed = _decode(der)
        attrs = parsed.signed_data["signer_infos"][0]["signed_attrs"]
        count = 0 if isinstance(attrs, core.Void) else len(attrs)
    except Exception as exc:  # asn1crypto names the class it was reading: the TSTInfo, or something else
        return f"the TSTInfo does not parse: {_first(exc)}" if "tsp.TSTInfo" in str(exc) else None
    for index in range(count):
        name: object = index
        try:
            name = attrs[index]["type"].native
            _ = attrs[index].native
        except Exception as exc:
            return f"signed attribute {name} does not parse: {_first(exc)}"
    try:
        _ = parsed.tst_info.native
    except Exception as exc:
        return f"the TSTInfo does not parse: {_first(exc)}"
    return None


def _first(exc: Exception) -> str:
    """An asn1crypto message without its trail of "while parsing" classes, on one line."""
    return " ".join(str(exc).split()).split(" while parsing ")[0]


def _decode(der: bytes) -> ParsedToken:
    """The decoding proper; may raise any asn1crypto exception."""
    outer = core.Sequence.load(der, strict=True)
    first = outer[0]
    if isinstance(first, core.ObjectIdentifier) or first.tag == 6:
        token = cms.ContentInfo.load(der, strict=True)
        status = ResponseStatus(0, "granted (bare token)")
        bare = True
    else:
        resp = TimeStampResponse.load(der, strict=True)
        status = _status_of(resp["status"])
        token = resp["time_stamp_token"]
        bare = False
        if isinstance(token, core.Void):
            if status.granted:
                raise MalformedTokenError(_("response is {text} but carries no token").format(text=status.text))
            return ParsedToken(status, None, False)
    if token["content_type"].dotted != "1.2.840.113549.1.7.2":
        raise MalformedTokenError(
            _("token is not CMS SignedData but {dotted}").format(dotted=token["content_type"].dotted)
        )
    encap = _encapsulated(token["content"])
    if encap["content_type"].dotted != TST_INFO_OID:
        raise MalformedTokenError(
            _("token content is {dotted}, not id-ct-TSTInfo").format(dotted=encap["content_type"].dotted)
        )
    if encap["content"].native is None:
        raise MalformedTokenError(_("token has no TSTInfo content"))
    return ParsedToken(status, token, bare, encap)


def _encapsulated(signed: cms.SignedData) -> cms.EncapsulatedContentInfo:
    """The encapContentInfo with its eContent as an OCTET STRING, also in a SignedData of version 1.

    asn1crypto reads a version 1 SignedData as PKCS #7, whose content is ``[0] EXPLICIT ANY``; real
    qualified TSAs (EuroCert, 2022) write version 1 around a CMS eContent. Reading it again as CMS
    gives the OCTET STRING whose exact octets the messageDigest covers. A PKCS #7 TSTInfo written
    without the OCTET STRING is refused, as OpenSSL refuses it.
    """
    encap = signed["encap_content_info"]
    if isinstance(encap, cms.EncapsulatedContentInfo):
        return encap
    again = cms.EncapsulatedContentInfo.load(encap.dump())
    try:
        __ = again["content"].contents
    except ValueError:
        raise MalformedTokenError(_("the TSTInfo is not wrapped in an OCTET STRING (PKCS #7 form, not CMS)")) from None
    return again


def _accuracy(acc: Any) -> float | None:
    """Accuracy in seconds from a TSTInfo Accuracy value."""
    if acc.native is None:
        return None
    parts = acc.native
    return round((parts["seconds"] or 0) + (parts["millis"] or 0) / 1e3 + (parts["micros"] or 0) / 1e6, 6)


def certificates_of(signed: cms.SignedData) -> list[x509.Certificate]:
    """The X.509 certificates embedded in a SignedData (attribute certificates and others skipped)."""
    out: list[x509.Certificate] = []
    for choice in signed["certificates"] or []:
        if choice.name == "certificate":
            out.append(choice.chosen)
    return out


_SHORT_NAMES = {
    "common_name": "CN",
    "organization_name": "O",
    "organizational_unit_name": "OU",
    "country_name": "C",
    "locality_name": "L",
    "state_or_province_name": "ST",
    "email_address": "emailAddress",
    "serial_number": "serialNumber",
}


def name_text(name: x509.Name) -> str:
    """A distinguished name the way OpenSSL prints it: ``C=US, O=DigiCert, CN=…`` (most general first)."""
    parts = []
    for rdn in name.chosen:
        for atv in rdn:
            kind = atv["type"]
            label = _SHORT_NAMES.get(kind.native, kind.dotted if kind.native == kind.dotted else kind.native)
            parts.append(f"{label}={atv['value'].native}")
    return ", ".join(parts)


def find_signer(sid: cms.SignerIdentifier, candidates: Sequence[x509.Certificate]) -> x509.Certificate | None:
    """The one certificate the SignerIdentifier names (issuer+serial or subjectKeyIdentifier), if present."""
    for cert in candidates:
        if sid.name == "issuer_and_serial_number":
            ias = sid.chosen
            if cert.serial_number == ias["serial_number"].native and cert.issuer == ias["issuer"]:
                return cert
        elif sid.name == "subject_key_identifier" and cert.key_identifier == sid.chosen.native:
            return cert
    return None


def info_of(parsed: ParsedToken, tsa_name: str | None = None) -> TimestampInfo:
    """The facts of a decoded, granted token."""
    tst = parsed.tst_info
    imprint = tst["message_imprint"]
    alg = imprint["hash_algorithm"]["algorithm"].dotted
    certs = certificates_of(parsed.signed_data)
    name = tsa_name
    if name is None:
        signer = find_signer(parsed.signed_data["signer_infos"][0]["sid"], certs)
        if signer is not None:
            name = name_text(signer.subject)
    if name is None and tst["tsa"].native is not None:
        name = name_text(tst["tsa"].chosen) if tst["tsa"].name == "directory_name" else str(tst["tsa"].native)
    return TimestampInfo(
        tsa=name or "unknown TSA",
        serial=int(tst["serial_number"].native),
        gen_time=tst["gen_time"].native.astimezone(UTC),
        accuracy=_accuracy(tst["accuracy"]),
        policy=tst["policy"].dotted,
        hash_algorithm=OID_HASHES.get(alg, alg),
        imprint=bytes(imprint["hashed_message"].native),
        nonce=tst["nonce"].native,
        bare_token=parsed.bare,
        certificates=tuple(c.dump() for c in certs),
    )


def parse_timestamp(response_der: bytes) -> TimestampInfo:
    """Read the facts of a TimeStampResp or bare token; raises MalformedTokenError (also for a refusal)."""
    parsed = decode(response_der)
    if parsed.content_info is None:
        raise MalformedTokenError(_("timestamp response carries no token: {text}").format(text=parsed.status.text))
    try:
        return info_of(parsed)
    except Exception as exc:
        raise MalformedTokenError(_("malformed TSTInfo: {exc}").format(exc=exc)) from exc


def fingerprint(cert_der: bytes) -> str:
    """SHA-256 fingerprint of a certificate, lower-case hex (as ``openssl x509 -fingerprint -sha256``)."""
    return hashlib.sha256(cert_der).hexdigest()
