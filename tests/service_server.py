"""``evidencectl serve`` as a real process on a free loopback port, for the service tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "EVIDENCECTL_HOME": str(home)}


def run_cli(home: Path, *args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``evidencectl ARGS`` in a process of its own with data directory ``home``."""
    command = [sys.executable, "-m", "evidencectl", *map(str, args)]
    return subprocess.run(command, env=_env(home), cwd=cwd, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running ``evidencectl serve``."""

    proc: subprocess.Popen[str]
    url: str
    home: Path

    def stop(self) -> None:
        """Stop it (SIGTERM: uvicorn's graceful shutdown) and wait."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(home: Path, *options: str) -> Server:
    """Start ``evidencectl serve`` on a free loopback port and wait until it accepts connections."""
    port = _free_port()
    command = [sys.executable, "-m", "evidencectl", "serve", "--port", str(port), *options]
    proc = subprocess.Popen(command, env=_env(home), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "server exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Server(proc, f"http://127.0.0.1:{port}", home)
        except OSError:
            time.sleep(0.05)
    proc.kill()
    pytest.fail("evidencectl serve did not start listening")
