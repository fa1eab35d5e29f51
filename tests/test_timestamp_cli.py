"""``evidencectl timestamp`` and ``evidencectl tsa`` through typer's CliRunner, with a private data directory."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidencectl.cli.timestamp_cmd import app as timestamp_app
from evidencectl.cli.tsa_cmd import app as tsa_app
from evidencectl.errors import MalformedTokenError, UsageError

ASSETS = Path(__file__).parent / "assets" / "tsr"
runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EVIDENCECTL_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_request_then_verify(tmp_path: Path) -> None:
    doc = tmp_path / "doc.pdf"
    doc.write_bytes(b"%PDF-1.7 evidence")
    made = runner.invoke(timestamp_app, ["request", str(doc), "--hash", "sm3", "--json"])
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["hash_algorithm"] == "sm3"
    ok = runner.invoke(timestamp_app, ["verify", str(tmp_path / "doc.pdf.tsr"), "--data", str(doc), "--json"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["status"] == "PASSED"
    doc.write_bytes(b"%PDF-1.7 altered")
    bad = runner.invoke(timestamp_app, ["verify", str(tmp_path / "doc.pdf.tsr"), "--data", str(doc)])
    assert bad.exit_code == 1 and bad.output.startswith("FAILED")
    again = runner.invoke(timestamp_app, ["request", str(doc), "--hash", "sm3"])
    assert isinstance(again.exception, UsageError)


def test_verify_real_token_with_trust_and_digest() -> None:
    folder = ASSETS / "03_digicert_2018"
    digest = hashlib.sha256((folder / "data.txt").read_bytes()).hexdigest()
    args = ["verify", str(folder / "token.tst"), "--digest", digest]
    assert runner.invoke(timestamp_app, args).exit_code == 0  # DigiCert's root ships with the TSA catalogue
    trusted = runner.invoke(timestamp_app, [*args, "--trust", str(folder / "DigiCert_Assured_ID_Root_CA.pem")])
    assert trusted.exit_code == 0, trusted.output
    assert "-token_in" in trusted.output


def test_verify_malformed_is_bad_input(tmp_path: Path) -> None:
    junk = tmp_path / "junk.tsr"
    junk.write_bytes(b"<html>error</html>")
    result = runner.invoke(timestamp_app, ["verify", str(junk), "--digest", "00" * 32, "--hash", "sha256"])
    assert isinstance(result.exception, MalformedTokenError) and result.exception.exit_code == 4


def test_tsa_cert_prints_chain(home: Path) -> None:
    result = runner.invoke(tsa_app, ["cert"])
    assert result.exit_code == 0 and result.output.count("BEGIN CERTIFICATE") == 2
    sm2 = runner.invoke(tsa_app, ["cert", "--algorithm", "sm2"])
    assert sm2.exit_code == 0 and sm2.output != result.output


def test_tsa_serve_subprocess(home: Path) -> None:
    import os
    import socket
    import subprocess
    import sys
    import time

    import requests

    from evidencectl.timestamp.client import HttpTSA

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = "from evidencectl.cli.tsa_cmd import app; app()"
    server = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--port", str(port)],
        env={**os.environ, "EVIDENCECTL_HOME": str(home)},
        cwd=Path(__file__).parent.parent,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(100):
            try:
                requests.get(url + "chain.pem", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        response = HttpTSA(url).timestamp(hashlib.sha256(b"served").digest(), "sha256")
        assert len(response) > 300
    finally:
        server.terminate()
        server.wait(timeout=10)
