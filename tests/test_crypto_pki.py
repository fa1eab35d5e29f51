"""Certificates read and verified by OpenSSL, the trust store, and manifest signature verdicts."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from evidencectl.checks import Status
from evidencectl.crypto.keys import SigningKey, generate_key
from evidencectl.crypto.signature import sign_manifest, verify_manifest_signature
from evidencectl.crypto.trust import TrustStore
from evidencectl.crypto.x509 import build_certificate, certificate_pem, certificate_summary, load_certificates
from evidencectl.errors import BadInputError, UsageError

ALGORITHMS = ["sm2", "ecdsa-p256"]
MANIFEST = b'{"case":"(2024) Jing 0105 Min Chu 123","items":[]}'


def openssl(*args: str | Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run openssl with text output."""
    return subprocess.run(["openssl", *map(str, args)], capture_output=True, text=True, check=check)


def make_ca(algorithm: str, **kw: object) -> tuple[SigningKey, bytes]:
    """A self-signed CA key and certificate."""
    key = generate_key(algorithm)  # type: ignore[arg-type]
    cert = build_certificate(
        subject_cn=f"Evidence CA {algorithm}",
        subject_public_key_der=key.public_key_der(),
        issuer_key=key,
        issuer_cert_der=None,
        is_ca=True,
        path_length=0,
        organization="北京证据测试中心",
        **kw,  # type: ignore[arg-type]
    )
    return key, cert


def issue(ca: tuple[SigningKey, bytes], cn: str, **kw: object) -> tuple[SigningKey, bytes]:
    """A leaf key and certificate issued by ``ca``."""
    key = generate_key(ca[0].algorithm)  # type: ignore[arg-type]
    cert = build_certificate(
        subject_cn=cn,
        subject_public_key_der=key.public_key_der(),
        issuer_key=ca[0],
        issuer_cert_der=ca[1],
        **kw,  # type: ignore[arg-type]
    )
    return key, cert


@pytest.mark.openssl
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_openssl_reads_and_verifies_our_certificates(tmp_path: Path, algorithm: str) -> None:
    ca = make_ca(algorithm)
    _leaf_key, leaf = issue(ca, "TSA 时间戳", extended_key_usage=["time_stamping"], eku_critical=True)
    (tmp_path / "ca.pem").write_bytes(certificate_pem(ca[1]))
    (tmp_path / "leaf.pem").write_bytes(certificate_pem(leaf))
    text = openssl("x509", "-in", tmp_path / "leaf.pem", "-text", "-noout").stdout
    expected_sig = "SM2-with-SM3" if algorithm == "sm2" else "ecdsa-with-SHA256"
    assert f"Signature Algorithm: {expected_sig}" in text
    assert "Time Stamping" in text and "CA:FALSE" in text and "Digital Signature" in text
    assert "Authority Key Identifier" in text and "Subject Key Identifier" in text
    ca_text = openssl("x509", "-in", tmp_path / "ca.pem", "-text", "-noout").stdout
    assert "CA:TRUE, pathlen:0" in ca_text and "Certificate Sign, CRL Sign" in ca_text
    # OpenSSL 3.0 checks SM2 certificate signatures with an empty signer ID unless told the GM/T one.
    extra = ["-vfyopt", "distid:1234567812345678"] if algorithm == "sm2" else []
    ok = openssl("verify", *extra, "-purpose", "timestampsign", "-CAfile", tmp_path / "ca.pem",
                 tmp_path / "leaf.pem", check=False)  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    other_ca = make_ca(algorithm)
    (tmp_path / "other.pem").write_bytes(certificate_pem(other_ca[1]))
    bad = openssl("verify", *extra, "-CAfile", tmp_path / "other.pem", tmp_path / "leaf.pem", check=False)
    assert bad.returncode != 0


