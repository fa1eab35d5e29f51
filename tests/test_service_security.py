"""The service's security test list, each against a real ``evidencectl serve``: oversized and trickled
uploads, a package with a huge member count, a server killed in the middle of a deposit.

(No token, wrong role, another user's deposit, path names in files, wrong content type: in
test_service_deposits.py; the rate limit across workers and the decompression bomb: test_service_verify.py.)
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import ASSETS
from service_server import Server, run_cli, start_server
from test_service_deposits import bearer, post_deposit, problem, token_of

PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"


def _address(srv: Server) -> tuple[str, int]:
    host, port = srv.url.removeprefix("http://").rsplit(":", 1)
    return host, int(port)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Server, str]:
    """A service with a 1 MiB upload limit, a 1 s stall limit and a 3 s limit on a whole upload."""
    home = tmp_path_factory.mktemp("security") / "home"
    home.mkdir()
    token = token_of(home, "张律师", "depositor")
    srv = start_server(
        home, "--max-upload", "1", "--upload-idle-timeout", "1", "--upload-timeout", "3", "--verify-rate", "0"
    )
    yield srv, token  # type: ignore[misc]
    srv.stop()


def _nothing_left(srv: Server) -> None:
    assert list((srv.home / "service" / "uploads").iterdir()) == []
    deposits = srv.home / "service" / "deposits"
    assert not deposits.exists() or not list(deposits.iterdir())


def test_an_oversized_deposit_is_413_declared_or_streamed_and_leaves_nothing(guarded: tuple[Server, str]) -> None:
    srv, token = guarded
    problem(post_deposit(srv, token, [("big.bin", b"\0" * (2 << 20))]), 413, "payload-too-large")

    def chunks() -> object:  # chunked: no Content-Length to refuse it by; cut off as it passes 1 MiB
        yield b'--B\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n\r\n'
        for _ in range(64):
            yield b"\0" * 65536

    answer = requests.post(
        f"{srv.url}/api/v1/deposits",
        data=chunks(),
        headers={**bearer(token), "Content-Type": "multipart/form-data; boundary=B"},
        timeout=60,
    )
    problem(answer, 413, "payload-too-large")
    _nothing_left(srv)


def _trickle(srv: Server, path: str, head: bytes, every: float, limit: float) -> tuple[bytes, float]:
    started = time.monotonic()
    with socket.create_connection(_address(srv), timeout=limit + 10) as s:
        s.sendall(head)
        s.settimeout(every)
        answer = b""
        while time.monotonic() - started < limit + 5 and not answer:
            try:
                s.sendall(b"a")  # a byte at a time: never idle long enough to be a stall
                answer = s.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # the server closed the connection after answering
                break
        took = time.monotonic() - started
        s.settimeout(2)
        try:
            while chunk := s.recv(4096):  # the body may come in a packet of its own
                answer += chunk
        except OSError:
            pass
    return answer, took


@pytest.mark.parametrize("endpoint", ["deposits", "verify"])
def test_a_client_trickling_bytes_is_cut_off_by_the_upload_timeout(guarded: tuple[Server, str], endpoint: str) -> None:
    srv, token = guarded
    if endpoint == "deposits":
        kind = "multipart/form-data; boundary=B"
        start = b'--B\r\nContent-Disposition: form-data; name="files"; filename="slow.txt"\r\n\r\n'
    else:
        kind, start = PACKAGE_TYPE, b"PK\x03\x04"
    head = (
        f"POST /api/v1/{endpoint} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {kind}\r\nContent-Length: 100000\r\n\r\n"
    ).encode() + start
    answer, took = _trickle(srv, endpoint, head, every=0.4, limit=3)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"took over 3 s" in answer and 2.5 < took < 15, took
    _nothing_left(srv)


def _hostile() -> object:
    spec = importlib.util.spec_from_file_location("make_hostile", ASSETS / "hostile" / "make_hostile.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_hostile", module)
    module = sys.modules["make_hostile"]
    spec.loader.exec_module(module)
    return module


def test_a_package_with_a_huge_member_count_posted_to_verify_is_refused_quickly(tmp_path: Path) -> None:
    home = tmp_path / "home"
    (tmp_path / "a.txt").write_text("a\n", encoding="utf-8")
    assert run_cli(home, "deposit", tmp_path / "a.txt", "-o", tmp_path / "a.evp").returncode == 0
    many = _hostile().make_large(tmp_path, tmp_path / "a.evp")["many_members"]  # type: ignore[attr-defined]
    srv = start_server(home, "--max-upload", str((many.stat().st_size >> 20) + 2), "--verify-rate", "0")
    try:
        started = time.monotonic()
        answer = requests.post(
            f"{srv.url}/api/v1/verify", data=many.read_bytes(), headers={"Content-Type": PACKAGE_TYPE}, timeout=120
        )
        took = time.monotonic() - started
        if answer.status_code == 200:  # read, and found not to be what it claims: never PASSED
            assert answer.json()["verdict"] != "PASSED"
        else:
            doc = problem(answer, 422, "unprocessable-package")
            assert "member" in doc["detail"], doc
        assert took < 60, took
        # The server is still there for the next client.
        assert requests.get(f"{srv.url}/openapi.json", timeout=10).status_code == 200
    finally:
        srv.stop()


def test_a_server_killed_mid_deposit_leaves_no_half_written_package(tmp_path: Path) -> None:
    """SIGKILL while a 24 MiB deposit is being written: the client gets an error, no package is left under a
    package's name, and what the registry knows is complete or resumable."""
    home = tmp_path / "home"
    home.mkdir()
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--max-upload", "64", "--resume-interval", "0")
    deposits = home / "service" / "deposits"
    outcome: dict[str, object] = {}

    def client() -> None:
        try:
            outcome["answer"] = post_deposit(srv, token, [("video.bin", os.urandom(24 << 20))])
        except requests.RequestException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=client)
    thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (deposits.exists() and any(deposits.glob(".*.partial"))):
        time.sleep(0.005)
    assert any(deposits.glob(".*.partial")), "the deposit never started writing its package"
    os.kill(srv.proc.pid, signal.SIGKILL)
    srv.proc.wait()
    thread.join(timeout=60)
    answer = outcome.get("answer")
    assert "error" in outcome or (isinstance(answer, requests.Response) and answer.status_code == 201), outcome
    published = list(deposits.glob("*.evp"))
    for package in published:  # a package under its name is whole: it verifies
        done = run_cli(home, "verify", package, "--json")
        assert json.loads(done.stdout)["verdict"] == "PASSED", done.stdout[-1000:]
    rows = json.loads(run_cli(home, "cases", "--json").stdout)
    listed = rows["deposits"] if isinstance(rows, dict) else rows
    for row in listed:
        assert row["status"] in ("complete", "pending"), row
    # A restarted server finishes what the registry knows; nothing is left half-done after it.
    again = start_server(home, "--resume-interval", "0.5")
    try:
        time.sleep(3)
    finally:
        again.stop()
    assert run_cli(home, "log", "--verify").returncode == 0
    for package in deposits.glob("*.evp"):
        done = run_cli(home, "verify", package, "--json")
        assert json.loads(done.stdout)["verdict"] == "PASSED"
