"""BER outside the signed bytes, SignedData version 1 and the PKCS #7 form: what real TSAs write.

Each token here is a genuine token of the embedded TSA re-encoded the way a Java or Bouncy Castle stack
writes it; ``openssl ts -verify`` is the oracle for every verdict.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import pem

from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.errors import MalformedTokenError
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.der import check_der, check_token_encoding, to_definite, uses_indefinite_lengths
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.verifier import verify_timestamp

DIGEST = hashlib.sha256(b"a root deposited in a BER world").digest()

Node = list[Any]
"""[tag byte, contents bytes or children, indefinite?]"""


def parse(der: bytes) -> list[Node]:
    """The TLVs of a DER ``der`` as an editable tree (single-byte tags, definite lengths)."""
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
        out.append([tag, parse(body) if tag & 0x20 else body, False])
        at = start + length
    return out


def build(nodes: list[Node]) -> bytes:
    """Encode a tree: definite DER lengths, or the indefinite form where a node is marked."""
    out = b""
    for tag, value, indefinite in nodes:
        body = build(value) if isinstance(value, list) else value
        if indefinite:
            out += bytes([tag, 0x80]) + body + b"\x00\x00"
            continue
        n = len(body)
        length = (
            bytes([n])
            if n < 0x80
            else bytes([0x80 | ((n.bit_length() + 7) // 8)]) + n.to_bytes((n.bit_length() + 7) // 8, "big")
        )
        out += bytes([tag]) + length + body
    return out


def signed_data(tree: list[Node]) -> list[Node]:
    """The SignedData node of a TimeStampResp tree."""
    return tree[0][1][1][1][1][1][0]


@pytest.fixture(scope="module")
def tsa(tmp_path_factory: pytest.TempPathFactory) -> EmbeddedTSA:
    return EmbeddedTSA.open(Context(tmp_path_factory.mktemp("tsa")), "ecdsa-p256")


@pytest.fixture(scope="module")
def token(tsa: EmbeddedTSA) -> bytes:
    return tsa.respond(build_request(DIGEST, "sha256", nonce=5))


def ours(tsa: EmbeddedTSA, der: bytes) -> Any:
    class Roots:
        def certificates(self, role: str) -> list[bytes]:
            return [tsa.root_cert.dump()]

    return verify_timestamp(der, digest=DIGEST, hash_name="sha256", trust=Roots(), check="timestamp:ber")


def openssl(tsa: EmbeddedTSA, der: bytes, tmp_path: Path) -> bool:
    """``openssl ts -verify`` over the same digest with the same root."""
    (tmp_path / "r.tsr").write_bytes(der)
    (tmp_path / "root.pem").write_bytes(pem.armor("CERTIFICATE", tsa.root_cert.dump()))
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", DIGEST.hex(), "-in", "r.tsr", "-CAfile", "root.pem"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    return "Verification: OK" in done.stdout


def _outer(tree: list[Node]) -> None:
    """What qualified European TSAs write: ContentInfo and its [0] in the indefinite form."""
    tree[0][1][1][2] = True
    tree[0][1][1][1][1][2] = True


def _everything_unsigned(tree: list[Node]) -> None:
    """Every constructed value of the envelope indefinite, down to the certificates set and SignerInfos."""
    _outer(tree)
    tree[0][2] = True
    signed = signed_data(tree)
    signed[2] = True
    for child in signed[1]:
        if isinstance(child[1], list) and child[0] != 0x30:  # certificates [0], SignerInfos SET
            child[2] = True


def _signed_attributes(tree: list[Node]) -> None:
    """The signed attributes [0] themselves indefinite: hashed in their DER form (RFC 5652 §5.4)."""
    _outer(tree)
    signer_info = signed_data(tree)[1][-1][1][0][1]
    attrs = next(n for n in signer_info if n[0] == 0xA0)
    attrs[2] = True


@pytest.mark.parametrize("change", [_outer, _everything_unsigned, _signed_attributes], ids=lambda f: f.__name__[1:])
def test_ber_indefinite_lengths_outside_the_signed_bytes_pass_as_openssl_passes_them(
    tsa: EmbeddedTSA, token: bytes, tmp_path: Path, change: Any
) -> None:
    tree = parse(token)
    assert build(tree) == token
    change(tree)
    ber = build(tree)
    assert ber != token and uses_indefinite_lengths(ber) and to_definite(ber) == token
    with pytest.raises(MalformedTokenError, match="indefinite length"):
        check_der(ber)
    result = ours(tsa, ber)
    assert result.status is Status.PASSED, result.detail
    assert openssl(tsa, ber, tmp_path)


def test_a_ber_token_with_an_altered_tst_info_still_fails(tsa: EmbeddedTSA, token: bytes, tmp_path: Path) -> None:
    tree = parse(token)
    _everything_unsigned(tree)
    ber = bytearray(build(tree))
    at = bytes(ber).index(DIGEST)
    ber[at] ^= 0x01  # the imprint inside the TSTInfo: messageDigest no longer matches
    result = ours(tsa, bytes(ber))
    assert result.status is Status.FAILED
    assert not openssl(tsa, bytes(ber), tmp_path)


@pytest.mark.parametrize(
    ("der", "why"),
    [
        (b"\x30\x80\x04\x80\x00\x00\x00\x00", "indefinite length on a primitive value"),
        (b"\x30\x80\x02\x01\x00", "without end-of-contents"),
        (b"\x30\x80\x01\x01\x01\x00\x00", "BOOLEAN"),  # only lengths may be BER
        (b"\x30\x80\x30\x81\x01\x05\x00\x00\x00", "long length form"),
        (b"\x30\x80\x00\x00\x00", "bytes after the end"),
    ],
)
def test_no_other_ber_freedom_is_accepted(der: bytes, why: str) -> None:
    with pytest.raises(MalformedTokenError, match=why):
        check_token_encoding(der)


def test_signed_data_version_1_is_read_as_cms(tsa: EmbeddedTSA, token: bytes, tmp_path: Path) -> None:
    """EuroCert QTSA writes SignedData version 1 around a CMS eContent; OpenSSL reads it, so do we."""
    tree = parse(token)
    signed_data(tree)[1][0][1] = b"\x01"
    v1 = build(tree)
    result = ours(tsa, v1)
    assert result.status is Status.PASSED, result.detail
    assert openssl(tsa, v1, tmp_path)


def test_a_pkcs7_tst_info_without_its_octet_string_is_refused_as_openssl_refuses_it(
    tsa: EmbeddedTSA, token: bytes, tmp_path: Path
) -> None:
    tree = parse(token)
    signed = signed_data(tree)[1]
    signed[0][1] = b"\x01"
    econtent = signed[2][1][1][1]  # [0] EXPLICIT -> OCTET STRING -> the TSTInfo
    econtent[0] = [0x30, parse(econtent[0][1])[0][1], False]
    pkcs7 = build(tree)
    result = ours(tsa, pkcs7)
    assert result.status is Status.FAILED and "PKCS #7 form" in result.detail, result.detail
    assert not openssl(tsa, pkcs7, tmp_path)


@pytest.mark.parametrize("where", ["outer", "signature_algorithm"])
def test_a_carried_certificate_re_encoded_with_indefinite_lengths_is_refused(
    tsa: EmbeddedTSA, token: bytes, where: str
) -> None:
    """Outside its signed TBS a certificate could take the indefinite form and keep verifying under another
    fingerprint: the freedom stops at the CMS envelope."""
    tree = parse(token)
    certificates = next(n for n in signed_data(tree)[1] if n[0] == 0xA0)
    cert = certificates[1][0]
    (cert if where == "outer" else cert[1][1])[2] = True
    result = ours(tsa, build(tree))
    assert result.status is Status.FAILED, result.detail
    assert "do not parse as DER" in result.detail or "not DER" in result.detail, result.detail
