"""Crash safety: ``evidencectl deposit`` killed with SIGKILL at random points loses nothing and publishes
nothing half-made.

Each run deposits inputs of a random size (1 KiB to 32 MiB, so hashing takes a noticeable share) and is
killed after a random delay; where the kill landed is read from what the run left (staging members,
output, registry row). After every kill: the registry and the ledger pass ``PRAGMA integrity_check``, the
custody chain verifies, and a file at the output path exists only if it verifies. At the end of each
series ``evidencectl log --verify``, ``ledger verify`` and ``deposit --resume`` run as commands, and one
more deposit in the same data directory completes.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from evidencectl.checks import Status
from evidencectl.crypto.trust import TrustStore
from evidencectl.registry import Registry
from evidencectl.verify.verifier import verify_package

SIZES = (1 << 10, 4 << 20, 32 << 20)
PHASES = ("startup", "hashing", "timestamping", "anchoring", "package writing", "publishing", "done")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "EVIDENCECTL_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def evidencectl(home: Path, *args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the real command in a subprocess with ``home`` as its data directory."""
    return subprocess.run(
        [sys.executable, "-m", "evidencectl", *map(str, args)],
        env=_env(home),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _inputs(folder: Path) -> dict[int, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for size in SIZES:
        p = folder / f"exhibit-{size}.bin"
        with p.open("wb") as f:
            f.write(os.urandom(min(size, 1 << 16)))
            f.truncate(size)  # sparse: costs no disk to make, full cost to hash and to package
        out[size] = p
    return out


_MARKERS = {
    "hashing": b"mimetype",
    "timestamping": b"manifest.json",
    "anchoring": b"proofs/timestamps/",
    "package writing": b"proofs/anchors/",
}


def _await(proc: subprocess.Popen[bytes], work: Path, out: Path, marker: bytes) -> None:
    """Return once the staging file's tail holds ``marker`` (or the run ended)."""
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        for staging in work.glob(f".{out.name}.*.partial"):
            try:
                with staging.open("rb") as f:
                    f.seek(max(0, staging.stat().st_size - (256 << 10)))
                    if marker in f.read():
                        return
            except FileNotFoundError:
                pass
        time.sleep(0.002)


def _phase(out: Path, registry_has: bool) -> str:
    """Where the kill landed, from what the run left behind."""
    if out.exists():
        return "done" if registry_has else "publishing"
    staging = list(out.parent.glob(f".{out.name}.*.partial"))
    if not staging:
        return "startup"
    raw = max(staging, key=lambda p: p.stat().st_mtime).read_bytes()
    if b"proofs/anchors/" in raw:
        return "package writing"
    if b"proofs/timestamps/" in raw:
        return "anchoring"
    if b"manifest.json" in raw:
        return "timestamping"
    return "hashing"


def _integrity(db: Path) -> None:
    if db.exists():
        conn = sqlite3.connect(db)
        try:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", db
        finally:
            conn.close()


def check_home(home: Path) -> set[str]:
    """Registry and ledger intact, custody chain unbroken; returns the deposit ids recorded complete."""
    for db in home.glob("*.sqlite"):
        _integrity(db)
    for db in home.rglob("*.db"):
        _integrity(db)
    if not (home / "registry.sqlite").exists():
        return set()
    registry = Registry.open(home)
    try:
        audit = registry.verify_custody()
        assert audit.ok, audit
        return {r["deposit_id"] for r in registry.deposits("complete")}
    finally:
        registry.close()


def _pending(home: Path) -> list[dict[str, object]]:
    if not (home / "registry.sqlite").exists():
        return []
    registry = Registry.open(home)
    try:
        return registry.deposits("pending")
    finally:
        registry.close()


def kill_series(work: Path, runs: int, seed: int) -> Counter[str]:
    """``runs`` deposits into one data directory, each SIGKILLed after a random delay; all checks after each."""
    rng = random.Random(seed)
    home, inputs = work / "home", _inputs(work / "in")
    phases: Counter[str] = Counter()
    # One uninterrupted deposit first: it creates the TSA and ledger keys, so kills land in the deposit proper.
    warm = evidencectl(home, "deposit", inputs[SIZES[0]], "-o", work / "warm.evp")
    assert warm.returncode == 0, warm.stderr
    for n in range(runs):
        out = work / f"run-{n:03d}.evp"
        before = check_home(home)
        size = rng.choice(SIZES)
        proc = subprocess.Popen(
            [sys.executable, "-m", "evidencectl", "deposit", inputs[size], "-o", str(out)],
            env=_env(home),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        aim = rng.choice(("startup", "hashing", "hashing", "timestamping", "anchoring", "package writing"))
        if aim == "startup":
            time.sleep(rng.uniform(0.05, 1.0))
        else:
            # Interpreter start-up takes most of a short run on a loaded machine, and the service phases
            # last milliseconds: so wait for the marker of the phase before the one aimed at, then kill.
            _await(proc, work, out, _MARKERS[aim])
            time.sleep(rng.uniform(0, 0.1 + 1.0 * size / SIZES[-1]) if aim == "hashing" else rng.uniform(0, 0.03))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        recorded = check_home(home) - before
        phase = _phase(out, bool(recorded))
        phases[phase] += 1
        if _pending(home):
            # Killed while publishing: the registry knew the deposit first, and resume finishes it.
            res = evidencectl(home, "deposit", "--resume")
            assert res.returncode == 0, res.stderr
            assert not _pending(home) and out.exists()
            phases["resumed"] += 1
            recorded = check_home(home) - before
        if out.exists():
            report = verify_package(out, trust=TrustStore.load(home))
            assert report.verdict is Status.PASSED, [c.to_json() for c in report.checks if c.status != "PASSED"]
            out.unlink()  # keep the disk small: 32 MiB packages add up
        else:
            assert not recorded, "the registry records a deposit whose package is not at its path"
        for leftover in work.glob(".*.partial"):
            leftover.unlink()  # no deposit is pending, so nothing refers to it
    for args in (("log", "--verify"), ("ledger", "verify"), ("deposit", "--resume")):
        res = evidencectl(home, *args)
        assert res.returncode == 0, (args, res.stdout, res.stderr)
    final = work / "final.evp"
    for args in (("deposit", inputs[SIZES[1]], "-o", final), ("verify", final)):
        res = evidencectl(home, *args)
        assert res.returncode == 0, (args, res.stdout, res.stderr)
    return phases


def _series(tmp_path: Path, total: int, workers: int) -> Counter[str]:
    per = [total // workers + (1 if i < total % workers else 0) for i in range(workers)]
    with ThreadPoolExecutor(workers) as pool:
        futures = [pool.submit(kill_series, tmp_path / f"w{i}", n, seed=1000 + i) for i, n in enumerate(per) if n]
        phases: Counter[str] = Counter()
        for f in futures:
            phases.update(f.result())
    sys.stderr.write(f"kill points: {dict(phases)}\n")
    return phases


def test_sigkill_during_deposit_loses_nothing(tmp_path: Path) -> None:
    """10 random kills (the 50-kill version is marked slow)."""
    phases = _series(tmp_path, 10, 5)
    assert sum(phases[p] for p in PHASES) == 10


@pytest.mark.slow
def test_sigkill_during_deposit_50_runs(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """50 random kills spread over hashing, timestamping, anchoring and package writing."""
    phases = _series(tmp_path, 50, 8)
    assert sum(phases[p] for p in PHASES) == 50
    assert phases["hashing"] and (phases["done"] + phases["publishing"]), phases


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sigkill_during_resume_then_resume_completes(tmp_path: Path) -> None:
    """A pending deposit (TSA down) survives kills of ``deposit --resume``; the next resume completes it."""
    home, out = tmp_path / "home", tmp_path / "pending.evp"
    exhibit = _inputs(tmp_path / "in")[SIZES[1]]
    port = _free_port()
    res = evidencectl(home, "deposit", exhibit, "-o", out, "--tsa", f"http://127.0.0.1:{port}")
    assert res.returncode == 5, res.stderr
    assert not out.exists()
    server = subprocess.Popen(
        [sys.executable, "-m", "evidencectl", "tsa", "serve", "--port", str(port)],
        env=_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            assert time.monotonic() < deadline and server.poll() is None, "tsa serve did not start"
            time.sleep(0.1)
        rng = random.Random(7)
        for _ in range(4):
            proc = subprocess.Popen(
                [sys.executable, "-m", "evidencectl", "deposit", "--resume"],
                env=_env(home),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            time.sleep(rng.uniform(0.1, 1.5))
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            check_home(home)
            if out.exists():
                assert verify_package(out, trust=TrustStore.load(home)).verdict is Status.PASSED
        res = evidencectl(home, "deposit", "--resume")
        assert res.returncode == 0, res.stderr
        assert evidencectl(home, "verify", out).returncode == 0
        assert evidencectl(home, "log", "--verify").returncode == 0
        registry = Registry.open(home)
        assert not registry.deposits("pending")
        registry.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


_PATCHES = {
    # after the package is published, before the registry records it
    "registry": "import evidencectl.registry as m\n"
    "def kill(*a, **k):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    "m.Registry.record_deposit = kill\n",
    # after the hard link to the output, before the staging name is removed
    "link": "real = os.link\n"
    "def kill(src, dst, *a, **k):\n    real(src, dst, *a, **k)\n"
    "    if str(dst) == OUT:\n        os.kill(os.getpid(), signal.SIGKILL)\n"
    "os.link = kill\n",
}


@pytest.mark.parametrize("point", sorted(_PATCHES))
def test_sigkill_between_publishing_and_recording(tmp_path: Path, point: str) -> None:
    """Killed at the two instants a random kill rarely hits: ``deposit --resume`` completes the record."""
    home, out = tmp_path / "home", tmp_path / "exact.evp"
    exhibit = _inputs(tmp_path / "in")[SIZES[0]]
    script = (
        f"import os, signal, sys\nOUT = {str(out)!r}\n"
        + _PATCHES[point]
        + f"from evidencectl.cli.main import main\nsys.exit(main(['deposit', {str(exhibit)!r}, '-o', OUT]))\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], env=_env(home), capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert out.exists()  # published: the package is complete and verifies
    assert verify_package(out, trust=TrustStore.load(home)).verdict is Status.PASSED
    registry = Registry.open(home)
    assert [r["status"] for r in registry.deposits()] == ["pending"]  # known, not yet recorded complete
    registry.close()
    res = evidencectl(home, "deposit", "--resume")
    assert res.returncode == 0, res.stderr
    registry = Registry.open(home)
    rows = registry.deposits()
    registry.close()
    assert [r["status"] for r in rows] == ["complete"] and rows[0]["package"] == str(out.resolve())
    assert not list(tmp_path.glob(".*.partial"))
    assert evidencectl(home, "log", "--verify").returncode == 0
    assert evidencectl(home, "verify", out).returncode == 0
