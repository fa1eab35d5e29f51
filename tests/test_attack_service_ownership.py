"""Attacks by one depositor on another's deposits, and by anyone on the question which deposits exist.

A depositor tries to read another's deposit (every spelling of its id, every sub-resource), to overwrite it
(every method), to appear as another user in the custody log (form fields, headers, concurrency); an
anonymous client or a wrong token tries to tell "not yours" from "does not exist" by status, message or
time, or to find deposits by digest. Two worker processes on one SQLite registry.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from service_server import Server, run_cli, start_server

MISSING = "EVD-20260101-0BADF00D"


def _token(home: Path, name: str, role: str) -> str:
    done = run_cli(home, "users", "add", name, "--role", role, "--json")
    assert done.returncode == 0, done.stderr
    token: str = json.loads(done.stdout)["token"]
    return token


def _auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str], str]]:
    """Two depositors and an auditor; one deposit of 张律师's (its id returned)."""
    home = tmp_path_factory.mktemp("owners") / "home"
    home.mkdir()
    tokens = {n: _token(home, n, r) for n, r in (("张律师", "depositor"), ("李律师", "depositor"), ("审计", "auditor"))}
    srv = start_server(home, "--workers", "2", "--verify-rate", "0", "--resume-interval", "0")
    answer = _deposit(srv, tokens["张律师"], b"zhang's privileged memo\n", case="（2026）民初1号")
    assert answer.status_code == 201, answer.text
    yield srv, tokens, answer.json()["deposit_id"]
    srv.stop()


def _deposit(
    srv: Server, token: str, content: bytes, headers: dict[str, Any] | None = None, **fields: str
) -> requests.Response:
    return requests.post(
        f"{srv.url}/api/v1/deposits",
        headers={**_auth(token), **(headers or {})},
        data=fields,
        files=[("files", ("memo.txt", content))],
        timeout=120,
    )


def _custody(home: Path) -> list[dict[str, Any]]:
    done = run_cli(home, "log", "--json")
    assert done.returncode == 0, done.stderr
    entries: list[dict[str, Any]] = json.loads(done.stdout)["entries"]
    return entries


def _same_problem(a: requests.Response, b: requests.Response, a_id: str, b_id: str) -> None:
    assert a.status_code == b.status_code, (a.text, b.text)
    assert a.headers["content-type"] == b.headers["content-type"] == "application/problem+json"
    da, db = json.dumps(a.json()), json.dumps(b.json())
    for x, y in ((a_id, b_id), (a_id.lower(), b_id.lower())):
        da, db = da.replace(x, "X"), db.replace(y, "X")
    assert da == db, (da, db)


@pytest.mark.parametrize("tail", ["", "/package", "/certificate.pdf"])
def test_another_depositor_gets_exactly_the_answer_for_a_deposit_that_does_not_exist(
    service: tuple[Server, dict[str, str], str], tail: str
) -> None:
    srv, tokens, theirs = service
    for spell in (str, str.lower, lambda i: i + "%20", lambda i: i + "%00"):
        li = _auth(tokens["李律师"])
        a = requests.get(f"{srv.url}/api/v1/deposits/{spell(theirs)}{tail}", headers=li, timeout=30)
        b = requests.get(f"{srv.url}/api/v1/deposits/{spell(MISSING)}{tail}", headers=li, timeout=30)
        assert a.status_code == 404 and "privileged" not in a.text, a.text
        _same_problem(a, b, theirs, MISSING)
    own = requests.get(f"{srv.url}/api/v1/deposits/{theirs}{tail}", headers=_auth(tokens["张律师"]), timeout=60)
    assert own.status_code == 200


