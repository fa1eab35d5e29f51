"""Who attests the time: a depositor's own embedded TSA and ledger never make the time independent, a third-party
TSA does. Three data directories play the depositor (a lawyer), the other party and the court; ``faketime``
plays the depositor's clock, OpenSSL's own TSA behind a loopback HTTP server plays a public TSA."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_timestamp_openssl import make_pki

pytestmark = pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime (Debian package) is needed")

ROOT = Path(__file__).parent.parent


def run(home: Path, *args: str | Path, fake: str | None = None, env: dict[str, str] | None = None) -> Any:
    """``evidencectl ARGS`` as its own process in data directory ``home``, under ``faketime FAKE`` if given."""
    command = [sys.executable, "-m", "evidencectl", *map(str, args)]
    if fake is not None:
        command = ["faketime", fake, *command]
    environment = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=120)


def verify_json(home: Path, package: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    done = run(home, "verify", package, "--json", *extra)
    return done.returncode, json.loads(done.stdout)


def checks(doc: dict[str, Any], prefix: str) -> list[dict[str, Any]]:
    return [c for c in doc["checks"] if c["check"].startswith(prefix)]


@pytest.fixture
def people(tmp_path: Path) -> dict[str, Path]:
    """Three data directories and a file to deposit."""
    out = {name: tmp_path / name for name in ("lawyer", "other", "court")}
    (tmp_path / "contract.txt").write_text("合同 第一条\n", encoding="utf-8")
    return out


def trust_lawyers_services(court: Path, lawyer: Path, *, ledger: bool = True) -> None:
    """The court adds the lawyer's embedded TSA root (and ledger node key) to its own store."""
    chain = run(lawyer, "tsa", "cert").stdout
    root = "-----BEGIN CERTIFICATE-----" + chain.split("-----BEGIN CERTIFICATE-----")[-1]
    (court.parent / "lawyer-tsa-root.pem").write_text(root)
    assert run(court, "trust", "add", court.parent / "lawyer-tsa-root.pem", "--as", "tsa").returncode == 0
    if not ledger:
        return
    node_key = next((lawyer / "trust" / "ledger").glob("ledger-node-*.pem"))
    assert run(court, "trust", "add", node_key, "--as", "ledger").returncode == 0


class OpenSSLTSA(BaseHTTPRequestHandler):
    """RFC 3161 over HTTP in front of ``openssl ts -reply`` (an implementation that is not evidencectl's)."""

    pki: Path
    lock = threading.Lock()

    def do_POST(self) -> None:  # noqa: N802 - the http.server API
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.lock:
            (self.pki / "q.tsq").write_bytes(body)
            subprocess.run(
                ["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", "q.tsq", "-signer", "tsa.pem"]
                + ["-inkey", "tsa.key", "-chain", "ca.pem", "-out", "r.tsr"],
                cwd=self.pki,
                check=True,
                capture_output=True,
            )
            reply = (self.pki / "r.tsr").read_bytes()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def openssl_tsa(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """OpenSSL's TSA on a loopback port: its URL and its root certificate."""
    pki = tmp_path / "openssl-pki"
    make_pki(pki, ["rsa:2048"])
    handler = type("Handler", (OpenSSLTSA,), {"pki": pki})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", pki / "ca.pem"
    finally:
        server.shutdown()
        server.server_close()


def test_backdated_embedded_tsa_is_not_independent(people: dict[str, Path], tmp_path: Path) -> None:
    lawyer = people["lawyer"]
    package = tmp_path / "backdated.evp"
    done = run(lawyer, "deposit", tmp_path / "contract.txt", "-o", package, "--case", "C-1", fake="2024-03-01 10:00:00")
    assert done.returncode == 0, done.stderr
    assert "third-party TSA" in done.stderr and done.stderr.count("warning:") == 1

    code, doc = verify_json(lawyer, package)
    assert code == 0 and doc["verdict"] == "PASSED"  # every signature is good: the depositor made them all
    assert doc["independent_time"] is False
    assert doc["proven_time"].startswith("2024-03-01T10:00")
    for check in checks(doc, "timestamp:") + checks(doc, "anchor:"):
        assert check["facts"]["operator"] == "own" and check["facts"]["independent"] is False
    text = run(lawyer, "verify", package).stdout
    assert "time attested only by the depositor's own embedded TSA: proves nothing to a third party" in text
    assert "declared by the depositor" in text

    code, doc = verify_json(lawyer, package, "--require-independent")
    assert code == 3 and doc["verdict"] == "INDETERMINATE"
    (required,) = checks(doc, "time:independent")
    assert required["status"] == "INDETERMINATE" and required["reason"] == "NOT_INDEPENDENT"

    (lawyer / "config.toml").write_text("[verify]\nrequire_independent = true\n")
    assert run(lawyer, "verify", package).returncode == 3


def test_future_gen_time_from_the_embedded_tsa_is_not_proven(people: dict[str, Path], tmp_path: Path) -> None:
    lawyer = people["lawyer"]
    package = tmp_path / "future.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", package, fake="2031-01-01 00:00:00").returncode == 0
    code, doc = verify_json(lawyer, package)
    # Not FAILED: the verifier cannot tell a clock set ahead from its own clock being behind.
    assert code == 3 and doc["verdict"] == "INDETERMINATE"
    future = checks(doc, "timestamp:") + checks(doc, "anchor:")
    assert future and all(c["status"] == "INDETERMINATE" and c["reason"] == "TIME" for c in future)
    assert doc["proven_time"] is None


