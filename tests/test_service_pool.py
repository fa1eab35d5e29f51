"""The service's PostgreSQL connections: a bounded pool per server process, counted by PostgreSQL itself
(``pg_stat_activity``) while concurrent clients deposit and verify; an exhausted pool is a 503, never a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests
from postgres_server import PostgresServer
from service_server import Server, start_server
from test_service_deposits import bearer, post_deposit, problem, token_of

PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"


def _home(folder: Path, url: str, registry: str) -> Path:
    home = folder / "home"
    home.mkdir()
    (home / "config.toml").write_text(f'[registry]\nurl = "{url}"\n{registry}', encoding="utf-8")
    return home


class Connections:
    """Samples how many sessions a database has, every 10 ms, from a connection to another database."""

    def __init__(self, postgres: PostgresServer, url: str) -> None:
        self.dbname = url.rsplit("/", 1)[1]
        self.conn = psycopg.connect(postgres.url(), autocommit=True)
        self.peak = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> int:
        row = self.conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [self.dbname]).fetchone()
        assert row is not None
        return int(row[0])

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.now())
            self.samples += 1
            time.sleep(0.01)

    def __enter__(self) -> Connections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.conn.close()


def test_concurrent_deposits_and_verifications_stay_within_the_pool_of_each_server_process(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    """16 clients at once on 2 worker processes with ``[registry] pool = 3``: never more than 2 x 3 sessions
    (before, each process kept one per worker thread it had used plus one per deposit in progress)."""
    url = postgres.new_database()
    home = _home(tmp_path, url, "pool = 3\n")
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--workers", "2", "--verify-rate", "0", "--resume-interval", "0")
    try:
        first = post_deposit(srv, token, [("seed.txt", b"seed\n")])
        assert first.status_code == 201, first.text
        package = requests.get(srv.url + first.json()["package_url"], headers=bearer(token), timeout=60).content

        def client(n: int) -> list[tuple[str, int, str]]:
            done = []
            for k in range(2):
                answer = post_deposit(srv, token, [(f"c{n}-{k}.txt", f"client {n} deposit {k}\n".encode())])
                done.append(("deposit", answer.status_code, answer.json().get("status", answer.text)))
                checked = requests.post(
                    f"{srv.url}/api/v1/verify", data=package, headers={"Content-Type": PACKAGE_TYPE}, timeout=120
                )
                done.append(("verify", checked.status_code, checked.json().get("verdict", checked.text)))
            return done

        with Connections(postgres, url) as sessions, ThreadPoolExecutor(16) as pool:
            answers = [a for batch in pool.map(client, range(16)) for a in batch]
        assert sorted(set(answers)) == [("deposit", 201, "complete"), ("verify", 200, "PASSED")], answers
        assert len(answers) == 64 and sessions.samples > 10
        assert 1 <= sessions.peak <= 2 * 3, f"{sessions.peak} sessions at the peak for a pool of 3 in 2 processes"
    finally:
        srv.stop()


@pytest.fixture
def one_connection(postgres: PostgresServer, tmp_path: Path) -> Iterator[tuple[Server, str, str]]:
    """A server whose pool is one connection, waited for at most 1 s."""
    url = postgres.new_database()
    home = _home(tmp_path, url, "pool = 1\npool_timeout = 1\n")
    token = token_of(home, "张律师", "depositor")
    srv = start_server(home, "--verify-rate", "0", "--resume-interval", "0")
    yield srv, token, url
    srv.stop()


def test_a_pool_that_stays_exhausted_is_a_503_and_the_deposit_holding_it_completes(
    one_connection: tuple[Server, str, str],
) -> None:
    """The custody log's lock held from outside: a deposit waits for it on the process's one connection;
    meanwhile every request needing the registry is a 503 problem after the pool timeout, never a 500."""
    from evidencectl.registry.postgres import _CUSTODY_LOCK

    srv, token, url = one_connection
    holder = psycopg.connect(url, autocommit=True)
    holder.execute("SELECT pg_advisory_lock(%s)", [_CUSTODY_LOCK])
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(post_deposit, srv, token, [("held.txt", b"held\n")])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until the deposit waits on the lock, holding the connection
            row = holder.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND wait_event = 'advisory'"
            ).fetchone()
            if row and row[0]:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the deposit never reached the custody lock")
        started = time.monotonic()
        record = requests.get(f"{srv.url}/api/v1/deposits/EVD-X", headers=bearer(token), timeout=30)
        doc = problem(record, 503, "service-unavailable")
        assert "[registry] pool" in doc["detail"] and 0.9 <= time.monotonic() - started < 10
        found = requests.get(f"{srv.url}/api/v1/lookup", params={"sm3": "0" * 64}, headers=bearer(token), timeout=30)
        problem(found, 503, "service-unavailable")
        holder.execute("SELECT pg_advisory_unlock(%s)", [_CUSTODY_LOCK])
        answer = waiting.result(timeout=60)
    holder.close()
    assert answer.status_code == 201 and answer.json()["status"] == "complete", answer.text
    again = requests.get(srv.url + answer.headers["location"], headers=bearer(token), timeout=30)
    assert again.status_code == 200 and again.json()["status"] == "complete"
