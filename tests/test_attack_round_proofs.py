"""Attacks that move proofs between packages, re-seal a statement with another key, or answer a deposit's
TSA request with a token for something else. Three data directories (lawyer, other party, court); the
lawyer's embedded TSA and ledger are trusted by the court for their signatures (never as independent)."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
from conftest import rewrite_member
from test_independent_time import checks, people, run, trust_lawyers_services, verify_json

from evidencectl.registry import Registry
from tests.conftest import CliResult
from tests.test_outage_services import _free_port, tsa_server  # noqa: F401 - the fixture

__all__ = ["people"]  # fixture
PW = {"PW": "correct horse battery"}


def _two_packages(people: dict[str, Path], tmp_path: Path) -> tuple[Path, Path]:
    lawyer = people["lawyer"]
    (tmp_path / "other.txt").write_text("another exhibit\n")
    a, b = tmp_path / "a.evp", tmp_path / "b.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", a).returncode == 0
    assert run(lawyer, "deposit", tmp_path / "other.txt", "-o", b).returncode == 0
    return a, b


def _member(package: Path, name: str) -> bytes:
    return subprocess.run(["unzip", "-p", str(package), name], capture_output=True, check=True).stdout


def test_ledger_receipt_moved_from_another_package_fails(people: dict[str, Path], tmp_path: Path) -> None:
    """A genuine, trusted ledger receipt of deposit A put into package B: it names A's deposit and roots."""
    a, b = _two_packages(people, tmp_path)
    court = people["court"]
    trust_lawyers_services(court, people["lawyer"])
    assert verify_json(court, b)[0] == 0
    moved = rewrite_member(
        b, tmp_path / "moved.evp", "proofs/anchors/local.json", lambda _: _member(a, "proofs/anchors/local.json")
    )
    code, doc = verify_json(court, moved)
    (anchor,) = checks(doc, "anchor:")
    assert code == 1 and anchor["status"] == "FAILED" and "deposit" in anchor["detail"]


def test_ledger_receipt_moved_and_restated_for_the_other_deposit_fails(people: dict[str, Path], tmp_path: Path) -> None:
    """The moved receipt's deposit id and roots rewritten to B's: its inclusion proof no longer leads to the
    signed block's entries root."""
    a, b = _two_packages(people, tmp_path)
    court = people["court"]
    trust_lawyers_services(court, people["lawyer"])
    manifest = json.loads(_member(b, "manifest.json"))
    receipt = json.loads(_member(a, "proofs/anchors/local.json"))
    receipt.update(deposit_id=manifest["deposit_id"], roots=manifest["roots"])
    from evidencectl.package.canonical import canonical_json

    moved = rewrite_member(b, tmp_path / "restated.evp", "proofs/anchors/local.json", lambda _: canonical_json(receipt))
    code, doc = verify_json(court, moved)
    (anchor,) = checks(doc, "anchor:")
    assert code == 1 and anchor["status"] == "FAILED" and "inclusion" in anchor["detail"]


def test_timestamp_token_moved_from_another_package_fails(people: dict[str, Path], tmp_path: Path) -> None:
    """A trusted token over deposit A's SHA-256 root put into package B; `openssl ts -verify` agrees that it
    does not cover B's root."""
    a, b = _two_packages(people, tmp_path)
    court = people["court"]
    trust_lawyers_services(court, people["lawyer"])
    name = "proofs/timestamps/local.sha256.tsr"
    moved = rewrite_member(b, tmp_path / "moved.evp", name, lambda _: _member(a, name))
    code, doc = verify_json(court, moved)
    (token,) = checks(doc, "timestamp:local.sha256")
    assert code == 1 and token["status"] == "FAILED"
    root = json.loads(_member(b, "manifest.json"))["roots"]["sha256"]
    (tmp_path / "t.tsr").write_bytes(_member(a, name))
    (tmp_path / "chain.pem").write_text(run(people["lawyer"], "tsa", "cert").stdout)
    oracle = subprocess.run(
        [
            "openssl",
            "ts",
            "-verify",
            "-digest",
            root,
            "-sha256",
            "-in",
            str(tmp_path / "t.tsr"),
            "-CAfile",
            str(tmp_path / "chain.pem"),
        ],
        capture_output=True,
        text=True,
    )
    assert oracle.returncode != 0 and "message imprint mismatch" in oracle.stderr + oracle.stdout


