"""Deposits timestamped by a TSA over real HTTP (another machine's embedded TSA), named in config.toml."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from test_timestamp_http import start

from evidencectl.context import Context
from evidencectl.timestamp.authority import EmbeddedTSA
from evidencectl.timestamp.server import make_app


def test_configured_tsa_with_basic_auth_and_trust_file(
    cli,
    sample_dir: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
    evidencectl_home: Path,
    monkeypatch: Any,
) -> None:
    remote = EmbeddedTSA.open(Context(tmp_path / "remote-tsa-machine"))
    inner = make_app(remote)
    seen: list[str] = []

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        seen.append(environ.get("HTTP_AUTHORIZATION", ""))
        return inner(environ, start_response)

    url, server = start(app)
    try:
        chain = tmp_path / "office-tsa-chain.pem"
        chain.write_bytes(remote.chain_pem())
        evidencectl_home.mkdir(parents=True, exist_ok=True)
        (evidencectl_home / "config.toml").write_text(
            f'[tsa.office]\nurl = "{url}"\nusername = "clerk"\npassword_env = "OFFICE_TSA_PASS"\n'
            f'trust = "{chain}"\ntimeout = 5\n',
            encoding="utf-8",
        )
        monkeypatch.setenv("OFFICE_TSA_PASS", "s3cret")
        out = tmp_path / "p.evp"
        res = cli("deposit", sample_dir, "-o", out, "--tsa", "office", "--tsa", "local", "--json")
        assert res.code == 0, res.err
        assert sorted(json.loads(res.out)["timestamps"]) == [
            "proofs/timestamps/local.sha256.tsr",
            "proofs/timestamps/local.sm3.tsr",
            "proofs/timestamps/office.sha256.tsr",
            "proofs/timestamps/office.sm3.tsr",
        ]
        assert seen and all(h == "Basic " + base64.b64encode(b"clerk:s3cret").decode() for h in seen)
        res = cli("verify", out, "--json")
        assert res.code == 0, res.out
        checks = {c["check"]: c for c in json.loads(res.out)["checks"]}
        assert checks["timestamp:office.sm3"]["status"] == "PASSED"

        # Without the configured trust file the remote TSA is not trusted: INDETERMINATE, not PASSED.
        (evidencectl_home / "config.toml").write_text(f'[tsa.office]\nurl = "{url}"\n', encoding="utf-8")
        assert cli("verify", out).code == 3
        assert cli("verify", out, "--trust", f"tsa:{chain}").code == 0
    finally:
        server.close()


def _serve_on(port: int, app: Any) -> Any:
    import threading

    import waitress

    server = waitress.create_server(app, host="127.0.0.1", port=port)
    threading.Thread(target=server.run, daemon=True).start()
    return server


def test_quorum_not_met_keeps_the_deposit_pending_and_resume_finishes(
    cli,
    sample_dir: Path,  # type: ignore[no-untyped-def]
    tmp_path: Path,
) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/"
    remote = EmbeddedTSA.open(Context(tmp_path / "remote"))
    chain = tmp_path / "remote-chain.pem"
    chain.write_bytes(remote.chain_pem())
    out = tmp_path / "q.evp"
    # The remote TSA is down during the deposit: quorum 2 of 2 is not met.
    res = cli("deposit", sample_dir, "-o", out, "--tsa", "local", "--tsa", url, "--tsa-quorum", "2", "--json")
    assert res.code == 5, res.err
    assert "pending" in res.err and json.loads(res.out)["status"] == "pending"  # the result, as data
    assert not out.exists()
    assert [c["status"] for c in json.loads(cli("cases", "--json").out)["deposits"]] == ["pending"]
    assert cli("deposit", "--resume").code == 5  # still down: still pending, nothing lost
    assert not out.exists()
    server = _serve_on(port, make_app(remote))
    try:
        res = cli("deposit", "--resume", "--json")
        assert res.code == 0, res.err
        (done,) = json.loads(res.out)["resumed"]
        assert done["status"] == "complete" and done["package"] == str(out)
    finally:
        server.close()
    res = cli("verify", out, "--trust", f"tsa:{chain}", "--json")
    assert res.code == 0, res.out
    names = [c["check"] for c in json.loads(res.out)["checks"]]
    assert "timestamp:127.0.0.1.sha256" in names and "timestamp:local.sha256" in names
    assert [c["status"] for c in json.loads(cli("cases", "--json").out)["deposits"]] == ["complete"]
    assert cli("log", "--verify").code == 0
    # Quorum 1: the local TSA alone completes the deposit; the failed one is reported, not retried.
    res = cli("deposit", sample_dir, "-o", tmp_path / "q1.evp", "--tsa", "local", "--tsa", url, "--json")
    assert res.code == 0 and json.loads(res.out)["pending"] == []
    assert "quorum was met without it" in json.loads(res.out)["warnings"][0]
