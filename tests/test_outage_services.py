"""Outages: a TSA or chain node that is down, too slow or talking garbage during a deposit.

Each gives exit 5 with one line on stderr, nothing at the output path and a pending deposit in the
registry; once the service is back, ``evidencectl deposit --resume`` completes it and the package verifies.
The services are real: the embedded TSA served by ``evidencectl tsa serve`` and Anvil; slow and garbage
answers come from a small HTTP server here that, when the service "returns", forwards to the real one.
Client timeouts are lowered to one second so that "slower than the timeout" takes seconds, not minutes.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from evidencectl.registry import Registry
from tests.conftest import CliResult

ANVIL = Path(__file__).resolve().parents[1] / "node_modules" / ".bin" / "anvil"
DEV_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"  # Anvil's public test key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        if proc.poll() is not None or time.monotonic() > deadline:
            pytest.fail(f"{what} did not start")
        time.sleep(0.05)


class Flaky:
    """A local HTTP service that is slow, answers garbage, or forwards to the real service."""

    def __init__(self) -> None:
        self.mode = "garbage"
        self.upstream = ""
        self.garbage_type = "application/timestamp-reply"
        self.released = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if outer.mode == "slow":
                    outer.released.wait(5)  # far beyond the client's one-second timeout
                    return
                if outer.mode == "garbage":
                    self._answer(200, outer.garbage_type, b"\x30\x82\xff\xff<html>not what you asked for" * 8)
                    return
                reply = requests.post(
                    outer.upstream, data=body, headers={"Content-Type": self.headers["Content-Type"]}, timeout=30
                )
                self._answer(reply.status_code, reply.headers.get("Content-Type", ""), reply.content)

            def _answer(self, code: int, kind: str, data: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky() -> Iterator[Flaky]:
    service = Flaky()
    yield service
    service.close()


@pytest.fixture
def short_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    """One-second client timeouts and short back-off, so slow services are detected in seconds."""
    from evidencectl.anchor import evm_rpc as evm
    from evidencectl.timestamp.client import HttpTSA

    defaults = dict(HttpTSA.__init__.__kwdefaults__ or {})
    monkeypatch.setattr(HttpTSA.__init__, "__kwdefaults__", {**defaults, "timeout": 1.0, "backoff": 0.05})
    monkeypatch.setattr(evm, "RPC_TIMEOUT_S", 1)


@pytest.fixture
def tsa_server(evidencectl_home: Path, cli: Callable[..., CliResult]) -> Iterator[Callable[[int], None]]:
    """Start ``evidencectl tsa serve --port P`` (same data directory) on demand."""
    assert cli("tsa", "cert").code == 0  # create the TSA keys before two processes race to
    procs: list[subprocess.Popen[bytes]] = []

    def start(port: int) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
            env={**os.environ, "EVIDENCECTL_HOME": str(evidencectl_home)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(proc)
        _wait_port(port, proc, "tsa serve")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


class Node:
    """Anvil on a fixed port whose chain state survives a stop and a restart (``--state``)."""

    def __init__(self, state: Path) -> None:
        self.port, self.state = _free_port(), state
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(ANVIL), "--host", "127.0.0.1", "--port", str(self.port), "--silent", "--state", str(self.state)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_port(self.port, self.proc, "anvil")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # a graceful stop writes the chain state for the restart
            self.proc.wait(timeout=20)


@pytest.fixture
def node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Node]:
    if not ANVIL.exists():
        pytest.skip("node_modules/.bin/anvil is absent: run `npm ci` to install the test Ethereum node")
    monkeypatch.setenv("EVIDENCECTL_EVM_KEY", DEV_KEY)
    n = Node(tmp_path / "anvil-state.json")
    n.start()
    yield n
    n.stop()


def _exhibit(tmp_path: Path) -> Path:
    p = tmp_path / "exhibit.txt"
    p.write_text("contract signed on 2026-11-29\n", encoding="utf-8")
    return p


def assert_pending(res: CliResult, out: Path, home: Path, words: str) -> None:
    """Exit 5, one line naming the problem, nothing at ``out``, one pending deposit in the registry."""
    assert res.code == 5, res.out + res.err
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and "pending" in lines[0] and words in lines[0], res.err
    assert "Traceback" not in res.err
    assert not out.exists()
    registry = Registry.open(home)
    try:
        assert len(registry.deposits("pending")) == 1
    finally:
        registry.close()


def assert_resumed(cli: Callable[..., CliResult], out: Path, *verify_args: str) -> None:
    """``deposit --resume`` completes the deposit; the package verifies; nothing stays pending."""
    res = cli("deposit", "--resume", "--json")
    assert res.code == 0, res.out + res.err
    assert out.exists()
    res = cli("verify", out, *verify_args)
    assert res.code == 0, res.out + res.err
    assert cli("log", "--verify").code == 0
    assert not list(out.parent.glob(f".{out.name}.*.partial"))


def test_tsa_down_then_back(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path, tsa_server: Callable[[int], None]
) -> None:
    port = _free_port()
    out = tmp_path / "down.evp"
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--tsa", f"http://127.0.0.1:{port}")
    assert_pending(res, out, evidencectl_home, "unreachable")
    assert cli("deposit", "--resume").code == 5  # still down: still pending, still nothing published
    assert not out.exists()
    tsa_server(port)
    assert_resumed(cli, out)


@pytest.mark.parametrize("mode, words", [("slow", "unreachable"), ("garbage", "garbage")])
def test_tsa_slow_or_garbage_then_back(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],
    flaky: Flaky,
    short_timeouts: None,
    mode: str,
    words: str,
) -> None:
    out = tmp_path / f"{mode}.evp"
    flaky.mode = mode
    started = time.monotonic()
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--tsa", flaky.url)
    assert time.monotonic() - started < 20  # bounded: three one-second attempts, not a hang
    assert_pending(res, out, evidencectl_home, words)
    port = _free_port()
    tsa_server(port)
    flaky.upstream, flaky.mode = f"http://127.0.0.1:{port}/", "proxy"
    assert_resumed(cli, out)


def test_chain_node_down_then_back(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path, node: Node
) -> None:
    assert cli("chain", "deploy", "--rpc", node.url).code == 0
    node.stop()
    out = tmp_path / "chain-down.evp"
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--anchor", f"evm:{node.url}")
    assert_pending(res, out, evidencectl_home, "does not answer")
    node.start()
    assert_resumed(cli, out, "--online")


@pytest.mark.parametrize("mode, words", [("slow", "does not answer"), ("garbage", "does not answer")])
def test_chain_node_slow_or_garbage_then_back(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    node: Node,
    flaky: Flaky,
    short_timeouts: None,
    mode: str,
    words: str,
) -> None:
    flaky.upstream, flaky.mode, flaky.garbage_type = node.url, "proxy", "application/json"
    assert cli("chain", "deploy", "--rpc", flaky.url).code == 0
    flaky.mode = mode
    out = tmp_path / f"chain-{mode}.evp"
    started = time.monotonic()
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--anchor", f"evm:{flaky.url}")
    assert time.monotonic() - started < 20
    assert_pending(res, out, evidencectl_home, words)
    flaky.mode = "proxy"
    assert_resumed(cli, out, "--online")


def test_a_pending_deposit_is_a_json_result_with_exit_5(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path, tsa_server: Callable[[int], None]
) -> None:
    """``deposit --json`` with its TSA down prints the pending deposit as data (its number, staging file and
    failed service; schemas/deposit-result.schema.json) and exits 5: no script has to parse an error line."""
    from evidencectl.package.schema import validate

    port = _free_port()
    out = tmp_path / "pending.evp"
    tsa = f"http://127.0.0.1:{port}"
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--tsa", tsa, "--json")
    assert res.code == 5, res.out + res.err
    doc = json.loads(res.out)
    assert validate(doc, "deposit-result") is None
    assert doc["status"] == "pending" and doc["deposit_id"].startswith("EVD-")
    assert [(p["kind"], p["spec"]) for p in doc["pending"]] == [("tsa", tsa)]
    assert Path(doc["staging"]).is_file() and doc["package"] == doc["staging"] and not out.exists()
    registry = Registry.open(evidencectl_home)
    try:
        assert [r["deposit_id"] for r in registry.deposits("pending")] == [doc["deposit_id"]]
    finally:
        registry.close()
    res = cli("deposit", "--resume", "--json")  # still down: the same deposit, still pending, as data
    assert res.code == 5
    [again] = json.loads(res.out)["resumed"]
    assert again["deposit_id"] == doc["deposit_id"] and again["status"] == "pending"
    tsa_server(port)
    res = cli("deposit", "--resume", "--json")
    assert res.code == 0, res.err
    [done] = json.loads(res.out)["resumed"]
    assert done["status"] == "complete" and done["staging"] is None and Path(done["package"]) == out.resolve()


def test_resume_refuses_a_staging_file_swapped_for_another_deposit(
    cli: Callable[..., CliResult],
    tmp_path: Path,
    evidencectl_home: Path,
    tsa_server: Callable[[int], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two deposits pending on one TSA; the first's staging file is replaced by the second's. ``deposit
    --resume`` (run from another folder, with relative -o paths given) checks each staging file against the
    roots the registry recorded before timestamping: the second is published, the first is refused and
    stays pending, nothing is published under its name."""
    port = _free_port()
    tsa = f"http://127.0.0.1:{port}"
    monkeypatch.chdir(tmp_path)
    docs = []
    for name in ("first", "second"):
        (tmp_path / f"{name}.txt").write_text(f"{name} exhibit\n")
        res = cli("deposit", f"{name}.txt", "-o", f"{name}.evp", "--tsa", tsa, "--json")
        assert res.code == 5
        docs.append(json.loads(res.out))
    Path(docs[0]["staging"]).write_bytes(Path(docs[1]["staging"]).read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    tsa_server(port)
    res = cli("deposit", "--resume", "--json")
    assert res.code == 5
    assert "was changed" in res.err and docs[0]["deposit_id"] in res.err
    assert (tmp_path / "second.evp").is_file() and not (tmp_path / "first.evp").exists()
    registry = Registry.open(evidencectl_home)
    try:
        assert [r["deposit_id"] for r in registry.deposits("pending")] == [docs[0]["deposit_id"]]
    finally:
        registry.close()
    assert cli("verify", tmp_path / "second.evp").code == 0


def test_a_pending_deposit_whose_staging_file_is_gone_is_said_once_and_recorded_abandoned(
    cli: Callable[..., CliResult], tmp_path: Path, evidencectl_home: Path
) -> None:
    out = tmp_path / "gone.evp"
    res = cli("deposit", _exhibit(tmp_path), "-o", out, "--tsa", f"http://127.0.0.1:{_free_port()}", "--json")
    assert res.code == 5
    doc = json.loads(res.out)
    Path(doc["staging"]).unlink()
    res = cli("deposit", "--resume")
    assert res.code == 5 and "is gone" in res.err and "abandoned" in res.err
    assert cli("deposit", "--resume").code == 0  # nothing left that could never finish
    cases = json.loads(cli("cases", "--json").out)["deposits"]
    assert [(c["deposit_id"], c["status"]) for c in cases] == [(doc["deposit_id"], "abandoned")]
    assert cli("log", "--verify").code == 0
