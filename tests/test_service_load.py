"""Load and faults on loopback: several ``evidencectl serve`` processes on one PostgreSQL registry, many
concurrent clients, every answer checked against what was sent; PostgreSQL restarted and a server killed
in the middle of a run.

The normal suite runs the small load (2 servers, 10 clients, 50 deposits, 50 verifications; 30–40 s here,
bounded at 120 s);
the full one (4 servers, 50 clients, 1,000 deposits, 1,000 verifications) is marked slow:
``python3 -m pytest tests/test_service_load.py -m slow -p no:cacheprovider``.
"""

from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from postgres_server import PostgresServer
from service_load import (
    FULL,
    SMALL,
    Deposited,
    Load,
    check_file,
    client,
    deposit_many,
    deposit_over_api,
    depositor_token,
    file_answer_problem,
    home_on_postgres,
    page_problem,
    registry_problems,
    start_servers,
    verify_package,
)
from service_server import Server, start_server

from evidencectl.registry import Registry


@pytest.mark.parametrize(
    "load", [pytest.param(SMALL, id="small"), pytest.param(FULL, id="full", marks=pytest.mark.slow)]
)
def test_concurrent_clients_on_several_servers_get_each_their_own_right_answer(
    load: Load, postgres: PostgresServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    home = home_on_postgres(tmp_path, postgres.new_database())
    servers = start_servers(home, load.servers)
    token = depositor_token(home)
    local = threading.local()

    def session() -> requests.Session:
        local.session = getattr(local, "session", None) or client()
        return local.session  # type: ignore[no-any-return]

    def deposit(n: int) -> tuple[Deposited | None, str | None]:
        # Each client deposits one small file on the next server in turn, then fetches the package.
        return deposit_over_api(session(), servers[n % len(servers)], token, tmp_path, n)

    try:
        with ThreadPoolExecutor(load.clients) as pool:
            results = list(pool.map(deposit, range(load.deposits)))
    except BaseException:
        for server in servers:
            server.stop()
        raise
    assert [why for _, why in results if why] == []
    made = [d for d, _ in results if d is not None]
    assert len({d.deposit_id for d in made}) == load.deposits  # no number given twice
    deposited = time.monotonic()

    def one(i: int) -> list[str]:
        # Then each verifies a package and checks a file of another deposit, on the next server in turn.
        server, http = servers[i % len(servers)], session()
        d, e = made[i % len(made)], made[(i * 7 + 3) % len(made)]
        wrong = [verify_package(http, server, d), file_answer_problem(check_file(http, server, e), e)]
        if i % 5 == 0:  # and now and then a judge opens a page
            wrong.append(page_problem(http, server, made[(i * 3) % len(made)]))
        return [w for w in wrong if w]

    try:
        with ThreadPoolExecutor(load.clients) as pool:
            wrong = [w for ws in pool.map(one, range(load.verifications)) for w in ws]
    finally:
        for server in servers:
            server.stop()
    done = time.monotonic()
    assert wrong == []
    assert registry_problems(home, made) == []
    assert time.monotonic() - started < load.seconds
    print(f"{load}: deposits {deposited - started:.1f} s, requests {done - deposited:.1f} s")  # shown with -s


@pytest.fixture
def on_postgres(postgres: PostgresServer, tmp_path: Path) -> tuple[Path, list[Deposited]]:
    """A data directory on a fresh PostgreSQL database, with a few deposits."""
    home = home_on_postgres(tmp_path, postgres.new_database())
    return home, deposit_many(home, tmp_path, 4, processes=1)


def test_postgresql_restarted_mid_run_the_server_recovers_without_a_restart_of_its_own(
    postgres: PostgresServer, on_postgres: tuple[Path, list[Deposited]]
) -> None:
    home, made = on_postgres
    server = start_server(home, "--verify-rate", "0", "--workers", "2")
    statuses: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def run_client(k: int) -> None:
        session = client()
        for i in range(2000):  # bounded: the run is stopped long before
            if stop.is_set():
                return
            d = made[(i + k) % len(made)]
            try:
                answer = check_file(session, server, d, timeout=30)
            except requests.ConnectionError:
                statuses.append((time.monotonic(), 0, "connection"))
                continue
            kind = answer.headers.get("content-type", "")
            problem = file_answer_problem(answer, d) if answer.status_code == 200 else kind
            statuses.append((time.monotonic(), answer.status_code, problem or "ok"))

    clients = [threading.Thread(target=run_client, args=(k,)) for k in range(4)]
    try:
        for t in clients:
            t.start()
        time.sleep(2)
        restarted = time.monotonic()
        postgres.restart()
        back = time.monotonic()
        time.sleep(3)
        stop.set()
        for t in clients:
            t.join(60)
        assert server.proc.poll() is None  # the server was never restarted
    finally:
        stop.set()
        server.stop()
    before = [s for s in statuses if s[0] < restarted]
    after = [s for s in statuses if s[0] > back + 1]  # a second for each worker's connections to be replaced
    assert before and all(s[1:] == (200, "ok") for s in before)
    assert after and all(s[1:] == (200, "ok") for s in after), after[:5]
    # While it was down: 503 problems (a service is unavailable), never a 500, a traceback or a wrong answer.
    assert {s[1:] for s in statuses} <= {(200, "ok"), (503, "application/problem+json")}, set(statuses)


def test_a_server_killed_mid_deposit_leaves_nothing_half_written_and_the_client_an_error_or_a_whole_result(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    home = home_on_postgres(tmp_path, postgres.new_database())
    victim = start_server(home, "--verify-rate", "0")
    survivor = start_server(home, "--verify-rate", "0", "--resume-interval", "1")  # resumes what the victim left
    token = depositor_token(home)
    numbers = itertools.count()
    made: list[Deposited] = []
    outcomes: list[str] = []

    def run_client(server: Server) -> None:
        http = client()
        for _ in range(25):  # bounded
            n = next(numbers)
            try:
                d, why = deposit_over_api(http, server, token, tmp_path, n)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
                outcomes.append("connection error")  # the client knows it has no result
                continue
            outcomes.append(why or "ok")
            if d is not None:
                made.append(d)

    threads = [threading.Thread(target=run_client, args=(s,)) for s in (victim, survivor, victim)]
    try:
        for t in threads:
            t.start()
        time.sleep(2)
        victim.proc.kill()
        for t in threads:
            t.join(300)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (_pending(home) or _leftovers(home)):
            time.sleep(0.5)  # the survivor's resume loop finishes what is pending and sweeps what was cut short
        verdicts = {verify_package(client(), survivor, d) for d in made}
    finally:
        victim.stop()
        survivor.stop()
    assert set(outcomes) <= {"ok", "connection error"}, set(outcomes)  # never a partial or wrong result
    assert outcomes.count("ok") >= 25 and verdicts == {None}  # the survivor's all, and every package verifies
    assert _pending(home) == []  # what the kill interrupted was resumed or given up, not left half-done
    registry = Registry.open(home)
    try:
        rows = registry.deposits()
        assert registry.verify_custody().ok
    finally:
        registry.close()
    complete = {r["deposit_id"] for r in rows if r["status"] == "complete"}
    assert {d.deposit_id for d in made} <= complete
    assert {r["status"] for r in rows} <= {"complete", "abandoned"}
    # Every package the service keeps is a complete deposit's: none half-written under a package's name, and
    # nothing the kill cut short (a staging file, an upload's spool folder) is left once the survivor swept.
    folder = home / "service" / "deposits"
    kept = {str(p) for p in folder.iterdir() if not p.name.startswith(".")}
    assert kept == {r["package"] for r in rows if r["status"] == "complete"}, kept
    assert _leftovers(home) == []


def _leftovers(home: Path) -> list[Path]:
    service = home / "service"
    return [*service.glob("deposits/.*.partial*"), *service.glob("uploads/*")]


def _pending(home: Path) -> list[str]:
    registry = Registry.open(home)
    try:
        return [r["deposit_id"] for r in registry.deposits("pending")]
    finally:
        registry.close()


def test_a_deposit_number_holding_a_nul_or_thousands_of_digits_is_no_match_not_a_postgresql_error(
    on_postgres: tuple[Path, list[Deposited]],
) -> None:
    home, made = on_postgres
    server = start_server(home)
    try:
        for deposit_id in ("EVD-20261201-%00", "EVD-" + "9" * 4000):
            page = requests.get(f"{server.url}/v/{deposit_id}", params={"m": made[0].manifest_sm3}, timeout=30)
            assert page.status_code == 404 and "未找到匹配的存证" in page.text
            query = {"deposit": deposit_id.replace("%00", "\0"), "m": made[0].manifest_sm3}
            check = requests.post(f"{server.url}/api/v1/verify", data=b"x", params=query, timeout=30)
            assert check.status_code == 404 and check.json()["type"] == "urn:evidencectl:problem:not-found"
    finally:
        server.stop()
