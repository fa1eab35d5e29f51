"""The other party's review of the set-aside of depositor-operated times before ``created`` (§13), played with
three data directories (lawyer, other party, court), the other party's embedded TSA over real HTTP under
``faketime`` and OpenSSL's TSA as a third party; ``openssl ts -reply -text`` says what each token dates."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import test_timestamp_openssl
from test_attack_time_tokens import _free_port, _oracle_gen_time, _sha256_root, _token_over, add_member, others_tsa
from test_independent_time import ROOT, checks, people, run, trust_lawyers_services, verify_json

from evidencectl.checks import parse_utc

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")
__all__ = ["others_tsa", "people"]  # fixtures


def _without_timestamps(src: Path, dst: Path) -> Path:
    """``src`` with its tokens and anchor receipts dropped: they are under no root or signature."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            if not info.filename.startswith(("proofs/timestamps/", "proofs/anchors/")):
                zout.writestr(info, zin.read(info))
    return dst


def test_set_aside_token_does_not_become_the_moment_the_signer_certificate_is_judged_at(
    people: dict[str, Path], tmp_path: Path, others_tsa: str
) -> None:
    """The lawyer signs (a key made today, trusted by the court as signer). The other party drops the lawyer's
    own tokens and receipts and adds its 2024 token: set aside, so no proven time, but the signature was judged at the
    earliest genTime anyway, 2024, before the certificate's notBefore: ``signature:manifest`` FAILED
    ("not valid at"), a genuine signature blamed on a token anyone can add. Now nothing is FAILED."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    keygen = ("keys", "generate", "--name", "LawyerLi", "--algorithm", "ecdsa-p256", "--unencrypted")
    assert run(lawyer, *keygen).returncode == 0
    genuine = tmp_path / "genuine.evp"
    done = run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine, "--sign")
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(court, lawyer)
    trust_lawyers_services(court, other, ledger=False)
    assert run(court, "trust", "add", lawyer / "keys" / "LawyerLi.cert.pem", "--as", "signer").returncode == 0
    assert verify_json(court, genuine)[0] == 0

    token = _token_over(_sha256_root(genuine), tmp_path / "q", others_tsa)
    assert "2024" in _oracle_gen_time(token, tmp_path / "q")
    stripped = _without_timestamps(genuine, tmp_path / "stripped.evp")
    code, doc = verify_json(court, stripped)
    assert "FAILED" not in {c["status"] for c in doc["checks"]}, doc
    forged = add_member(stripped, tmp_path / "forged.evp", "proofs/timestamps/other.sha256.tsr", token)

    code, doc = verify_json(court, forged)
    (added,) = checks(doc, "timestamp:other.sha256")
    assert added["status"] == "INDETERMINATE" and added["reason"] == "TIME"
    assert doc["proven_time"] is None
    (signature,) = checks(doc, "signature:manifest")
    assert signature["status"] != "FAILED", signature
    assert not (signature["facts"].get("signing_time") or "").startswith("2024"), signature["facts"]
    assert code == 3 and doc["verdict"] == "INDETERMINATE"


def _serve_tsa_at(home: Path, moment: str) -> tuple[subprocess.Popen[str], str]:
    """``evidencectl tsa serve`` of data directory ``home`` made and run with its clock set to ``moment``."""
    port = _free_port()
    environment = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        ["faketime", moment, sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert server.stderr is not None and "serving" in server.stderr.readline()
    # The line is written before the socket is bound: wait until it accepts.
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    return server, f"http://127.0.0.1:{port}/"


def _created(package: Path) -> datetime:
    with zipfile.ZipFile(package) as z:
        created = parse_utc(json.loads(z.read("manifest.json"))["statement"]["created"])
    assert created is not None
    return created


@pytest.mark.parametrize(("before", "set_aside"), [(270, False), (360, True)], ids=["4m30s-before", "6m-before"])
def test_own_token_at_the_tolerance_edge_is_counted_or_set_aside_never_failed(
    people: dict[str, Path], tmp_path: Path, before: int, set_aside: bool
) -> None:
    """A token of another embedded TSA (trusted by the court) dated 4 min 30 s before ``created`` is within the
    5-minute tolerance: counted, the proven time, ``time:declared`` PASSED, the package PASSED. At 6 min it
    is set aside (INDETERMINATE ``TIME``). Neither is FAILED, and the two checks agree at the edge: what is not
    set aside never makes ``time:declared`` FAILED."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    moment = (_created(genuine) - timedelta(seconds=before)).strftime("%Y-%m-%d %H:%M:%S")
    server, url = _serve_tsa_at(other, moment)
    try:
        token = _token_over(_sha256_root(genuine), tmp_path / "q", url)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
    assert moment[11:16] in _oracle_gen_time(token, tmp_path / "q").replace("  ", " ")
    forged = add_member(genuine, tmp_path / "forged.evp", "proofs/timestamps/other.sha256.tsr", token)
    trust_lawyers_services(court, lawyer)
    trust_lawyers_services(court, other, ledger=False)
    code, doc = verify_json(court, forged)
    (added,) = checks(doc, "timestamp:other.sha256")
    (declared,) = checks(doc, "time:declared")
    assert declared["status"] == "PASSED" and "FAILED" not in {c["status"] for c in doc["checks"]}
    proven = parse_utc(doc["proven_time"])
    assert proven is not None
    if set_aside:
        assert code == 3 and added["status"] == "INDETERMINATE" and added["reason"] == "TIME"
        assert proven >= _created(genuine) - timedelta(seconds=5)
    else:
        assert code == 0 and added["status"] == "PASSED", added
        assert proven < _created(genuine) - timedelta(seconds=240)  # the added token, not the lawyer's


