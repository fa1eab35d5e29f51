"""The other party's review of the service's leftover sweep (``service/leftovers.py``): two servers on one
machine sharing a data directory and registry, each in a PID namespace of its own (two containers with host
networking: the same host name, and each server is process 1 of its namespace). The second's sweep at start
took the first's live upload for a dead process's ("same machine, pid 1 is me, another tag: gone") and
removed its spool folder. Real servers (``evidencectl serve``), ``unshare`` for the namespaces."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from service_server import ROOT, _free_port
from test_service_deposits import bearer, token_of


def _can_unshare() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = ["unshare", "--pid", "--fork", "--mount-proc", "true"]
    return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0


pytestmark = pytest.mark.skipif(not _can_unshare(), reason="unshare --pid (root, util-linux) is needed")


def _serve_in_own_pid_namespace(home: Path) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    command = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc", sys.executable, "-m", "evidencectl"]
    command += ["serve", "--port", str(port), "--upload-idle-timeout", "60", "--resume-interval", "0"]
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "EVIDENCECTL_HOME": str(home)}
    proc = subprocess.Popen(command, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("evidencectl serve did not start listening")


def _slow_body(first: bytes, stop: threading.Event) -> Iterator[bytes]:
    yield first
    while not stop.wait(0.2):
        yield b"x" * 16


def test_a_server_in_another_pid_namespace_does_not_sweep_a_live_upload(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    token = token_of(home, "张律师", "depositor")
    first, url = _serve_in_own_pid_namespace(home)
    uploads = home / "service" / "uploads"
    stop = threading.Event()

    def slow_client() -> None:
        boundary = "b0undary"
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="slow.bin"\r\n\r\n'.encode()
        headers = {**bearer(token), "Content-Type": f"multipart/form-data; boundary={boundary}"}
        with contextlib.suppress(requests.RequestException):  # cut off when the test ends
            requests.post(f"{url}/api/v1/deposits", data=_slow_body(head, stop), headers=headers, timeout=120)

    client = threading.Thread(target=slow_client)
    client.start()
    second = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (uploads.is_dir() and any(uploads.iterdir())):
            time.sleep(0.02)
        (live,) = list(uploads.iterdir())
        assert "-1-" in live.name  # made by process 1 of the first server's namespace
        # A container restarted gets a new PID namespace: its predecessor's leftovers still go, by their age.
        old = uploads / "deposit-0badf00d-1-deadbeef-killed"
        old.mkdir()
        os.utime(old, (time.time() - 2 * 86400, time.time() - 2 * 86400))
        second, _ = _serve_in_own_pid_namespace(home)  # it sweeps before it serves
        time.sleep(1.0)
        assert live.is_dir(), "the second server removed the first one's live upload"
        assert not old.exists()
        assert first.poll() is None
    finally:
        stop.set()
        client.join(timeout=60)
        for proc in (first, second):
            if proc is not None:  # unshare --kill-child: its server goes with it
                proc.kill()
                proc.wait(timeout=20)
