"""The resume loop's log: one line when a pending deposit's retry first fails, one when the failure changes,
one when it completes; not a line every pass of the loop."""

from __future__ import annotations

import logging
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from service_server import _env, start_server
from test_service_deposits import bearer, post_deposit, token_of

from evidencectl.service.resumer import Outcomes


def test_each_change_of_a_pending_deposits_outcome_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    outcomes = Outcomes()
    with caplog.at_level(logging.WARNING, logger="evidencectl.service"):
        for _ in range(5):
            outcomes.failed("EVD-1", "still pending (tsa http://tsa.example/: connection refused)")
        outcomes.failed("EVD-2", "still pending (anchor local: the ledger is locked)")
        outcomes.failed("EVD-1", "its staging file is gone")  # a different failure: said
        outcomes.failed("EVD-1", "its staging file is gone")
        outcomes.completed("EVD-2")
        outcomes.completed("EVD-2")
        outcomes.completed("EVD-3")  # never failed: nothing to say
    assert [r.getMessage() for r in caplog.records] == [
        "resuming EVD-1 failed: still pending (tsa http://tsa.example/: connection refused)",
        "resuming EVD-2 failed: still pending (anchor local: the ledger is locked)",
        "resuming EVD-1 failed: its staging file is gone",
        "resuming EVD-2 succeeded: the deposit is complete",
    ]


def test_a_server_retrying_a_deposit_while_its_tsa_is_down_logs_it_once_and_its_recovery_once(
    tmp_path: Path,
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home, tsa_home = tmp_path / "server", tmp_path / "tsa"
    home.mkdir()
    (home / "config.toml").write_text(f'[service]\ntsa = ["http://127.0.0.1:{port}/"]\n', encoding="utf-8")
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--resume-interval", "0.2")
    tsa = None
    try:
        answer = post_deposit(srv, token, [("late.txt", b"deposited while the TSA was down\n")])
        assert answer.status_code == 202, answer.text
        url = f"{srv.url}/api/v1/deposits/{answer.json()['deposit_id']}"
        assert srv.proc.stderr is not None
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(srv.proc.stderr or []), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any("failed: still pending" in line for line in lines):
            time.sleep(0.1)
        time.sleep(3)  # some fifteen more passes of the loop while the TSA is still down
        tsa = subprocess.Popen(
            [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
            env=_env(tsa_home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline, status = time.monotonic() + 60, "pending"
        while time.monotonic() < deadline and status != "complete":
            time.sleep(0.3)
            status = requests.get(url, headers=bearer(token), timeout=30).json()["status"]
        assert status == "complete"
        time.sleep(1)  # passes of the loop with nothing left to resume
    finally:
        srv.stop()
        if tsa is not None:
            tsa.terminate()
            tsa.wait(timeout=20)
    reader.join(timeout=30)
    log = "".join(lines)
    deposit_id = answer.json()["deposit_id"]
    failed = re.findall(rf"resuming {deposit_id} failed: still pending \(tsa http://127\.0\.0\.1:{port}/: [^\n]+", log)
    assert len(failed) == 1, log
    assert log.count(f"resuming {deposit_id} succeeded") == 1, log
