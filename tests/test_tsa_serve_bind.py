"""``tsa serve`` on an address it cannot have: one line naming it and exit 2, never "serving" first."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _serve(port: int, home: Path, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "evidencectl", *extra, "tsa", "serve", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


@pytest.mark.parametrize(("lang", "words"), [("en", "cannot listen on 127.0.0.1:"), ("zh", "无法在 127.0.0.1:")])
def test_a_port_in_use_is_one_line_and_exit_2_without_serving(tmp_path: Path, lang: str, words: str) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        proc = _serve(port, tmp_path / "home", "--lang", lang)
        out, err = proc.communicate(timeout=60)
    finally:
        taken.close()
    assert proc.returncode == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and str(port) in lines[0], err
    assert "serving" not in err and "Traceback" not in err


def test_serving_is_said_once_the_port_is_bound(tmp_path: Path) -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    proc = _serve(port, tmp_path / "home")
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"serving on http://127.0.0.1:{port}/" in line
        with socket.create_connection(("127.0.0.1", port), timeout=5):  # bound before it said so
            pass
    finally:
        proc.terminate()
        proc.wait(timeout=30)
