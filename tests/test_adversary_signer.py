"""Who signed: the certificate in ``certs/depositor.pem`` is the package's, so anyone's. When the verifier trusts
the signer by its key, a certificate around that key with another name or an old validity must neither make the
report name someone else nor fail a genuine package."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from conftest import rewrite_member
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key
from test_independent_time import checks, people, run, verify_json

from evidencectl.crypto.keys import generate_key
from evidencectl.crypto.x509 import build_certificate, certificate_pem

__all__ = ["people"]  # fixture


def test_certificate_around_a_trusted_key_neither_renames_the_signer_nor_fails_a_genuine_package(
    people: dict[str, Path], tmp_path: Path
) -> None:
    lawyer = people["lawyer"]
    env = {"PW": "correct horse battery"}
    keygen = ("keys", "generate", "--name", "LawyerLi", "--algorithm", "ecdsa-p256", "--passphrase-env", "PW")
    assert run(lawyer, *keygen, env=env).returncode == 0
    package = tmp_path / "signed.evp"
    deposit = ("deposit", tmp_path / "contract.txt", "-o", package, "--sign", "--passphrase-env", "PW")
    assert run(lawyer, *deposit, env=env).returncode == 0
    code, doc = verify_json(lawyer, package)
    assert code == 0, [c for c in doc["checks"] if c["status"] != "PASSED"]

    # Another name, an expired validity, an issuer nobody trusts, a signature by a key that is not the issuer's.
    public = load_pem_public_key((lawyer / "keys" / "LawyerLi.pub.pem").read_bytes())
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    forged = build_certificate(
        subject_cn="Beijing Notary Office", subject_public_key_der=spki, issuer_key=generate_key("ecdsa-p256"),
        issuer_cert_der=None, not_before=datetime(2000, 1, 1, tzinfo=UTC), not_after=datetime(2001, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    swapped = rewrite_member(
        package, tmp_path / "renamed.evp", "certs/depositor.pem", lambda _: certificate_pem(forged)
    )

    code, doc = verify_json(lawyer, swapped)
    (signature,) = checks(doc, "signature:")
    assert signature["status"] == "PASSED", signature  # the signature is the lawyer's, over the genuine manifest
    assert "Notary" not in signature["detail"] and "Notary" not in signature["facts"]["signer"]
    assert "LawyerLi" in signature["facts"]["signer"]
    assert "Notary" in json.dumps(signature["facts"]["package_certificate_names"])
    text = run(lawyer, "verify", swapped).stdout
    assert "signed by CN=Beijing Notary Office" not in text and "signed by CN = Beijing Notary Office" not in text


def test_expected_signer_name_is_not_taken_from_the_package_certificate(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """The court trusts two lawyers' certificates and asks for Li; Wang signs, with a certificate naming Li
    around Wang's own (trusted) key. The name asked for must be one the court trusts for that key."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    env = {"PW": "correct horse battery"}
    for home, name in ((lawyer, "LawyerLi"), (other, "LawyerWang")):
        keygen = ("keys", "generate", "--name", name, "--algorithm", "ecdsa-p256", "--passphrase-env", "PW")
        assert run(home, *keygen, env=env).returncode == 0
        assert run(court, "trust", "add", home / "keys" / f"{name}.cert.pem", "--as", "signer").returncode == 0
    package = tmp_path / "wang.evp"
    deposit = ("deposit", tmp_path / "contract.txt", "-o", package, "--sign", "--passphrase-env", "PW")
    assert run(other, *deposit, env=env).returncode == 0
    (genuine,) = checks(verify_json(court, package, "--expect-signer", "LawyerWang")[1], "signature:")
    assert genuine["status"] == "PASSED", genuine

    public = load_pem_public_key((other / "keys" / "LawyerWang.pub.pem").read_bytes())
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    posing = build_certificate(
        subject_cn="LawyerLi", subject_public_key_der=spki, issuer_key=generate_key("ecdsa-p256"), issuer_cert_der=None
    )
    forged = rewrite_member(package, tmp_path / "posing.evp", "certs/depositor.pem", lambda _: certificate_pem(posing))
    (signature,) = checks(verify_json(court, forged, "--expect-signer", "LawyerLi")[1], "signature:")
    assert signature["status"] != "PASSED", signature
    assert signature["reason"] == "SIGNER_MISMATCH" and "LawyerWang" in signature["facts"]["signer"]
