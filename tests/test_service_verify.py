"""``evidencectl serve``: a real server process on loopback, asked over HTTP with requests and raw sockets."""

from __future__ import annotations

import importlib.util
import json
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests
from conftest import ASSETS, rewrite_member
from service_server import Server, run_cli, start_server

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"


@pytest.fixture(scope="module")
def deposited(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A data directory and a genuine package deposited in it (embedded TSA and ledger)."""
    folder = tmp_path_factory.mktemp("service")
    home, evidence = folder / "home", folder / "evidence"
    shutil.copytree(ROOT / "examples" / "evidence", evidence)
    done = run_cli(home, "deposit", evidence, "-o", folder / "case.evp", "--case", "（2026）渝0103民初1234号")
    assert done.returncode == 0, done.stderr
    return home, folder / "case.evp"


@pytest.fixture(scope="module")
def server(deposited: tuple[Path, Path]) -> Iterator[Server]:
    """The service on that data directory, with a 1 MiB upload limit and a 1 s stall limit."""
    srv = start_server(deposited[0], "--max-upload", "1", "--upload-idle-timeout", "1")
    yield srv
    srv.stop()


def _post(server: Server, body: Any, content_type: str = PACKAGE_TYPE) -> requests.Response:
    return requests.post(f"{server.url}/api/v1/verify", data=body, headers={"Content-Type": content_type}, timeout=60)


def _cli_json(home: Path, package: Path, tmp_path: Path) -> dict[str, Any]:
    # The CLI's answer for the same bytes under the same name the service gives them.
    (tmp_path / "upload.evp").write_bytes(package.read_bytes())
    done = run_cli(home, "verify", "upload.evp", "--json", cwd=tmp_path)
    doc: dict[str, Any] = json.loads(done.stdout)
    return doc


def _without_time(doc: dict[str, Any]) -> dict[str, Any]:
    # The same document but for the moment of verification and where the data directory lies (the service
    # names its trust files relative to it).
    out = {k: v for k, v in doc.items() if k != "verified_at"}
    out["trust_anchors"] = [{**a, "source": Path(a["source"]).name} for a in doc["trust_anchors"]]
    return out


def test_a_posted_package_gets_exactly_the_verify_json_document(
    server: Server, deposited: tuple[Path, Path], tmp_path: Path
) -> None:
    answer = _post(server, deposited[1].read_bytes())
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    doc = answer.json()
    assert doc["verdict"] == "PASSED"
    assert _without_time(doc) == _without_time(_cli_json(server.home, deposited[1], tmp_path))
    assert str(server.home) not in answer.text  # neither the spool folder nor the trust store's place
    assert not [a["source"] for a in doc["trust_anchors"] if a["source"].startswith("/")]
    assert list((server.home / "service" / "uploads").iterdir()) == []  # and nothing is left in it


def test_a_tampered_package_is_answered_failed_as_the_cli_answers_it(
    server: Server, deposited: tuple[Path, Path], tmp_path: Path
) -> None:
    forged = rewrite_member(deposited[1], tmp_path / "forged.evp", "evidence/evidence/contract.txt", lambda b: b + b"!")
    doc = _post(server, forged.read_bytes()).json()
    assert doc["verdict"] == "FAILED"
    failed = [c["check"] for c in doc["checks"] if c["status"] == "FAILED"]
    assert any("contract.txt" in name for name in failed), failed  # the altered item is named
    assert _without_time(doc) == _without_time(_cli_json(server.home, forged, tmp_path))


def test_the_answer_validates_against_the_openapi_document(server: Server, deposited: tuple[Path, Path]) -> None:
    api = requests.get(f"{server.url}/openapi.json", timeout=10).json()
    operation = api["paths"]["/api/v1/verify"]["post"]
    assert PACKAGE_TYPE in operation["requestBody"]["content"]
    schema = api["components"]["schemas"]["VerificationReport"]
    jsonschema.validate(_post(server, deposited[1].read_bytes()).json(), schema)
    problem = _post(server, b"not a zip")
    jsonschema.validate(problem.json(), api["components"]["schemas"]["Problem"])


def _problem(answer: requests.Response, status: int, name: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = answer.json()
    assert doc["type"] == f"urn:evidencectl:problem:{name}" and doc["status"] == status
    assert "Traceback" not in answer.text
    return doc


def test_a_file_that_is_not_a_package_is_a_422_problem_naming_no_server_path(server: Server) -> None:
    doc = _problem(_post(server, b"hello, court"), 422, "unprocessable-package")
    assert "not a readable evidence package" in doc["detail"] and str(server.home) not in doc["detail"]


def test_a_wrong_content_type_is_415_and_an_unknown_path_404(server: Server) -> None:
    _problem(_post(server, b"PK", content_type="text/plain"), 415, "unsupported-media-type")
    _problem(requests.get(f"{server.url}/api/v1/nothing", timeout=10), 404, "not-found")
    _problem(requests.get(f"{server.url}/api/v1/verify", timeout=10), 405, "method-not-allowed")


def _raw_exchange(server: Server, head: bytes, body: bytes, wait: float = 10) -> tuple[bytes, float]:
    host, port = server.url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=wait) as s:
        s.sendall(head + body)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer, time.monotonic() - started


def test_an_upload_declared_over_the_limit_is_refused_before_its_body_is_read(server: Server) -> None:
    head = (
        f"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: {PACKAGE_TYPE}\r\nContent-Length: {2 << 20}\r\n\r\n"
    ).encode()
    answer, took = _raw_exchange(server, head, b"PK")  # 2 bytes sent of 2 MiB declared
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert took < 1  # answered at once, not after the 1 s stall limit


def test_a_chunked_upload_is_cut_off_as_soon_as_it_passes_the_limit(server: Server) -> None:
    sent = 0

    def body() -> Iterator[bytes]:  # no Content-Length: requests sends it chunked
        nonlocal sent
        for _ in range(64):
            sent += 64 << 10
            yield b"\0" * (64 << 10)

    answer = _post(server, body())
    _problem(answer, 413, "payload-too-large")
    assert list((server.home / "service" / "uploads").iterdir()) == []


def test_a_stalled_upload_is_dropped_after_the_idle_limit(server: Server) -> None:
    head = f"POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: {PACKAGE_TYPE}\r\nContent-Length: 1000\r\n\r\n"
    answer, took = _raw_exchange(server, head.encode(), b"PK\x03\x04")  # then nothing more
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert 0.9 < took < 5
    assert list((server.home / "service" / "uploads").iterdir()) == []


def test_a_package_bomb_posted_to_verify_is_refused_without_inflating_it(
    deposited: tuple[Path, Path], tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("make_hostile", ASSETS / "hostile" / "make_hostile.py")
    assert spec and spec.loader
    generator = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_hostile", generator)  # its dataclasses look their module up
    generator = sys.modules["make_hostile"]
    spec.loader.exec_module(generator)
    bomb = generator.make_large(tmp_path, deposited[1])["bomb_10gib"]
    srv = start_server(deposited[0], "--max-upload", str((bomb.stat().st_size >> 20) + 1))
    try:
        started = time.monotonic()
        doc = _problem(_post(srv, bomb.read_bytes()), 422, "unprocessable-package")
        assert "decompression bomb" in doc["detail"] and time.monotonic() - started < 20
    finally:
        srv.stop()


def test_two_worker_processes_share_the_port_and_both_verify(deposited: tuple[Path, Path]) -> None:
    srv = start_server(deposited[0], "--workers", "2")
    try:
        children: list[str] = []
        deadline = time.monotonic() + 20
        while len(children) < 2 and time.monotonic() < deadline:  # uvicorn's supervisor spawns two workers
            time.sleep(0.1)
            pgrep = ["pgrep", "-P", str(srv.proc.pid)]
            children = subprocess.run(pgrep, capture_output=True, text=True, check=False).stdout.split()
        assert len(children) >= 2, children
        verdicts = {_post(srv, deposited[1].read_bytes()).json()["verdict"] for _ in range(6)}
        assert verdicts == {"PASSED"}
    finally:
        srv.stop()


def _fresh_copy(src: Path, home: Path) -> None:
    # A registry of its own, without the requests the other tests made: the count lives in the registry.
    import sqlite3

    shutil.copytree(src, home)
    conn = sqlite3.connect(home / "registry.sqlite", isolation_level=None)
    conn.execute("DELETE FROM rate_hits")
    conn.close()


# The tests' window is an hour, not a minute: with a minute, a run slowed down by a loaded machine could
# straddle a minute's end, where the previous minute's count is weighted down and one request more gets
# through. With an hour the weight falls by 1/3600 a second, and the counts below hold however slow the run.
WINDOW = "3600"


def test_one_address_posting_too_often_gets_429_with_retry_after(deposited: tuple[Path, Path], tmp_path: Path) -> None:
    home = tmp_path / "home"
    _fresh_copy(deposited[0], home)
    srv = start_server(home, "--verify-rate", "3", "--verify-window", WINDOW)
    try:
        assert [_post(srv, b"x").status_code for _ in range(3)] == [422] * 3  # refused packages count too
        answer = _post(srv, deposited[1].read_bytes())
        _problem(answer, 429, "too-many-requests")
        assert 1 <= int(answer.headers["retry-after"]) <= int(WINDOW)
    finally:
        srv.stop()


def test_the_rate_limit_is_one_count_across_worker_processes(deposited: tuple[Path, Path], tmp_path: Path) -> None:
    """Four workers, each with the limit in its own memory, would let 4 x 4 requests through; not one count."""
    home = tmp_path / "home"
    _fresh_copy(deposited[0], home)
    srv = start_server(home, "--workers", "4", "--verify-rate", "4", "--verify-window", WINDOW)
    try:
        codes = []
        for _ in range(12):  # new connections each time: the kernel spreads them over the workers
            with requests.Session() as session:
                codes.append(session.post(f"{srv.url}/api/v1/verify", data=b"x",
                                          headers={"Content-Type": PACKAGE_TYPE}, timeout=60).status_code)  # fmt: skip
        assert codes.count(422) == 4 and codes.count(429) == 8, codes
    finally:
        srv.stop()


def test_a_court_installation_requiring_independent_time_answers_as_its_cli(
    deposited: tuple[Path, Path], tmp_path: Path
) -> None:
    """[verify] require_independent = true: time resting on the depositor's own TSA is INDETERMINATE."""
    home = tmp_path / "court"
    shutil.copytree(deposited[0], home)
    (home / "config.toml").write_text("[verify]\nrequire_independent = true\n", encoding="utf-8")
    srv = start_server(home)
    try:
        doc = _post(srv, deposited[1].read_bytes()).json()
    finally:
        srv.stop()
    assert doc["verdict"] == "INDETERMINATE"
    assert _without_time(doc) == _without_time(_cli_json(home, deposited[1], tmp_path))
