"""Certificate paths a forger builds: a CA certificate whose key usage forbids certificate signing must not issue
a TSA certificate, on the SM2 path as on the RFC 5280 one, and an unrelated SM2 certificate dropped into a
package must not switch the RFC 5280 checks off. OpenSSL is the oracle where it can verify the chain (ECDSA)."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
from asn1crypto import x509

from evidencectl.checks import Status
from evidencectl.crypto.keys import SigningKey, generate_key
from evidencectl.crypto.x509 import build_certificate, certificate_pem
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.verifier import verify_timestamp

DIGEST = hashlib.sha256(b"evidence").digest()


class _Roots:
    def __init__(self, *roots: bytes) -> None:
        self.roots = list(roots)

    def certificates(self, role: str) -> list[bytes]:
        return self.roots


def _with_key_usage(cert_der: bytes, usage: set[str], issuer_key: SigningKey) -> bytes:
    """``cert_der`` with its keyUsage replaced by ``usage``, signed again by ``issuer_key``."""
    cert = x509.Certificate.load(cert_der)
    tbs = cert["tbs_certificate"]
    extensions = [
        x509.Extension({"extn_id": "key_usage", "critical": True, "extn_value": usage})
        if e["extn_id"].native == "key_usage"
        else e
        for e in tbs["extensions"]
    ]
    fields = ("version", "serial_number", "signature", "issuer", "validity", "subject", "subject_public_key_info")
    new_tbs = x509.TbsCertificate({**{k: tbs[k] for k in fields}, "extensions": extensions})
    signed = {"tbs_certificate": new_tbs, "signature_algorithm": cert["signature_algorithm"]}
    return bytes(x509.Certificate({**signed, "signature_value": issuer_key.sign(new_tbs.dump())}).dump())


def chain_through(folder: Path, algorithm: str, intermediate_usage: set[str] | None) -> tuple[bytes, bytes, bytes]:
    """(token, root, intermediate): root -> intermediate (CA, keyUsage ``intermediate_usage`` if given) -> TSA."""
    folder.mkdir()
    root_key, inter_key, tsa_key = (generate_key(algorithm) for _ in range(3))  # type: ignore[arg-type]
    root = build_certificate(
        subject_cn="Forger Root", subject_public_key_der=root_key.public_key_der(), issuer_key=root_key,
        issuer_cert_der=None, is_ca=True,
    )  # fmt: skip
    inter = build_certificate(
        subject_cn="Forger Intermediate", subject_public_key_der=inter_key.public_key_der(), issuer_key=root_key,
        issuer_cert_der=root, is_ca=True,
    )  # fmt: skip
    if intermediate_usage is not None:
        inter = _with_key_usage(inter, intermediate_usage, root_key)
    leaf = build_certificate(
        subject_cn="Forger TSA", subject_public_key_der=tsa_key.public_key_der(), issuer_key=inter_key,
        issuer_cert_der=inter, extended_key_usage=["time_stamping"], eku_critical=True,
    )  # fmt: skip
    (folder / "root.pem").write_bytes(certificate_pem(root))
    (folder / "inter.pem").write_bytes(certificate_pem(inter))
    tsa = EmbeddedTSA(folder, tsa_key, leaf, root)
    tsa._init_serials()
    token = tsa.respond(build_request(DIGEST, "sha256", nonce=3))
    (folder / "r.tsr").write_bytes(token)
    return token, root, inter


def openssl_accepts(folder: Path) -> bool:
    command = ["openssl", "ts", "-verify", "-digest", DIGEST.hex(), "-in", "r.tsr", "-CAfile", "root.pem"]
    return subprocess.run([*command, "-untrusted", "inter.pem"], cwd=folder, capture_output=True).returncode == 0


def _verify(token: bytes, root: bytes, *pool: bytes) -> object:
    return verify_timestamp(token, digest=DIGEST, hash_name="sha256", trust=_Roots(root), check="t", extra_certs=pool)


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_intermediate_whose_key_usage_forbids_certificate_signing_issues_no_tsa(tmp_path: Path, algorithm: str) -> None:
    token, root, inter = chain_through(tmp_path / "bad", algorithm, {"digital_signature"})
    if algorithm == "ecdsa-p256":
        assert not openssl_accepts(tmp_path / "bad")  # "invalid CA certificate"
    result = _verify(token, root, inter)
    assert result.status is Status.FAILED, result.detail  # type: ignore[attr-defined]


@pytest.mark.parametrize("algorithm", ["sm2", "ecdsa-p256"])
def test_intermediate_allowed_to_sign_certificates_passes(tmp_path: Path, algorithm: str) -> None:
    token, root, inter = chain_through(tmp_path / "good", algorithm, None)
    if algorithm == "ecdsa-p256":
        assert openssl_accepts(tmp_path / "good")
    result = _verify(token, root, inter)
    assert result.status is Status.PASSED, result.detail  # type: ignore[attr-defined]


def test_unrelated_sm2_certificate_in_the_pool_does_not_switch_off_rfc5280_checks(tmp_path: Path) -> None:
    """The package's certs/*.pem are the adversary's: one SM2 certificate there sent every chain to the SM2
    path check, which knew nothing of key usage."""
    token, root, inter = chain_through(tmp_path / "bad", "ecdsa-p256", {"digital_signature"})
    assert not openssl_accepts(tmp_path / "bad")
    stray_key = generate_key("sm2")
    stray = build_certificate(
        subject_cn="Stray", subject_public_key_der=stray_key.public_key_der(), issuer_key=stray_key,
        issuer_cert_der=None, is_ca=True,
    )  # fmt: skip
    result = _verify(token, root, inter, stray)
    assert result.status is Status.FAILED, result.detail  # type: ignore[attr-defined]
