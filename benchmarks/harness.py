"""Timing of real command lines: wall time and peak RSS per process, alternating runs, medians, the machine."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[1]
"""The project folder; the command lines run the evidencectl of this working tree."""


@dataclass(frozen=True)
class Run:
    """One finished process."""

    seconds: float
    """Wall time from start to exit."""
    max_rss_mb: float
    """Peak resident set size of the process (its largest child included), in MB."""
    stdout: str
    """What it printed on stdout."""
    code: int = 0
    """Exit status."""
    stderr: str = ""
    """What it printed on stderr."""
    cpu_seconds: float = 0.0
    """User + system CPU time of the process and the children it waited for (its worker processes): what
    other work on a shared machine moves much less than the wall time."""


def evidencectl(*args: str | Path) -> list[str]:
    """The real command line of this working tree: ``python -m evidencectl ARGS``."""
    return [sys.executable, "-m", "evidencectl", *map(str, args)]


def shell(script: str) -> list[str]:
    """A reference pipeline run by ``sh -c`` (``xargs``, ``find``)."""
    return ["sh", "-c", script]


def run(argv: Sequence[str], env: dict[str, str], *, cwd: Path | None = None, check: bool = True) -> Run:
    """Run one command to its end; wait4 gives this process's own peak RSS, not the harness's."""
    start = time.perf_counter()
    proc = subprocess.Popen(list(argv), env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False)
    # communicate() would reap the child itself; read the pipes, then reap with wait4 for its rusage.
    out = proc.stdout.read() if proc.stdout else b""
    err = proc.stderr.read() if proc.stderr else b""
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if check and proc.returncode != 0:
        raise RuntimeError(
            f"{shlex.join(argv)} exited {proc.returncode}: {err.decode(errors='replace').strip()[-800:]}"
        )
    return Run(
        seconds,
        usage.ru_maxrss / 1024,
        out.decode(errors="replace"),
        proc.returncode,
        err.decode(errors="replace"),
        usage.ru_utime + usage.ru_stime,
    )


@dataclass
class Comparison:
    """Alternating runs of evidencectl and a reference command."""

    ours: list[Run] = field(default_factory=list)
    """evidencectl runs, in order."""
    reference: list[Run] = field(default_factory=list)
    """Reference-tool runs, in order."""

    @property
    def ours_median(self) -> float:
        """Median wall time of evidencectl."""
        return median(r.seconds for r in self.ours)

    @property
    def reference_median(self) -> float:
        """Median wall time of the reference."""
        return median(r.seconds for r in self.reference)

    @property
    def ratio(self) -> float:
        """evidencectl median / reference median (both from this one session)."""
        return self.ours_median / self.reference_median


def alternate(
    ours: Callable[[], Run], reference: Callable[[], Run], repeats: int, between: Callable[[], None] | None = None
) -> Comparison:
    """Run ours, reference, ours, reference… ``repeats`` times each, so drift hits both alike."""
    comp = Comparison()
    for _ in range(repeats):
        comp.ours.append(ours())
        if between is not None:
            between()
        comp.reference.append(reference())
    return comp


def env_for(home: Path) -> dict[str, str]:
    """The environment of a run: its own data directory, this tree on the path, no terminal tricks."""
    env = dict(os.environ)
    env["EVIDENCECTL_HOME"] = str(home)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env.pop("EVIDENCECTL_EVM_KEY", None)
    # An installed evidencectl has its bytecode compiled at install time; a run here must not compile this
    # tree's modules afresh each time (PYTHONDONTWRITEBYTECODE is set in some environments).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(home.parent / "pycache")
    return env


def _first_line(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "unknown"


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _disk(folder: Path) -> str:
    source = _first_line(["df", "--output=source,fstype,size", str(folder)])
    lines = subprocess.run(
        ["df", "--output=source,fstype,size", str(folder)], capture_output=True, text=True
    ).stdout.splitlines()
    if len(lines) >= 2:
        source = " ".join(lines[1].split())
    device = source.split()[0].rsplit("/", 1)[-1] if source != "unknown" else ""
    rotational = Path(f"/sys/block/{device}/queue/rotational")
    kind = ""
    if rotational.exists():
        kind = "rotational" if rotational.read_text().strip() == "1" else "non-rotational"
    return f"{source} {kind}".strip()


def _loadavg() -> str:
    # Other work on the machine slows both sides of a comparison, but not always alike: say how busy it was.
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def machine(folder: Path) -> list[tuple[str, str]]:
    """What the figures were measured on: CPUs, CPU model, memory, disk, Python, OpenSSL, coreutils."""
    mem = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) // 1024} MB"
    except OSError:
        pass
    return [
        ("nproc", str(os.cpu_count())),
        ("cpu", _cpu_model()),
        ("memory", mem),
        ("disk (data folder)", _disk(folder)),
        ("os", platform.platform()),
        ("python", sys.version.split()[0]),
        ("python ssl", ssl.OPENSSL_VERSION),
        ("openssl cli", _first_line(["openssl", "version"])),
        ("sha256sum", _first_line(["sha256sum", "--version"])),
        ("load average at start", _loadavg()),
        ("anvil", "present" if (ROOT / "node_modules" / ".bin" / "anvil").exists() else "absent"),
    ]


def need_tools() -> None:
    """Fail early when a reference tool is missing."""
    missing = [t for t in ("openssl", "sha256sum", "xargs", "sh") if shutil.which(t) is None]
    if missing:
        raise SystemExit(f"benchmarks need {', '.join(missing)} on PATH")