def test_ledger_block_times_going_backwards_fail_ledger_verify(people: dict[str, Path], tmp_path: Path) -> None:
    lawyer = people["lawyer"]
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", tmp_path / "now.evp").returncode == 0
    assert run(lawyer, "ledger", "verify").returncode == 0
    run(lawyer, "deposit", tmp_path / "contract.txt", "-o", tmp_path / "back.evp", fake="2024-03-01 10:00:00")
    done = run(lawyer, "ledger", "verify", "--json")
    assert done.returncode == 1
    audit = json.loads(done.stdout)
    assert audit["first_broken"] == 1 and "backwards" in audit["problem"]


def test_court_trusting_the_lawyers_embedded_tsa_still_gets_no_independent_time(
    people: dict[str, Path], tmp_path: Path
) -> None:
    lawyer, other, court = people["lawyer"], people["other"], people["court"]
    package = tmp_path / "lawyer.evp"
    assert run(lawyer, "deposit", tmp_path / "contract.txt", "-o", package).returncode == 0
    # Every installation makes its own embedded TSA, under its own name.
    assert run(other, "deposit", tmp_path / "contract.txt", "-o", tmp_path / "other.evp").returncode == 0
    assert run(court, "tsa", "cert").stdout != run(lawyer, "tsa", "cert").stdout
    assert (lawyer / "installation-id").read_text() != (other / "installation-id").read_text()

    code, doc = verify_json(other, package)  # the lawyer's services are not trusted there: cannot decide
    assert code == 3 and doc["independent_time"] is False

    trust_lawyers_services(court, lawyer)
    code, doc = verify_json(court, package)
    assert code == 0 and doc["verdict"] == "PASSED"
    assert doc["independent_time"] is False
    for check in checks(doc, "timestamp:") + checks(doc, "anchor:"):
        assert check["facts"]["operator"] == "depositor" and check["facts"]["independent"] is False
    code, doc = verify_json(court, package, "--require-independent")
    assert code == 3 and checks(doc, "time:independent")[0]["reason"] == "NOT_INDEPENDENT"


def test_deposit_with_openssl_tsa_as_third_party_gives_independent_time(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    lawyer, court = people["lawyer"], people["court"]
    url, openssl_root = openssl_tsa
    # The catalogue entry "freetsa" pointed at the loopback TSA: the same plumbing as the real one.
    env = {"EVIDENCECTL_TSA_FREETSA_URL": url}
    package = tmp_path / "independent.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--case", "C-2", "--tsa", "local", "--tsa", "freetsa")
    done = run(lawyer, *args, env=env)
    assert done.returncode == 0, done.stderr
    assert "warning:" not in done.stderr
    trust_lawyers_services(court, lawyer)
    assert run(court, "trust", "add", openssl_root, "--as", "tsa").returncode == 0

    code, doc = verify_json(court, package, "--require-independent")
    assert code == 0, [c for c in doc["checks"] if c["status"] != "PASSED"]
    assert doc["independent_time"] is True
    (third,) = checks(doc, "timestamp:freetsa")  # a public TSA is asked for sha256 only
    assert third["facts"]["operator"] == "third-party" and third["facts"]["independent"] is True
    assert doc["proven_time"] is not None
    assert checks(doc, "time:independent")[0]["status"] == "PASSED"
    assert "attested by a service independent of the depositor" in run(court, "verify", package).stdout