def test_certificate_fields_and_loading() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC)
    key = generate_key("sm2")
    der = build_certificate(
        subject_cn="x", subject_public_key_der=key.public_key_der(), issuer_key=key, issuer_cert_der=None,
        serial=1234, not_before=start, not_after=datetime(2051, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    summary = certificate_summary(der)
    assert summary["serial"] == format(1234, "x")
    assert summary["not_after"].startswith("2051-01-01")  # GeneralizedTime after 2049
    assert summary["key_fingerprint"] == key.key_id
    assert load_certificates(der) == [der]
    assert load_certificates(certificate_pem(der) * 2) == [der, der]
    with pytest.raises(BadInputError):
        load_certificates(key.public_key_pem())
    with pytest.raises(BadInputError):
        load_certificates(b"\x30\x03\x02\x01\x01")
    with pytest.raises(BadInputError, match="expire"):
        build_certificate(
            subject_cn="x", subject_public_key_der=key.public_key_der(), issuer_key=key,
            issuer_cert_der=None, not_before=start, not_after=start - timedelta(days=1),
        )  # fmt: skip


def test_trust_store_roles_extras_and_removal(tmp_path: Path) -> None:
    ca = make_ca("sm2")
    (tmp_path / "ca.pem").write_bytes(certificate_pem(ca[1]))
    node = generate_key("sm2")
    (tmp_path / "node.pem").write_bytes(node.public_key_pem())
    store = TrustStore.load(tmp_path / "home", catalogue=False)  # no shipped TSA roots: only what is added
    assert store.anchors() == []
    store.add_file(tmp_path / "ca.pem", "tsa")
    store.add_file(tmp_path / "ca.pem", "tsa")  # idempotent
    store.add_file(tmp_path / "node.pem", "ledger")
    with pytest.raises(UsageError):
        store.add_file(tmp_path / "node.pem", "everything")
    with pytest.raises(BadInputError, match="private key"):
        (tmp_path / "priv.pem").write_bytes(node.private_key_pem(None))
        store.add_file(tmp_path / "priv.pem", "ledger")

    extra_key = generate_key("ecdsa-p256")
    (tmp_path / "extra.pem").write_bytes(extra_key.public_key_pem())
    reloaded = TrustStore.load(tmp_path / "home", [f"ledger:{tmp_path / 'extra.pem'}"], catalogue=False)
    assert reloaded.certificates("tsa") == [ca[1]]
    assert reloaded.certificates("ledger") == []
    assert reloaded.public_keys("ledger") == [node.public_key_der(), extra_key.public_key_der()]
    # A file given for one role counts for that role only.
    assert extra_key.public_key_der() not in reloaded.public_keys("tsa")
    assert extra_key.public_key_der() not in reloaded.public_keys("signer")
    assert ca[0].public_key_der() in reloaded.public_keys("tsa")
    assert {a.role for a in reloaded.anchors()} == {"tsa", "ledger"}
    with pytest.raises(UsageError, match="tsa:FILE, signer:FILE"):
        TrustStore.load(tmp_path / "home", [str(tmp_path / "extra.pem")])
    with pytest.raises(UsageError, match="no trusted anchor"):
        reloaded.remove(extra_key.key_id)  # given on the command line, not stored: nothing to remove

    with pytest.raises(UsageError):
        reloaded.remove("abc")
    removed = reloaded.remove(node.key_id[:12])
    assert [a.fingerprint for a in removed] == [node.key_id]
    assert TrustStore.load(tmp_path / "home").public_keys("ledger") == []
    with pytest.raises(UsageError, match="no trusted anchor"):
        reloaded.remove(node.key_id)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_manifest_signature_verdicts(tmp_path: Path, algorithm: str) -> None:
    ca = make_ca(algorithm, not_before=datetime(2020, 1, 1, tzinfo=UTC), not_after=datetime(2040, 1, 1, tzinfo=UTC))
    key, cert = issue(ca, "张律师", not_before=datetime(2024, 1, 1, tzinfo=UTC),
                      not_after=datetime(2034, 1, 1, tzinfo=UTC))  # fmt: skip
    sig = sign_manifest(key, MANIFEST)
    when = datetime(2025, 6, 1, tzinfo=UTC)
    empty = TrustStore.load(tmp_path / "empty")

    untrusted = verify_manifest_signature(sig, MANIFEST, cert, empty, signing_time=when)
    assert untrusted.status is Status.INDETERMINATE
    assert untrusted.check == "signature:manifest"
    assert untrusted.facts["signer"] == "CN = 张律师"
    assert untrusted.facts["algorithm"] == algorithm
    assert untrusted.facts["key_fingerprint"] == key.key_id
    assert untrusted.reproduce and "openssl dgst" in untrusted.reproduce

    (tmp_path / "ca.pem").write_bytes(certificate_pem(ca[1]))
    by_ca = TrustStore.load(tmp_path / "h1")
    by_ca.add_file(tmp_path / "ca.pem", "signer")
    passed = verify_manifest_signature(sig, MANIFEST, cert, by_ca, signing_time=when)
    assert passed.status is Status.PASSED, passed.detail
    assert passed.facts["trusted_as"] == "signer CA"

    (tmp_path / "leaf.pem").write_bytes(certificate_pem(cert))
    by_depositor = TrustStore.load(tmp_path / "h2")
    by_depositor.add_file(tmp_path / "leaf.pem", "signer")
    assert verify_manifest_signature(sig, MANIFEST, cert, by_depositor).status is Status.PASSED
    # The CA root trusted as "tsa" does not make a depositor trusted.
    tsa_only = TrustStore.load(tmp_path / "h3")
    tsa_only.add_file(tmp_path / "ca.pem", "tsa")
    assert verify_manifest_signature(sig, MANIFEST, cert, tsa_only).status is Status.INDETERMINATE

    tampered = verify_manifest_signature(sig, MANIFEST + b" ", cert, by_ca, signing_time=when)
    assert tampered.status is Status.FAILED and "does not match" in tampered.detail
    other_key_sig = sign_manifest(generate_key(algorithm), MANIFEST)  # type: ignore[arg-type]
    assert verify_manifest_signature(other_key_sig, MANIFEST, cert, by_ca).status is Status.FAILED
    expired = verify_manifest_signature(sig, MANIFEST, cert, by_ca, signing_time=datetime(2035, 1, 1, tzinfo=UTC))
    assert expired.status is Status.FAILED and "not valid" in expired.detail
    broken = verify_manifest_signature(sig, MANIFEST, b"\x30\x00", by_ca)
    assert broken.status is Status.FAILED


@pytest.mark.openssl
def test_manifest_signature_reproduce_command_works(tmp_path: Path) -> None:
    key = generate_key("sm2")
    cert = build_certificate(
        subject_cn="d", subject_public_key_der=key.public_key_der(), issuer_key=key, issuer_cert_der=None
    )
    (tmp_path / "signer.pem").write_bytes(certificate_pem(cert))
    (tmp_path / "manifest.json").write_bytes(MANIFEST)
    (tmp_path / "manifest.sig").write_bytes(sign_manifest(key, MANIFEST))
    result = verify_manifest_signature(
        (tmp_path / "manifest.sig").read_bytes(), MANIFEST, cert, TrustStore.load(tmp_path / "h")
    )
    assert result.reproduce
    done = subprocess.run(result.reproduce, shell=True, cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0 and "Verified OK" in done.stdout


@pytest.mark.openssl
def test_openssl_issued_sm2_chain_is_accepted(tmp_path: Path) -> None:
    """A depositor certificate issued by an OpenSSL-made SM2 CA (empty signer ID) chains to that CA."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=tmp_path, capture_output=True, check=True)

    run("genpkey", "-algorithm", "SM2", "-out", "ca.key")
    run("req", "-x509", "-new", "-key", "ca.key", "-sm3", "-subj", "/CN=OpenSSL SM2 CA", "-days", "30",
        "-addext", "basicConstraints=critical,CA:TRUE", "-out", "ca.pem")  # fmt: skip
    key = generate_key("sm2")
    (tmp_path / "leaf.key").write_bytes(key.private_key_pem(None))
    run("req", "-new", "-key", "leaf.key", "-sm3", "-subj", "/CN=depositor", "-out", "leaf.csr")
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-sm3", "-days", "10",
        "-CAcreateserial", "-out", "leaf.pem")  # fmt: skip
    store = TrustStore.load(tmp_path / "h")
    store.add_file(tmp_path / "ca.pem", "signer")
    leaf = load_certificates((tmp_path / "leaf.pem").read_bytes())[0]
    result = verify_manifest_signature(sign_manifest(key, MANIFEST), MANIFEST, leaf, store)
    assert result.status is Status.PASSED, result.detail
