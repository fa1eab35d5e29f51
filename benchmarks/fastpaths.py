"""CPU time each fast path saves, against its plain path, measured in one process (not a target line).

    python -m benchmarks.fastpaths [gc N] [writer] [exit] [warmup] [mmap]

Each figure is the best of a few runs of ``time.process_time`` (CPU time, so a loaded machine inflates it
less than wall time); the modules that hold the fast paths quote them.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path


def _best(run: Callable[[], object], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.process_time()
        run()
        best = min(best, time.process_time() - start)
    return best


def gc_pause(n: int) -> str:
    """Verify a package of ``n`` one-line files in one process (workers off), collector paused or running."""
    from evidencectl import DepositOptions, deposit, verify, workers
    from evidencectl.verify import verifier

    tmp = Path(tempfile.mkdtemp())
    os.environ["EVIDENCECTL_HOME"] = str(tmp / "home")
    folder = tmp / "in"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i:06}.txt").write_bytes(b"x%d\n" % i)
    deposit(DepositOptions(inputs=[str(folder)], out=tmp / "p.evp"))
    workers.worker_count = lambda: 0  # type: ignore[assignment]
    paused = _best(lambda: verify(tmp / "p.evp"))
    verifier.paused_collector = contextlib.nullcontext  # type: ignore[assignment]
    plain = _best(lambda: verify(tmp / "p.evp"))
    return f"gc pause, verify of {n:,} items: {plain:.2f} s CPU with the collector, {paused:.2f} s paused"


def writer() -> str:
    """The parent's CPU time a member: header and CRC made by the writer, or made by a worker."""
    from evidencectl.package.prepared import stored_member

    n, blobs = 20_000, [os.urandom(4096) for _ in range(20_000)]
    names = [f"evidence/in/{i:06}.txt" for i in range(n)]
    made = _best(lambda: [stored_member(a, b) for a, b in zip(names, blobs, strict=True)], 5)
    from evidencectl.package.writer import PackageWriter

    tmp = Path(tempfile.mkdtemp())

    def plain() -> None:
        w = PackageWriter(tmp / "p.evp")
        for a, b in zip(names, blobs, strict=True):
            w.add_bytes(a, b)
        w.abort()

    blobs_made = [
        (a, h + b, len(h), crc) for a, b in zip(names, blobs, strict=True) for h, crc in [stored_member(a, b)]
    ]

    def prepared() -> None:
        w = PackageWriter(tmp / "f.evp")
        for blob in blobs_made:
            w.add_prepared(*blob)
        w.abort()

    whole, fast = _best(plain, 5), _best(prepared, 5)
    return (
        f"prepared members: header and CRC {made * 1e6 / n:.1f} us (in the worker); the parent's append "
        f"{whole * 1e6 / n:.1f} us plain, {fast * 1e6 / n:.1f} us prepared, a 4 KiB member"
    )


def fast_exit() -> str:
    """CPU time of a process that imports the CLI's modules and verifies a package, ended by os._exit or by
    the normal interpreter teardown."""
    tmp = Path(tempfile.mkdtemp())
    env = dict(os.environ, EVIDENCECTL_HOME=str(tmp / "home"))
    (tmp / "a.txt").write_text("a\n")
    subprocess.run([sys.executable, "-m", "evidencectl", "deposit", str(tmp / "a.txt"), "-o", str(tmp / "p.evp")],
                   env=env, check=True, capture_output=True)  # fmt: skip
    script = (
        "import sys\n"
        "if sys.argv[1] == 'plain': sys.modules['coverage'] = sys  # leave() then exits the normal way\n"
        "from evidencectl.cli.main import run\n"
        "sys.argv = ['evidencectl', 'verify', sys.argv[2]]\n"
        "run()\n"
    )

    def child(kind: str) -> float:
        best = float("inf")
        for _ in range(7):
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            subprocess.run([sys.executable, "-c", script, kind, str(tmp / "p.evp")], env=env, capture_output=True)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            best = min(best, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        return best

    fast, plain = child("fast"), child("plain")
    return f"os._exit: verify command {plain * 1e3:.0f} ms CPU with teardown, {fast * 1e3:.0f} ms without"


def warmup() -> str:
    """CPU time of the services' warm-up in a fresh process: what a deposit does while its workers hash."""
    tmp = Path(tempfile.mkdtemp())
    script = (
        "import time, sys\nfrom evidencectl.context import Context\n"
        "from evidencectl.timestamp.authority import EmbeddedTSA\n"
        "ctx = Context.of(sys.argv[1])\nEmbeddedTSA.open(ctx)\n"
        "from evidencectl.deposit.warmup import preload_services\n"
        "t = time.process_time(); preload_services(ctx, ['local']); print(time.process_time() - t)"
    )
    runs = [float(subprocess.run([sys.executable, "-c", script, str(tmp)], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(5)]  # fmt: skip
    return f"warm-up of the services: {min(runs) * 1e3:.0f} ms CPU off the deposit's critical path"


_SHARED: list[object] = []


def _by_pipe(i: int) -> bytes:
    return os.urandom(0) + bytes(4096)


def _by_mmap(i: int) -> int:
    view = _SHARED[0]
    view[(i % 1024) * 4096 : (i % 1024 + 1) * 4096] = bytes(4096)  # type: ignore[index]
    return i % 1024


def shared_mmap() -> str:
    """The parent's CPU time to take 20,000 members of 4 KiB from two workers: pickled through the pipe, or
    placed in a shared mmap (only a slot number through the pipe)."""
    import mmap

    shared = mmap.mmap(-1, 1024 * 4096)
    _SHARED.append(memoryview(shared))
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(2) as pool:
        pipe = _best(lambda: [len(b) for b in pool.imap(_by_pipe, range(20_000), chunksize=128)])
        view = _SHARED[0]
        slots = lambda: [len(view[s * 4096 : (s + 1) * 4096]) for s in pool.imap(_by_mmap, range(20_000), 128)]  # type: ignore[index]  # noqa: E731
        taken = _best(slots)
    return f"shared mmap: 20,000 x 4 KiB members, parent CPU {pipe * 1e3:.0f} ms by pipe, {taken * 1e3:.0f} ms by mmap"


def main(argv: list[str]) -> None:
    """Run the named measurements (all, gc with 20,000 items, when none is named)."""
    wanted = argv or ["gc", "20000", "writer", "exit", "warmup", "mmap"]
    for i, name in enumerate(wanted):
        if name == "gc":
            print(gc_pause(int(wanted[i + 1])), flush=True)
        elif name in ("writer", "exit", "warmup", "mmap"):
            fn = {"writer": writer, "exit": fast_exit, "warmup": warmup, "mmap": shared_mmap}[name]
            print(fn(), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
