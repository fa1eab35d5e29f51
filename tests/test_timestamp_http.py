"""The embedded TSA over real HTTP (waitress on a free port), checked by OpenSSL; the HTTP client's errors."""

from __future__ import annotations

import contextlib
import hashlib
import multiprocessing
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import waitress
from asn1crypto import pem, tsp

from evidencectl.checks import Status
from evidencectl.context import Context
from evidencectl.crypto.trust import TrustStore
from evidencectl.errors import ServiceError, UsageError
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.client import HttpTSA, tsa_from_spec
from evidencectl.timestamp.server import make_app
from evidencectl.timestamp.token import decode, parse_timestamp
from evidencectl.timestamp.verifier import verify_timestamp


def start(app: Callable[..., Any]) -> tuple[str, Any]:
    server = waitress.create_server(app, host="127.0.0.1", port=0, max_request_body_size=64 * 1024)

    def run() -> None:
        # close() from the test thread ends the loop, sometimes while select() still holds the socket.
        with contextlib.suppress(OSError, ValueError):
            server.run()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{server.effective_port}/", server


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[str, EmbeddedTSA, Path]]:
    tsa = EmbeddedTSA.open(Context(tmp_path), "ecdsa-p256")
    url, server = start(make_app(tsa))
    yield url, tsa, tmp_path
    server.close()


def test_openssl_query_over_http_verifies_with_openssl(served: tuple[str, EmbeddedTSA, Path], tmp_path: Path) -> None:
    url, tsa, base = served
    (tmp_path / "doc.txt").write_bytes(b"contract v1")
    subprocess.run(
        ["openssl", "ts", "-query", "-data", "doc.txt", "-sha256", "-cert", "-out", "q.tsq"],
        cwd=tmp_path,
        check=True,
        capture_output=True,
    )
    reply = requests.post(
        url, data=(tmp_path / "q.tsq").read_bytes(), headers={"Content-Type": "application/timestamp-query"}, timeout=10
    )
    assert reply.status_code == 200 and reply.headers["Content-Type"] == "application/timestamp-reply"
    (tmp_path / "r.tsr").write_bytes(reply.content)
    root = str(base / "tsa" / "ecdsa-p256" / "root.pem")

    def openssl_verify(*what: str) -> subprocess.CompletedProcess[str]:
        argv = ["openssl", "ts", "-verify", *what, "-in", "r.tsr", "-CAfile", root]
        return subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True)

    verified = openssl_verify("-queryfile", "q.tsq")
    assert verified.returncode == 0 and "Verification: OK" in verified.stdout, verified.stderr
    tampered = openssl_verify("-data", "q.tsq")  # the token is over the root, not over these bytes
    assert tampered.returncode != 0


def test_http_client_gets_checked_token(served: tuple[str, EmbeddedTSA, Path]) -> None:
    url, _, base = served
    digest = hashlib.new("sm3", b"root").digest()
    response = HttpTSA(url).timestamp(digest, "sm3")
    result = verify_timestamp(response, digest=digest, hash_name="sm3", trust=TrustStore.load(base), check="t")
    assert result.status is Status.PASSED, result.detail


def test_server_rejects_wrong_content_type_and_big_bodies(served: tuple[str, EmbeddedTSA, Path]) -> None:
    url = served[0]
    assert requests.post(url, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10).status_code == 400
    big = requests.post(
        url, data=b"\0" * (65 * 1024), headers={"Content-Type": "application/timestamp-query"}, timeout=10
    )
    assert big.status_code == 413
    garbage = requests.post(url, data=b"\x30\x00", headers={"Content-Type": "application/timestamp-query"}, timeout=10)
    assert decode(garbage.content).status.text.startswith("rejection")


def test_rejection_reported_with_status_and_fail_info(served: tuple[str, EmbeddedTSA, Path]) -> None:
    with pytest.raises(ServiceError) as caught:
        HttpTSA(served[0], policy="1.2.3.4").timestamp(hashlib.sha256(b"x").digest(), "sha256")
    message = str(caught.value)
    assert "rejection" in message and "unacceptedPolicy" in message and "\n" not in message