def test_paths_that_climb_out_of_a_deposit_id_reach_nothing(service: tuple[Server, dict[str, str], str]) -> None:
    srv, tokens, theirs = service
    for path in (
        f"/api/v1/deposits/..%2F{theirs}",
        f"/api/v1/deposits/%2E%2E/deposits/{theirs}/package",
        "/api/v1/deposits/..%2F..%2F..%2Fetc%2Fpasswd/package",
        f"/api/v1/deposits/{theirs}' OR '1'='1/package",
    ):
        answer = requests.get(srv.url + path, headers=_auth(tokens["李律师"]), timeout=30)
        assert answer.status_code == 404, (path, answer.status_code, answer.text[:200])
        assert "root:" not in answer.text and not answer.content.startswith(b"PK")


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "POST"])
def test_no_method_overwrites_or_removes_a_deposit(service: tuple[Server, dict[str, str], str], method: str) -> None:
    srv, tokens, theirs = service
    before = requests.get(f"{srv.url}/api/v1/deposits/{theirs}", headers=_auth(tokens["审计"]), timeout=30).json()
    for tail in ("", "/package"):
        answer = requests.request(
            method,
            f"{srv.url}/api/v1/deposits/{theirs}{tail}",
            headers=_auth(tokens["李律师"]),
            files=[("files", ("memo.txt", b"overwritten\n"))],
            timeout=30,
        )
        assert answer.status_code == 405 and answer.json()["type"].endswith("method-not-allowed"), answer.text
    after = requests.get(f"{srv.url}/api/v1/deposits/{theirs}", headers=_auth(tokens["审计"]), timeout=30).json()
    assert after == before


def test_fields_and_headers_cannot_make_a_deposit_appear_as_another_users(
    service: tuple[Server, dict[str, str], str],
) -> None:
    """The ``depositor`` field is the party's name written in the package; the owner and the custody
    log's actor are whoever holds the token, whatever the form or the headers claim."""
    srv, tokens, _ = service
    li = "李律师".encode()
    claims: dict[str, Any] = {"X-Forwarded-User": li, "X-Remote-User": li, "X-User": li, "From": li}
    answer = _deposit(srv, tokens["张律师"], b"claims to be li's\n", headers=claims, depositor="李律师")
    assert answer.status_code == 201, answer.text
    deposit_id = answer.json()["deposit_id"]
    record = requests.get(f"{srv.url}/api/v1/deposits/{deposit_id}", headers=_auth(tokens["审计"]), timeout=30).json()
    assert record["owner"] == "张律师" and record["depositor"] == "李律师"
    assert [e["actor"] for e in _custody(srv.home) if e["deposit_id"] == deposit_id] == ["api:张律师"]
    seen = requests.get(f"{srv.url}/api/v1/deposits/{deposit_id}", headers=_auth(tokens["李律师"]), timeout=30)
    assert seen.status_code == 404


def test_concurrent_deposits_of_two_users_are_each_recorded_under_the_user_who_sent_it(
    service: tuple[Server, dict[str, str], str],
) -> None:
    srv, tokens, _ = service
    users = ["张律师", "李律师"] * 8

    def send(i: int) -> tuple[str, str]:
        answer = _deposit(srv, tokens[users[i]], f"exhibit {i}\n".encode(), case=f"case-{i}")
        assert answer.status_code == 201, answer.text
        return users[i], answer.json()["deposit_id"]

    with ThreadPoolExecutor(8) as pool:
        made = list(pool.map(send, range(len(users))))
    actors = {e["deposit_id"]: e["actor"] for e in _custody(srv.home) if e["event"] == "deposit"}
    for user, deposit_id in made:
        assert actors[deposit_id] == f"api:{user}"
        record = requests.get(f"{srv.url}/api/v1/deposits/{deposit_id}", headers=_auth(tokens[user]), timeout=30)
        assert record.status_code == 200 and record.json()["owner"] == user


def test_without_a_valid_token_an_existing_deposit_and_a_missing_one_answer_alike(
    service: tuple[Server, dict[str, str], str],
) -> None:
    srv, tokens, theirs = service
    for token in (None, "evd_0000000000000000_" + "A" * 43, tokens["张律师"][:-1] + "?"):
        for tail in ("", "/package", "/certificate.pdf"):
            a = requests.get(f"{srv.url}/api/v1/deposits/{theirs}{tail}", headers=_auth(token), timeout=30)
            b = requests.get(f"{srv.url}/api/v1/deposits/{MISSING}{tail}", headers=_auth(token), timeout=30)
            assert a.status_code == 401
            _same_problem(a, b, theirs, MISSING)


def test_not_yours_and_does_not_exist_take_the_same_time(service: tuple[Server, dict[str, str], str]) -> None:
    srv, tokens, theirs = service
    session = requests.Session()
    times: dict[str, list[float]] = {theirs: [], MISSING: []}
    for _ in range(40):
        for deposit_id in (theirs, MISSING):
            started = time.perf_counter()
            answer = session.get(f"{srv.url}/api/v1/deposits/{deposit_id}", headers=_auth(tokens["李律师"]), timeout=30)
            times[deposit_id].append(time.perf_counter() - started)
            assert answer.status_code == 404
    a, b = statistics.median(times[theirs]), statistics.median(times[MISSING])
    assert abs(a - b) < max(0.005, 0.25 * min(a, b)), (a, b)


