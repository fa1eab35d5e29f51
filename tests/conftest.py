"""Shared fixtures: an isolated data directory per test and a command-line runner."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

# The PostgreSQL server and the registry backends of the registry tests (started only by tests that use them).
pytest_plugins = ["postgres_server"]

ASSETS = Path(__file__).parent / "assets"
EXAMPLES = Path(__file__).parent.parent / "examples"


def _sweep_faketime_leftovers(shm: Path = Path("/dev/shm")) -> int:
    """Remove the shared-memory segment and semaphore the ``faketime`` wrapper leaves behind for a process
    that was killed (a TSA served under faketime and stopped by its test). They are named by the wrapper's
    pid: once the pid is reused (pid_max is 32,768 here), the next ``faketime`` of that pid refuses to start
    ("sem_open: File exists") and its test fails for nothing. Only entries of processes no longer running go."""
    removed = 0
    if not shm.is_dir():
        return removed
    for entry in shm.iterdir():
        name = entry.name
        for prefix in ("faketime_shm_", "sem.faketime_sem_"):
            pid = name[len(prefix) :]
            if name.startswith(prefix) and pid.isdigit() and not Path(f"/proc/{pid}").exists():
                entry.unlink(missing_ok=True)
                removed += 1
    return removed


def pytest_sessionstart(session: pytest.Session) -> None:
    """Start from a /dev/shm without ``faketime`` leftovers of earlier runs."""
    _sweep_faketime_leftovers()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """And leave none of this run's."""
    _sweep_faketime_leftovers()


@pytest.fixture(autouse=True)
def evidencectl_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own EVIDENCECTL_HOME (embedded TSA, ledger, registry, trust store)."""
    home = tmp_path / "home"
    monkeypatch.setenv("EVIDENCECTL_HOME", str(home))
    # Tests read English messages whatever the machine's locale (reports keep their own default, zh).
    monkeypatch.delenv("EVIDENCECTL_LANG", raising=False)
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    yield home


@dataclass
class CliResult:
    """Exit code and captured output of one command line."""

    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    """Run ``evidencectl ARGS...`` in-process through the real entry point and capture its output."""
    from evidencectl.cli.main import main

    def run(*args: str | Path) -> CliResult:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)

    return run


def rewrite_member(src: Path, dst: Path, name: str, change: Callable[[bytes], bytes]) -> Path:
    """Copy package ``src`` to ``dst`` with member ``name`` replaced by ``change(its bytes)`` (a forgery)."""
    import zipfile

    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, change(data) if info.filename == name else data)
    return dst


@pytest.fixture
def sample_dir(tmp_path: Path) -> Path:
    """A copy of examples/evidence to deposit."""
    dst = tmp_path / "evidence"
    shutil.copytree(EXAMPLES / "evidence", dst)
    return dst
