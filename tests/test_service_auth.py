"""Bearer tokens and roles at the service, through ``GET /api/v1/lookup``, on SQLite and on PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from postgres_server import PostgresServer
from service_server import ROOT, Server, run_cli, start_server

CONTRACT = ROOT / "examples" / "evidence" / "contract.txt"


def _home_with_deposit(folder: Path, registry_url: str | None) -> Path:
    home = folder / "home"
    home.mkdir(parents=True)
    if registry_url:
        (home / "config.toml").write_text(f'[registry]\nurl = "{registry_url}"\n', encoding="utf-8")
    shutil.copy(CONTRACT, folder / "contract.txt")
    done = run_cli(home, "deposit", folder / "contract.txt", "-o", folder / "case.evp", "--case", "（2026）民初1号")
    assert done.returncode == 0, done.stderr
    return home


def _token(home: Path, name: str, role: str) -> str:
    done = run_cli(home, "users", "add", name, "--role", role, "--json")
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, dict[str, str]]]:
    """A service with one deposit and a user of each role, with two workers on PostgreSQL."""
    url = None
    if request.param == "postgres":
        postgres: PostgresServer = request.getfixturevalue("postgres")
        url = postgres.new_database()
    home = _home_with_deposit(tmp_path_factory.mktemp(f"auth-{request.param}"), url)
    tokens = {role: _token(home, f"{role}-用户", role) for role in ("depositor", "auditor", "admin")}
    srv = start_server(home, "--workers", "2" if url else "1")
    yield srv, tokens
    srv.stop()


def _lookup(srv: Server, token: str | None, **query: str) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.get(f"{srv.url}/api/v1/lookup", params=query, headers=headers, timeout=30)


def _problem(answer: requests.Response, status: int, name: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = answer.json()
    assert doc["type"] == f"urn:evidencectl:problem:{name}"
    return doc


SHA256 = hashlib.sha256(CONTRACT.read_bytes()).hexdigest()
SM3 = hashlib.new("sm3", CONTRACT.read_bytes()).hexdigest()


def test_an_auditor_finds_the_deposit_holding_a_file_by_either_digest(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    for query in ({"sha256": SHA256}, {"sm3": SM3.upper()}):
        answer = _lookup(srv, tokens["auditor"], **query)
        assert answer.status_code == 200, answer.text
        [deposit] = answer.json()["deposits"]
        assert deposit["case_no"] == "（2026）民初1号" and deposit["status"] == "complete"
        assert [(i["name"], i["sha256"]) for i in deposit["items"]] == [("contract.txt", SHA256)]
    assert _lookup(srv, tokens["admin"], sha256="0" * 64).json()["deposits"] == []


def test_no_token_or_a_wrong_one_is_401_with_a_bearer_challenge(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    forged = tokens["auditor"][:-2] + ("AA" if not tokens["auditor"].endswith("AA") else "BB")
    for token in (None, "", forged, "evd_0000000000000000_" + "A" * 43):
        answer = _lookup(srv, token, sha256=SHA256)
        _problem(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"].startswith("Bearer")
    basic = requests.get(
        f"{srv.url}/api/v1/lookup", params={"sha256": SHA256}, auth=("auditor", tokens["auditor"]), timeout=30
    )
    _problem(basic, 401, "unauthorized")  # the token under another scheme is not accepted


def test_a_depositor_does_not_find_deposits_that_are_not_theirs(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    answer = _lookup(srv, tokens["depositor"], sha256=SHA256)  # the deposit was made at the CLI: no one's
    assert answer.status_code == 200 and answer.json()["deposits"] == [], answer.text


def test_a_removed_users_token_stops_working_at_once(service: tuple[Server, dict[str, str]]) -> None:
    srv, _ = service
    token = _token(srv.home, "临时审计", "auditor")
    assert _lookup(srv, token, sha256=SHA256).status_code == 200
    assert run_cli(srv.home, "users", "remove", "临时审计").returncode == 0
    for _ in range(4):  # whichever worker and thread answers: none caches the user
        _problem(_lookup(srv, token, sha256=SHA256), 401, "unauthorized")


def test_a_malformed_lookup_is_422(service: tuple[Server, dict[str, str]]) -> None:
    srv, tokens = service
    _problem(_lookup(srv, tokens["auditor"]), 422, "invalid-request")
    _problem(_lookup(srv, tokens["auditor"], sha256=SHA256, sm3=SM3), 422, "invalid-request")
    _problem(_lookup(srv, tokens["auditor"], sha256="' OR ''='"), 422, "invalid-request")


def test_the_service_goes_on_when_postgresql_restarts(postgres: PostgresServer, tmp_path: Path) -> None:
    """Two workers, their threads' connections all cut by a restart: every later request is answered."""
    home = _home_with_deposit(tmp_path, postgres.new_database())
    token = _token(home, "审计", "auditor")
    srv = start_server(home, "--workers", "2")
    try:
        assert all(_lookup(srv, token, sha256=SHA256).status_code == 200 for _ in range(8))
        postgres.restart()
        answers = [_lookup(srv, token, sha256=SHA256) for _ in range(12)]
        assert [a.status_code for a in answers] == [200] * 12, [a.text for a in answers if a.status_code != 200]
    finally:
        srv.stop()
