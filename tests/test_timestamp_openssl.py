"""OpenSSL's own TSA (``openssl ts -reply``) issues tokens under a fresh test CA; evidencectl verifies them."""

from __future__ import annotations

import hashlib
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.crypto.keys import generate_key
from evidencectl.crypto.x509 import build_certificate, certificate_pem, load_certificates
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.verifier import verify_timestamp

pytestmark = pytest.mark.openssl

TSA_CONF = """
[ tsa ]
default_tsa = tsa_config1
[ tsa_config1 ]
serial = {dir}/serial
crypto_device = builtin
signer_digest = sha256
default_policy = 1.2.3.4.1
digests = sha256, sha384, sha512
accuracy = secs:1, millisecs:500
ordering = yes
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = sha256
"""


def sh(*args: str, cwd: Path) -> None:
    subprocess.run(args, cwd=cwd, check=True, capture_output=True)


def make_pki(folder: Path, key_args: list[str]) -> None:
    """A root CA and a TSA certificate (EKU timeStamping, critical) made by the openssl CLI."""
    folder.mkdir()
    sh(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        *key_args,
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/O=Test PKI/CN=Test TSA Root",
        "-days",
        "30",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
        cwd=folder,
    )
    sh(
        "openssl",
        "req",
        "-new",
        "-newkey",
        *key_args,
        "-nodes",
        "-keyout",
        "tsa.key",
        "-out",
        "tsa.csr",
        "-subj",
        "/O=Test PKI/CN=Test TSA",
        cwd=folder,
    )
    (folder / "ext.cnf").write_text(
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,nonRepudiation\n"
        "extendedKeyUsage=critical,timeStamping\n"
    )
    sh(
        "openssl",
        "x509",
        "-req",
        "-in",
        "tsa.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tsa.pem",
        "-days",
        "30",
        "-extfile",
        "ext.cnf",
        cwd=folder,
    )
    (folder / "serial").write_text("01\n")
    (folder / "tsa.cnf").write_text(TSA_CONF.format(dir=folder))


def openssl_reply(folder: Path, data: bytes, digest: str = "sha256") -> bytes:
    """Have OpenSSL's TSA timestamp ``data``."""
    (folder / "data.bin").write_bytes(data)
    sh("openssl", "ts", "-query", "-data", "data.bin", f"-{digest}", "-cert", "-out", "q.tsq", cwd=folder)
    sh(
        "openssl",
        "ts",
        "-reply",
        "-config",
        "tsa.cnf",
        "-queryfile",
        "q.tsq",
        "-signer",
        "tsa.pem",
        "-inkey",
        "tsa.key",
        "-chain",
        "ca.pem",
        "-out",
        "r.tsr",
        cwd=folder,
    )
    return (folder / "r.tsr").read_bytes()


class Roots:
    def __init__(self, *pem_files: Path) -> None:
        self.roots = [der for p in pem_files for der in load_certificates(p.read_bytes())]

    def certificates(self, role: str) -> list[bytes]:
        return self.roots


@pytest.fixture(
    scope="module", params=[["rsa:2048"], ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"]], ids=["rsa", "ecdsa"]
)
def pki(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("pki") / "ca"
    make_pki(folder, request.param)
    return folder


@pytest.mark.parametrize("digest", ["sha256", "sha384", "sha512"])
def test_openssl_token_passes(pki: Path, digest: str) -> None:
    data = b"evidence " + digest.encode()
    result = verify_timestamp(
        openssl_reply(pki, data, digest),
        digest=hashlib.new(digest, data).digest(),
        hash_name=digest,
        trust=Roots(pki / "ca.pem"),
        check="t",
    )
    assert result.status is Status.PASSED, result.detail
    assert result.facts["tsa"] == "O=Test PKI, CN=Test TSA"
    assert result.facts["accuracy"] == 1.5


def test_openssl_token_over_other_data_fails(pki: Path) -> None:
    token = openssl_reply(pki, b"the real document")
    other = hashlib.sha256(b"a forged document").digest()
    result = verify_timestamp(token, digest=other, hash_name="sha256", trust=Roots(pki / "ca.pem"), check="t")
    assert result.status is Status.FAILED


def test_openssl_token_with_untrusted_root_is_indeterminate(pki: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    make_pki(other, ["ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
    data = b"x"
    result = verify_timestamp(
        openssl_reply(pki, data),
        digest=hashlib.sha256(data).digest(),
        hash_name="sha256",
        trust=Roots(other / "ca.pem"),
        check="t",
    )
    assert result.status is Status.INDETERMINATE


def _token_signed_under(tmp_path: Path, root_extra: dict, leaf_extra: dict) -> Any:
    """A token from our TSA code with a TSA certificate made as asked (OpenSSL's TSA refuses bad ones),
    checked against that certificate's root."""
    root_key, tsa_key = generate_key("ecdsa-p256"), generate_key("ecdsa-p256")
    root = build_certificate(
        subject_cn="Root",
        subject_public_key_der=root_key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=None,
        is_ca=True,
        **root_extra,
    )
    leaf = build_certificate(
        subject_public_key_der=tsa_key.public_key_der(), issuer_key=root_key, issuer_cert_der=root, **leaf_extra
    )
    tsa = EmbeddedTSA(tmp_path, tsa_key, leaf, root)
    tsa._init_serials()
    digest = hashlib.sha256(b"d").digest()
    token = tsa.respond(build_request(digest, "sha256", nonce=5))
    (tmp_path / "root.pem").write_bytes(certificate_pem(root))
    return verify_timestamp(token, digest=digest, hash_name="sha256", trust=Roots(tmp_path / "root.pem"), check="t")


@pytest.mark.parametrize(("eku", "critical"), [(None, False), (["time_stamping"], False), (["code_signing"], True)])
def test_signer_without_critical_timestamping_eku_fails(tmp_path: Path, eku: list[str] | None, critical: bool) -> None:
    leaf = {"subject_cn": "Not a TSA", "extended_key_usage": eku, "eku_critical": critical}
    result = _token_signed_under(tmp_path, {}, leaf)
    assert result.status is Status.FAILED
    assert "EKU" in result.detail or "extended key usage" in result.detail


def test_tsa_certificate_expired_at_gen_time_fails(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    leaf = {
        "subject_cn": "Old TSA",
        "extended_key_usage": ["time_stamping"],
        "eku_critical": True,
        "not_before": now - timedelta(days=300),
        "not_after": now - timedelta(days=1),
    }
    result = _token_signed_under(tmp_path, {"not_before": now - timedelta(days=400)}, leaf)
    assert result.status is Status.FAILED and "genTime" in result.detail


@pytest.mark.parametrize("algorithm", ["ecdsa-p256", "sm2"])
def test_warm_up_builds_and_checks_a_token_without_issuing_one(evidencectl_home: Path, algorithm: str) -> None:
    import sqlite3

    tsa = EmbeddedTSA.open(Context(evidencectl_home), algorithm)
    db = evidencectl_home / "tsa" / "serials.sqlite"
    count = sqlite3.connect(db).execute("SELECT COUNT(*) FROM serials").fetchone()[0]
    tsa.warm_up()  # raises if the token it builds does not pass the client's checks
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM serials").fetchone()[0] == count
    tsa.timestamp(hashlib.sha256(b"x").digest(), "sha256")
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM serials").fetchone()[0] == count + 1
