"""Helpers of the service's load and fault tests: a data directory on PostgreSQL with many small deposits,
several ``evidencectl serve`` processes on it, and clients that check every answer against what they sent.

Loopback only, and bounded: every loop has a count, every request a timeout, every run a deadline.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from service_server import ROOT, Server, run_cli, start_server

from evidencectl.registry import Registry

PACKAGE_TYPE = "application/vnd.evidencectl.package+zip"

_DEPOSITOR = """
import json, sys
from pathlib import Path
from evidencectl import DepositOptions, deposit
folder, first, count = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
for n in range(first, first + count):
    src = folder / f"in-{n}" / f"note-{n}.txt"
    src.parent.mkdir(parents=True)
    src.write_text(f"deposit {n} of the load test\\n", encoding="utf-8")
    r = deposit(DepositOptions(inputs=[src.parent], out=folder / f"d-{n}.evp", case=f"LOAD-{n}"))
    print(json.dumps({"n": n, "deposit_id": r.deposit_id, "status": r.status, "package": str(r.package)}), flush=True)
"""


@dataclass(frozen=True)
class Load:
    """How big a run is."""

    servers: int
    """``evidencectl serve`` processes on the one PostgreSQL registry."""
    clients: int
    """Concurrent clients."""
    deposits: int
    verifications: int
    seconds: float
    """The whole run must end within this (it is bounded, not a soak)."""


SMALL = Load(servers=2, clients=10, deposits=50, verifications=50, seconds=120)
FULL = Load(servers=4, clients=50, deposits=1000, verifications=1000, seconds=1200)


@dataclass(frozen=True)
class Deposited:
    """One deposit the test made: its number, package, manifest SM3 and the one file it holds."""

    n: int
    deposit_id: str
    package: Path
    manifest_sm3: str
    content: bytes
    item: str
    """The name of its one item in the registry."""


def home_on_postgres(folder: Path, url: str) -> Path:
    """A data directory whose registry is the PostgreSQL database ``url``."""
    home = folder / "home"
    home.mkdir(parents=True)
    (home / "config.toml").write_text(f'[registry]\nurl = "{url}"\n', encoding="utf-8")
    return home


def deposit_many(home: Path, folder: Path, count: int, processes: int = 2) -> list[Deposited]:
    """``count`` deposits of one small distinct file each, made by ``processes`` library processes at once."""
    env = {"PYTHONPATH": str(ROOT), "EVIDENCECTL_HOME": str(home), "PATH": "/usr/bin:/bin"}
    share = -(-count // processes)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _DEPOSITOR, str(folder), str(first), str(min(share, count - first))],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for first in range(0, count, share)
    ]
    lines: list[dict[str, Any]] = []
    for proc in procs:
        out, err = proc.communicate(timeout=60 + count)
        assert proc.returncode == 0, err[-2000:]
        lines += [json.loads(line) for line in out.splitlines()]
    made = []
    for line in sorted(lines, key=lambda x: x["n"]):
        assert line["status"] == "complete", line
        package = Path(line["package"])
        with zipfile.ZipFile(package) as z:
            sm3 = hashlib.new("sm3", z.read("manifest.json")).hexdigest()
        content = f"deposit {line['n']} of the load test\n".encode()
        item = f"in-{line['n']}/note-{line['n']}.txt"
        made.append(Deposited(line["n"], line["deposit_id"], package, sm3, content, item))
    return made


def depositor_token(home: Path) -> str:
    """A new depositor's API token."""
    done = run_cli(home, "users", "add", f"load-{uuid.uuid4().hex[:8]}", "--role", "depositor", "--json")
    assert done.returncode == 0, done.stderr
    return str(json.loads(done.stdout)["token"])


def content_of(n: int) -> bytes:
    """The one small file of deposit ``n``: different for every deposit."""
    return f"deposit {n} of the load test\n".encode()


def deposit_over_api(
    session: requests.Session, server: Server, token: str, folder: Path, n: int
) -> tuple[Deposited | None, str | None]:
    """Deposit ``content_of(n)`` through the API and fetch its package: (the deposit, None) or (None, why not)."""
    auth = {"Authorization": f"Bearer {token}"}
    name = f"note-{n}.txt"
    answer = session.post(f"{server.url}/api/v1/deposits", headers=auth, data={"case": f"LOAD-{n}"},
                          files={"files": (name, content_of(n))}, timeout=300)  # fmt: skip
    if answer.status_code != 201:
        return None, f"deposit {n}: {answer.status_code} {answer.text[:300]}"
    doc = answer.json()
    if doc["status"] != "complete" or doc["items"] != 1:
        return None, f"deposit {n}: {doc}"
    package = session.get(server.url + doc["package_url"], headers=auth, timeout=120)
    if package.status_code != 200:
        return None, f"package of deposit {n}: {package.status_code}"
    path = folder / f"api-{n}.evp"
    path.write_bytes(package.content)
    with zipfile.ZipFile(path) as z:
        sm3 = hashlib.new("sm3", z.read("manifest.json")).hexdigest()
    return Deposited(n, doc["deposit_id"], path, sm3, content_of(n), name), None