def test_statement_restated_and_resealed_by_another_key_is_not_the_trusted_signers(
    people: dict[str, Path], tmp_path: Path
) -> None:
    """The other party takes the lawyer's exhibit and deposits it again under a backdated clock, with another
    case number, the lawyer's name as depositor and a key of its own named LawyerLi: a consistent package,
    sealed and signed. The court, which trusts the lawyer's key and asks for LawyerLi, never PASSES it: the
    signer is not the trusted key, and its time is the other party's own."""
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    keygen = ("keys", "generate", "--name", "LawyerLi", "--algorithm", "ecdsa-p256", "--passphrase-env", "PW")
    assert run(lawyer, *keygen, env=PW).returncode == 0
    assert run(other, *keygen, env=PW).returncode == 0
    genuine, forged = tmp_path / "genuine.evp", tmp_path / "forged.evp"
    common = ("--sign", "--passphrase-env", "PW", "--depositor", "LawyerLi")
    assert (
        run(lawyer, "deposit", tmp_path / "contract.txt", "-o", genuine, "--case", "C-1", *common, env=PW).returncode
        == 0
    )
    done = run(
        other,
        "deposit",
        tmp_path / "contract.txt",
        "-o",
        forged,
        "--case",
        "C-2",
        *common,
        env=PW,
        fake="2024-01-01 09:00:00",
    )
    assert done.returncode == 0, done.stderr
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", lawyer / "keys" / "LawyerLi.cert.pem", "--as", "signer").returncode == 0
    trust_lawyers_services(court, other)  # even the other party's services trusted for their signatures
    code, doc = verify_json(court, genuine, "--expect-signer", "LawyerLi")
    assert code == 0, [c for c in doc["checks"] if c["status"] != "PASSED"]
    code, doc = verify_json(court, forged, "--expect-signer", "LawyerLi")
    (signature,) = checks(doc, "signature:")
    assert code == 3 and signature["status"] == "INDETERMINATE"
    assert doc["independent_time"] is False
    code, doc = verify_json(court, forged)
    assert code == 3 and checks(doc, "signature:")[0]["status"] == "INDETERMINATE"


class _Replaying:
    """An HTTP TSA that answers every request with one genuine token it obtained earlier for other bytes
    (another imprint and another nonce), from the real embedded TSA."""

    def __init__(self, token: bytes) -> None:
        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Type", "application/timestamp-reply")
                self.send_header("Content-Length", str(len(token)))
                self.end_headers()
                self.wfile.write(token)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def replaying(tmp_path: Path, tsa_server: Callable[[int], None]) -> Iterator[_Replaying]:  # noqa: F811
    port = _free_port()
    tsa_server(port)
    (tmp_path / "old.txt").write_text("yesterday's request\n")
    query = subprocess.run(
        ["openssl", "ts", "-query", "-data", str(tmp_path / "old.txt"), "-sha256", "-cert"],
        capture_output=True,
        check=True,
    ).stdout
    reply = requests.post(
        f"http://127.0.0.1:{port}", data=query, headers={"Content-Type": "application/timestamp-query"}, timeout=30
    )
    assert reply.status_code == 200
    service = _Replaying(reply.content)
    yield service
    service.close()


def test_tsa_answering_with_a_token_for_another_imprint_and_nonce_publishes_nothing(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path, replaying: _Replaying
) -> None:
    """A TSA (or whoever sits on the plain-HTTP path to it) replays a genuine token for other bytes: the
    deposit must not store it (the package would FAIL everywhere). Exit 5, one line, nothing at the output,
    the deposit pending."""
    (tmp_path / "contract.txt").write_text("today's exhibit\n")
    out = tmp_path / "c.evp"
    res = cli("deposit", tmp_path / "contract.txt", "-o", out, "--tsa", replaying.url, "--json")
    assert res.code == 5 and "another imprint" in res.err and "Traceback" not in res.err
    assert not out.exists()
    registry = Registry.open(evidencectl_home)
    try:
        assert len(registry.deposits("pending")) == 1
    finally:
        registry.close()
