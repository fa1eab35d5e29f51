"""The unsigned envelope of a token: every byte outside the TSA's signature is checked, each fault named."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms, core, x509

from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.errors import MalformedTokenError
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.der import check_der
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.token import TimeStampResponse
from evidencectl.timestamp.verifier import verify_timestamp

DIGEST = hashlib.sha256(b"the root of a deposit").digest()


class Roots:
    """A trust store holding exactly the given DER roots."""

    def __init__(self, *roots: bytes) -> None:
        self.roots = list(roots)

    def certificates(self, role: str) -> list[bytes]:
        assert role == "tsa"
        return self.roots


def tlv(tag: int, body: bytes) -> bytes:
    """One DER TLV (lengths below 64 KiB)."""
    n = len(body)
    length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 0x100 else b"\x82" + n.to_bytes(2, "big"))
    return bytes([tag]) + length + body


Node = tuple[int, Any]
"""A TLV: its tag byte and either its contents (primitive) or its children (constructed)."""


def parse(der: bytes) -> list[Node]:
    """The TLVs of ``der`` as a tree (single-byte tags; enough for tokens)."""
    out: list[Node] = []
    at = 0
    while at < len(der):
        tag, first = der[at], der[at + 1]
        if first < 0x80:
            length, start = first, at + 2
        else:
            count = first & 0x7F
            length, start = int.from_bytes(der[at + 2 : at + 2 + count], "big"), at + 2 + count
        body = der[start : start + length]
        out.append((tag, parse(body) if tag & 0x20 else body))
        at = start + length
    return out


def build(nodes: list[Node]) -> bytes:
    """The DER of a tree made by :func:`parse`."""
    return b"".join(tlv(tag, build(value) if isinstance(value, list) else value) for tag, value in nodes)


def edited(der: bytes, change: Callable[[list[Node], list[Node]], None]) -> bytes:
    """``der`` after ``change`` edited the children of its SignedData and of its SignerInfo in place."""
    tree = parse(der)
    signed = tree[0][1][1][1][1][1][0][1]
    signer_info = signed[-1][1][0][1]
    change(signed, signer_info)
    return build(tree)


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTSA:
    return EmbeddedTSA.open(Context(tmp_path_factory.mktemp("tsa")))


@pytest.fixture(scope="module")
def token(tsa: EmbeddedTSA) -> bytes:
    return tsa.respond(build_request(DIGEST, "sha256", nonce=7))


def verify(tsa: EmbeddedTSA, der: bytes, extra: list[bytes] | None = None, roots: list[bytes] | None = None) -> Any:
    return verify_timestamp(
        der,
        digest=DIGEST,
        hash_name="sha256",
        trust=Roots(*(roots if roots is not None else [tsa.root_cert.dump()])),
        check="timestamp:test",
        extra_certs=extra or [],
    )


def altered(der: bytes, change: Callable[[cms.SignedData, cms.SignerInfo], None]) -> bytes:
    """Re-encode ``der`` after ``change`` edited its SignedData and SignerInfo (signed parts untouched)."""
    resp = TimeStampResponse.load(der)
    signed = resp["time_stamp_token"]["content"]
    change(signed, signed["signer_infos"][0])
    return bytes(resp.dump(force=True))


def with_status(der: bytes, status: bytes) -> bytes:
    """``der`` with its PKIStatusInfo replaced by the raw bytes ``status``."""
    resp = TimeStampResponse.load(der)
    return tlv(0x30, status + resp["time_stamp_token"].dump())


def test_the_untouched_token_passes_and_says_where_its_signer_came_from(tsa: EmbeddedTSA, token: bytes) -> None:
    assert altered(token, lambda s, i: None) == token  # the re-encoding helper itself changes nothing
    result = verify(tsa, token)
    assert result.status is Status.PASSED, result.detail
    assert result.facts["signer_certificate_from"] == "token"


def _digest_algorithms(s: cms.SignedData, i: cms.SignerInfo) -> None:
    s["digest_algorithms"] = [{"algorithm": "sha384"}]


def _two_digest_algorithms(s: cms.SignedData, i: cms.SignerInfo) -> None:
    s["digest_algorithms"] = [{"algorithm": "sha256"}, {"algorithm": "sha512"}]


def _signer_info_version(s: cms.SignedData, i: cms.SignerInfo) -> None:
    i["version"] = "v3"


def _sid_serial(s: cms.SignedData, i: cms.SignerInfo) -> None:
    sid = i["sid"].chosen
    i["sid"] = cms.SignerIdentifier(
        name="issuer_and_serial_number",
        value={"issuer": sid["issuer"], "serial_number": sid["serial_number"].native + 1},
    )


def _carried_cert_issuer(s: cms.SignedData, i: cms.SignerInfo) -> None:
    cert = s["certificates"][0].chosen
    tbs = cert["tbs_certificate"]
    tbs["issuer"] = x509.Name.build({"organization_name": "evidencectl", "common_name": "somebody else"})
    s["certificates"] = [x509.Certificate({**cert.native, "tbs_certificate": tbs})]


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_digest_algorithms, "digestAlgorithms"),
        (_two_digest_algorithms, "digestAlgorithms"),
        (_signer_info_version, "SignerInfo version"),
        (_sid_serial, "signer identifier names"),
        (_carried_cert_issuer, "signer identifier names"),
    ],
    ids=lambda v: getattr(v, "__name__", "")[1:] if callable(v) else "",
)
def test_an_altered_envelope_fails_with_its_reason(
    tsa: EmbeddedTSA, token: bytes, change: Callable[..., None], named: str
) -> None:
    # The good TSA certificate is on offer from outside: it must not stand in for the token's own.
    result = verify(tsa, altered(token, change), extra=[tsa.tsa_cert.dump()])
    assert result.status is Status.FAILED, result.detail
    assert named in result.detail


ATTRIBUTE_SIGNING_TIME = tlv(0x06, bytes.fromhex("2a864886f70d010905"))


def _version(value: int, where: str) -> Callable[[list[Node], list[Node]], None]:
    def change(signed: list[Node], info: list[Node]) -> None:
        (signed if where == "signed" else info)[0] = (0x02, bytes([value]))

    return change


def _digest_parameters(signed: list[Node], info: list[Node]) -> None:
    oid, _null = info[2][1]
    info[2] = (0x30, [oid, (0x04, b"")])  # an empty OCTET STRING where NULL belongs


def _crls(signed: list[Node], info: list[Node]) -> None:
    signed.insert(-1, (0xA1, [(0x30, [(0x02, b"\x05")])]))  # a "CRL" that is an INTEGER in a SEQUENCE


def _unsigned(value: Node) -> Callable[[list[Node], list[Node]], None]:
    def change(signed: list[Node], info: list[Node]) -> None:
        info.append((0xA1, [(0x30, [parse(ATTRIBUTE_SIGNING_TIME)[0], (0x31, [value])])]))

    return change


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (_version(2, "signed"), "SignedData version"),  # 1 and 3 are what TSAs write (test_timestamp_ber)
        (_version(4, "signed"), "SignedData version"),
        (_version(3, "signer"), "SignerInfo version"),
        (_digest_parameters, "parameters"),
        (_crls, "CRLs"),
        (_unsigned((0x04, b"\x00")), "unsigned attributes"),  # signingTime that is not a time
    ],
)
def test_an_altered_field_outside_the_signature_fails(
    tsa: EmbeddedTSA, token: bytes, change: Callable[..., None], named: str
) -> None:
    assert edited(token, lambda s, i: None) == token  # the tree helpers themselves change nothing
    result = verify(tsa, edited(token, change))
    assert result.status is Status.FAILED, result.detail
    assert named in result.detail or result.detail.startswith("malformed"), result.detail


def test_parsable_unsigned_attributes_are_tolerated(tsa: EmbeddedTSA, token: bytes) -> None:
    result = verify(tsa, edited(token, _unsigned((0x17, b"260101000000Z"))))
    assert result.status is Status.PASSED, result.detail


def test_carried_certificates_must_be_the_signer_or_on_its_path(tsa: EmbeddedTSA, token: bytes, tmp_path: Path) -> None:
    root = tsa.root_cert

    def carry(*certs: x509.Certificate) -> Callable[[cms.SignedData, cms.SignerInfo], None]:
        def change(s: cms.SignedData, i: cms.SignerInfo) -> None:
            s["certificates"] = [s["certificates"][0].chosen, *certs]

        return change

    # The root the path ends in may travel with the token ...
    assert verify(tsa, altered(token, carry(root))).status is Status.PASSED
    # ... a certificate with no part in the path may not.
    stranger = EmbeddedTSA.open(Context(tmp_path / "other")).tsa_cert
    result = verify(tsa, altered(token, carry(stranger)))
    assert result.status is Status.FAILED and "neither its signer nor part of the validated path" in result.detail
    # Two copies of the signer make the signer identifier ambiguous.
    result = verify(tsa, altered(token, carry(tsa.tsa_cert)))
    assert result.status is Status.FAILED and "several" in result.detail


def test_a_token_without_certificates_may_use_one_from_outside(tsa: EmbeddedTSA) -> None:
    bare = tsa.respond(build_request(DIGEST, "sha256", nonce=None, cert_req=False))
    assert verify(tsa, bare).status is Status.INDETERMINATE
    result = verify(tsa, bare, extra=[tsa.tsa_cert.dump()])
    assert result.status is Status.PASSED, result.detail
    assert result.facts["signer_certificate_from"] == "outside the token"


@pytest.mark.parametrize(
    ("status", "named"),
    [
        (b"\x30\x03\x02\x01\x01", "grantedWithMods"),
        (b"\x30\x07\x02\x01\x00\x03\x02\x07\x80", "failInfo"),
        (b"\x30\x04\x02\x02\x00\x00", "not DER"),  # a zero written with a redundant leading byte
        (b"\x30\x81\x03\x02\x01\x00", "not DER"),  # a long length where a short one fits
        (b"\x30\x82\x00\x03\x02\x01\x00", "not DER"),  # a length with a leading zero byte
    ],
)
def test_the_status_must_be_a_plain_grant_in_der(tsa: EmbeddedTSA, token: bytes, status: bytes, named: str) -> None:
    result = verify(tsa, with_status(token, status))
    assert result.status is Status.FAILED, result.detail
    assert named in result.detail


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30\x03\x01\x01\x01",  # BOOLEAN true as 01
        b"\x30\x03\x02\x00",  # empty INTEGER, and a length past the end
        b"\x30\x02\x02\x00",  # empty INTEGER
        b"\x30\x04\x02\x02\xff\x80",  # negative INTEGER with a redundant leading byte
        b"\x30\x02\x05\x01\x00"[:4],  # NULL with contents, truncated
        b"\x30\x03\x05\x01\x00",  # NULL with contents
        b"\x30\x04\x06\x02\x80\x01",  # OID arc with a leading zero
        b"\x30\x03\x06\x01\x81",  # OID ending inside an arc
        b"\x30\x04\x03\x02\x01\x01",  # BIT STRING with an unused bit set
        b"\x30\x03\x03\x01\x01",  # BIT STRING with no bits and unused bits declared
        b"\x30\x04\x24\x02\x04\x00",  # constructed OCTET STRING
        b"\x30\x05\x13\x03a*b",  # '*' in a PrintableString
        b"\x30\x04\x0c\x02\xc3\x28",  # UTF8String that is not UTF-8
        b"\x30\x0f\x17\x0d2601010000000",  # UTCTime without Z
        b"\x30\x13\x18\x1120260101000000.10Z",  # GeneralizedTime with a trailing zero
        b"\x10\x00",  # SEQUENCE as primitive
        b"\x30\x00\x00",  # a byte after the value
        b"\x3f\x1e\x00",  # high tag form for a low tag number
    ],
)
def test_check_der_refuses_every_alternative_encoding(der: bytes) -> None:
    with pytest.raises(MalformedTokenError, match="not DER"):
        check_der(der)


def test_check_der_accepts_der(token: bytes) -> None:
    check_der(token)
    check_der(tlv(0x30, core.Integer(-129).dump() + core.Boolean(True).dump() + core.Null().dump()))
    check_der(tlv(0x30, tlv(0x18, b"20260101000000.5Z") + tlv(0x17, b"260101000000Z")))


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "sm2"])
def test_every_single_byte_flip_of_a_token_fails(tmp_path: Path, algorithm: str) -> None:
    """Not one byte of a token can change and still leave it PASSED or merely INDETERMINATE."""
    tsa = EmbeddedTSA.open(Context(tmp_path), algorithm)
    der = tsa.respond(build_request(DIGEST, "sha256", nonce=11))
    extra = [tsa.tsa_cert.dump(), tsa.root_cert.dump()]
    assert verify(tsa, der, extra=extra).status is Status.PASSED
    escaped = []
    for at in range(len(der)):
        bad = bytearray(der)
        bad[at] ^= 0x01
        result = verify(tsa, bytes(bad), extra=extra)
        if result.status is not Status.FAILED:
            escaped.append((at, result.status.value, result.detail))
    assert not escaped