def test_lookup_by_digest_tells_a_stranger_nothing_and_another_depositor_no_more_than_no_match(
    service: tuple[Server, dict[str, str], str],
) -> None:
    srv, tokens, _ = service
    digest = hashlib.sha256(b"zhang's privileged memo\n").hexdigest()
    anonymous = requests.get(f"{srv.url}/api/v1/lookup", params={"sha256": digest}, timeout=30)
    assert anonymous.status_code == 401
    for algorithm, value in (("sha256", digest), ("sha256", digest.upper()), ("sha256", digest[:32])):
        li = requests.get(
            f"{srv.url}/api/v1/lookup", params={algorithm: value}, headers=_auth(tokens["李律师"]), timeout=30
        )
        assert li.status_code in (200, 422) and li.json().get("deposits", []) == [], li.text
    nothing = requests.get(
        f"{srv.url}/api/v1/lookup", params={"sha256": "0" * 64}, headers=_auth(tokens["李律师"]), timeout=30
    )
    mine = requests.get(
        f"{srv.url}/api/v1/lookup", params={"sha256": digest}, headers=_auth(tokens["李律师"]), timeout=30
    )
    assert mine.json()["deposits"] == nothing.json()["deposits"] == []
    zhang = requests.get(
        f"{srv.url}/api/v1/lookup", params={"sha256": digest}, headers=_auth(tokens["张律师"]), timeout=30
    )
    assert len(zhang.json()["deposits"]) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_new_user_given_a_removed_users_name_does_not_get_that_users_deposits(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    """An admin removes alice and later adds another alice: the new alice gets the answer of a deposit that
    does not exist for each of the old alice's deposits (record, package, certificate, lookup), while the
    auditor and the admin still see them under the name they were made by."""
    home = tmp_path / "home"
    home.mkdir()
    if backend == "postgres":
        postgres = request.getfixturevalue("postgres")
        (home / "config.toml").write_text(f'[registry]\nurl = "{postgres.new_database()}"\n', encoding="utf-8")
    tokens = {n: _token(home, n, r) for n, r in (("alice", "depositor"), ("审计", "auditor"), ("admin", "admin"))}
    srv = start_server(home, "--verify-rate", "0", "--resume-interval", "0")
    try:
        memo = b"the first alice's privileged memo\n"
        old = _deposit(srv, tokens["alice"], memo)
        assert old.status_code == 201, old.text
        old_id = old.json()["deposit_id"]
        assert run_cli(home, "users", "remove", "alice").returncode == 0
        new_alice = _token(home, "alice", "depositor")
        digest = hashlib.sha256(memo).hexdigest()
        for tail in ("", "/package", "/certificate.pdf"):
            theirs = requests.get(f"{srv.url}/api/v1/deposits/{old_id}{tail}", headers=_auth(new_alice), timeout=60)
            missing = requests.get(f"{srv.url}/api/v1/deposits/{MISSING}{tail}", headers=_auth(new_alice), timeout=60)
            assert theirs.status_code == 404, theirs.text
            _same_problem(theirs, missing, old_id, MISSING)
        found = requests.get(
            f"{srv.url}/api/v1/lookup", params={"sha256": digest}, headers=_auth(new_alice), timeout=30
        )
        assert found.status_code == 200 and found.json()["deposits"] == []
        mine = _deposit(srv, new_alice, b"the second alice's own memo\n")
        assert mine.status_code == 201, mine.text
        own = requests.get(srv.url + mine.headers["location"], headers=_auth(new_alice), timeout=30)
        assert own.status_code == 200 and own.json()["owner"] == "alice"
        for reader in ("审计", "admin"):
            record = requests.get(f"{srv.url}/api/v1/deposits/{old_id}", headers=_auth(tokens[reader]), timeout=30)
            assert record.status_code == 200 and record.json()["owner"] == "alice", record.text
            seen = requests.get(
                f"{srv.url}/api/v1/lookup", params={"sha256": digest}, headers=_auth(tokens[reader]), timeout=30
            )
            assert [d["deposit_id"] for d in seen.json()["deposits"]] == [old_id]
    finally:
        srv.stop()
