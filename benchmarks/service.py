"""The service workload: deposits and verifications through the HTTP API, on SQLite and on PostgreSQL, against
the command line's own deposits in the same run.

One figure per backend: the API's per-deposit cost (one client, one request after another, the median of
its latencies) over the CLI's (``evidencectl deposit`` of the same small file, a process each, as a user
runs it), target ≤ 1.5. Then ``clients`` clients at once give deposits/s and verifications/s and the p50
and p95 latencies. Everything runs on loopback; PostgreSQL is a temporary cluster from Debian's
``postgresql`` package (``initdb``/``pg_ctl``; as root it runs as the ``postgres`` account).
"""

from __future__ import annotations

import glob
import json
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from .harness import env_for, evidencectl, run

PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def postgres_cluster(work: Path) -> Iterator[str | None]:
    """A temporary PostgreSQL cluster on loopback, as a connection URL; None when PostgreSQL is not installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        yield None
        return
    bindir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-", dir="/tmp"))  # reachable by the server's own account
    kw: dict[str, Any] = {}
    if os.geteuid() == 0:
        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        kw = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    port = _free_port()

    def tool(*args: str) -> None:
        subprocess.run([str(bindir / args[0]), *args[1:]], cwd=folder, env={"PATH": "/usr/bin:/bin"},
                       capture_output=True, check=True, timeout=120, **kw)  # fmt: skip

    data = str(folder / "data")
    try:
        tool("initdb", "-D", data, "-U", "bench", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={folder}"
        tool("pg_ctl", "-D", data, "-l", str(folder / "log"), "-o", options, "-w", "start")
        yield f"postgresql://bench@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([str(bindir / "pg_ctl"), "-D", data, "-m", "fast", "-w", "stop"], cwd=folder,
                       capture_output=True, check=False, timeout=120, **kw)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def server(home: Path, workers: int) -> Iterator[str]:
    """``evidencectl serve`` on a free loopback port, without a rate limit; its base URL."""
    port = _free_port()
    argv = evidencectl("serve", "--port", str(port), "--workers", str(workers), "--verify-rate", "0")
    proc = subprocess.Popen(argv, env=env_for(home), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("evidencectl serve did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _timed(call: Callable[[], Any]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _p(latencies: list[float]) -> str:
    if len(latencies) < 2:
        return f"{latencies[0] * 1000:.0f} ms" if latencies else "—"
    cuts = quantiles(latencies, n=20)
    return f"p50 {median(latencies) * 1000:.0f} ms, p95 {cuts[18] * 1000:.0f} ms"


def measure(work: Path, home: Path, count: int, clients: int, workers: int) -> dict[str, Any]:
    """Deposit and verify ``count`` small files through the API of a server on ``home``; CLI deposits alike."""
    import requests

    env = env_for(home)
    src = work / "input"
    src.mkdir(parents=True, exist_ok=True)
    files = []
    for n in range(count):
        path = src / f"small-{n}.txt"
        path.write_bytes(f"benchmark deposit {n}\n".encode() * 64)  # 1.4 KiB
        files.append(path)
    run(evidencectl("deposit", files[0], "-o", work / "warm.evp"), env)  # keys made, not timed
    token = json.loads(run(evidencectl("users", "add", "bench", "--role", "depositor", "--json"), env).stdout)["token"]
    cli = [run(evidencectl("deposit", f, "-o", work / f"cli-{n}.evp"), env).seconds for n, f in enumerate(files)]
    out: dict[str, Any] = {"cli": cli}
    with server(home, workers) as url:
        headers = {"Authorization": f"Bearer {token}"}

        def deposit(path: Path, session: Any) -> dict[str, Any]:
            with path.open("rb") as f:
                answer = session.post(f"{url}/api/v1/deposits", headers=headers, data={"case": "BENCH"},
                                      files={"files": (path.name, f)}, timeout=120)  # fmt: skip
            if answer.status_code not in (201, 202):
                raise RuntimeError(f"POST /api/v1/deposits: {answer.status_code} {answer.text[:200]}")
            doc: dict[str, Any] = answer.json()
            return doc

        packages = sorted(work.glob("cli-*.evp"))

        def verify(package: Path, session: Any) -> None:
            answer = session.post(f"{url}/api/v1/verify", data=package.read_bytes(),
                                  headers={"Content-Type": PACKAGE_TYPE}, timeout=120)  # fmt: skip
            if answer.status_code != 200 or answer.json()["verdict"] != "PASSED":
                raise RuntimeError(f"POST /api/v1/verify: {answer.status_code} {answer.text[:200]}")

        sessions: dict[int, Any] = {}

        def session() -> Any:
            return sessions.setdefault(threading.get_ident(), requests.Session())

        def load(task: Callable[[Path, Any], Any], items: list[Path]) -> tuple[float, list[float]]:
            start = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                latencies = list(pool.map(lambda p: _timed(lambda: task(p, session())), items))
            return len(items) / (time.perf_counter() - start), latencies

        verify(packages[0], session())  # the first verification loads the verifier: not timed
        out["verifications"] = load(verify, packages)
        try:
            one = requests.Session()
            deposit(files[0], one)  # the server's first deposit opens its registry: not timed
            out["api"] = [_timed(lambda f=f: deposit(f, one)) for f in files]  # type: ignore[misc]
            out["deposits"] = load(deposit, files)
        except RuntimeError as exc:
            out["deposit_error"] = str(exc)
    return out


def service_lines(work: Path, count: int, clients: int, workers: int) -> Iterator[tuple[str, float | str, str]]:
    """(key, value, details) for each backend: the API/CLI ratio, then the throughput report."""
    with postgres_cluster(work) as pg_url:
        for backend, url in (("sqlite", ""), ("postgres", pg_url)):
            if backend == "postgres" and url is None:
                yield f"service-{backend}", "skipped (PostgreSQL is not installed)", ""
                continue
            home = work / f"service-{backend}" / "home"
            home.mkdir(parents=True)
            if url:
                (home / "config.toml").write_text(f'[registry]\nurl = "{url}"\n', encoding="utf-8")
            try:
                got = measure(home.parent, home, count, clients, workers)
            except RuntimeError as exc:
                yield f"service-{backend}", f"failed: {str(exc)[:300]}", ""
                continue
            vps, vlat = got["verifications"]
            shape = (
                f"{clients} clients, {workers} workers, {count} of each; CLI {1 / median(got['cli']):.1f} deposits/s"
            )
            if "deposit_error" in got:
                yield (f"service-{backend}", f"{vps:.1f} verifications/s ({_p(vlat)}); {shape}; deposits through "
                       f"the API failed: {got['deposit_error'][:200]}", "")  # fmt: skip
                continue
            api, cli = median(got["api"]), median(got["cli"])
            yield (f"api-deposit-vs-cli-{backend}", api / cli,
                   f"API {api * 1000:.0f} ms vs CLI {cli * 1000:.0f} ms per deposit (medians of {count})")  # fmt: skip
            dps, dlat = got["deposits"]
            yield (f"service-{backend}", f"{dps:.1f} deposits/s ({_p(dlat)}), {vps:.1f} verifications/s "
                   f"({_p(vlat)}); {shape}", "")  # fmt: skip


if __name__ == "__main__":  # python -m benchmarks.service COUNT CLIENTS WORKERS: this workload alone
    folder = Path(tempfile.mkdtemp(prefix="evidencectl-bench-"))
    try:
        for key, value, details in service_lines(folder, *(int(a) for a in sys.argv[1:4])):
            print(key, value if isinstance(value, str) else f"{value:.3f}", details)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
