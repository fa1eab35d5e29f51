"""Attacks on the service's resources by an anonymous client or a depositor: a slow trickle, one endless part
header, thousands of tiny parts, a ZIP whose central directory declares a million members.

Against a real ``evidencectl serve`` with small limits (2 MiB, 1 s stall, 4 s a whole upload), over raw
sockets where a client library would not send what an attacker sends.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from service_server import Server, run_cli, start_server

UPLOAD_TIMEOUT = 4.0


def _token(home: Path, name: str) -> str:
    done = run_cli(home, "users", "add", name, "--role", "depositor", "--json")
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    """A server with a 2 MiB upload limit, a 1 s stall limit and 4 s for a whole upload; one depositor."""
    home = tmp_path_factory.mktemp("exhaust") / "home"
    home.mkdir()
    token = _token(home, "张律师")
    srv = start_server(
        home,
        "--max-upload", "2", "--upload-idle-timeout", "1", "--upload-timeout", str(UPLOAD_TIMEOUT),
        "--verify-rate", "0", "--resume-interval", "0",
    )  # fmt: skip
    yield srv, token
    srv.stop()


def _address(srv: Server) -> tuple[str, int]:
    host, port = srv.url.removeprefix("http://").split(":")
    return host, int(port)


def _trickle(srv: Server, head: str, byte: bytes, every: float, give_up: float) -> tuple[bytes, float]:
    """Send ``head``, then ``byte`` every ``every`` seconds until the server answers or ``give_up`` passes;
    returns the answer's first bytes and how long the server took."""
    started = time.monotonic()
    with socket.create_connection(_address(srv), timeout=0.2) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.sendall(head.encode())
        while time.monotonic() - started < give_up:
            try:
                answer = s.recv(300)
                return answer, time.monotonic() - started
            except TimeoutError:
                pass
            try:
                s.sendall(byte)
            except OSError:  # the server closed the connection: read what it said
                s.settimeout(2)
                return s.recv(300), time.monotonic() - started
            time.sleep(every)
    return b"", time.monotonic() - started


def test_a_trickle_to_verify_is_cut_off_at_the_whole_upload_timeout(service: tuple[Server, str]) -> None:
    """A byte every 0.3 s never trips the 1 s stall limit; the whole-upload limit must still end it."""
    srv, _ = service
    head = "POST /api/v1/verify HTTP/1.1\r\nHost: x\r\nContent-Type: application/zip\r\nContent-Length: 1000000\r\n\r\n"
    answer, took = _trickle(srv, head, b"P", 0.3, give_up=UPLOAD_TIMEOUT + 8)
    assert answer.startswith(b"HTTP/1.1 408"), (answer, took)
    assert took < UPLOAD_TIMEOUT + 4
    assert list((srv.home / "service" / "uploads").iterdir()) == []


def test_a_trickle_to_deposits_is_cut_off_at_the_whole_upload_timeout(service: tuple[Server, str]) -> None:
    srv, token = service
    head = (
        f"POST /api/v1/deposits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
        "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n"
        '--b\r\nContent-Disposition: form-data; name="files"; filename="slow.txt"\r\n\r\n'
    )
    answer, took = _trickle(srv, head, b"x", 0.3, give_up=UPLOAD_TIMEOUT + 8)
    assert answer.startswith(b"HTTP/1.1 408"), (answer, took)
    assert took < UPLOAD_TIMEOUT + 4


def _raw_post(srv: Server, path: str, headers: dict[str, str], body: bytes, timeout: float = 60) -> requests.Response:
    return requests.post(srv.url + path, data=body, headers=headers, timeout=timeout)


def test_one_endless_part_header_is_refused_and_the_server_keeps_answering_others(
    service: tuple[Server, str],
) -> None:
    """A part header of almost 2 MiB in 1 KiB pieces: it must neither be kept whole in memory (copied
    again with every piece) nor hold up the server's other clients."""
    srv, token = service
    stop = threading.Event()
    slowest = [0.0]

    def others() -> None:
        while not stop.is_set():
            started = time.monotonic()
            requests.get(srv.url + "/openapi.json", timeout=30)
            slowest[0] = max(slowest[0], time.monotonic() - started)
            time.sleep(0.05)

    watcher = threading.Thread(target=others)
    watcher.start()
    try:
        head = (
            f"POST /api/v1/deposits HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 2000000\r\n\r\n"
            '--b\r\nContent-Disposition: form-data; name="files"; filename="'
        )
        with socket.create_connection(_address(srv), timeout=30) as s:
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.sendall(head.encode())
            answer = b""
            try:
                for _ in range(1900):
                    s.sendall(b"A" * 1024)
            except OSError:
                pass  # the server stopped reading: it answered
            s.settimeout(10)
            answer = s.recv(300)
    finally:
        stop.set()
        watcher.join()
    assert answer.split(b"\r\n")[0] in (b"HTTP/1.1 422 Unprocessable Entity", b"HTTP/1.1 431 "), answer
    assert slowest[0] < 2.0, slowest


def _form(parts: list[tuple[str, bytes]]) -> bytes:
    body = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="files"; filename="' + n.encode() + b'"\r\n\r\n' + c + b"\r\n"
        for n, c in parts
    )
    return body + b"--b--\r\n"


def test_more_than_a_thousand_tiny_parts_are_refused_quickly_and_nothing_is_left(
    service: tuple[Server, str],
) -> None:
    srv, token = service
    body = _form([(f"f{i}.txt", b"") for i in range(1001)])
    started = time.monotonic()
    answer = _raw_post(
        srv,
        "/api/v1/deposits",
        {"Authorization": f"Bearer {token}", "Content-Type": "multipart/form-data; boundary=b"},
        body,
    )
    assert answer.status_code == 422 and "1000" in answer.json()["detail"], answer.text
    assert time.monotonic() - started < 10
    assert list((srv.home / "service" / "uploads").iterdir()) == []
    published = srv.home / "service" / "deposits"
    assert not published.exists() or not list(published.glob("*.evp"))


def _central_directory_zip(count: int, declared: int) -> bytes:
    """A ZIP of one stored member whose central directory repeats that member ``count`` times and whose end
    record declares ``declared`` entries (a ZIP64 end record when over 65,535)."""
    name = b"m"
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0) + name
    entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0, 0, 0)
    directory = (entry + name) * count
    offset = len(local)
    zip64_end = struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, declared, declared, len(directory), offset)
    locator = struct.pack("<IIQI", 0x07064B50, 0, offset + len(directory), 1)
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return local + directory + zip64_end + locator + end


@pytest.mark.parametrize(
    ("count", "declared"), [(30_000, 1_000_000), (1, 1_000_001), (30_000, 30_000)], ids=["lying", "over", "many"]
)
def test_a_zip_declaring_a_million_members_posted_to_verify_is_a_422_in_seconds(
    service: tuple[Server, str], count: int, declared: int
) -> None:
    srv, _ = service
    started = time.monotonic()
    body = _central_directory_zip(count, declared)
    answer = _raw_post(srv, "/api/v1/verify", {"Content-Type": "application/zip"}, body)
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] == "urn:evidencectl:problem:unprocessable-package"
    assert time.monotonic() - started < 20
    assert requests.get(srv.url + "/openapi.json", timeout=10).status_code == 200
