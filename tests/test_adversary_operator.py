"""Attacks on who the verifier says operates a TSA. The court adds a lawyer's depositor-operated root to its
store so that signatures verify; whatever that root says in its name, the time it attests stays the lawyer's."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from conftest import rewrite_member
from test_independent_time import checks, people, run, verify_json

from evidencectl.context import Context
from evidencectl.crypto.keys import generate_key
from evidencectl.crypto.trust import TrustStore
from evidencectl.crypto.x509 import build_certificate, certificate_pem
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.operator import DEPOSITOR_OPERATED_OID, DEPOSITOR_OPERATED_UNIT, own_tsa_certificates
from evidencectl.timestamp.request import build_request
from evidencectl.timestamp.token import fingerprint

__all__ = ["people"]  # fixture


def test_declared_root_whose_name_holds_a_catalogue_fingerprint_does_not_make_time_independent(
    people: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lawyer, court = people["lawyer"], people["court"]
    package = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", package).returncode == 0
    run(court, "trust", "list")  # the court's store, with the shipped catalogue roots
    own = own_tsa_certificates(Context(court))
    catalogue = next(d for d in TrustStore.load(court).certificates("tsa") if d not in own)

    # The lawyer's root declares itself depositor-operated, as the court's policy requires, and names a
    # catalogue root's fingerprint in its CN; its TSA certificate declares nothing.
    root_key, tsa_key = generate_key("ecdsa-p256"), generate_key("ecdsa-p256")
    root = build_certificate(
        subject_cn=f"evidencectl TSA root (sha256 {fingerprint(catalogue)})",
        subject_public_key_der=root_key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=None,
        is_ca=True,
        path_length=0,
        policies=(DEPOSITOR_OPERATED_OID,),
        organization="evidencectl",
        organizational_unit=DEPOSITOR_OPERATED_UNIT,
    )
    leaf = build_certificate(
        subject_cn="Time Authority",
        subject_public_key_der=tsa_key.public_key_der(),
        issuer_key=root_key,
        issuer_cert_der=root,
        extended_key_usage=["time_stamping"],
        eku_critical=True,
    )
    (tmp_path / "lawyer-root.pem").write_bytes(certificate_pem(root))
    assert run(court, "trust", "add", tmp_path / "lawyer-root.pem", "--as", "tsa").returncode == 0
    (tmp_path / "forger").mkdir()
    monkeypatch.setattr("evidencectl.timestamp.authority.POLICY_OID", "1.3.6.1.4.1.4146.2.3")  # the forger's TSA
    tsa = EmbeddedTSA(tmp_path / "forger", tsa_key, leaf, root)
    tsa._init_serials()
    with zipfile.ZipFile(package) as z:
        roots = json.loads(z.read("manifest.json"))["roots"]
    forged = package
    for alg in ("sha256", "sm3"):
        token = tsa.respond(build_request(bytes.fromhex(roots[alg]), alg, nonce=1))
        forged = rewrite_member(
            forged, tmp_path / f"forged-{alg}.evp", f"proofs/timestamps/local.{alg}.tsr", lambda _, t=token: t
        )

    code, doc = verify_json(court, forged)
    stamps = checks(doc, "timestamp:")
    assert stamps and all(c["status"] == "PASSED" for c in stamps), stamps
    assert all(c["facts"]["operator"] == "depositor" and c["facts"]["independent"] is False for c in stamps)
    assert doc["independent_time"] is False