def start_servers(home: Path, count: int) -> list[Server]:
    """``count`` separate ``evidencectl serve`` processes on one data directory, without a rate limit."""
    return [start_server(home, "--verify-rate", "0") for _ in range(count)]


def client() -> requests.Session:
    """An HTTP client that opens a connection per request, as curl does.

    A kept-alive connection that the server closes after its idle timeout (uvicorn: 5 s) while the client
    sends on it is reset, and no client retries a POST; a client that idles between requests to one of
    several servers hits that, which would be a fact of HTTP, not of the service."""
    session = requests.Session()
    session.headers["Connection"] = "close"
    return session


def verify_package(session: requests.Session, server: Server, d: Deposited) -> str | None:
    """POST the package; None if the answer is right for that deposit, else what is wrong."""
    answer = session.post(f"{server.url}/api/v1/verify", data=d.package.read_bytes(),
                          headers={"Content-Type": PACKAGE_TYPE}, timeout=120)  # fmt: skip
    if answer.status_code != 200:
        return f"verify of {d.deposit_id}: {answer.status_code} {answer.text[:200]}"
    doc = answer.json()
    if doc["verdict"] != "PASSED" or doc["deposit_id"] != d.deposit_id:
        return f"verify of {d.deposit_id}: {doc['verdict']} for {doc['deposit_id']}"
    return None


def check_file(session: requests.Session, server: Server, d: Deposited, timeout: float = 120) -> requests.Response:
    """POST the deposit's one file to the file check of that deposit."""
    return session.post(f"{server.url}/api/v1/verify", params={"deposit": d.deposit_id, "m": d.manifest_sm3},
                        data=d.content, timeout=timeout)  # fmt: skip


def file_answer_problem(answer: requests.Response, d: Deposited) -> str | None:
    """None if a file check's answer names exactly the deposit's one item, else what is wrong."""
    if answer.status_code != 200:
        return f"file check of {d.deposit_id}: {answer.status_code} {answer.text[:200]}"
    doc = answer.json()
    names = [m["name"] for m in doc["matches"]]
    if doc["deposit_id"] != d.deposit_id or names != [d.item]:
        return f"file check of {d.deposit_id}: {doc}"
    return None


def page_problem(session: requests.Session, server: Server, d: Deposited) -> str | None:
    """None if the deposit's verification page shows it complete with its own number, else what is wrong."""
    answer = session.get(f"{server.url}/v/{d.deposit_id}", params={"m": d.manifest_sm3, "lang": "en"}, timeout=120)
    if answer.status_code != 200 or d.deposit_id not in answer.text or "<td>complete</td>" not in answer.text:
        return f"page of {d.deposit_id}: {answer.status_code} {answer.text[:300]}"
    if f"LOAD-{d.n}" in answer.text or "Beijing time" not in answer.text:
        return f"page of {d.deposit_id} shows its case or no proven time"
    return None


def registry_problems(home: Path, made: list[Deposited]) -> list[str]:
    """What the registry holds wrong after a run: a lost, doubled or mixed-up deposit, a broken custody chain."""
    registry = Registry.open(home)
    try:
        wrong: list[str] = []
        rows = {r["deposit_id"]: r for r in registry.deposits()}
        if len(rows) != len(made):
            wrong.append(f"{len(rows)} deposits in the registry, {len(made)} made")
        for d in made:
            row = rows.get(d.deposit_id)
            items = registry.items(d.deposit_id)
            sha = hashlib.sha256(d.content).hexdigest()
            if row is None or row["status"] != "complete" or row["case_no"] != f"LOAD-{d.n}":
                wrong.append(f"{d.deposit_id}: row {row}")
            elif [(i["name"], i["sha256"]) for i in items] != [(d.item, sha)]:
                wrong.append(f"{d.deposit_id}: items {items}")
        audit = registry.verify_custody()
        if not audit.ok:
            wrong.append(f"custody chain broken at {audit.first_break}: {audit.reason}")
        events = [e["event"] for e in registry.custody()]
        if events.count("deposit") != len(made):
            wrong.append(f"{events.count('deposit')} deposit events for {len(made)} deposits")
        return wrong
    finally:
        registry.close()