def test_created_after_the_third_party_time_fails(
    people: dict[str, Path], tmp_path: Path, openssl_tsa: tuple[str, Path]
) -> None:
    """The depositor's clock runs a day ahead of the TSA's: the declared creation time is a lie."""
    lawyer = people["lawyer"]
    url, openssl_root = openssl_tsa
    package = tmp_path / "ahead.evp"
    args = ("deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "freetsa")
    # A deposit refuses a clock that far ahead of its TSA; the adversary's copy has that check patched out.
    patched = "import evidencectl.timestamp.client as c; c._check_clock = lambda *a: None; "
    patched += "import sys; from evidencectl.cli.main import run; sys.argv[0] = 'evidencectl'; run()"
    command = ["faketime", "+1 day", sys.executable, "-c", patched, *map(str, args)]
    environment = {**os.environ, "EVIDENCECTL_HOME": str(lawyer), "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, env={**environment, "EVIDENCECTL_TSA_FREETSA_URL": url}, capture_output=True)
    assert done.returncode == 0, done.stderr
    assert run(lawyer, "trust", "add", openssl_root, "--as", "tsa").returncode == 0
    code, doc = verify_json(lawyer, package)
    assert code == 1
    (declared,) = checks(doc, "time:declared")
    assert declared["status"] == "FAILED" and declared["reason"] == "TIME"


def test_catalogue_name_pointing_at_an_embedded_tsa_is_not_independent(people: dict[str, Path], tmp_path: Path) -> None:
    """`tsa serve` of another installation, reached under a catalogue name: its certificate still says whose it is."""
    lawyer, other = people["lawyer"], people["other"]
    port = _free_port()
    environment = {**os.environ, "EVIDENCECTL_HOME": str(other), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
        env=environment,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stderr is not None and "serving" in server.stderr.readline()
        package = tmp_path / "served.evp"
        env = {"EVIDENCECTL_TSA_DIGICERT_URL": f"http://127.0.0.1:{port}/"}
        done = run(lawyer, "deposit", tmp_path / "contract.txt", "-o", package, "--tsa", "digicert", env=env)
        assert done.returncode == 0, done.stderr
    finally:
        server.terminate()
        server.wait(timeout=10)
    trust_lawyers_services(lawyer, other, ledger=False)  # the lawyer trusts the other installation's TSA root
    code, doc = verify_json(lawyer, package)
    (served,) = checks(doc, "timestamp:digicert")
    assert served["status"] == "PASSED"
    assert served["facts"]["operator"] == "depositor" and served["facts"]["independent"] is False
    assert doc["independent_time"] is False


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reports_inspect_and_cases_show_proven_time_and_declared_created(
    cli: Any, tmp_path: Path, evidencectl_home: Path
) -> None:
    """A deposit with the defaults: every place a person reads the time says whose clock it is."""
    (tmp_path / "a.txt").write_text("x\n")
    package = tmp_path / "a.evp"
    assert cli("deposit", tmp_path / "a.txt", "-o", package).code == 0
    html = tmp_path / "report.html"
    assert cli("verify", package, "--report", html, "--lang", "zh").code == 0
    text = html.read_text(encoding="utf-8")
    assert "对第三方不具证明力" in text and "北京时间" in text and "存证人声明的创建时间" in text
    shown = cli("inspect", package).out
    assert "declared by the depositor" in shown and "北京时间 (UTC+8)" in shown and "proves nothing" in shown
    (row,) = json.loads(cli("cases", "--json").out)["deposits"]
    assert row["proven_time"] and row["independent_time"] is False
