"""What a server killed with SIGKILL leaves under ``service/`` is removed by the next server that starts, and
nothing that a live worker (here, or on another machine sharing the registry) may still write is touched."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests
from service_server import run_cli, start_server
from test_service_deposits import bearer, post_deposit, token_of

from evidencectl.service import leftovers


def _slow_body(first: bytes, stop: threading.Event) -> Iterator[bytes]:
    # A form whose file part never ends: its spool folder exists until the server dies.
    yield first
    while not stop.wait(0.2):
        yield b"x" * 16


def test_a_server_killed_mid_upload_leaves_nothing_once_another_starts_and_loses_no_deposit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--max-upload", "64", "--upload-idle-timeout", "60", "--resume-interval", "0")
    service = home / "service"
    kept = post_deposit(srv, token, [("kept.txt", b"deposited before the kill\n")])
    assert kept.status_code == 201, kept.text
    kept_package = home / kept.json()["package"]
    stop, outcome = threading.Event(), {}

    def slow_client() -> None:
        boundary = "b0undary"
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="slow.bin"\r\n\r\n').encode()
        try:
            requests.post(
                f"{srv.url}/api/v1/deposits",
                data=_slow_body(head, stop),
                headers={**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"},
                timeout=120,
            )
        except requests.RequestException as exc:
            outcome["slow"] = exc

    def big_client() -> None:
        try:
            outcome["big"] = post_deposit(srv, token, [("video.bin", os.urandom(24 << 20))])
        except requests.RequestException as exc:
            outcome["big"] = exc

    threads = [threading.Thread(target=slow_client), threading.Thread(target=big_client)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        any((service / "deposits").glob(".*.partial")) and len(list((service / "uploads").iterdir())) >= 2
    ):
        time.sleep(0.005)
    killed_partials = set((service / "deposits").glob(".*.partial"))
    killed_spools = set((service / "uploads").iterdir())
    assert killed_partials and len(killed_spools) >= 2, (killed_partials, killed_spools)
    os.kill(srv.proc.pid, signal.SIGKILL)  # and not reaped until the end: a zombie, as under a slow supervisor
    stop.set()
    for thread in threads:
        thread.join(timeout=60)

    # What must survive the sweep: the work of processes that may still be running.
    live_spool = service / "uploads" / f"deposit-{leftovers._host()}-{os.getpid()}-0badcafe-live"
    live_spool.mkdir()
    old_style = service / "uploads" / "deposit-k2j4h5g6"  # named as before: only its age tells
    old_style.mkdir()
    os.utime(old_style, (time.time() - 2 * 86400, time.time() - 2 * 86400))
    recent_old_style = service / "uploads" / "upload-a1b2c3d4"
    recent_old_style.mkdir()
    other_machine = service / "deposits" / ".elsewhere.evp.1234abcd.partial"  # claimed by a worker elsewhere
    other_machine.write_bytes(b"being written on another machine")
    fresh = service / "deposits" / ".fresh.evp.5678abcd.partial"  # no claim, but touched just now
    fresh.write_bytes(b"a deposit of a release without claims")
    stale = service / "deposits" / ".stale.evp.9abcdef0.partial"  # no claim, untouched for two hours
    stale.write_bytes(b"left long ago")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    db = sqlite3.connect(home / "registry.sqlite", isolation_level=None)
    db.execute(
        "INSERT INTO claims VALUES (?,?,?)", ("package:elsewhere.evp", "0f0f0f0f:4242:aaaaaaaa", time.time() + 600)
    )

    again = start_server(home, "--resume-interval", "0.5")  # the sweep runs before it serves
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            left = (killed_partials | killed_spools | {stale, old_style}) & set(
                [*(service / "deposits").iterdir(), *(service / "uploads").iterdir()]
            )
            rows = json.loads(run_cli(home, "cases", "--json").stdout)
            pending = [r for r in (rows["deposits"] if isinstance(rows, dict) else rows) if r["status"] == "pending"]
            if not left and not pending:
                break
            time.sleep(0.5)
        assert not left and not pending, (left, pending)
        assert live_spool.is_dir() and recent_old_style.is_dir() and other_machine.is_file() and fresh.is_file()
        claims = [r[0] for r in db.execute("SELECT deposit_id FROM claims").fetchall()]
        assert claims == ["package:elsewhere.evp"], claims  # the killed worker's claim went with its file
        # Nothing deposited is lost: the deposit of before the kill is whole, and so is every package.
        record = requests.get(
            f"{again.url}/api/v1/deposits/{kept.json()['deposit_id']}", headers=bearer(token), timeout=30
        )
        assert record.status_code == 200 and record.json()["status"] == "complete"
        for package in {kept_package, *(service / "deposits").glob("*.evp")}:
            done = run_cli(home, "verify", package, "--json")
            assert json.loads(done.stdout)["verdict"] == "PASSED", done.stdout[-1000:]
        assert run_cli(home, "log", "--verify").returncode == 0
    finally:
        again.stop()
        db.close()
        srv.proc.wait()
