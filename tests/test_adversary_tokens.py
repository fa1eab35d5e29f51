"""Tokens against OpenSSL as the oracle: what ``openssl ts -verify`` refuses for a real reason is not PASSED here,
and what it accepts is not refused here. The certificates are made with ``cryptography`` (not evidencectl's own
certificate builder, which always writes a signing key usage) and the tokens by the embedded TSA's encoder."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from evidencectl.checks import Status
from evidencectl.crypto.keys import SigningKey
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.verifier import verify_timestamp

DIGEST = hashlib.sha256(b"evidence").digest()
_NO_USAGE = dict.fromkeys(
    (
        "digital_signature",
        "content_commitment",
        "key_encipherment",
        "data_encipherment",
        "key_agreement",
        "key_cert_sign",
        "crl_sign",
        "encipher_only",
        "decipher_only",
    ),
    False,
)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def token_with_key_usage(folder: Path, usage: dict[str, bool] | None) -> tuple[bytes, bytes]:
    """A TimeStampResp whose TSA certificate has keyUsage ``usage`` (None: no keyUsage), and its root (DER)."""
    folder.mkdir()
    now = datetime.now(UTC)
    root_key, tsa_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = (
        x509.CertificateBuilder()
        .subject_name(_name("Adversary Root"))
        .issuer_name(_name("Adversary Root"))
        .public_key(root_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(**{**_NO_USAGE, "key_cert_sign": True, "crl_sign": True}), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), critical=False)
        .sign(root_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name("Adversary TSA"))
        .issuer_name(_name("Adversary Root"))
        .public_key(tsa_key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(x509.KeyUsage(**{**_NO_USAGE, **usage}), critical=True)
    leaf = builder.sign(root_key, hashes.SHA256())
    root_der, leaf_der = (c.public_bytes(serialization.Encoding.DER) for c in (root, leaf))
    (folder / "root.pem").write_bytes(root.public_bytes(serialization.Encoding.PEM))
    tsa = EmbeddedTSA(folder, SigningKey(tsa_key, "ecdsa-p256"), leaf_der, root_der)
    tsa._init_serials()
    response = tsa.respond(build_request(DIGEST, "sha256", nonce=5))
    (folder / "r.tsr").write_bytes(response)
    return response, root_der


class _Roots:
    def __init__(self, *roots: bytes) -> None:
        self.roots = list(roots)

    def certificates(self, role: str) -> list[bytes]:
        return self.roots


def openssl_accepts(folder: Path) -> bool:
    done = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", DIGEST.hex(), "-in", "r.tsr", "-CAfile", "root.pem"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    return done.returncode == 0


@pytest.mark.parametrize(
    ("case", "usage"),
    [("key_encipherment_only", {"key_encipherment": True}), ("key_agreement_only", {"key_agreement": True})],
)
def test_tsa_certificate_whose_key_usage_forbids_signing_does_not_pass(
    tmp_path: Path, case: str, usage: dict[str, bool]
) -> None:
    response, root = token_with_key_usage(tmp_path / case, usage)
    assert not openssl_accepts(tmp_path / case)  # "unsuitable certificate purpose"
    result = verify_timestamp(response, digest=DIGEST, hash_name="sha256", trust=_Roots(root), check="t")
    assert result.status is Status.FAILED and result.reason == "CHAIN"
    assert "key usage" in result.detail


@pytest.mark.parametrize(
    ("case", "usage"),
    [
        ("no_key_usage", None),
        ("digital_signature", {"digital_signature": True}),
        ("non_repudiation", {"content_commitment": True}),
    ],
)
def test_tsa_certificate_openssl_accepts_for_key_usage_passes(
    tmp_path: Path, case: str, usage: dict[str, bool] | None
) -> None:
    response, root = token_with_key_usage(tmp_path / case, usage)
    assert openssl_accepts(tmp_path / case)
    result = verify_timestamp(response, digest=DIGEST, hash_name="sha256", trust=_Roots(root), check="t")
    assert result.status is Status.PASSED, result.detail
