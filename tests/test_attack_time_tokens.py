"""A token anyone can add: the other party back-dates a timestamp over a genuine package's roots with a service
it runs itself and adds it under ``proofs/timestamps/``, hoping to make the depositor's declared time look like
a lie. Three data directories (lawyer, other party, court); the other party's embedded TSA runs over real HTTP
(``evidencectl tsa serve``) under ``faketime``; OpenSSL's own TSA (``openssl ts -reply``) plays a TSA the
court trusts as a third party. Tokens are not under the roots or the signature, so who added one cannot be
known: only what its operator's word is worth."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import test_timestamp_openssl
from test_independent_time import ROOT, checks, openssl_tsa, people, run, trust_lawyers_services, verify_json

from evidencectl.checks import parse_utc

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")
__all__ = ["openssl_tsa", "people"]  # fixtures

BACK = "2024-03-01 10:00:00"


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def others_tsa(people: dict[str, Path]) -> Iterator[str]:
    """The other party's embedded TSA, made and served with its clock set back to 2024: its URL."""
    port = _free_port()
    environment = {**os.environ, "EVIDENCECTL_HOME": str(people["other"]), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        ["faketime", BACK, sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # faketime runs the server as its child: both are stopped as one group
    )
    try:
        assert server.stderr is not None and "serving" in server.stderr.readline()
        yield f"http://127.0.0.1:{port}/"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def _member(package: Path, name: str) -> bytes:
    return subprocess.run(["unzip", "-p", str(package), name], capture_output=True, check=True).stdout


def _sha256_root(package: Path) -> str:
    return str(json.loads(_member(package, "manifest.json"))["roots"]["sha256"])


def _token_over(root: str, folder: Path, url: str) -> bytes:
    """An RFC 3161 token over the SHA-256 root: the query made by ``openssl ts -query``, posted over HTTP."""
    folder.mkdir(exist_ok=True)
    query = folder / "q.tsq"
    subprocess.run(
        ["openssl", "ts", "-query", "-digest", root, "-sha256", "-cert", "-out", str(query)],
        check=True,
        capture_output=True,
    )
    request = urllib.request.Request(
        url, data=query.read_bytes(), headers={"Content-Type": "application/timestamp-query"}
    )
    with urllib.request.urlopen(request, timeout=60) as answer:
        return bytes(answer.read())


def add_member(src: Path, dst: Path, name: str, data: bytes) -> Path:
    """Copy package ``src`` to ``dst`` with the member ``name`` added at the end, written as the package
    writer writes members (stored, 1980 dates, mode 0644): what anyone holding the package can do."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        added = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
        added.external_attr = 0o100644 << 16
        added.create_system = 3
        zout.writestr(added, data, compress_type=zipfile.ZIP_STORED)
    return dst


def _trust_others_tsa(court: Path, other: Path) -> None:
    trust_lawyers_services(court, other, ledger=False)


def _oracle_gen_time(token: bytes, folder: Path) -> str:
    """genTime as ``openssl ts -reply -text`` reads it (not evidencectl's parser)."""
    (folder / "added.tsr").write_bytes(token)
    text = subprocess.run(
        ["openssl", "ts", "-reply", "-in", str(folder / "added.tsr"), "-text"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return next(line for line in text.splitlines() if line.startswith("Time stamp:"))


def test_backdated_token_from_another_partys_embedded_tsa_does_not_fail_a_genuine_package(
    people: dict[str, Path], tmp_path: Path, others_tsa: str
) -> None:
    """The court trusts the lawyer's embedded services and the other party's embedded TSA (for signatures;
    both declare themselves depositor-operated). The other party's 2024 token was the earliest PASSED time,
    so the proven time, and ``time:declared`` was FAILED: "created after the proven time"."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine, "--case", "C-7").returncode == 0
    token = _token_over(_sha256_root(genuine), tmp_path / "q", others_tsa)
    stamped = _oracle_gen_time(token, tmp_path / "q")
    assert "Mar  1 10:00" in stamped and "2024" in stamped, stamped
    forged = add_member(genuine, tmp_path / "with-token.evp", "proofs/timestamps/other.sha256.tsr", token)
    trust_lawyers_services(court, lawyer)
    _trust_others_tsa(court, other)
    assert verify_json(court, genuine)[0] == 0

    code, doc = verify_json(court, forged)
    assert doc["verdict"] != "FAILED" and code == 3, [c for c in doc["checks"] if c["status"] != "PASSED"]
    (added,) = checks(doc, "timestamp:other.sha256")
    assert added["status"] == "INDETERMINATE" and added["reason"] == "TIME"
    assert added["facts"]["operator"] == "depositor" and added["facts"]["before_created"] is True
    assert (
        "proofs/timestamps/other.sha256.tsr" in added["detail"] and "before the statement's created" in added["detail"]
    )
    (declared,) = checks(doc, "time:declared")
    assert declared["status"] == "PASSED"
    # The proven time is the lawyer's own stamps', not the 2024 one anyone could add.
    assert not doc["proven_time"].startswith("2024"), doc["proven_time"]
    created = parse_utc(json.loads(_member(genuine, "manifest.json"))["statement"]["created"])
    assert created is not None and parse_utc(doc["proven_time"]) >= created  # type: ignore[operator]
    assert all(c["status"] == "PASSED" for c in doc["checks"] if c["check"] != "timestamp:other.sha256")

    text = run(court, "verify", forged)
    assert text.returncode == 3
    assert "proofs/timestamps/other.sha256.tsr" in text.stdout and "2024" not in _proven_line(text.stdout)
    # inspect states the proven time too (from the timestamps and anchors alone): not the 2024 one.
    shown = run(court, "inspect", forged)
    assert shown.returncode == 0, shown.stderr
    assert "2024" not in _proven_line(shown.stdout) and _proven_line(shown.stdout) == _proven_line(text.stdout)


def _proven_line(text: str) -> str:
    """The ``Time      …`` line of ``verify`` and ``inspect``: who attests the time, and the proven time."""
    (line,) = [x for x in text.splitlines() if x.startswith("Time ")]
    return line


def test_backdated_own_token_beside_an_independent_one_leaves_the_independent_proven_time(
    people: dict[str, Path], tmp_path: Path, others_tsa: str, openssl_tsa: tuple[str, Path]
) -> None:
    """The lawyer stamped with a third-party TSA too: the added 2024 token is named and set aside, the proven
    time stays the third party's, ``time:independent`` PASSED, nothing FAILED."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    url, openssl_root = openssl_tsa
    genuine = tmp_path / "genuine.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", genuine, "--tsa", "local", "--tsa", "freetsa")
    assert run(lawyer, *args, env={"EVIDENCECTL_TSA_FREETSA_URL": url}).returncode == 0
    token = _token_over(_sha256_root(genuine), tmp_path / "q", others_tsa)
    forged = add_member(genuine, tmp_path / "with-token.evp", "proofs/timestamps/other.sha256.tsr", token)
    trust_lawyers_services(court, lawyer)
    _trust_others_tsa(court, other)
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0
    code, before = verify_json(court, genuine, "--require-independent")
    assert code == 0

    code, doc = verify_json(court, forged, "--require-independent")
    assert code == 3 and doc["verdict"] == "INDETERMINATE"
    (added,) = checks(doc, "timestamp:other.sha256")
    assert added["status"] == "INDETERMINATE" and added["facts"]["independent"] is False
    assert doc["independent_time"] is True and doc["proven_time"] == before["proven_time"]
    assert checks(doc, "time:declared")[0]["status"] == "PASSED"
    assert checks(doc, "time:independent")[0]["status"] == "PASSED"


def test_backdated_token_of_a_tsa_the_court_trusts_as_a_third_party_still_fails(
    people: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A TSA whose certificate declares no depositor operator, trusted by the court as a third party (OpenSSL's
    TSA, its clock a day back): its word is the court's choice, and a genTime before ``created`` contradicts
    the package. That stays FAILED (``time:declared``, reason TIME)."""
    lawyer, court = people["lawyer"], people["court"]
    pki = tmp_path / "third-pki"

    def back_dated(*args: str, cwd: Path) -> None:  # the PKI made two days ago, valid at the token's genTime
        subprocess.run(["faketime", "2 days ago", *args], cwd=cwd, check=True, capture_output=True)

    monkeypatch.setattr(test_timestamp_openssl, "sh", back_dated)
    test_timestamp_openssl.make_pki(pki, ["rsa:2048"])
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    subprocess.run(
        ["openssl", "ts", "-query", "-digest", _sha256_root(genuine), "-sha256", "-cert", "-out", "q.tsq"],
        cwd=pki,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        ["faketime", "1 day ago", "openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq"]
        + ["-signer", "tsa.pem", "-inkey", "tsa.key", "-chain", "ca.pem", "-out", "r.tsr"],
        cwd=pki,
        check=True,
        capture_output=True,
    )
    token = (pki / "r.tsr").read_bytes()
    forged = add_member(genuine, tmp_path / "third.evp", "proofs/timestamps/third.sha256.tsr", token)
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", pki / "ca.pem", "--as", "tsa").returncode == 0
    oracle = subprocess.run(
        ["openssl", "ts", "-verify", "-digest", _sha256_root(genuine), "-sha256", "-in", str(pki / "r.tsr")]
        + ["-CAfile", str(pki / "ca.pem")],
        capture_output=True,
        text=True,
    )
    assert oracle.returncode == 0, oracle.stderr  # a sound token, one day old

    code, doc = verify_json(court, forged)
    (third,) = checks(doc, "timestamp:third.sha256")
    assert third["status"] == "PASSED" and third["facts"]["operator"] == "third-party"
    (declared,) = checks(doc, "time:declared")
    assert code == 1 and declared["status"] == "FAILED" and declared["reason"] == "TIME"
    gen_time = parse_utc(third["facts"]["gen_time"])
    assert gen_time is not None and time.time() - gen_time.timestamp() > 23 * 3600


def test_backdated_own_token_is_set_aside_for_the_library_and_the_service_document_alike(
    people: dict[str, Path], tmp_path: Path, others_tsa: str
) -> None:
    """``verify()`` in the library gives the same verdict and proven time as ``verify --json``."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    token = _token_over(_sha256_root(genuine), tmp_path / "q", others_tsa)
    forged = add_member(genuine, tmp_path / "with-token.evp", "proofs/timestamps/other.sha256.tsr", token)
    trust_lawyers_services(court, lawyer)
    _trust_others_tsa(court, other)
    code, doc = verify_json(court, forged)
    script = (
        "import json, sys; from evidencectl import verify; r = verify(sys.argv[1], context=sys.argv[2]); "
        "print(json.dumps([r.verdict.value, r.proven_time]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(forged), str(court)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=True,
    )
    verdict, proven = json.loads(done.stdout)
    assert [verdict, proven] == [doc["verdict"], doc["proven_time"]] == ["INDETERMINATE", doc["proven_time"]]
    assert not str(proven).startswith("2024")


def test_cases_does_not_list_a_backdated_own_token_as_the_proven_time(
    people: dict[str, Path], tmp_path: Path, others_tsa: str
) -> None:
    """``cases`` reads the proven time from the package with the registry's roots and ``created``: the token
    added to the published package (a shared folder the other party writes to) is set aside there too."""
    lawyer, other = people["lawyer"], people["other"]
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    token = _token_over(_sha256_root(genuine), tmp_path / "q", others_tsa)
    add_member(genuine, tmp_path / "with-token.evp", "proofs/timestamps/other.sha256.tsr", token).replace(genuine)
    _trust_others_tsa(lawyer, other)
    (row,) = json.loads(run(lawyer, "cases", "--json").stdout)["deposits"]
    assert row["proven_time"] and not row["proven_time"].startswith("2024"), row
    assert verify_json(lawyer, genuine)[1]["proven_time"] == row["proven_time"]


def test_backdated_receipt_from_another_partys_embedded_ledger_does_not_fail_a_genuine_package(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """The same with an anchor: the other party records the genuine deposit's id and roots in its own embedded
    ledger under ``faketime 2024`` and adds the receipt as ``proofs/anchors/other.json``; the court trusts
    that ledger's node key. The receipt is named INDETERMINATE, never the proven time, nothing FAILED."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    genuine = tmp_path / "genuine.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine).returncode == 0
    manifest = json.loads(_member(genuine, "manifest.json"))
    script = (
        "import json, sys; from evidencectl import Context; from evidencectl.anchor.ledger import EmbeddedLedger; "
        "receipt = EmbeddedLedger.open(Context(sys.argv[1])).anchor(sys.argv[2], json.loads(sys.argv[3])); "
        "from evidencectl.package.canonical import canonical_json; sys.stdout.buffer.write(canonical_json(receipt))"
    )
    done = subprocess.run(
        ["faketime", BACK, sys.executable, "-c", script, str(other), manifest["deposit_id"]]
        + [json.dumps(manifest["roots"])],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), "EVIDENCECTL_HOME": str(other)},
        check=True,
    )
    assert json.loads(done.stdout)["deposit_id"] == manifest["deposit_id"]
    forged = add_member(genuine, tmp_path / "with-receipt.evp", "proofs/anchors/other.json", done.stdout)
    trust_lawyers_services(court, lawyer)
    node_key = next((other / "trust" / "ledger").glob("ledger-node-*.pem"))
    assert run(court, "trust", "add", node_key, "--as", "ledger").returncode == 0

    code, doc = verify_json(court, forged)
    assert code == 3 and doc["verdict"] == "INDETERMINATE", [c for c in doc["checks"] if c["status"] != "PASSED"]
    (added,) = checks(doc, "anchor:other")
    assert added["status"] == "INDETERMINATE" and added["reason"] == "TIME" and added["facts"]["before_created"]
    assert "proofs/anchors/other.json" in added["detail"]
    assert checks(doc, "time:declared")[0]["status"] == "PASSED"
    assert not doc["proven_time"].startswith("2024")
