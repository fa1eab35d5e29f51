"""Attacks on the time a verification reports as proven, played with three data directories (depositor,
other party, court), ``faketime`` as the depositor's clock and OpenSSL's own TSA as a public one."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from test_independent_time import checks, openssl_tsa, people, run, trust_lawyers_services, verify_json

from evidencectl.checks import parse_utc

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")
__all__ = ["openssl_tsa", "people"]  # fixtures


def test_backdated_own_token_beside_a_third_party_token_is_not_the_independent_proven_time(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """The depositor's clock says 2024, the public TSA says today: the report must not call 2024 a time
    attested by an independent service (the earliest time would otherwise be the depositor's own)."""
    lawyer, court = people["lawyer"], people["court"]
    url, openssl_root = openssl_tsa
    package = tmp_path / "mixed.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "local", "--tsa", "freetsa")
    done = run(lawyer, *args, fake="2024-03-01 10:00:00", env={"EVIDENCECTL_TSA_FREETSA_URL": url})
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0

    code, doc = verify_json(court, package, "--require-independent")
    (third,) = checks(doc, "timestamp:freetsa")
    assert third["status"] == "PASSED" and third["facts"]["independent"] is True
    assert doc["independent_time"] is True
    # The proven time is the independent one, never the depositor's 2024.
    assert not doc["proven_time"].startswith("2024"), doc["proven_time"]
    assert parse_utc(doc["proven_time"]) >= parse_utc(third["facts"]["gen_time"])  # type: ignore[operator]
    text = run(court, "verify", package, "--require-independent").stdout
    (line,) = [x for x in text.splitlines() if "attested by a service independent" in x]
    assert "2024-03-01" not in line


def test_genuine_package_is_not_failed_by_a_verifier_whose_clock_is_behind(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """A court clerk's clock an hour behind (a restored virtual machine, a machine set to local time as UTC):
    the package is genuine, so it must not be FAILED; the time it cannot place is INDETERMINATE."""
    lawyer, court = people["lawyer"], people["court"]
    url, openssl_root = openssl_tsa
    package = tmp_path / "genuine.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "local", "--tsa", "freetsa")
    assert run(lawyer, *args, env={"EVIDENCECTL_TSA_FREETSA_URL": url}).returncode == 0
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0
    assert verify_json(court, package)[0] == 0

    done = run(court, "verify", package, "--json", fake="1 hour ago")
    doc = json.loads(done.stdout)
    assert done.returncode == 3 and doc["verdict"] == "INDETERMINATE", doc["verdict"]
    late = [c for c in doc["checks"] if c.get("reason") == "TIME"]
    assert late and all(c["status"] == "INDETERMINATE" and "this clock is behind" in c["detail"] for c in late)


def test_depositor_clock_ahead_of_a_public_tsa_never_yields_a_package_that_fails_forever(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """An honest lawyer whose laptop runs 10 minutes fast: the statement's ``created`` would be later than the
    public TSA's genTime, and the package would fail everywhere for ever. The deposit says so instead."""
    lawyer = people["lawyer"]
    url, _ = openssl_tsa
    package = tmp_path / "fast-clock.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "freetsa")
    done = run(lawyer, *args, fake="10 minutes", env={"EVIDENCECTL_TSA_FREETSA_URL": url})
    assert done.returncode == 5, done.stdout + done.stderr
    assert "clock is 9 minutes ahead" in done.stderr or "clock is 10 minutes ahead" in done.stderr
    assert not package.exists()
    # A clock a minute fast is forgiven on both sides.
    done = run(
        lawyer, *args[:3], tmp_path / "ok.evp", *args[4:], fake="1 minute", env={"EVIDENCECTL_TSA_FREETSA_URL": url}
    )
    assert done.returncode == 0, done.stderr


def test_proven_time_is_not_earlier_than_the_tsa_accuracy_allows(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """A TSA declaring an accuracy of one hour vouches only that the roots existed by genTime + 1 h (RFC 3161
    §2.4.2): reporting genTime itself as the proven time overstates the proof by up to an hour."""
    lawyer, court = people["lawyer"], people["court"]
    url, openssl_root = openssl_tsa
    conf = openssl_root.parent / "tsa.cnf"
    conf.write_text(conf.read_text().replace("accuracy = secs:1, millisecs:500", "accuracy = secs:3600"))
    package = tmp_path / "coarse.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "freetsa")
    assert run(lawyer, *args, env={"EVIDENCECTL_TSA_FREETSA_URL": url}).returncode == 0
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0
    code, doc = verify_json(court, package)
    (stamp,) = checks(doc, "timestamp:freetsa")
    assert stamp["status"] == "PASSED" and stamp["facts"]["accuracy"] == 3600
    gen_time = parse_utc(stamp["facts"]["gen_time"])
    assert gen_time is not None
    assert parse_utc(doc["proven_time"]) >= gen_time + timedelta(hours=1)


def test_expired_signing_certificate_is_not_judged_at_a_backdated_own_time(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """The lawyer's CA-issued signing certificate expired in 2024. Signing today with the clock set to 2024, the
    own TSA dates the deposit 2024 and the signature looked made while the certificate was valid; the public
    TSA beside it says today, and the signature must be judged at that time."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, load_pem_public_key

    from evidencectl.crypto.keys import generate_key
    from evidencectl.crypto.x509 import build_certificate, certificate_pem

    lawyer, court = people["lawyer"], people["court"]
    url, openssl_root = openssl_tsa
    env = {"EVIDENCECTL_TSA_FREETSA_URL": url, "PW": "correct horse battery"}
    keygen = ("keys", "generate", "--name", "LawyerLi", "--algorithm", "ecdsa-p256", "--passphrase-env", "PW")
    assert run(lawyer, *keygen, env=env).returncode == 0
    public = load_pem_public_key((lawyer / "keys" / "LawyerLi.pub.pem").read_bytes())
    spki = public.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    ca_key = generate_key("ecdsa-p256")
    ca = build_certificate(
        subject_cn="Bar Association CA", subject_public_key_der=ca_key.public_key_der(), issuer_key=ca_key,
        issuer_cert_der=None, is_ca=True, not_before=datetime(2023, 1, 1, tzinfo=UTC),
        not_after=datetime(2036, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    leaf = build_certificate(
        subject_cn="LawyerLi", subject_public_key_der=spki, issuer_key=ca_key, issuer_cert_der=ca,
        not_before=datetime(2024, 1, 1, tzinfo=UTC), not_after=datetime(2024, 12, 31, tzinfo=UTC),
    )  # fmt: skip
    (lawyer / "keys" / "LawyerLi.cert.pem").write_bytes(certificate_pem(leaf) + certificate_pem(ca))
    (tmp_path / "ca.pem").write_bytes(certificate_pem(ca))

    package = tmp_path / "signed.evp"
    deposit = ("deposit", tmp_path / "contract.txt", "-o", package, "--sign", "--passphrase-env", "PW")
    done = run(lawyer, *deposit, "--tsa", "local", "--tsa", "freetsa", fake="2024-06-01 10:00:00", env=env)
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0
    assert run(court, "trust", "add", tmp_path / "ca.pem", "--as", "signer").returncode == 0

    code, doc = verify_json(court, package)
    assert doc["independent_time"] is True and not doc["proven_time"].startswith("2024")
    (signature,) = checks(doc, "signature:")
    assert signature["status"] != "PASSED", signature