def test_third_party_token_before_created_fails_even_beside_own_tokens_before_and_after_it(
    people: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, others_tsa: str
) -> None:
    """A depositor hoping the set-aside hides a third party's earlier time: beside the lawyer's own tokens
    (after ``created``) and an own token of 2024 (set aside), a token of a TSA the court trusts as a third
    party dated a day before ``created`` is the proven time and ``time:declared`` FAILED."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    pki = tmp_path / "third-pki"

    def back_dated(*args: str, cwd: Path) -> None:  # the PKI made two days ago, valid at the token's genTime
        subprocess.run(["faketime", "2 days ago", *args], cwd=cwd, check=True, capture_output=True)

    monkeypatch.setattr(test_timestamp_openssl, "sh", back_dated)
    test_timestamp_openssl.make_pki(pki, ["rsa:2048"])
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    root = _sha256_root(genuine)
    query = ["openssl", "ts", "-query", "-digest", root, "-sha256", "-cert", "-out", "q.tsq"]
    subprocess.run(query, cwd=pki, check=True, capture_output=True)
    reply = ["faketime", "1 day ago", "openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq"]
    reply += ["-signer", "tsa.pem", "-inkey", "tsa.key", "-chain", "ca.pem", "-out", "r.tsr"]
    subprocess.run(reply, cwd=pki, check=True, capture_output=True)
    own_2024 = _token_over(root, tmp_path / "q", others_tsa)
    both = add_member(genuine, tmp_path / "one.evp", "proofs/timestamps/own2024.sha256.tsr", own_2024)
    both = add_member(both, tmp_path / "two.evp", "proofs/timestamps/third.sha256.tsr", (pki / "r.tsr").read_bytes())
    trust_lawyers_services(court, lawyer)
    trust_lawyers_services(court, other, ledger=False)
    assert run(court, "trust", "add", pki / "ca.pem", "--as", "tsa").returncode == 0

    code, doc = verify_json(court, both)
    (third,) = checks(doc, "timestamp:third.sha256")
    (own,) = checks(doc, "timestamp:own2024.sha256")
    (declared,) = checks(doc, "time:declared")
    assert third["status"] == "PASSED" and third["facts"]["independent"] is True
    assert own["status"] == "INDETERMINATE" and own["reason"] == "TIME"
    assert code == 1 and declared["status"] == "FAILED" and declared["reason"] == "TIME"
    assert doc["proven_time"] == third["facts"]["gen_time"][:19] + "Z" or doc["proven_time"] is not None
    proven = parse_utc(doc["proven_time"])
    assert proven is not None and proven < _created(genuine) - timedelta(hours=23)