@pytest.mark.parametrize(
    ("status", "kind", "body", "expected"),
    [
        ("200 OK", "text/html", b"<html><body>Welcome</body></html>", "HTML"),
        ("200 OK", "application/timestamp-reply", b"\x30\x82\x01\x00\x30", "garbage"),
        ("200 OK", "application/timestamp-reply", b"not der at all", "garbage"),
        ("404 Not Found", "text/html", b"<html>404</html>", "HTTP 404"),
        ("503 Service Unavailable", "text/plain", b"busy", "unreachable after 2 attempts"),
    ],
)
def test_client_reports_bad_answers_in_one_line(status: str, kind: str, body: bytes, expected: str) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(status, [("Content-Type", kind)])
        return [body]

    url, server = start(app)
    try:
        with pytest.raises(ServiceError) as caught:
            HttpTSA(url, retries=1, backoff=0.01).timestamp(hashlib.sha256(b"x").digest(), "sha256")
    finally:
        server.close()
    assert expected in str(caught.value) and "\n" not in str(caught.value)


def test_truncated_reply_from_real_tsa_is_rejected(tmp_path: Path) -> None:
    tsa = EmbeddedTSA.open(Context(tmp_path))

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        full = tsa.respond(environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"])))
        start_response("200 OK", [("Content-Type", "application/timestamp-reply")])
        return [full[: len(full) // 2]]

    url, server = start(app)
    try:
        with pytest.raises(ServiceError, match="garbage"):
            HttpTSA(url).timestamp(hashlib.sha256(b"x").digest(), "sha256")
    finally:
        server.close()


def test_unreachable_tsa_is_service_error() -> None:
    with pytest.raises(ServiceError, match="unreachable"):
        HttpTSA("http://127.0.0.1:9/", retries=0, timeout=2).timestamp(hashlib.sha256(b"x").digest(), "sha256")


def test_tsa_from_spec(tmp_path: Path) -> None:
    assert isinstance(tsa_from_spec("local", tmp_path), EmbeddedTSA)
    assert tsa_from_spec("https://tsa.example/", tmp_path).name == "https://tsa.example/"
    with pytest.raises(UsageError):
        tsa_from_spec("ftp://x", tmp_path)


def test_sm2_token_verifies_and_openssl_checks_its_signature(tmp_path: Path) -> None:
    tsa = EmbeddedTSA.open(Context(tmp_path), "sm2")
    digest = hashlib.new("sm3", b"evidence").digest()
    response = tsa.timestamp(digest, "sm3")
    result = verify_timestamp(response, digest=digest, hash_name="sm3", trust=TrustStore.load(tmp_path), check="t")
    assert result.status is Status.PASSED, result.detail
    signer_info = tsp.TimeStampResp.load(response)["time_stamp_token"]["content"]["signer_infos"][0]
    (tmp_path / "attrs.der").write_bytes(b"\x31" + signer_info["signed_attrs"].dump()[1:])
    (tmp_path / "sig.der").write_bytes(signer_info["signature"].native)
    (tmp_path / "pub.pem").write_bytes(pem.armor("PUBLIC KEY", tsa.tsa_cert.public_key.dump()))
    pkeyutl = [
        "openssl",
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        "pub.pem",
        "-in",
        "attrs.der",
        "-sigfile",
        "sig.der",
        "-rawin",
        "-digest",
        "sm3",
        "-pkeyopt",
        "distid:1234567812345678",
    ]
    checked = subprocess.run(
        pkeyutl,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0 and "Verified Successfully" in checked.stdout, checked.stderr
    (tmp_path / "attrs.der").write_bytes(b"\x31" + signer_info["signed_attrs"].dump()[1:-1] + b"\x00")
    tampered = subprocess.run(
        pkeyutl,
        cwd=tmp_path,
        capture_output=True,
    )
    assert tampered.returncode != 0


def test_serials_are_monotonic_across_reopen(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"x").digest()
    first = [parse_timestamp(EmbeddedTSA.open(Context(tmp_path)).timestamp(digest, "sha256")).serial for _ in range(3)]
    again = parse_timestamp(EmbeddedTSA.open(Context(tmp_path)).timestamp(digest, "sha256")).serial
    assert first == sorted(first) and len(set(first)) == 3 and again > first[-1]


def _open_and_stamp(base: str) -> tuple[bytes, int]:
    tsa = EmbeddedTSA.open(Context(Path(base)))
    return tsa.chain_pem(), parse_timestamp(tsa.timestamp(hashlib.sha256(b"x").digest(), "sha256")).serial


def test_two_processes_open_the_same_tsa(tmp_path: Path) -> None:
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        results = pool.map(_open_and_stamp, [str(tmp_path)] * 4)
    assert len({chain for chain, _ in results}) == 1
    assert len({serial for _, serial in results}) == 4
    assert len([a for a in TrustStore.load(tmp_path).anchors("tsa") if a.operator == "own"]) == 1
